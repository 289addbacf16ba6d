//! Lexer and parser behaviour, table-driven: what parses and how it groups, what fails
//! with which code and message, the size and nesting bounds, fuzzing, and the default
//! policy.

use proptest::prelude::*;
use secl_syntax::ast::{Array, ArrayKind, Expr, ExprKind, MacroBody, StringKind};
use secl_syntax::diagnostics::{Code, codes};
use secl_syntax::{Diagnostic, parse_expression, parse_macro_body};

/// A compact rendering of a tree that shows grouping, kinds and converted values.
fn sexpr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Ident(s) => s.clone(),
        ExprKind::Int(v) => v.to_string(),
        ExprKind::Duration(ns) => format!("{ns}ns"),
        ExprKind::String(s) => format!("\"{s}\""),
        ExprKind::Pattern(s) => format!("~\"{s}\""),
        ExprKind::Regex(s) => format!("r\"{s}\""),
        ExprKind::Ip(s) => format!("ip:{s}"),
        ExprKind::Cidr(s) => format!("cidr:{s}"),
        ExprKind::Variable(s) => format!("${{{s}}}"),
        ExprKind::FieldRef(s) => format!("%{{{s}}}"),
        ExprKind::Paren(inner) => format!("[{}]", sexpr(inner)),
        ExprKind::Unary { op, operand } => format!("({op:?} {})", sexpr(operand)),
        ExprKind::Binary { op, lhs, rhs } => format!("({op} {} {})", sexpr(lhs), sexpr(rhs)),
        ExprKind::Compare { op, lhs, rhs } => format!("({op} {} {})", sexpr(lhs), sexpr(rhs)),
        ExprKind::Membership { op, lhs, rhs } => {
            format!("({op} {} {})", sexpr(lhs), array(rhs))
        }
    }
}

fn array(a: &Array) -> String {
    let list = |items: Vec<String>| format!("[{}]", items.join(" "));
    match &a.kind {
        ArrayKind::Strings(v) => list(
            v.iter()
                .map(|m| match m.kind {
                    StringKind::Plain => format!("\"{}\"", m.text),
                    StringKind::Pattern => format!("~\"{}\"", m.text),
                    StringKind::Regex => format!("r\"{}\"", m.text),
                })
                .collect(),
        ),
        ArrayKind::Ints(v) => list(v.iter().map(|(i, _)| i.to_string()).collect()),
        ArrayKind::Cidrs(v) => list(v.iter().map(|(s, _)| format!("ip:{s}")).collect()),
        ArrayKind::Idents(v) => list(v.iter().map(|(s, _)| format!("id:{s}")).collect()),
        ArrayKind::Ident(s) => format!("id:{s}"),
        ArrayKind::Cidr(s) => format!("cidr:{s}"),
        ArrayKind::Variable(s) => format!("${{{s}}}"),
        ArrayKind::FieldRef(s) => format!("%{{{s}}}"),
    }
}

fn parses(src: &str) -> String {
    match parse_expression(src) {
        Ok(e) => sexpr(&e),
        Err(d) => panic!("{src:?} should parse, got {:?}: {} ({:?})", d.code, d.message, d.help),
    }
}

fn fails(src: &str) -> Diagnostic {
    match parse_expression(src) {
        Ok(e) => panic!("{src:?} should fail, parsed as {}", sexpr(&e)),
        Err(d) => d,
    }
}

