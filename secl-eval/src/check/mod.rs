//! The typechecker: resolves names (SPEC §3), types every operator (SPEC §4.2), compiles
//! string literals into matchers (SPEC §5) and produces the typed IR of [`crate::ir`].
//!
//! Like the reference, checking stops at the first error of an expression: one rule,
//! one error. Spans in diagnostics are relative to the checked text; the caller maps them
//! into the policy file.

mod compare;
mod literal;
mod member;
pub mod scope;

pub use scope::{FieldInfo, FieldNamespace, MacroEntry, MacroTable, VarDecl, VarTable};

use crate::ir::{FieldLoad, Lit, Node, Piece, Ty, VarRead};
use crate::model::{ConstValue, FieldId};
use crate::value::ip::IpNet;
use secl_syntax::Diagnostic;
use secl_syntax::Span;
use secl_syntax::ast::{BinaryOp, Expr, ExprKind, MacroBody, StringKind, UnaryOp};
use secl_syntax::diagnostics::codes;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Macro references may nest (a macro using an earlier macro); the bound keeps a
/// pathological chain from exhausting the stack.
const MAX_MACRO_DEPTH: usize = 32;

pub type CheckResult<T> = Result<T, Box<Diagnostic>>;

/// What a checked operand is, beyond its type: the typing table distinguishes fields,
/// static literals, durations and arithmetic results (SPEC §4.2, §5.1, §7).
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Field(Box<FieldInfo>),
    /// A static string literal: plain, pattern or regexp text.
    StrLit(StringKind, Arc<str>),
    /// A literal list of strings, patterns and regexps; the macro it came from, if any,
    /// keys the compiled-set cache.
    Values(Vec<(StringKind, Arc<str>, Span)>, Option<Arc<str>>),
    IntList(Vec<i64>),
    IpList,
    BoolList,
    Duration(i64),
    Arith,
    /// A folded literal (int, bool, IP).
    Const,
    /// Anything computed at run time that is not a plain field read.
    Dynamic,
}

#[derive(Clone, Debug)]
pub(crate) struct Operand {
    pub node: Node,
    pub ty: Ty,
    pub kind: Kind,
    pub span: Span,
}

impl Operand {
    fn new(node: Node, ty: Ty, kind: Kind, span: Span) -> Operand {
        Operand { node, ty, kind, span }
    }

    fn field(&self) -> Option<&FieldInfo> {
        match &self.kind {
            Kind::Field(f) => Some(f),
            _ => None,
        }
    }
}

/// Where names are looked up.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub fields: &'a dyn FieldNamespace,
    pub macros: Option<&'a MacroTable>,
    pub vars: Option<&'a VarTable>,
}

/// Sets compiled from value macros, per (macro, field): a macro such as
/// `PACKAGE_MANAGERS` used by fifty rules is compiled once per field it meets, and the
/// rules share one set (which the VM then evaluates once per event).
#[derive(Default)]
pub struct SetCache {
    sets: std::cell::RefCell<std::collections::HashMap<SetKey, Arc<crate::matcher::StrSet>>>,
}

/// A value macro and the field it is compared with.
type SetKey = (Arc<str>, Option<FieldId>);

impl SetCache {
    pub(crate) fn get(&self, key: &SetKey) -> Option<Arc<crate::matcher::StrSet>> {
        self.sets.borrow().get(key).cloned()
    }

    pub(crate) fn put(&self, key: SetKey, set: Arc<crate::matcher::StrSet>) {
        self.sets.borrow_mut().insert(key, set);
    }
}

/// What a successful check yields.
#[derive(Clone, Debug)]
pub struct Checked {
    pub node: Node,
    pub ty: Ty,
    pub register: Option<crate::ir::Register>,
    /// Fields read directly or through macros (not through `%{…}`), with a span each.
    pub fields: Vec<(FieldId, Span)>,
    /// Fields read through `%{…}` field references.
    pub field_refs: Vec<FieldId>,
    pub macros_used: BTreeSet<String>,
    pub vars_used: BTreeSet<crate::ir::VarId>,
    pub warnings: Vec<Diagnostic>,
}

