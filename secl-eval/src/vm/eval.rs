//! The VM's expression evaluator over borrowed values. Same semantics as the reference
//! interpreter (`crate::interp`), which the differential tests hold it to.

use super::val::Val;
use crate::event::Event;
use crate::ir::{Access, CmpOp, FieldLoad, Lit, Node, Piece, VarRead};
use crate::matcher::fold_eq;
use std::borrow::Cow;
use std::cell::Cell;

/// Per-evaluation context: the clock, the register, variables.
pub struct Cx<'a> {
    pub now: Cell<Option<i64>>,
    pub event_time: Option<i64>,
    pub register: Option<usize>,
    pub vars: &'a dyn VarView,
}

impl Cx<'_> {
    pub fn now(&self) -> i64 {
        if let Some(n) = self.now.get() {
            return n;
        }
        let n = self.event_time.unwrap_or_else(wall_clock_ns);
        self.now.set(Some(n));
        n
    }
}

pub fn wall_clock_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}

/// Read access to variables for one event.
pub trait VarView {
    fn read<'s>(&'s self, read: &VarRead, now: i64) -> Val<'s>;
}

/// No variables: every declared variable reads as its zero value.
pub struct NoVars;

impl VarView for NoVars {
    fn read<'s>(&'s self, _: &VarRead, _: i64) -> Val<'s> {
        Val::Empty
    }
}

#[inline]
pub fn load<'a, E: Event + ?Sized>(ev: &'a E, load: &FieldLoad, register: Option<usize>) -> Val<'a> {
    let v = match load.access {
        Access::Whole => ev.field(load.field),
        Access::Register => match register {
            Some(i) => ev.field_element(load.field, i),
            None => crate::event::Value::Missing,
        },
        Access::Index(i) => ev.field_element(load.field, i as usize),
    };
    Val::from_event(v, load.ty)
}

pub fn lit_val(l: &Lit) -> Val<'_> {
    match l {
        Lit::Bool(b) => Val::Bool(*b),
        Lit::Int(i) => Val::Int(*i),
        Lit::Str(s) => Val::Str(Cow::Borrowed(s)),
        Lit::Ip(ip) => Val::Ip(*ip),
        Lit::Bools(v) => Val::Bools(v),
        Lit::Ints(v) => Val::Ints(v),
        Lit::Strs(v) => Val::LitStrs(v),
        Lit::Ips(v) => Val::Ips(v),
    }
}

pub fn eval<'a, E: Event + ?Sized>(node: &'a Node, ev: &'a E, cx: &'a Cx<'a>) -> Val<'a> {
    match node {
        Node::Lit(l) => lit_val(l),
        Node::Field(f) => load(ev, f, cx.register),
        Node::Var(read) => cx.vars.read(read, cx.now()),
        Node::VarLength(read) => Val::Int(cx.vars.read(read, cx.now()).length()),
        Node::FieldLength(id) => Val::Int(Val::from_event(ev.field(*id), crate::interp::model_ty(*id)).length()),
        Node::Interp(pieces) => Val::Str(Cow::Owned(interpolate(pieces, ev, cx))),
        // Int nodes reached through `eval` (the operand of an age test or of `in [..]`,
        // a `set` expression): without this arm they fell to `test`, which called `eval`
        // again, forever (`process.created_at | 0 < 5s` overflowed the stack).
        Node::Neg(_) | Node::BitNot(_) | Node::Int { .. } => Val::Int(int(node, ev, cx)),
        _ => Val::Bool(test(node, ev, cx)),
    }
}

fn int<'a, E: Event + ?Sized>(node: &'a Node, ev: &'a E, cx: &'a Cx<'a>) -> i64 {
    match node {
        Node::Lit(Lit::Int(i)) => *i,
        Node::Neg(n) => int(n, ev, cx).wrapping_neg(),
        Node::BitNot(n) => !int(n, ev, cx),
        Node::Int { op, lhs, rhs } => crate::interp::int_op(*op, int(lhs, ev, cx), int(rhs, ev, cx)),
        other => eval(other, ev, cx).as_int(),
    }
}

