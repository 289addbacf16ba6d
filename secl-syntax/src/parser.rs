//! Parsing rule expressions and macro bodies (SPEC §2) into the [`ast`](crate::ast).
//!
//! Input is bounded before any parsing: [`MAX_EXPRESSION_BYTES`] of text and
//! [`MAX_OPERATORS`] operators plus opening parentheses. Every non-leaf AST node owns at
//! least one such token, so the bound also bounds the depth of the tree, which is what
//! lets every later recursive pass over it run on an ordinary thread stack. The parser
//! itself (an LR automaton) keeps its stack on the heap.

// Every stage reports the crate's `Diagnostic` by value; boxing it here alone would
// only make this API differ from the others.
#![allow(clippy::result_large_err)]

use crate::ast::{Array, BinaryOp, CompareOp, Expr, ExprKind, MacroBody, MembershipOp, UnaryOp};
use crate::diagnostics::{Diagnostic, codes};
use crate::lexer::{self, Spanned, Tok};
use crate::span::Span;
use lalrpop_util::ParseError;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, clippy::nursery, unused_qualifications)]
    grammar
);

/// The largest expression accepted, in bytes (1 MiB).
pub const MAX_EXPRESSION_BYTES: usize = 1 << 20;

/// The most operators (logical, comparison, membership, bitwise, arithmetic, unary) plus
/// `(` an expression may contain.
pub const MAX_OPERATORS: usize = 1000;

/// Parse a rule expression (or a `set` action expression).
pub fn parse_expression(src: &str) -> Result<Expr, Diagnostic> {
    let tokens = prepare(src)?;
    grammar::ExpressionParser::new().parse(tokens.iter().copied().map(Ok)).map_err(|e| convert_error(src, &tokens, e))
}

/// Parse a macro body: an expression, or a bracketed list such as `["a", ~"b*"]`.
pub fn parse_macro_body(src: &str) -> Result<MacroBody, Diagnostic> {
    let tokens = prepare(src)?;
    grammar::MacroBodyParser::new().parse(tokens.iter().copied().map(Ok)).map_err(|e| convert_error(src, &tokens, e))
}

fn prepare(src: &str) -> Result<Vec<Spanned<'_>>, Diagnostic> {
    if src.len() > MAX_EXPRESSION_BYTES {
        let mut cut = MAX_EXPRESSION_BYTES;
        while !src.is_char_boundary(cut) {
            cut -= 1;
        }
        return Err(Diagnostic::error(
            codes::TOO_LARGE,
            format!("expression too large: {} bytes, the limit is {MAX_EXPRESSION_BYTES}", src.len()),
        )
        .with_label(Span::new(cut, src.len()), "past the limit"));
    }
    let tokens = lexer::tokenize(src)?;
    let mut counted = tokens.iter().filter(|(_, t, _)| t.is_operator_or_paren());
    if let Some(&(start, _, end)) = counted.nth(MAX_OPERATORS) {
        let total = MAX_OPERATORS + 1 + counted.count();
        return Err(Diagnostic::error(
            codes::TOO_DEEP,
            format!("expression too deeply nested or too complex: {total} operators, the limit is {MAX_OPERATORS}"),
        )
        .with_label(Span::new(start, end), "one operator too many")
        .with_help("split the rule, or move repeated parts into macros"));
    }
    Ok(tokens)
}

// Actions called from the grammar.

type GrammarError<'a> = ParseError<usize, Tok<'a>, Diagnostic>;

fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span }
}

fn compare(op: CompareOp, lhs: Expr, rhs: Expr) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr { kind: ExprKind::Compare { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span }
}

fn membership(op: MembershipOp, lhs: Expr, rhs: Array) -> Expr {
    let span = lhs.span.to(rhs.span);
    Expr { kind: ExprKind::Membership { op, lhs: Box::new(lhs), rhs }, span }
}

fn unary(start: usize, op: UnaryOp, operand: Expr) -> Expr {
    let span = Span::new(start, operand.span.end as usize);
    Expr { kind: ExprKind::Unary { op, operand: Box::new(operand) }, span }
}

/// The name between `${`/`%{` and `}`.
fn braced(text: &str) -> String {
    text.get(2..text.len().saturating_sub(1)).unwrap_or("").to_string()
}

fn int<'a>(text: &str, l: usize, r: usize) -> Result<i64, GrammarError<'a>> {
    lexer::int_value(text, Span::new(l, r)).map_err(|error| ParseError::User { error })
}

fn duration<'a>(text: &str, l: usize, r: usize) -> Result<i64, GrammarError<'a>> {
    lexer::duration_value(text, Span::new(l, r)).map_err(|error| ParseError::User { error })
}

// Turning parser errors into diagnostics.