pub struct Checker<'a> {
    env: Env<'a>,
    register: Option<(String, String, Span)>,
    fields: Vec<(FieldId, Span)>,
    field_refs: Vec<FieldId>,
    macros_used: BTreeSet<String>,
    vars_used: BTreeSet<crate::ir::VarId>,
    warnings: Vec<Diagnostic>,
    macro_depth: usize,
    /// While expanding a macro, diagnostics point at the macro's name in the rule.
    span_override: Option<Span>,
    /// For FIM expansion (SPEC §11): `fim.write.file.` is read as this prefix.
    fim_prefix: Option<String>,
    pub(crate) cache: Option<&'a SetCache>,
}

impl<'a> Checker<'a> {
    pub fn new(env: Env<'a>) -> Checker<'a> {
        Checker {
            env,
            register: None,
            fields: Vec::new(),
            field_refs: Vec::new(),
            macros_used: BTreeSet::new(),
            vars_used: BTreeSet::new(),
            warnings: Vec::new(),
            macro_depth: 0,
            span_override: None,
            fim_prefix: None,
            cache: None,
        }
    }

    /// Shares compiled macro sets with other checks.
    pub fn with_cache(mut self, cache: &'a SetCache) -> Checker<'a> {
        self.cache = Some(cache);
        self
    }

    /// Rewrites `fim.write.file.*` to `prefix*` (e.g. `open.file.`), for FIM expansion.
    pub fn with_fim_prefix(mut self, prefix: &str) -> Checker<'a> {
        self.fim_prefix = Some(prefix.to_owned());
        self
    }

    /// Checks a boolean expression (a rule, a filter, an action filter).
    pub fn check_bool(mut self, expr: &Expr) -> CheckResult<Checked> {
        let op = self.expr(expr)?;
        if op.ty != Ty::Bool {
            return Err(self.type_error(op.span, Ty::Bool, op.ty));
        }
        self.finish(op)
    }

    /// Checks an expression of any type (`set.expression`, `secl eval --expr`).
    pub fn check_any(mut self, expr: &Expr) -> CheckResult<Checked> {
        let op = self.expr(expr)?;
        self.finish(op)
    }

    /// Checks a macro body on its own (at definition time).
    pub fn check_macro(mut self, body: &MacroBody) -> CheckResult<Checked> {
        match body {
            MacroBody::Expr(e) => {
                let op = self.expr(e)?;
                self.finish(op)
            }
            MacroBody::Array(a) => {
                let op = self.array(a)?;
                self.finish(op)
            }
        }
    }

    fn finish(self, op: Operand) -> CheckResult<Checked> {
        let register = match &self.register {
            Some((name, prefix, _)) => {
                let length =
                    self.env.fields.resolve(&format!("{prefix}.length")).map(|f| f.id).ok_or_else(|| {
                        Box::new(Diagnostic::error(codes::ITERATOR, "iterator without a length field"))
                    })?;
                Some(crate::ir::Register { name: name.clone(), prefix: prefix.clone(), length_field: length })
            }
            None => None,
        };
        Ok(Checked {
            node: op.node,
            ty: op.ty,
            register,
            fields: self.fields,
            field_refs: self.field_refs,
            macros_used: self.macros_used,
            vars_used: self.vars_used,
            warnings: self.warnings,
        })
    }

    fn sp(&self, span: Span) -> Span {
        self.span_override.unwrap_or(span)
    }

    pub(crate) fn error(
        &self,
        code: secl_syntax::diagnostics::Code,
        span: Span,
        msg: impl Into<String>,
    ) -> Box<Diagnostic> {
        Box::new(Diagnostic::error(code, msg).with_label(self.sp(span), ""))
    }

    pub(crate) fn type_error(&self, span: Span, expected: Ty, found: Ty) -> Box<Diagnostic> {
        let d = Diagnostic::error(codes::TYPE_MISMATCH, format!("{} expected", expected.expected_name()))
            .with_label(self.sp(span), format!("this is {}", article(found)));
        Box::new(d)
    }

    fn expr(&mut self, e: &Expr) -> CheckResult<Operand> {
        let span = e.span;
        match &e.kind {
            ExprKind::Ident(name) => self.ident_operand(name, span),
            ExprKind::Int(v) => Ok(Operand::new(Node::Lit(Lit::Int(*v)), Ty::Int, Kind::Const, span)),
            ExprKind::Duration(ns) => Ok(Operand::new(Node::Lit(Lit::Int(*ns)), Ty::Int, Kind::Duration(*ns), span)),
            ExprKind::String(text) => self.string_literal(text, span),
            ExprKind::Pattern(text) => Ok(Operand::new(
                Node::Lit(Lit::Str(Arc::from(text.as_str()))),
                Ty::Str,
                Kind::StrLit(StringKind::Pattern, Arc::from(text.as_str())),
                span,
            )),
            ExprKind::Regex(text) => Ok(Operand::new(
                Node::Lit(Lit::Str(Arc::from(text.as_str()))),
                Ty::Str,
                Kind::StrLit(StringKind::Regex, Arc::from(text.as_str())),
                span,
            )),
            ExprKind::Ip(text) => {
                let ip = self.parse_ip(text, span)?;
                Ok(Operand::new(Node::Lit(Lit::Ip(ip)), Ty::Ip, Kind::Const, span))
            }
            ExprKind::Cidr(text) => {
                let ip = self.parse_cidr(text, span)?;
                Ok(Operand::new(Node::Lit(Lit::Ip(ip)), Ty::Ip, Kind::Const, span))
            }
            ExprKind::Variable(name) => self.variable(name, span),
            ExprKind::FieldRef(name) => self.field_ref(name, span),
            ExprKind::Paren(inner) => {
                let mut op = self.expr(inner)?;
                op.span = span;
                Ok(op)
            }
            ExprKind::Unary { op, operand } => self.unary(*op, operand, span),
            ExprKind::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, span),
            ExprKind::Compare { op, lhs, rhs } => self.compare(*op, lhs, rhs, span),
            ExprKind::Membership { op, lhs, rhs } => self.membership(*op, lhs, rhs, span),
        }
    }

