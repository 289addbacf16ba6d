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
            Ty::Int => match r.kind {
                Kind::IntList(ints) => Node::InIntSet { negate, operand: Box::new(l.node), set: ints.into() },
                _ if r.ty == Ty::IntArray => self.dynamic(negate, false, l, r),
                _ if r.ty == Ty::Int => Node::InArray {
                    negate,
                    case_insensitive: false,
                    operand: Box::new(l.node),
                    array: Box::new(r.node),
                },
                _ => return Err(self.type_error(r.span, Ty::IntArray, r.ty)),
            },
            Ty::Bool => match r.ty {
                Ty::BoolArray | Ty::Bool => self.dynamic(negate, false, l, r),
                _ => return Err(self.type_error(r.span, Ty::BoolArray, r.ty)),
            },
            Ty::Ip => {
                // An IP array may only meet networks written in the rule, or a bare CIDR.
                let ok = match (&r.kind, r.ty) {
                    (Kind::IpList, _) => true,
                    (_, Ty::IpArray) => !l.ty.is_array(),
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
        match &r.kind {
            Kind::Values(members, origin) => {
                // Lists interpret patterns whatever the left side is (SPEC §5.1); path
                // globs, folding and extensions only apply against a field.
                let field = l.field().cloned();
                let key = origin.as_ref().map(|m| (m.clone(), field.as_ref().map(|f| f.id)));
                if let (Some(cache), Some(key)) = (self.cache, &key) {
                    if let Some(set) = cache.get(key) {
                        if !matches!(l.kind, Kind::Values(..)) {
                            return Ok(Node::InStrSet { negate, operand: Box::new(l.node), set });
                        }
                    }
                }
                let mut matchers = Vec::with_capacity(members.len());
                for (kind, text, span) in members {
                    let s = if self.span_override.is_some() { r.span } else { *span };
                    matchers.push(self.matcher(field.as_ref(), *kind, text, s)?);
                }
                if matches!(l.kind, Kind::Values(..)) {
                    return Ok(self.dynamic(negate, false, l, r));
                }
                let set = Arc::new(StrSet::new(matchers));
                if let (Some(cache), Some(key)) = (self.cache, key) {
                    cache.put(key, set.clone());
                }
                Ok(Node::InStrSet { negate, operand: Box::new(l.node), set })
            }
            _ if r.ty == Ty::StrArray || r.ty == Ty::Str => {
                let ci = l.field().is_some_and(|f| f.case_insensitive) || r.field().is_some_and(|f| f.case_insensitive);
                Ok(self.dynamic(negate, ci, l, r))
            }
            _ => Err(self.type_error(r.span, Ty::StrArray, r.ty)),
        }
    }

    fn dynamic(&self, negate: bool, case_insensitive: bool, l: Operand, r: Operand) -> Node {
        Node::InArray { negate, case_insensitive, operand: Box::new(l.node), array: Box::new(r.node) }
    }
}