fn convert_error(src: &str, tokens: &[Spanned<'_>], err: GrammarError<'_>) -> Diagnostic {
    match err {
        ParseError::User { error } => error,
        ParseError::InvalidToken { location } => {
            Diagnostic::error(codes::LEX_ERROR, "invalid token").with_label(Span::new(location, location), "here")
        }
        ParseError::UnrecognizedEof { location, expected } => {
            unexpected(src, tokens, tokens.len(), Span::new(location, location), &expected)
        }
        ParseError::UnrecognizedToken { token: (l, _, r), expected } => {
            let idx = tokens.partition_point(|t| t.0 < l);
            unexpected(src, tokens, idx, Span::new(l, r), &expected)
        }
        ParseError::ExtraToken { token: (l, _, r) } => {
            let idx = tokens.partition_point(|t| t.0 < l);
            unexpected(src, tokens, idx, Span::new(l, r), &[])
        }
    }
}

/// `unexpected token "…"` for the token at `idx` (`tokens.len()` for the end of input).
fn unexpected(src: &str, tokens: &[Spanned<'_>], idx: usize, span: Span, expected: &[String]) -> Diagnostic {
    let tok = tokens.get(idx).map(|t| t.1);
    if let Some(d) = glued_pattern(tokens, idx) {
        return d;
    }
    let shown = match tok {
        Some(t) => t.display_text(src, span),
        None => "<EOF>",
    };
    let mut message = format!("unexpected token {shown:?}");
    let closer = ["\"]\"", "\")\""].into_iter().find(|c| expected.iter().any(|e| e == c));
    match (tok, closer) {
        (None, Some(c)) => message.push_str(&format!(" (expected {c})")),
        _ if expected.len() == 1 => message.push_str(&format!(" (expected {})", terminal_name(&expected[0]))),
        _ => {}
    }
    let label = if tok.is_some() { "unexpected token" } else { "unexpected end of expression" };
    let diag = Diagnostic::error(codes::SYNTAX_ERROR, message).with_label(span, label);
    match hint(tokens, idx).or_else(|| expected_help(expected)) {
        Some(help) => diag.with_help(help),
        None => diag,
    }
}

/// `a=~"x*"` / `a!~"x*"`: `~"` starts a pattern, leaving a lone `=` or `!`. The reference
/// reports the pattern, expecting the `~` it swallowed.
fn glued_pattern(tokens: &[Spanned<'_>], idx: usize) -> Option<Diagnostic> {
    let (_, op, op_end) = *tokens.get(idx)?;
    let (pl, next, pr) = *tokens.get(idx + 1)?;
    let (Tok::Assign | Tok::Bang, Tok::Pattern(text), true) = (op, next, op_end == pl) else {
        return None;
    };
    let op = if op == Tok::Assign { "=~" } else { "!~" };
    Some(
        Diagnostic::error(codes::SYNTAX_ERROR, format!("unexpected token {text:?} (expected \"~\")"))
            .with_label(Span::new(pl, pr), "read as a pattern")
            .with_help(format!(
                "`~\"` starts a pattern literal, so `{op}\"…\"` reads as `{}` followed by a \
             pattern; put a space after `{op}`: `{op} \"{text}\"`",
                &op[..1]
            )),
    )
}

/// A hint for the common mistakes of SPEC §1.2 and §2.2, from the tokens around the error.
fn hint(tokens: &[Spanned<'_>], idx: usize) -> Option<String> {
    let tok = tokens.get(idx).map(|t| t.1);
    let prev = idx.checked_sub(1).and_then(|i| tokens.get(i));
    let adjacent = match (prev, tokens.get(idx)) {
        (Some(p), Some(t)) => p.2 == t.0,
        _ => false,
    };
    if let Some(Tok::Ident(text)) = tok
        && let Some((kw @ ("in" | "allin"), _)) = text.split_once('[')
    {
        return Some(format!("put a space between `{kw}` and `[`: `{kw}[` is read as one identifier"));
    }
    if let Some(&(_, Tok::Ident(text), _)) = prev
        && text.ends_with(']')
        && text.matches(']').count() > text.matches('[').count()
    {
        let name = text.trim_end_matches(']');
        return Some(format!(
            "identifier lists need a space before `]`: `{text}` is read as one identifier; \
             write `{name} ]`"
        ));
    }
    let in_list = list_depth(&tokens[..idx.min(tokens.len())]) > 0;
    if let Some(Tok::Int(text)) = tok
        && prev.is_some()
        && !in_list
        && let Some(sign @ ('-' | '+')) = text.chars().next()
    {
        let verb = if sign == '-' { "subtract" } else { "add" };
        return Some(format!(
            "`{text}` is read as a signed number; to {verb}, put a space after `{sign}`: \
             `{sign} {}`",
            &text[1..]
        ));
    }
    if let (Some(&(_, Tok::Int(number), _)), Some(Tok::Ident(word)), true) = (prev, tok, adjacent) {
        if number == "0" && word.starts_with(['x', 'X', 'b', 'B', 'o', 'O']) {
            return Some(
                "there are no hexadecimal, binary or `0o` literals; write the value in \
                 decimal (a leading `0` means octal)"
                    .into(),
            );
        }
        if number.starts_with(['-', '+']) && matches!(word, "s" | "m" | "h" | "ms") {
            return Some("durations cannot be negative".into());
        }
        if matches!(word, "d" | "w" | "y" | "us" | "ns" | "µs") {
            return Some(format!("`{word}` is not a duration unit: use `ms`, `s`, `m` or `h`"));
        }
    }
    match tok? {
        Tok::Percent => {
            return Some("`*`, `/` and `%` are not operators in SECL".into());
        }
        Tok::Assign => return Some("use `==` to compare values".into()),
        Tok::Tilde => {
            return Some("`~` only appears in `=~`, `!~` and in patterns `~\"…\"`".into());
        }
        Tok::RBracket if matches!(prev, Some((_, Tok::LBracket, _))) => {
            return Some("empty lists are not allowed".into());
        }
        Tok::Ident(word @ ("AND" | "OR" | "NOT" | "IN" | "ALLIN")) => {
            return Some(format!("keywords are lower case: `{}`", word.to_lowercase()));
        }
        _ => {}
    }
    let t = tok?;
    if in_list && is_literal(t) {
        return Some(
            "the members of a list must all be of one kind: strings, patterns and regexps; \
             IPs and CIDRs; integers; or identifiers"
                .into(),
        );
    }
    if ends_membership(&tokens[..idx]) && !matches!(t, Tok::RParen) {
        return Some(
            "`in`, `not in` and `allin` end a comparison; use parentheses to combine one \
             with another operator: `(x in [1, 2]) == true`"
                .into(),
        );
    }
    None
}

fn is_literal(t: Tok<'_>) -> bool {
    matches!(
        t,
        Tok::Ident(_)
            | Tok::Cidr(_)
            | Tok::Ip(_)
            | Tok::Int(_)
            | Tok::Duration(_)
            | Tok::Variable(_)
            | Tok::FieldRef(_)
            | Tok::String(_)
            | Tok::Pattern(_)
            | Tok::Regex(_)
    )
}

/// How many `[` are open at the end of `before`.
fn list_depth(before: &[Spanned<'_>]) -> usize {
    before.iter().fold(0usize, |depth, t| match t.1 {
        Tok::LBracket => depth + 1,
        Tok::RBracket => depth.saturating_sub(1),
        _ => depth,
    })
}

/// Whether `before` ends with `in`/`allin` and its array.
fn ends_membership(before: &[Spanned<'_>]) -> bool {
    let array_start = match before.last().map(|t| t.1) {
        Some(Tok::RBracket) => before.iter().rposition(|t| t.1 == Tok::LBracket),
        Some(_) => before.len().checked_sub(1),
        None => None,
    };
    array_start
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| before.get(i))
        .is_some_and(|t| matches!(t.1, Tok::In | Tok::AllIn))
}

/// A help line listing what the parser would have accepted, when that is short enough to
/// be useful.
fn expected_help(expected: &[String]) -> Option<String> {
    if expected.is_empty() {
        return None;
    }
    let has = |t: &str| expected.iter().any(|e| e == t);
    if has("\"[\"") && !has("\"(\"") {
        return Some("expected an array: a list `[…]`, a macro, a field, a variable or a CIDR".into());
    }
    Some(match (has("Ident"), has("\"&&\"")) {
        (true, _) if expected.len() > 6 => {
            "expected an operand: an identifier, a literal, a unary operator or `(`".into()
        }
        (_, true) => "expected an operator, or the end of the expression".into(),
        _ => {
            let names: Vec<String> = expected.iter().map(|e| terminal_name(e)).collect();
            format!("expected {}", names.join(" or "))
        }
    })
}

/// A user-facing name for a grammar terminal as lalrpop reports it.
fn terminal_name(terminal: &str) -> String {
    match terminal {
        "Ident" => "an identifier",
        "Cidr" => "a CIDR",
        "Ip" => "an IP address",
        "Int" => "an integer",
        "Duration" => "a duration",
        "Variable" => "a variable",
        "FieldRef" => "a field reference",
        "String" => "a string",
        "Pattern" => "a pattern",
        "Regex" => "a regular expression",
        quoted => return quoted.to_string(),
    }
    .to_string()
}