    fn unary(&mut self, op: UnaryOp, operand: &Expr, span: Span) -> CheckResult<Operand> {
        let inner = self.expr(operand)?;
        let want = if op == UnaryOp::Not { Ty::Bool } else { Ty::Int };
        if inner.ty != want {
            let mut d = self.type_error(inner.span, want, inner.ty);
            if op == UnaryOp::Not {
                // `not x == 2` is `(not x) == 2` (SPEC §2.2): the most common slip.
                d.help = Some("`!`/`not` bind tighter than comparisons: write `!(a == b)` or `a != b`".into());
            }
            return Err(d);
        }
        let node = match (op, inner.node) {
            (UnaryOp::Not, Node::Lit(Lit::Bool(b))) => Node::Lit(Lit::Bool(!b)),
            (UnaryOp::Neg, Node::Lit(Lit::Int(v))) => Node::Lit(Lit::Int(v.wrapping_neg())),
            (UnaryOp::BitNot, Node::Lit(Lit::Int(v))) => Node::Lit(Lit::Int(!v)),
            (UnaryOp::Not, n) => Node::Not(Box::new(n)),
            (UnaryOp::Neg, n) => Node::Neg(Box::new(n)),
            (UnaryOp::BitNot, n) => Node::BitNot(Box::new(n)),
        };
        let kind = if matches!(node, Node::Lit(_)) { Kind::Const } else { Kind::Dynamic };
        Ok(Operand::new(node, want, kind, span))
    }

