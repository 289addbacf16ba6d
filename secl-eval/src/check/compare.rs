//! Scalar comparisons: `== != < <= > >= =~ !~` (SPEC §4.2, §4.3, §5.1, §7).

use super::{CheckResult, Checker, Kind, Operand};
use crate::ir::{CmpOp, Lit, Node, Ty};
use secl_syntax::Span;
use secl_syntax::ast::{CompareOp, Expr, StringKind};
use secl_syntax::diagnostics::codes;

impl Checker<'_> {
    pub(super) fn compare(&mut self, op: CompareOp, lhs: &Expr, rhs: &Expr, span: Span) -> CheckResult<Operand> {
        let l = self.expr(lhs)?;
        let r = self.expr(rhs)?;
        let node = match op {
            CompareOp::Match | CompareOp::NotMatch => self.pattern_match(op == CompareOp::NotMatch, l, r)?,
            CompareOp::Eq | CompareOp::Ne => self.equality(op == CompareOp::Ne, l, r)?,
            _ => self.ordering(op, l, r)?,
        };
        let folded = fold(&node);
        if let Some(b) = folded {
            self.warn_constant(span, b);
            return Ok(Operand::new(Node::Lit(Lit::Bool(b)), Ty::Bool, Kind::Const, span));
        }
        Ok(Operand::new(node, Ty::Bool, Kind::Dynamic, span))
    }

    pub(super) fn warn_constant(&mut self, span: Span, value: bool) {
        let (code, word) = if value { (codes::ALWAYS_TRUE, "true") } else { (codes::ALWAYS_FALSE, "false") };
        self.warnings.push(
            secl_syntax::Diagnostic::warning(code, format!("this comparison is always {word}"))
                .with_label(self.sp(span), "both sides are known before any event"),
        );
    }

    fn unsupported(&self, span: Span) -> Box<secl_syntax::Diagnostic> {
        self.error(codes::UNSUPPORTED_COMPARISON, span, "unknown entity '*ast.Comparison'")
            .map_label("these operand types cannot be compared")
    }

    fn unknown_operator(&self, op: &str, span: Span) -> Box<secl_syntax::Diagnostic> {
        self.error(codes::UNKNOWN_OPERATOR, span, format!("operator `{op}` unknown"))
    }

    /// `=~` / `!~`: the right side must be a static string, pattern or regexp.
    fn pattern_match(&mut self, negate: bool, l: Operand, r: Operand) -> CheckResult<Node> {
        let opname = if negate { "!~" } else { "=~" };
        if l.ty != Ty::Str && l.ty != Ty::StrArray {
            return Err(self.unknown_operator(opname, l.span));
        }
        if r.ty != Ty::Str {
            return Err(self.type_error(r.span, Ty::Str, r.ty));
        }
        let Kind::StrLit(kind, text) = &r.kind else {
            let shown = self.describe(&r);
            return Err(self.error(
                codes::NON_STATIC_PATTERN,
                r.span,
                format!("unable to apply pattern on non static value `{shown}`"),
            ));
        };
        let matcher = match l.field() {
            // A plain string after `=~` is promoted to a pattern (a glob on path fields).
            Some(f) => {
                let kind = if *kind == StringKind::Plain { StringKind::Pattern } else { *kind };
                self.matcher(Some(f), kind, text, r.span)?
            }
            // Patterns are only interpreted against a field (SPEC §5.1): compare literally.
            None => crate::matcher::StrMatcher::Exact(text.clone()),
        };
        Ok(Node::MatchStr { negate, operand: Box::new(l.node), matcher: std::sync::Arc::new(matcher) })
    }

    fn equality(&mut self, negate: bool, l: Operand, r: Operand) -> CheckResult<Node> {
        match (l.ty, r.ty) {
            (Ty::Str | Ty::StrArray, Ty::Str | Ty::StrArray) => self.string_equality(negate, l, r),
            (Ty::Int | Ty::IntArray, Ty::Int | Ty::IntArray) => {
                if l.ty.is_array() && r.ty.is_array() {
                    return Err(self.type_error(r.span, Ty::Int, r.ty));
                }
                if let Kind::Duration(nanos) = r.kind {
                    if negate {
                        return Err(self.type_error(r.span, Ty::Int, r.ty).map_label("`!=` does not take a duration"));
                    }
                    if !matches!(l.kind, Kind::Arith) {
                        if l.ty.is_array() {
                            return Err(self.unsupported(r.span));
                        }
                        return Ok(Node::Age { op: CmpOp::Eq, operand: Box::new(l.node), nanos });
                    }
                }
                let op = if negate { CmpOp::Ne } else { CmpOp::Eq };
                Ok(Node::CmpInt { op, lhs: Box::new(l.node), rhs: Box::new(r.node) })
            }
            (Ty::Bool | Ty::BoolArray, Ty::Bool) => {
                Ok(Node::CmpBool { negate, lhs: Box::new(l.node), rhs: Box::new(r.node) })
            }
            (Ty::Ip | Ty::IpArray, Ty::Ip) => Ok(Node::CmpIp { negate, lhs: Box::new(l.node), rhs: Box::new(r.node) }),
            (lt, rt) if lt.element() == Ty::Ip || rt.element() == Ty::Ip => Err(self.unsupported(r.span)),
            (lt, rt) => Err(self.type_error(r.span, lt.element(), rt)),
        }
    }

    fn string_equality(&mut self, negate: bool, l: Operand, r: Operand) -> CheckResult<Node> {
        // Arrays only on the left (SPEC §4.2: `"a" == exec.argv` is rejected).
        if r.ty.is_array() {
            return Err(self.type_error(r.span, Ty::Str, r.ty));
        }
        if matches!(l.kind, Kind::Values(..)) {
            return Err(self.type_error(l.span, Ty::Str, l.ty));
        }
        // A static literal against a field becomes a matcher; it may stand on either side.
        let literal_right = matches!((&l.kind, &r.kind), (Kind::Field(_), Kind::StrLit(..)));
        let literal_left = matches!((&l.kind, &r.kind), (Kind::StrLit(..), Kind::Field(_))) && !r.ty.is_array();
        if literal_right || literal_left {
            let (field_op, lit_op) = if literal_right { (l, r) } else { (r, l) };
            if let (Kind::Field(f), Kind::StrLit(kind, text)) = (&field_op.kind, &lit_op.kind) {
                let matcher = self.matcher(Some(f), *kind, text, lit_op.span)?;
                let operand = Box::new(field_op.node);
                return Ok(Node::MatchStr { negate, operand, matcher: std::sync::Arc::new(matcher) });
            }
            return Err(self.unsupported(lit_op.span));
        }
        let ci = l.field().is_some_and(|f| f.case_insensitive) || r.field().is_some_and(|f| f.case_insensitive);
        Ok(Node::CmpStr { negate, case_insensitive: ci, lhs: Box::new(l.node), rhs: Box::new(r.node) })
    }

    fn ordering(&mut self, op: CompareOp, l: Operand, r: Operand) -> CheckResult<Node> {
        let cmp = match op {
            CompareOp::Lt => CmpOp::Lt,
            CompareOp::Le => CmpOp::Le,
            CompareOp::Gt => CmpOp::Gt,
            _ => CmpOp::Ge,
        };
        let opname = op.to_string();
        match (l.ty, r.ty) {
            (Ty::Int | Ty::IntArray, Ty::Int | Ty::IntArray) => {
                if l.ty.is_array() && r.ty.is_array() {
                    return Err(self.type_error(r.span, Ty::Int, r.ty));
                }
                if let Kind::Duration(nanos) = r.kind
                    && !matches!(l.kind, Kind::Arith)
                {
                    return Ok(Node::Age { op: cmp, operand: Box::new(l.node), nanos });
                }
                Ok(Node::CmpInt { op: cmp, lhs: Box::new(l.node), rhs: Box::new(r.node) })
            }
            (Ty::StrArray, _) => Err(self.unsupported(r.span)),
            (Ty::Int | Ty::IntArray, rt) => Err(self.type_error(r.span, Ty::Int, rt)),
            _ => Err(self.unknown_operator(&opname, l.span)),
        }
    }

    /// Source-like text of an operand for messages.
    pub(super) fn describe(&self, op: &Operand) -> String {
        match (&op.kind, &op.node) {
            (Kind::Field(f), _) => f.name.clone(),
            (_, Node::Var(_)) | (_, Node::VarLength(_)) => "variable".into(),
            _ => "expression".into(),
        }
    }
}

trait MapLabel {
    fn map_label(self, text: &str) -> Self;
}

impl MapLabel for Box<secl_syntax::Diagnostic> {
    fn map_label(mut self, text: &str) -> Self {
        if let Some(l) = self.labels.first_mut() {
            l.text = text.to_owned();
        }
        self
    }
}

/// Folds comparisons whose operands are both literals.
fn fold(node: &Node) -> Option<bool> {
    use crate::interp::literal_compare;
    literal_compare(node)
}