#[test]
fn token_kinds_and_literal_values() {
    let cases: &[(&str, &str)] = &[
        ("open.file.path", "open.file.path"),
        ("_x9.y[z]", "_x9.y[z]"),
        ("42", "42"),
        ("+42", "42"),
        ("-1", "-1"),
        ("010", "8"),
        ("-010", "-8"),
        ("0", "0"),
        ("00", "0"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("250ms", "250000000ns"),
        ("30s", "30000000000ns"),
        ("10m", "600000000000ns"),
        ("2h", "7200000000000ns"),
        ("0s", "0ns"),
        (r#""abc""#, r#""abc""#),
        (r#""a\"b""#, r#""a\"b""#),
        (r#""\d\n""#, r#""\d\n""#),
        (r#""""#, r#""""#),
        (r#"~"/tmp/*""#, r#"~"/tmp/*""#),
        (r#"~"\Device\*""#, r#"~"\Device\*""#),
        (r#"r"\d+\.so""#, r#"r"\d+\.so""#),
        (r#"r"a\"b""#, r#"r"a\"b""#),
        ("10.0.0.1", "ip:10.0.0.1"),
        ("::1", "ip:::1"),
        ("::", "ip:::"),
        ("fd00::", "ip:fd00::"),
        ("2001:db8::8a2e:370:7334", "ip:2001:db8::8a2e:370:7334"),
        ("::ffff:1.2.3.4", "ip:::ffff:1.2.3.4"),
        ("10.0.0.0/8", "cidr:10.0.0.0/8"),
        ("fd00::/8", "cidr:fd00::/8"),
        ("::ffff:1.2.3.4/128", "cidr:::ffff:1.2.3.4/128"),
        ("${process.seen_hosts}", "${process.seen_hosts}"),
        ("${_x}", "${_x}"),
        ("%{exec.argv.length}", "%{exec.argv.length}"),
        ("%{process.ancestors[A].pid}", "%{process.ancestors[A].pid}"),
        ("process.ancestors[A].file.name", "process.ancestors[A].file.name"),
        ("exec.argv[1]", "exec.argv[1]"),
        ("true", "true"),
        ("false", "false"),
        ("(a)", "[a]"),
        ("((a))", "[[a]]"),
        // A string holding `${…}` stays a string: interpolation is resolved later.
        (r#""cgroup_${builtins.uuid4}""#, r#""cgroup_${builtins.uuid4}""#),
    ];
    for (src, want) in cases {
        assert_eq!(parses(src), *want, "{src}");
    }
}

#[test]
fn grouping_and_precedence() {
    let cases: &[(&str, &str)] = &[
        // Bitwise binds tighter than `+`/`-` and comparisons, and groups to the right.
        ("open.flags & 3 + 1 == 3", "(== (+ (& open.flags 3) 1) 3)"),
        ("open.flags & O_CREAT > 0", "(> (& open.flags O_CREAT) 0)"),
        ("a & b | c", "(& a (| b c))"),
        ("a | b & c", "(| a (& b c))"),
        ("a ^ b ^ c", "(^ a (^ b c))"),
        ("(a | b) & c", "(& [(| a b)] c)"),
        // `&&` and `||` share one level and group to the right.
        ("A && B || C", "(&& A (|| B C))"),
        ("A || B && C", "(|| A (&& B C))"),
        ("A and B or C", "(&& A (|| B C))"),
        ("A && B && C", "(&& A (&& B C))"),
        ("(A && B) || C", "(|| [(&& A B)] C)"),
        // Additive is left to right.
        ("a - b + c", "(+ (- a b) c)"),
        ("a - 5", "(- a 5)"),
        ("a + 5", "(+ a 5)"),
        ("(x + 1) > 3", "(> [(+ x 1)] 3)"),
        // Comparisons: the right side is itself a comparison.
        ("a == b == c", "(== a (== b c))"),
        ("1 < x < 5", "(< 1 (< x 5))"),
        ("a == b in [1]", "(== a (in b [1]))"),
        ("a == 1 && b != 2", "(&& (== a 1) (!= b 2))"),
        ("a <= 1 || b >= 2 || c < 3 || d > 4", "(|| (<= a 1) (|| (>= b 2) (|| (< c 3) (> d 4))))"),
        (r#"a =~ "x*" && b !~ "y""#, r#"(&& (=~ a "x*") (!~ b "y"))"#),
        // Unary operators bind tighter than everything else and nest.
        ("not x == 2", "(== (Not x) 2)"),
        ("!x == 2", "(== (Not x) 2)"),
        ("a and not b == c", "(&& a (== (Not b) c))"),
        ("!!x", "(Not (Not x))"),
        ("not !x", "(Not (Not x))"),
        ("- -x", "(Neg (Neg x))"),
        ("--5", "(Neg -5)"),
        ("- 5", "(Neg 5)"),
        ("-x", "(Neg x)"),
        ("^x", "(BitNot x)"),
        ("^x & y", "(& (BitNot x) y)"),
        ("!(open.flags == 2)", "(Not [(== open.flags 2)])"),
        // Membership.
        (r#"a in ["x", ~"y*", r"z"]"#, r#"(in a ["x" ~"y*" r"z"])"#),
        ("a not in [1, 2, 010]", "(not in a [1 2 8])"),
        ("a allin [1]", "(allin a [1])"),
        ("a in [10.0.0.0/8, ::1, 1.2.3.4]", "(in a [ip:10.0.0.0/8 ip:::1 ip:1.2.3.4])"),
        ("a in [O_RDWR, O_CREAT ]", "(in a [id:O_RDWR id:O_CREAT])"),
        ("a in [ O_RDWR , O_CREAT ]", "(in a [id:O_RDWR id:O_CREAT])"),
        ("a in MY_MACRO", "(in a id:MY_MACRO)"),
        ("a in 10.0.0.0/8", "(in a cidr:10.0.0.0/8)"),
        ("a in ${ips}", "(in a ${ips})"),
        ("a in %{process.ancestors.pid}", "(in a %{process.ancestors.pid})"),
        ("a in [1] && b", "(&& (in a [1]) b)"),
        ("a & 1 in [1]", "(in (& a 1) [1])"),
        // Keywords are identifiers matched by text: as operands they are identifiers.
        ("and == 1", "(== and 1)"),
        ("x in in", "(in x id:in)"),
        ("x in [not ]", "(in x [id:not])"),
        ("AND", "AND"),
        // The reference's two-Punct operators may be spaced.
        ("a = = b", "(== a b)"),
        ("a & & b", "(&& a b)"),
        ("a | | b", "(|| a b)"),
        ("a ! = b", "(!= a b)"),
        ("a < = b", "(<= a b)"),
        (r#"a = ~ "x""#, r#"(=~ a "x")"#),
        // `~"` after `==` is a pattern; `=~` before `r"` is fine.
        (r#"exec.comm ==~"a*""#, r#"(== exec.comm ~"a*")"#),
        (r#"exec.comm=~r"a""#, r#"(=~ exec.comm r"a")"#),
        (r#"exec.comm =~ "a*""#, r#"(=~ exec.comm "a*")"#),
        (r#"a!=~"x""#, r#"(!= a ~"x")"#),
        ("a==-5", "(== a -5)"),
        ("a>=1", "(>= a 1)"),
    ];
    for (src, want) in cases {
        assert_eq!(parses(src), *want, "{src}");
    }
}

#[test]
fn whitespace_and_comments() {
    let cases: &[(&str, &str)] = &[
        ("a # a comment\n&& b", "(&& a b)"),
        ("a // a comment\n&& b", "(&& a b)"),
        ("# leading\na", "a"),
        ("a # trailing, no newline", "a"),
        ("a #\r\n&& b", "(&& a b)"),
        ("a ==\n  1 &&\n  b", "(&& (== a 1) b)"),
        ("a ==\r\n  1 &&\r\n  b", "(&& (== a 1) b)"),
        ("\ta\t==\t1\t", "(== a 1)"),
        ("  a  ", "a"),
        (r##""# not a comment""##, r##""# not a comment""##),
        ("a == \"x\" # \"quoted\" in a comment", r#"(== a "x")"#),
    ];
    for (src, want) in cases {
        assert_eq!(parses(src), *want, "{src:?}");
    }
}

/// `(source, code, message fragment, help fragment or "", caret byte offset)`.
type ErrorCase = (&'static str, Code, &'static str, &'static str, usize);

const SYN: Code = codes::SYNTAX_ERROR;
const LEX: Code = codes::LEX_ERROR;
const INT: Code = codes::INVALID_INTEGER;
const DUR: Code = codes::INVALID_DURATION;

#[rustfmt::skip]
const ERROR_CASES: &[ErrorCase] = &[
    // Literals the lexer does not have.
    ("open.flags == 0x10", SYN, r#"unexpected token "x10""#, "hexadecimal", 15),
    ("0b1", SYN, r#"unexpected token "b1""#, "hexadecimal", 1),
    ("0o7", SYN, r#"unexpected token "o7""#, "hexadecimal", 1),
    ("a == 1.5", LEX, "no match found for .", "floating-point", 6),
    ("a == 1.2.3", LEX, "no match found for .", "", 6),
    ("a == 08", INT, r#"invalid integer "08": strconv.ParseInt: parsing "08": invalid syntax"#, "octal", 5),
    ("a == 09", INT, r#"invalid integer "09""#, "", 5),
    ("a in [1, 08]", INT, r#"invalid integer "08""#, "", 9),
    ("9223372036854775808", INT, "value out of range", "64-bit", 0),
    ("-9223372036854775809", INT, "value out of range", "", 0),
    ("99999999999999999999999", INT, "value out of range", "", 0),
    // Signed literals are single tokens.
    ("a -5", SYN, r#"unexpected token "-5""#, "put a space after `-`", 2),
    ("a +5", SYN, r#"unexpected token "+5""#, "to add", 2),
    ("a-5", SYN, r#"unexpected token "-5""#, "", 1),
    // Durations.
    ("x > 5d", SYN, r#"unexpected token "d""#, "not a duration unit", 5),
    ("x > 1us", SYN, r#"unexpected token "us""#, "not a duration unit", 5),
    ("process.created_at > 5hs", DUR,
        r#"invalid duration string "5hs": time: unknown unit "hs" in duration "5hs""#, "units", 21),
    ("x > 5mss", DUR, r#"unknown unit "mss""#, "", 4),
    ("x > 2562048h", DUR,
        r#"invalid duration string "2562048h": time: invalid duration "2562048h""#, "", 4),
    ("x > 99999999999999999999s", DUR, "time: invalid duration", "", 4),
    ("x > -5s", SYN, r#"unexpected token "s""#, "negative", 6),
    ("x in [5s]", SYN, r#"unexpected token "5s""#, "one kind", 6),
    // Characters no token starts with.
    ("a ==\u{c} 1", LEX, r"no match found for \u{c}", "whitespace", 4),
    ("a ==\u{b} 1", LEX, r"no match found for \u{b}", "whitespace", 4),
    ("a ==\u{a0}1", LEX, r"no match found for \u{a0}", "whitespace", 4),
    ("a == 'x'", LEX, "no match found for '", "double quotes", 5),
    ("a.b == .c", LEX, "no match found for .", "", 7),
    ("a * 2", LEX, "no match found for *", "not operators", 2),
    ("a / 2", LEX, "no match found for /", "", 2),
    ("a == \"abc", LEX, "no match found for \"", "never closed", 5),
    ("a == ~\"abc", LEX, "no match found for \"", "never closed", 6),
    ("a == ${1x}", LEX, "no match found for $", "variable", 5),
    ("a == {", LEX, "no match found for {", "", 5),
    ("a == \0", LEX, r"no match found for \u{0}", "", 5),
    // Syntax.
    ("a % 2", SYN, r#"unexpected token "%""#, "not operators", 2),
    ("a = b", SYN, r#"unexpected token "=""#, "`==`", 2),
    ("a ~ b", SYN, r#"unexpected token "~""#, "", 2),
    ("a in [1,2] == true", SYN, r#"unexpected token "==""#, "parentheses", 11),
    ("a in X == true", SYN, r#"unexpected token "==""#, "parentheses", 7),
    ("a in []", SYN, r#"unexpected token "]""#, "empty lists", 6),
    (r#"a in ["x", 1]"#, SYN, r#"unexpected token "1""#, "one kind", 11),
    (r#"a in [1, "x"]"#, SYN, r#"unexpected token "x""#, "one kind", 9),
    ("a in [1.2.3.4, O_RDWR ]", SYN, r#"unexpected token "O_RDWR""#, "one kind", 15),
    (r#"a in ["a", -5]"#, SYN, r#"unexpected token "-5""#, "one kind", 11),
    ("a in [1, ]", SYN, r#"unexpected token "]""#, "", 9),
    ("a in [1", SYN, r#"unexpected token "<EOF>" (expected "]")"#, "", 7),
    ("a in 1.2.3.4", SYN, r#"unexpected token "1.2.3.4""#, "", 5),
    ("a in \"x\"", SYN, r#"unexpected token "x""#, "", 5),
    ("a in", SYN, r#"unexpected token "<EOF>""#, "expected an array", 4),
    ("(a", SYN, r#"unexpected token "<EOF>" (expected ")")"#, "", 2),
    ("a)", SYN, r#"unexpected token ")""#, "", 1),
    ("", SYN, r#"unexpected token "<EOF>""#, "operand", 0),
    ("  # only a comment", SYN, r#"unexpected token "<EOF>""#, "", 0),
    ("a ==", SYN, r#"unexpected token "<EOF>""#, "", 4),
    ("a b", SYN, r#"unexpected token "b""#, "operator", 2),
    ("a && && b", SYN, r#"unexpected token "&&""#, "", 5),
    ("a not b", SYN, r#"unexpected token "b""#, r#"expected "in""#, 6),
    ("not", SYN, r#"unexpected token "<EOF>""#, "", 3),
    ("a AND b", SYN, r#"unexpected token "AND""#, "lower case", 2),
    ("a && \"x\" \"y\"", SYN, r#"unexpected token "y""#, "", 9),
    ("[1, 2]", SYN, r#"unexpected token "[""#, "", 0),
    // Identifiers swallow `[` and `]`.
    ("a in [O_RDWR, O_CREAT]", SYN, r#"unexpected token "<EOF>" (expected "]")"#, "`O_CREAT ]`", 22),
    ("a in [O_CREAT] && b", SYN, r#"unexpected token "&&""#, "space before `]`", 15),
    (r#"open.file.path in["/b"]"#, SYN, r#"unexpected token "in[""#, "space between `in` and `[`", 15),
    (r#"open.file.path allin["/b"]"#, SYN, r#"unexpected token "allin[""#, "`allin` and `[`", 15),
    // `~"` starts a pattern.
    (r#"exec.comm=~"a*""#, SYN, r#"unexpected token "a*" (expected "~")"#, r#"`=~ "a*"`"#, 10),
    (r#"exec.comm !~"a*""#, SYN, r#"unexpected token "a*" (expected "~")"#, r#"`!~ "a*"`"#, 11),
];

#[test]
fn errors() {
    for &(src, code, message, help, caret) in ERROR_CASES {
        let d = fails(src);
        assert_eq!(d.code, code, "{src:?}: {}", d.message);
        assert!(d.message.contains(message), "{src:?}: message {:?} lacks {message:?}", d.message);
        let got_help = d.help.clone().unwrap_or_default();
        assert!(got_help.contains(help), "{src:?}: help {got_help:?} lacks {help:?}");
        assert_eq!(d.primary_span().map(|s| s.start as usize), Some(caret), "{src:?}: caret");
        assert!(d.rule_id.is_none() && d.source.is_none(), "{src:?}: callers attach those");
        assert!(d.is_error());
    }
}

#[test]
fn spans_cover_their_source() {
    let src = "a == 1 && (b in [\"x\", ~\"y\"] || -c)";
    let e = parse_expression(src).unwrap();
    assert_eq!(e.span.range(), 0..src.len());
    let ExprKind::Binary { lhs, rhs, .. } = &e.kind else { panic!("{e:?}") };
    assert_eq!(&src[lhs.span.range()], "a == 1");
    assert_eq!(&src[rhs.span.range()], "(b in [\"x\", ~\"y\"] || -c)");
    let ExprKind::Paren(inner) = &rhs.kind else { panic!("{rhs:?}") };
    let ExprKind::Binary { lhs: member, rhs: neg, .. } = &inner.kind else { panic!() };
    assert_eq!(&src[neg.span.range()], "-c");
    let ExprKind::Membership { rhs: list, .. } = &member.kind else { panic!() };
    assert_eq!(&src[list.span.range()], "[\"x\", ~\"y\"]");
    let ArrayKind::Strings(members) = &list.kind else { panic!() };
    assert_eq!(&src[members[1].span.range()], "~\"y\"");
}

#[test]
fn macro_bodies() {
    let ok: &[(&str, &str)] = &[
        (r#"["nc", "ncat", ~"socat*"]"#, r#"array ["nc" "ncat" ~"socat*"]"#),
        ("[1, 2]", "array [1 2]"),
        ("[10.0.0.0/8, ::1]", "array [ip:10.0.0.0/8 ip:::1]"),
        ("[O_RDWR, O_CREAT ]", "array [id:O_RDWR id:O_CREAT]"),
        ("S_IXUSR|S_IXGRP|S_IXOTH", "expr (| S_IXUSR (| S_IXGRP S_IXOTH))"),
        ("exec.file.name in OTHER_MACRO", "expr (in exec.file.name id:OTHER_MACRO)"),
        ("OTHER_MACRO", "expr OTHER_MACRO"),
        ("10.0.0.0/8", "expr cidr:10.0.0.0/8"),
        (r#""x""#, r#"expr "x""#),
    ];
    for (src, want) in ok {
        let got = match parse_macro_body(src) {
            Ok(MacroBody::Array(a)) => format!("array {}", array(&a)),
            Ok(MacroBody::Expr(e)) => format!("expr {}", sexpr(&e)),
            Err(d) => panic!("{src:?}: {}", d.message),
        };
        assert_eq!(got, *want, "{src}");
    }
    let bad: &[(&str, Code)] = &[
        ("[]", codes::SYNTAX_ERROR),
        (r#"["a", 1]"#, codes::SYNTAX_ERROR),
        ("[O_RDWR, O_CREAT]", codes::SYNTAX_ERROR),
        (r#"["a"] == x"#, codes::SYNTAX_ERROR),
        ("[08]", codes::INVALID_INTEGER),
        ("", codes::SYNTAX_ERROR),
    ];
    for (src, code) in bad {
        let d = parse_macro_body(src).expect_err(src);
        assert_eq!(d.code, *code, "{src}: {}", d.message);
    }
}

/// Runs `f` on a thread with the default 2 MiB stack, as a test harness or a caller would.
fn on_small_stack<F: FnOnce() + Send + 'static>(f: F) {
    std::thread::Builder::new().stack_size(2 << 20).spawn(f).unwrap().join().unwrap();
}

#[test]
fn nesting_bound() {
    on_small_stack(|| {
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        let d = parse_expression(&deep).unwrap_err();
        assert_eq!(d.code, codes::TOO_DEEP);
        assert_eq!(d.message, "expression too deeply nested or too complex: 10000 operators, the limit is 1000");
        assert_eq!(d.primary_span().map(|s| s.start), Some(1000));

        // At the limit everything still parses, drops and compares on a small stack.
        let parens = format!("{}a{}", "(".repeat(1000), ")".repeat(1000));
        let unary = format!("{}x", "!".repeat(1000));
        let logical = vec!["a"; 1001].join(" && ");
        let left = vec!["a"; 1001].join(" - ");
        let bits = vec!["a"; 1001].join(" | ");
        let compare = vec!["a"; 1001].join(" == ");
        for src in [&parens, &unary, &logical, &left, &bits, &compare] {
            let e = parse_expression(src).unwrap_or_else(|d| panic!("{}", d.message));
            assert_eq!(e.clone(), e);
            assert!(format!("{e:?}").len() > src.len());
            let over = format!("({src})");
            assert_eq!(parse_expression(&over).unwrap_err().code, codes::TOO_DEEP);
        }
        let too_many = vec!["a"; 1002].join(" && ");
        assert_eq!(parse_expression(&too_many).unwrap_err().code, codes::TOO_DEEP);
        // Array brackets and literals are leaves and do not count.
        let list = format!("a in [{}]", vec!["1"; 5000].join(", "));
        assert!(parse_expression(&list).is_ok());
    });
}

#[test]
fn size_bound() {
    let big = format!("a == \"{}\"", "x".repeat(2_000_000));
    let d = parse_expression(&big).unwrap_err();
    assert_eq!(d.code, codes::TOO_LARGE);
    assert_eq!(parse_macro_body(&big).unwrap_err().code, codes::TOO_LARGE);
    // The limit itself is accepted, and a cut inside a multi-byte character is safe.
    let max = secl_syntax::MAX_EXPRESSION_BYTES;
    let at_limit = format!("\"{}\"", "x".repeat(max - 2));
    assert!(parse_expression(&at_limit).is_ok());
    let wide = format!("\"{}\"", "é".repeat(max / 2));
    let d = parse_expression(&wide).unwrap_err();
    assert_eq!(d.code, codes::TOO_LARGE);
    let span = d.primary_span().unwrap();
    assert!(wide.is_char_boundary(span.start as usize));
}

/// Every diagnostic points inside the source, on character boundaries.
fn check_no_panic(src: &str) {
    if let Ok(e) = parse_expression(src) {
        assert!(src.get(e.span.range()).is_some(), "{src:?}: {:?}", e.span);
    }
    let errors = [parse_expression(src).err(), parse_macro_body(src).err()];
    for d in errors.into_iter().flatten() {
        for label in &d.labels {
            let r = label.span.range();
            assert!(r.start <= r.end && r.end <= src.len(), "{src:?}: {r:?}");
            assert!(src.is_char_boundary(r.start) && src.is_char_boundary(r.end));
        }
    }
}

const SECL_PIECES: [&str; 46] = [
    "a",
    "b.c[A]",
    "1",
    "-1",
    "08",
    "5hs",
    "10s",
    "\"s\"",
    "~\"p*\"",
    "r\"x\"",
    "::1",
    "10.0.0.0/8",
    "${v}",
    "%{f}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "&&",
    "||",
    "and",
    "or",
    "not",
    "in",
    "allin",
    "==",
    "!=",
    "=~",
    "!~",
    "<",
    ">=",
    "+",
    "-",
    "&",
    "|",
    "^",
    "!",
    "=",
    "~",
    "%",
    "#c\n",
    " ",
    "\r\n",
    "é",
    "\"",
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        check_no_panic(&src);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_no_panic(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn secl_like_text_never_panics(
        parts in proptest::collection::vec(
            proptest::sample::select(&SECL_PIECES[..]),
            0..24,
        )
    ) {
        check_no_panic(&parts.concat());
        check_no_panic(&parts.join(" "));
    }
}

#[test]
fn default_policy_parses() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus/datadog-default-1.69.3.policy");
    let Ok(text) = std::fs::read_to_string(path) else {
        println!("skipping: {path} not present");
        return;
    };
    let doc = marked_yaml::parse_yaml(0, &text).expect("the default policy is valid YAML");
    let top = doc.as_mapping().expect("a mapping");
    let mut parsed = 0;
    let mut failures = Vec::new();
    for (section, is_macro) in [("macros", true), ("rules", false)] {
        for item in top.get_sequence(section).expect(section).iter() {
            let item = item.as_mapping().expect("an entry");
            let id = item.get_scalar("id").map_or("?", |s| s.as_str());
            let Some(expr) = item.get_scalar("expression") else {
                failures.push(format!("{id}: no expression"));
                continue;
            };
            let result = if is_macro {
                parse_macro_body(expr.as_str()).map(|_| ())
            } else {
                parse_expression(expr.as_str()).map(|_| ())
            };
            match result {
                Ok(()) => parsed += 1,
                Err(d) => failures.push(format!("{id}: {} ({:?})", d.message, d.primary_span())),
            }
            // `set` actions may carry an expression too.
            for action in item.get_sequence("actions").map(|s| s.iter()).into_iter().flatten() {
                let set = action.as_mapping().and_then(|a| a.get_mapping("set"));
                if let Some(e) = set.and_then(|s| s.get_scalar("expression"))
                    && let Err(d) = parse_expression(e.as_str())
                {
                    failures.push(format!("{id} set action: {}", d.message));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(parsed, 369);
}