    fn binary(&mut self, op: BinaryOp, lhs: &Expr, rhs: &Expr, span: Span) -> CheckResult<Operand> {
        let l = self.expr(lhs)?;
        let r = self.expr(rhs)?;
        match op {
            BinaryOp::And | BinaryOp::Or => {
                for o in [&l, &r] {
                    if o.ty != Ty::Bool {
                        return Err(self.type_error(o.span, Ty::Bool, o.ty));
                    }
                }
                let is_and = op == BinaryOp::And;
                let node = match (l.node, r.node) {
                    (Node::Lit(Lit::Bool(a)), Node::Lit(Lit::Bool(b))) => {
                        Node::Lit(Lit::Bool(if is_and { a && b } else { a || b }))
                    }
                    (a, b) if is_and => Node::And(Box::new(a), Box::new(b)),
                    (a, b) => Node::Or(Box::new(a), Box::new(b)),
                };
                Ok(Operand::new(node, Ty::Bool, Kind::Dynamic, span))
            }
            _ => {
                for o in [&l, &r] {
                    if o.ty != Ty::Int {
                        return Err(self.type_error(o.span, Ty::Int, o.ty));
                    }
                }
                let int_op = match op {
                    BinaryOp::BitAnd => crate::ir::IntOp::And,
                    BinaryOp::BitOr => crate::ir::IntOp::Or,
                    BinaryOp::BitXor => crate::ir::IntOp::Xor,
                    BinaryOp::Add => crate::ir::IntOp::Add,
                    _ => crate::ir::IntOp::Sub,
                };
                // Only `+`/`-` results drop the age meaning of a later duration (SPEC §7).
                let arith = matches!(op, BinaryOp::Add | BinaryOp::Sub);
                let node = match (&l.node, &r.node) {
                    (Node::Lit(Lit::Int(a)), Node::Lit(Lit::Int(b))) => {
                        Node::Lit(Lit::Int(crate::interp::int_op(int_op, *a, *b)))
                    }
                    _ => Node::Int { op: int_op, lhs: Box::new(l.node), rhs: Box::new(r.node) },
                };
                let kind = if arith {
                    Kind::Arith
                } else if matches!(node, Node::Lit(_)) {
                    Kind::Const
                } else {
                    Kind::Dynamic
                };
                Ok(Operand::new(node, Ty::Int, kind, span))
            }
        }
    }

    fn string_literal(&mut self, text: &str, span: Span) -> CheckResult<Operand> {
        if !(text.contains("${") || text.contains("%{")) {
            let t: Arc<str> = Arc::from(text);
            return Ok(Operand::new(Node::Lit(Lit::Str(t.clone())), Ty::Str, Kind::StrLit(StringKind::Plain, t), span));
        }
        let pieces = self.interpolation(text, span)?;
        Ok(Operand::new(Node::Interp(pieces.into()), Ty::Str, Kind::Dynamic, span))
    }

    /// Splits `a${x}b%{f}` into pieces (SPEC §8.4). An unterminated `${` stays text.
    fn interpolation(&mut self, text: &str, span: Span) -> CheckResult<Vec<Piece>> {
        let mut pieces = Vec::new();
        let mut rest = text;
        let mut literal = String::new();
        while let Some(pos) = rest.find(['$', '%']) {
            let (before, at) = rest.split_at(pos);
            literal.push_str(before);
            let is_var = at.starts_with("${");
            let is_field = at.starts_with("%{");
            let close = at.find('}');
            match (is_var || is_field, close) {
                (true, Some(end)) => {
                    let name = &at[2..end];
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(Arc::from(std::mem::take(&mut literal))));
                    }
                    pieces.push(if is_var { self.var_piece(name, span)? } else { self.field_piece(name, span)? });
                    rest = &at[end + 1..];
                }
                _ => {
                    let c = at.chars().next().unwrap_or('$');
                    literal.push(c);
                    rest = &at[c.len_utf8()..];
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            pieces.push(Piece::Text(Arc::from(literal)));
        }
        Ok(pieces)
    }

    fn var_piece(&mut self, name: &str, span: Span) -> CheckResult<Piece> {
        let (read, _ty, length) = self.resolve_var(name, span)?;
        Ok(if length { Piece::VarLength(read) } else { Piece::Var(read) })
    }