/// Evaluates a boolean node.
pub fn test<'a, E: Event + ?Sized>(node: &'a Node, ev: &'a E, cx: &'a Cx<'a>) -> bool {
    match node {
        Node::Lit(Lit::Bool(b)) => *b,
        Node::Not(n) => !test(n, ev, cx),
        Node::And(a, b) => test(a, ev, cx) && test(b, ev, cx),
        Node::Or(a, b) => test(a, ev, cx) || test(b, ev, cx),
        Node::CmpInt { op, lhs, rhs } => {
            let l = int_or_array(lhs, ev, cx);
            let r = int_or_array(rhs, ev, cx);
            let any = |op: CmpOp| match (&l, &r) {
                (Val::Int(a), Val::Int(b)) => op.apply(*a, *b),
                (arr, Val::Int(b)) if arr.is_array() => arr.any_int(|e| op.apply(e, *b)),
                (Val::Int(a), arr) => arr.any_int(|e| op.apply(*a, e)),
                _ => false,
            };
            if *op == CmpOp::Ne && (l.is_array() || r.is_array()) { !any(CmpOp::Eq) } else { any(*op) }
        }
        Node::Age { op, operand, nanos } => {
            let now = cx.now();
            eval(operand, ev, cx).any_int(|t| op.apply(now.wrapping_sub(t), *nanos))
        }
        Node::CmpBool { negate, lhs, rhs } => {
            let r = test(rhs, ev, cx);
            eval(lhs, ev, cx).any_bool(|b| b == r) != *negate
        }
        Node::CmpStr { negate, case_insensitive, lhs, rhs } => {
            let r = eval(rhs, ev, cx);
            let r: &str = match &r {
                Val::Str(s) => s,
                _ => "",
            };
            let any = eval(lhs, ev, cx).any_str(|s| if *case_insensitive { fold_eq(s, r) } else { s == r });
            any != *negate
        }
        Node::MatchStr { negate, operand, matcher } => eval(operand, ev, cx).any_str(|s| matcher.matches(s)) != *negate,
        Node::InStrSet { negate, operand, set } => eval(operand, ev, cx).any_str(|s| set.matches(s)) != *negate,
        Node::InIntSet { negate, operand, set } => {
            let hit = |i: i64| if set.len() <= 8 { set.contains(&i) } else { set.binary_search(&i).is_ok() };
            eval(operand, ev, cx).any_int(hit) != *negate
        }
        Node::CmpIp { negate, lhs, rhs } => {
            let r = match eval(rhs, ev, cx) {
                Val::Ip(ip) => ip,
                _ => Default::default(),
            };
            let l = eval(lhs, ev, cx);
            let any = if l.is_array() { l.any_ip(|e| e.contains_addr(&r)) } else { l.any_ip(|e| e.scalar_match(&r)) };
            any != *negate
        }
        Node::InIps { negate, all, operand, set } => {
            let v = eval(operand, ev, cx);
            let nets = eval(set, ev, cx);
            let result = if *all {
                v.all_ip(|e| nets.all_ip(|n| n.scalar_match(e)))
            } else {
                v.any_ip(|e| nets.any_ip(|n| n.scalar_match(e)))
            };
            result != *negate
        }
        Node::InArray { negate, case_insensitive, operand, array } => {
            let l = eval(operand, ev, cx);
            let r = eval(array, ev, cx);
            let ci = *case_insensitive;
            let hit = l.any_str(|a| r.any_str(|b| if ci { fold_eq(a, b) } else { a == b }))
                || l.any_int(|a| r.any_int(|b| a == b))
                || l.any_bool(|a| r.any_bool(|b| a == b))
                || l.any_ip(|a| r.any_ip(|b| a.scalar_match(b)));
            hit != *negate
        }
        other => eval(other, ev, cx).as_bool(),
    }
}

fn int_or_array<'a, E: Event + ?Sized>(node: &'a Node, ev: &'a E, cx: &'a Cx<'a>) -> Val<'a> {
    match node {
        Node::Lit(Lit::Int(_)) | Node::Neg(_) | Node::BitNot(_) | Node::Int { .. } => Val::Int(int(node, ev, cx)),
        other => eval(other, ev, cx),
    }
}

pub fn interpolate<'a, E: Event + ?Sized>(pieces: &'a [Piece], ev: &'a E, cx: &'a Cx<'a>) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(read) => cx.vars.read(read, cx.now()).write_text(&mut out),
            Piece::VarLength(read) => out.push_str(&cx.vars.read(read, cx.now()).length().to_string()),
            Piece::Field(id) => Val::from_event(ev.field(*id), crate::interp::model_ty(*id)).write_text(&mut out),
            Piece::FieldLength(id) => {
                out.push_str(&Val::from_event(ev.field(*id), crate::ir::Ty::Str).length().to_string())
            }
            Piece::FieldRootDomain(id) => {
                let v = Val::from_event(ev.field(*id), crate::ir::Ty::Str);
                let mut first = true;
                v.any_str(|h| {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    out.push_str(crate::value::domain::root_domain(h));
                    false
                });
            }
        }
    }
    out
}

/// Whether a node reads variables or the register (its value can change within one
/// event's evaluation, so it is not memoised across rules).
pub fn is_volatile(node: &Node) -> bool {
    match node {
        Node::Var(_) | Node::VarLength(_) => true,
        Node::Field(f) => f.access == Access::Register,
        Node::Interp(pieces) => pieces.iter().any(|p| matches!(p, Piece::Var(_) | Piece::VarLength(_))),
        Node::FieldLength(_) => false,
        Node::Lit(_) => false,
        Node::Not(n) | Node::Neg(n) | Node::BitNot(n) => is_volatile(n),
        Node::Age { operand, .. } => is_volatile(operand),
        Node::And(a, b) | Node::Or(a, b) => is_volatile(a) || is_volatile(b),
        Node::Int { lhs, rhs, .. }
        | Node::CmpInt { lhs, rhs, .. }
        | Node::CmpBool { lhs, rhs, .. }
        | Node::CmpStr { lhs, rhs, .. }
        | Node::CmpIp { lhs, rhs, .. }
        | Node::InIps { operand: lhs, set: rhs, .. }
        | Node::InArray { operand: lhs, array: rhs, .. } => is_volatile(lhs) || is_volatile(rhs),
        Node::MatchStr { operand, .. } | Node::InStrSet { operand, .. } | Node::InIntSet { operand, .. } => {
            is_volatile(operand)
        }
    }
}

/// Whether a node reads `${builtins.uuid4}` (a fresh value at each read).
pub fn reads_uuid(node: &Node) -> bool {
    match node {
        Node::Var(VarRead::Uuid4) => true,
        Node::Interp(p) => p.iter().any(|p| matches!(p, Piece::Var(VarRead::Uuid4))),
        _ => false,
    }
}
