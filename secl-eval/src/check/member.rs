//! Membership: `in`, `not in`, `allin` (SPEC §4.2, §4.4).

use super::{CheckResult, Checker, Kind, Operand};
use crate::ir::{Lit, Node, Ty};
use crate::matcher::StrSet;
use secl_syntax::Span;
use secl_syntax::ast::{Array, Expr, MembershipOp};
use std::sync::Arc;

impl Checker<'_> {
    pub(super) fn membership(&mut self, op: MembershipOp, lhs: &Expr, rhs: &Array, span: Span) -> CheckResult<Operand> {
        let l = self.expr(lhs)?;
        let r = self.array(rhs)?;
        let negate = op == MembershipOp::NotIn;
        let node = match l.ty.element() {
            Ty::Str => self.string_membership(negate, l, r)?,
            // The right side must be an array: `I in I` (a scalar field, variable or
            // constant right of `in`) is `array of int expected` in the reference, as are
            // `B in B` and `S in S` (SPEC §4.2 lists only array right sides, and `N in N`).
            Ty::Int => match r.kind {
                Kind::IntList(mut ints) => {
                    // Sorted and deduplicated: the VM searches it by bisection.
                    ints.sort_unstable();
                    ints.dedup();
                    Node::InIntSet { negate, operand: Box::new(l.node), set: ints.into() }
                }
                _ if r.ty == Ty::IntArray => self.dynamic(negate, false, l, r),
                _ => return Err(self.type_error(r.span, Ty::IntArray, r.ty)),
            },
            Ty::Bool => match r.ty {
                Ty::BoolArray => self.dynamic(negate, false, l, r),
                _ => return Err(self.type_error(r.span, Ty::BoolArray, r.ty)),
            },
            Ty::Ip => {
                // Networks written in the rule (a list, a bare CIDR, a list macro) accept a
                // scalar or an array; a runtime array or scalar accepts a scalar, or a list
                // macro on the left (`N-list in N[]`, matched like `N[] in N-list`).
                let l_list = matches!(l.kind, Kind::IpList);
                let ok = match (&r.kind, r.ty) {
                    (Kind::IpList, _) => !l_list,
                    (_, Ty::IpArray) => !l.ty.is_array() || l_list,
                    (_, Ty::Ip) => !l.ty.is_array(),
                    _ => false,
                };
                if !ok {
                    return Err(self.type_error(r.span, Ty::IpArray, r.ty));
                }
                let all = op == MembershipOp::AllIn && l.ty.is_array();
                Node::InIps { negate, all, operand: Box::new(l.node), set: Box::new(r.node) }
            }
            _ => return Err(self.type_error(l.span, Ty::Str, l.ty)),
        };
        if let Some(b) = crate::interp::literal_compare(&node) {
            self.warn_constant(span, b);
            return Ok(Operand::new(Node::Lit(Lit::Bool(b)), Ty::Bool, Kind::Const, span));
        }
        Ok(Operand::new(node, Ty::Bool, Kind::Dynamic, span))
    }

    fn string_membership(&mut self, negate: bool, l: Operand, r: Operand) -> CheckResult<Node> {
        match (&l.kind, &r.kind) {
            // Two literal lists: the reference wants an array field or variable on the right.
            (Kind::Values(..), Kind::Values(..)) => Err(self.type_error(r.span, Ty::StrArray, r.ty)),
            (_, Kind::Values(members, origin)) => {
                // Lists interpret patterns whatever the left side is (SPEC §5.1); path
                // globs, folding and extensions only apply against a field.
                let set = self.values_set(members, origin.as_ref(), l.field(), r.span)?;
                Ok(Node::InStrSet { negate, operand: Box::new(l.node), set })
            }
            // `V in S[]`: the reference matches the list's members against the array with
            // the array's options (patterns, globs, folding), exactly like `S[] in V`
            // (`StringArrayMatches`); comparing the member texts exactly was wrong for
            // pattern members (`[~"-*"] in exec.argv`).
            (Kind::Values(members, origin), _) if r.ty == Ty::StrArray => {
                let set = self.values_set(members, origin.as_ref(), r.field(), l.span)?;
                Ok(Node::InStrSet { negate, operand: Box::new(r.node), set })
            }
            // A scalar right side (`exec.comm in exec.file.name`) is not a membership in the
            // reference (`array of string expected`); SPEC §4.2 lists `S in {S[], V}` only.
            _ if r.ty == Ty::StrArray && !matches!(l.kind, Kind::Values(..)) => {
                let ci = l.field().is_some_and(|f| f.case_insensitive) || r.field().is_some_and(|f| f.case_insensitive);
                Ok(self.dynamic(negate, ci, l, r))
            }
            _ => Err(self.type_error(r.span, Ty::StrArray, r.ty)),
        }
    }

    /// Compiles a literal list for comparison with `field` (shared per macro and field).
    fn values_set(
        &mut self,
        members: &[(secl_syntax::ast::StringKind, Arc<str>, Span)],
        origin: Option<&Arc<str>>,
        field: Option<&super::FieldInfo>,
        list_span: Span,
    ) -> CheckResult<Arc<StrSet>> {
        let key = origin.map(|m| (m.clone(), field.map(|f| f.id)));
        if let (Some(cache), Some(key)) = (self.cache, &key)
            && let Some(set) = cache.get(key)
        {
            return Ok(set);
        }
        let mut matchers = Vec::with_capacity(members.len());
        for (kind, text, span) in members {
            let s = if self.span_override.is_some() { list_span } else { *span };
            matchers.push(self.matcher(field, *kind, text, s)?);
        }
        let set = Arc::new(StrSet::new(matchers));
        if let (Some(cache), Some(key)) = (self.cache, key) {
            cache.put(key, set.clone());
        }
        Ok(set)
    }

    fn dynamic(&self, negate: bool, case_insensitive: bool, l: Operand, r: Operand) -> Node {
        Node::InArray { negate, case_insensitive, operand: Box::new(l.node), array: Box::new(r.node) }
    }
}