    fn field_piece(&mut self, name: &str, span: Span) -> CheckResult<Piece> {
        if let Some(f) = self.resolve_field_name(name) {
            self.field_refs.push(f.id);
            return Ok(Piece::Field(f.id));
        }
        for (suffix, length) in [(".length", true), (".root_domain", false)] {
            if let Some(base) = name.strip_suffix(suffix)
                && let Some(f) = self.resolve_field_name(base)
            {
                self.field_refs.push(f.id);
                return Ok(if length { Piece::FieldLength(f.id) } else { Piece::FieldRootDomain(f.id) });
            }
        }
        Err(self.error(codes::UNKNOWN_FIELD, span, format!("field '{name}' doesn't exist")))
    }

    fn resolve_field_name(&self, name: &str) -> Option<FieldInfo> {
        if name.contains('[') {
            return None;
        }
        self.env.fields.resolve(&self.fim_rewrite(name))
    }

    fn fim_rewrite(&self, name: &str) -> String {
        match (&self.fim_prefix, name.strip_prefix("fim.write.file.")) {
            (Some(prefix), Some(rest)) => format!("{prefix}{rest}"),
            _ => name.to_owned(),
        }
    }

    /// `%{field}` as an operand: a field read that takes no part in event-type inference
    /// (SPEC §3, UNSURE there; we follow the observed reference behaviour).
    fn field_ref(&mut self, name: &str, span: Span) -> CheckResult<Operand> {
        let Some(info) = self.resolve_field_name(name) else {
            if let Some(base) = name.strip_suffix(".length").and_then(|b| self.resolve_field_name(b))
                && (base.ty == Ty::Str || base.ty.is_array())
            {
                self.field_refs.push(base.id);
                return Ok(Operand::new(Node::FieldLength(base.id), Ty::Int, Kind::Dynamic, span));
            }
            return Err(self.error(codes::UNKNOWN_FIELD, span, format!("field '{name}' doesn't exist")));
        };
        self.field_refs.push(info.id);
        let node = Node::Field(FieldLoad { field: info.id, access: crate::ir::Access::Whole, ty: info.ty });
        Ok(Operand::new(node, info.ty, Kind::Dynamic, span))
    }

    fn variable(&mut self, name: &str, span: Span) -> CheckResult<Operand> {
        let (read, ty, length) = self.resolve_var(name, span)?;
        let node = if length { Node::VarLength(read) } else { Node::Var(read) };
        Ok(Operand::new(node, if length { Ty::Int } else { ty }, Kind::Dynamic, span))
    }

    /// Resolves `${name}`; returns the read, the variable's type and whether `.length` was asked.
    fn resolve_var(&mut self, name: &str, span: Span) -> CheckResult<(VarRead, Ty, bool)> {
        let lookup = |n: &str| -> Option<(VarRead, Ty)> {
            match n {
                "process.pid" => Some((VarRead::ProcessPid, Ty::Int)),
                "builtins.uuid4" => Some((VarRead::Uuid4, Ty::Str)),
                _ => self.env.vars.and_then(|v| v.get(n)).map(|d| (VarRead::Declared(d.id), d.ty)),
            }
        };
        if let Some((read, ty)) = lookup(name) {
            if let VarRead::Declared(id) = read {
                self.vars_used.insert(id);
            }
            return Ok((read, ty, false));
        }
        if let Some(base) = name.strip_suffix(".length")
            && let Some((read, ty)) = lookup(base)
        {
            if ty != Ty::Str && !ty.is_array() {
                return Err(self.error(
                    codes::LENGTH_NOT_SUPPORTED,
                    span,
                    format!("'length' cannot be used on '{base}'"),
                ));
            }
            if let VarRead::Declared(id) = read {
                self.vars_used.insert(id);
            }
            return Ok((read, ty, true));
        }
        let mut d = Diagnostic::error(codes::UNKNOWN_VARIABLE, format!("variable '{name}' doesn't exist"))
            .with_label(self.sp(span), "no `set` action of a loaded rule declares it");
        if let Some(best) = self.env.vars.and_then(|v| crate::suggest::closest(name, v.names())) {
            d = d.with_help(format!("did you mean `${{{best}}}`?"));
        }
        Err(Box::new(d))
    }

    fn parse_ip(&self, text: &str, span: Span) -> CheckResult<IpNet> {
        crate::value::ip::parse_ip(text)
            .map_err(|_| self.error(codes::INVALID_IP, span, format!("invalid IP '{text}'")))
    }

    fn parse_cidr(&self, text: &str, span: Span) -> CheckResult<IpNet> {
        crate::value::ip::parse_cidr(text)
            .map_err(|_| self.error(codes::INVALID_IP, span, format!("invalid CIDR '{text}'")))
    }

    /// An identifier in operand position: constants, then macros, then fields (SPEC §3).
    fn ident_operand(&mut self, name: &str, span: Span) -> CheckResult<Operand> {
        if let Some(c) = self.env.fields.constant(name) {
            return Ok(const_operand(c, span));
        }
        if let Some(op) = self.macro_operand(name, span)? {
            return Ok(op);
        }
        self.field_operand(name, span)
    }

    /// Expands a macro reference, if `name` is a registered macro.
    fn macro_operand(&mut self, name: &str, span: Span) -> CheckResult<Option<Operand>> {
        let Some(entry) = self.env.macros.and_then(|m| m.get(name)).cloned() else {
            return Ok(None);
        };
        if self.macro_depth >= MAX_MACRO_DEPTH {
            return Err(self.error(
                codes::TOO_DEEP,
                span,
                format!("macro `{name}` nests more than {MAX_MACRO_DEPTH} macros deep"),
            ));
        }
        self.macros_used.insert(name.to_owned());
        self.macro_depth += 1;
        let saved = self.span_override;
        self.span_override = Some(self.sp(span));
        let result = match &*entry.body {
            MacroBody::Expr(e) => self.expr(e),
            MacroBody::Array(a) => self.array(a),
        };
        self.span_override = saved;
        self.macro_depth -= 1;
        let mut op = result?;
        op.span = span;
        if let Kind::Values(_, origin) = &mut op.kind {
            origin.get_or_insert_with(|| Arc::from(name));
        }
        Ok(Some(op))
    }

    fn field_operand(&mut self, name: &str, span: Span) -> CheckResult<Operand> {
        let (info, access) = self.resolve_field(name, span)?;
        self.fields.push((info.id, self.sp(span)));
        let ty = if access == crate::ir::Access::Whole || info.nested_array { info.ty } else { info.ty.element() };
        let node = Node::Field(FieldLoad { field: info.id, access, ty });
        Ok(Operand::new(node, ty, Kind::Field(Box::new(info)), span))
    }

    /// Splits register and index suffixes off an identifier and looks the field up
    /// (SPEC §2.3, §9, §17).
    fn resolve_field(&mut self, name: &str, span: Span) -> CheckResult<(FieldInfo, crate::ir::Access)> {
        let Some(open) = name.find('[') else {
            return self.plain_field(name, span).map(|f| (f, crate::ir::Access::Whole));
        };
        let close = name[open..].find(']').map(|c| open + c);
        let Some(close) = close else {
            return Err(self.unknown_field(name, span));
        };
        let prefix = &name[..open];
        let inside = &name[open + 1..close];
        let rest = &name[close + 1..];
        if rest.is_empty() {
            // `field[N]` ends the identifier: a numeric index (newest agents).
            if let Ok(index) = inside.parse::<u32>() {
                let info = self.plain_field(prefix, span)?;
                if !info.ty.is_array() {
                    return Err(self.error(
                        codes::ITERATOR,
                        span,
                        format!("field `{prefix}` is not an array and cannot be indexed"),
                    ));
                }
                return Ok((info, crate::ir::Access::Index(index)));
            }
        }
        if inside == "_" {
            return Err(self.error(codes::ITERATOR, span, "`_` can't be used as a iterator variable name"));
        }
        if inside.is_empty() || inside.contains(['[', ']']) {
            return Err(self.unknown_field(name, span));
        }
        if !self.env.fields.is_iterable_prefix(&self.fim_rewrite(prefix)) {
            return Err(self.error(
                codes::ITERATOR,
                span,
                format!("iterator variable error: field `{prefix}.length` not found"),
            )
            .map_help(format!("`{prefix}` is not iterable; registers only apply to `process.ancestors` and the other ancestor/flow prefixes")));
        }
        match &self.register {
            Some((reg, reg_prefix, _)) if reg == inside && reg_prefix != prefix => {
                return Err(self.error(
                    codes::ITERATOR,
                    span,
                    format!("iterator variable used by different fields '{inside}'"),
                ));
            }
            Some((reg, _, _)) if reg != inside => {
                return Err(self.error(
                    codes::ITERATOR,
                    span,
                    "iterator variable error: iterator variable limit to one per rule",
                ));
            }
            Some(_) => {}
            None => self.register = Some((inside.to_owned(), prefix.to_owned(), span)),
        }
        let full = format!("{prefix}{rest}");
        let info = self.plain_field(&full, span)?;
        // `prefix[A].length` is the element count itself, a scalar.
        let access = if info.iterator.is_some() { crate::ir::Access::Register } else { crate::ir::Access::Whole };
        Ok((info, access))
    }

    fn plain_field(&self, name: &str, span: Span) -> CheckResult<FieldInfo> {
        let rewritten = self.fim_rewrite(name);
        if let Some(f) = self.env.fields.resolve(&rewritten) {
            return Ok(f);
        }
        if let Some(base) = rewritten.strip_suffix(".length")
            && let Some(f) = self.env.fields.resolve(base)
            && f.ty != Ty::Str
            && !f.ty.is_array()
        {
            return Err(self.error(codes::LENGTH_NOT_SUPPORTED, span, format!("'length' cannot be used on '{base}'")));
        }
        Err(self.unknown_field(name, span))
    }

    fn unknown_field(&self, name: &str, span: Span) -> Box<Diagnostic> {
        let mut d = Diagnostic::error(codes::UNKNOWN_FIELD, format!("field `{name}` not found"))
            .with_label(self.sp(span), "not a field, macro or constant");
        let macro_names = self.env.macros.map(|m| m.ids().collect::<Vec<_>>()).unwrap_or_default();
        if let Some(s) = self.env.fields.suggest(name) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else if let Some(s) = self.env.fields.suggest_constant(name) {
            d = d.with_help(format!("did you mean the constant `{s}`?"));
        } else if let Some(s) = crate::suggest::closest(name, macro_names.into_iter()) {
            d = d.with_help(format!("did you mean the macro `{s}`?"));
        } else if name.contains('.') && name.ends_with(']') {
            d = d.with_help("put a space between an identifier and `]` in identifier lists");
        }
        Box::new(d)
    }
}

trait MapHelp {
    fn map_help(self, help: String) -> Self;
}

impl MapHelp for Box<Diagnostic> {
    fn map_help(mut self, help: String) -> Self {
        self.help = Some(help);
        self
    }
}

fn const_operand(c: ConstValue, span: Span) -> Operand {
    match c {
        ConstValue::Int(v) => Operand::new(Node::Lit(Lit::Int(v)), Ty::Int, Kind::Const, span),
        ConstValue::Bool(b) => Operand::new(Node::Lit(Lit::Bool(b)), Ty::Bool, Kind::Const, span),
        ConstValue::StrArray(v) => {
            let members: Vec<(StringKind, Arc<str>, Span)> =
                v.iter().map(|s| (StringKind::Plain, Arc::from(s.as_str()), span)).collect();
            let lit = Lit::Strs(v.iter().map(|s| Arc::from(s.as_str())).collect());
            Operand::new(Node::Lit(lit), Ty::StrArray, Kind::Values(members, None), span)
        }
    }
}

fn article(t: Ty) -> String {
    match t {
        Ty::Int => "an int".into(),
        t if t.is_array() => format!("an {}", t.expected_name()),
        Ty::Ip => "an IP/CIDR".into(),
        _ => format!("a {}", t.expected_name()),
    }
}
