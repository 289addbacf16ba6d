//! The reference tree-walking interpreter: the simplest faithful reading of the typed IR.
//! It is the oracle the bytecode VM is tested against, and it evaluates rule filters at
//! load time. Speed is not a goal here; clarity is.

use crate::event::{Event, Value};
use crate::ir::{Access, CmpOp, FieldLoad, IntOp, Lit, Node, Piece, Ty, VarRead};
use crate::matcher::fold_eq;
use crate::value::ip::IpNet;
use std::sync::Arc;

/// An owned runtime value.
#[derive(Clone, Debug, PartialEq)]
pub enum RVal {
    Bool(bool),
    Int(i64),
    Str(String),
    Ip(IpNet),
    Bools(Vec<bool>),
    Ints(Vec<i64>),
    Strs(Vec<String>),
    Ips(Vec<IpNet>),
}

impl RVal {
    pub fn zero(ty: Ty) -> RVal {
        match ty {
            Ty::Bool => RVal::Bool(false),
            Ty::Int => RVal::Int(0),
            Ty::Str => RVal::Str(String::new()),
            Ty::Ip => RVal::Ip(IpNet::default()),
            Ty::BoolArray => RVal::Bools(Vec::new()),
            Ty::IntArray => RVal::Ints(Vec::new()),
            Ty::StrArray => RVal::Strs(Vec::new()),
            Ty::IpArray => RVal::Ips(Vec::new()),
        }
    }

    fn from_lit(l: &Lit) -> RVal {
        match l {
            Lit::Bool(b) => RVal::Bool(*b),
            Lit::Int(i) => RVal::Int(*i),
            Lit::Str(s) => RVal::Str(s.to_string()),
            Lit::Ip(ip) => RVal::Ip(*ip),
            Lit::Bools(v) => RVal::Bools(v.to_vec()),
            Lit::Ints(v) => RVal::Ints(v.to_vec()),
            Lit::Strs(v) => RVal::Strs(v.iter().map(|s| s.to_string()).collect()),
            Lit::Ips(v) => RVal::Ips(v.to_vec()),
        }
    }

    fn as_bool(&self) -> bool {
        matches!(self, RVal::Bool(true))
    }

    fn as_int(&self) -> i64 {
        match self {
            RVal::Int(i) => *i,
            _ => 0,
        }
    }

    fn ints(&self) -> Vec<i64> {
        match self {
            RVal::Int(i) => vec![*i],
            RVal::Ints(v) => v.clone(),
            _ => Vec::new(),
        }
    }

    fn strs(&self) -> Vec<String> {
        match self {
            RVal::Str(s) => vec![s.clone()],
            RVal::Strs(v) => v.clone(),
            _ => Vec::new(),
        }
    }

    fn bools(&self) -> Vec<bool> {
        match self {
            RVal::Bool(b) => vec![*b],
            RVal::Bools(v) => v.clone(),
            _ => Vec::new(),
        }
    }

    fn ips(&self) -> Vec<IpNet> {
        match self {
            RVal::Ip(i) => vec![*i],
            RVal::Ips(v) => v.clone(),
            _ => Vec::new(),
        }
    }

    fn is_array(&self) -> bool {
        matches!(self, RVal::Bools(_) | RVal::Ints(_) | RVal::Strs(_) | RVal::Ips(_))
    }

    /// Text form used by interpolated strings (SPEC §8.4): arrays joined with `,`.
    pub fn to_text(&self) -> String {
        match self {
            RVal::Bool(b) => b.to_string(),
            RVal::Int(i) => i.to_string(),
            RVal::Str(s) => s.clone(),
            RVal::Ip(ip) => ip.to_string(),
            RVal::Bools(v) => v.iter().map(bool::to_string).collect::<Vec<_>>().join(","),
            RVal::Ints(v) => v.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
            RVal::Strs(v) => v.join(","),
            RVal::Ips(v) => v.iter().map(IpNet::to_string).collect::<Vec<_>>().join(","),
        }
    }

    /// `.length`: bytes of a string (Go's `len`), elements of an array.
    pub fn length(&self) -> i64 {
        match self {
            RVal::Str(s) => s.len() as i64,
            RVal::Bools(v) => v.len() as i64,
            RVal::Ints(v) => v.len() as i64,
            RVal::Strs(v) => v.len() as i64,
            RVal::Ips(v) => v.len() as i64,
            _ => 0,
        }
    }
}

/// Converts a borrowed event value to an owned one.
pub fn to_rval(value: Value<'_>, ty: Ty) -> RVal {
    match value {
        Value::Missing => RVal::zero(ty),
        Value::Bool(b) => RVal::Bool(b),
        Value::Int(i) => RVal::Int(i),
        Value::Str(s) => RVal::Str(s.to_owned()),
        Value::Ip(ip) => RVal::Ip(ip),
        Value::Bools(v) => RVal::Bools(v.to_vec()),
        Value::Ints(v) => RVal::Ints(v.to_vec()),
        Value::Strs(v) => RVal::Strs(v.iter().map(str::to_owned).collect()),
        Value::Ips(v) => RVal::Ips(v.to_vec()),
    }
}

/// Reads a field with its access mode; out-of-range elements read as zero values.
pub fn read_field(ev: &dyn Event, load: &FieldLoad, register: Option<usize>) -> RVal {
    let value = match load.access {
        Access::Whole => ev.field(load.field),
        Access::Register => match register {
            Some(i) => ev.field_element(load.field, i),
            None => Value::Missing,
        },
        Access::Index(i) => ev.field_element(load.field, i as usize),
    };
    to_rval(value, load.ty)
}

/// What the interpreter needs besides the event.
pub trait Context {
    /// "now" for durations, fixed for one evaluation.
    fn now(&self) -> i64;
    fn register(&self) -> Option<usize>;
    fn var(&self, read: &VarRead) -> RVal;
    /// The event's root domain of a host name (`%{f.root_domain}`).
    fn root_domain(&self, host: &str) -> String {
        crate::value::domain::root_domain(host).to_owned()
    }
}

pub fn eval(node: &Node, ev: &dyn Event, cx: &dyn Context) -> RVal {
    match node {
        Node::Lit(l) => RVal::from_lit(l),
        Node::Field(load) => read_field(ev, load, cx.register()),
        Node::Var(read) => cx.var(read),
        Node::VarLength(read) => RVal::Int(cx.var(read).length()),
        Node::FieldLength(id) => RVal::Int(to_rval(ev.field(*id), model_ty(*id)).length()),
        Node::Interp(pieces) => RVal::Str(interpolate(pieces, ev, cx)),
        Node::Not(n) => RVal::Bool(!eval(n, ev, cx).as_bool()),
        Node::And(a, b) => RVal::Bool(eval(a, ev, cx).as_bool() && eval(b, ev, cx).as_bool()),
        Node::Or(a, b) => RVal::Bool(eval(a, ev, cx).as_bool() || eval(b, ev, cx).as_bool()),
        Node::Neg(n) => RVal::Int(eval(n, ev, cx).as_int().wrapping_neg()),
        Node::BitNot(n) => RVal::Int(!eval(n, ev, cx).as_int()),
        Node::Int { op, lhs, rhs } => RVal::Int(int_op(*op, eval(lhs, ev, cx).as_int(), eval(rhs, ev, cx).as_int())),
        Node::CmpInt { op, lhs, rhs } => {
            let (l, r) = (eval(lhs, ev, cx), eval(rhs, ev, cx));
            RVal::Bool(cmp_int(*op, &l, &r))
        }
        Node::Age { op, operand, nanos } => {
            let now = cx.now();
            let v = eval(operand, ev, cx);
            RVal::Bool(v.ints().iter().any(|t| op.apply(now.wrapping_sub(*t), *nanos)))
        }
        Node::CmpBool { negate, lhs, rhs } => {
            let r = eval(rhs, ev, cx).as_bool();
            let any = eval(lhs, ev, cx).bools().contains(&r);
            RVal::Bool(any != *negate)
        }
        Node::CmpStr { negate, case_insensitive, lhs, rhs } => {
            let r = eval(rhs, ev, cx).strs().pop().unwrap_or_default();
            let any = eval(lhs, ev, cx).strs().iter().any(|s| str_eq(s, &r, *case_insensitive));
            RVal::Bool(any != *negate)
        }
        Node::MatchStr { negate, operand, matcher } => {
            let any = eval(operand, ev, cx).strs().iter().any(|s| matcher.matches(s));
            RVal::Bool(any != *negate)
        }
        Node::InStrSet { negate, operand, set } => {
            let any = eval(operand, ev, cx).strs().iter().any(|s| set.matches(s));
            RVal::Bool(any != *negate)
        }
        Node::InIntSet { negate, operand, set } => {
            let any = eval(operand, ev, cx).ints().iter().any(|i| set.contains(i));
            RVal::Bool(any != *negate)
        }
        Node::CmpIp { negate, lhs, rhs } => {
            let l = eval(lhs, ev, cx);
            let r = eval(rhs, ev, cx).ips().pop().unwrap_or_default();
            let any = match &l {
                RVal::Ips(v) => v.iter().any(|e| e.contains_addr(&r)),
                other => other.ips().iter().any(|e| e.scalar_match(&r)),
            };
            RVal::Bool(any != *negate)
        }
        Node::InIps { negate, all, operand, set } => {
            let v = eval(operand, ev, cx).ips();
            let nets = eval(set, ev, cx).ips();
            let result = if *all {
                v.iter().all(|e| nets.iter().all(|n| n.scalar_match(e)))
            } else {
                v.iter().any(|e| nets.iter().any(|n| n.scalar_match(e)))
            };
            RVal::Bool(result != *negate)
        }
        Node::InArray { negate, case_insensitive, operand, array } => {
            let l = eval(operand, ev, cx);
            let r = eval(array, ev, cx);
            RVal::Bool(intersects(&l, &r, *case_insensitive) != *negate)
        }
    }
}

fn str_eq(a: &str, b: &str, ci: bool) -> bool {
    if ci { fold_eq(a, b) } else { a == b }
}

fn cmp_int(op: CmpOp, l: &RVal, r: &RVal) -> bool {
    let any = |op: CmpOp| match (l, r) {
        (RVal::Ints(v), _) => v.iter().any(|e| op.apply(*e, r.as_int())),
        (_, RVal::Ints(v)) => v.iter().any(|e| op.apply(l.as_int(), *e)),
        _ => op.apply(l.as_int(), r.as_int()),
    };
    // `!=` against an array is "no element equal" (SPEC §4.3).
    if op == CmpOp::Ne && (l.is_array() || r.is_array()) { !any(CmpOp::Eq) } else { any(op) }
}

fn intersects(l: &RVal, r: &RVal, ci: bool) -> bool {
    match (l, r) {
        (RVal::Str(_) | RVal::Strs(_), _) => {
            let rs = r.strs();
            l.strs().iter().any(|a| rs.iter().any(|b| str_eq(a, b, ci)))
        }
        (RVal::Int(_) | RVal::Ints(_), _) => {
            let rs = r.ints();
            l.ints().iter().any(|a| rs.contains(a))
        }
        (RVal::Bool(_) | RVal::Bools(_), _) => {
            let rs = r.bools();
            l.bools().iter().any(|a| rs.contains(a))
        }
        (RVal::Ip(_) | RVal::Ips(_), _) => {
            let rs = r.ips();
            l.ips().iter().any(|a| rs.iter().any(|b| a.scalar_match(b)))
        }
    }
}

fn interpolate(pieces: &[Piece], ev: &dyn Event, cx: &dyn Context) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Var(read) => out.push_str(&cx.var(read).to_text()),
            Piece::VarLength(read) => out.push_str(&cx.var(read).length().to_string()),
            Piece::Field(id) | Piece::FieldLength(id) | Piece::FieldRootDomain(id) => {
                let v = to_rval(ev.field(*id), model_ty(*id));
                match p {
                    Piece::FieldLength(_) => out.push_str(&v.length().to_string()),
                    Piece::FieldRootDomain(_) => {
                        let parts: Vec<String> = v.strs().iter().map(|h| cx.root_domain(h)).collect();
                        out.push_str(&parts.join(","));
                    }
                    _ => out.push_str(&v.to_text()),
                }
            }
        }
    }
    out
}

/// The model type of a field, for the zero value of an absent one (`"%{exec.uid}"` of an
/// event without a uid is `"0"`).
pub fn model_ty(id: crate::model::FieldId) -> Ty {
    let schema = crate::model::Schema::linux();
    match schema.fields().get(usize::from(id.0)) {
        Some(f) => crate::check::scope::scalar_ty(f.ty, f.is_array),
        None => Ty::Str,
    }
}

pub fn int_op(op: IntOp, a: i64, b: i64) -> i64 {
    match op {
        IntOp::Add => a.wrapping_add(b),
        IntOp::Sub => a.wrapping_sub(b),
        IntOp::And => a & b,
        IntOp::Or => a | b,
        IntOp::Xor => a ^ b,
    }
}

/// Folds a boolean node whose operands are all literals; `None` when it reads anything
/// at run time.
pub fn literal_compare(node: &Node) -> Option<bool> {
    if !is_literal_only(node) {
        return None;
    }
    struct NoEvent;
    impl Event for NoEvent {
        fn event_type(&self) -> &str {
            ""
        }
        fn field(&self, _: crate::model::FieldId) -> Value<'_> {
            Value::Missing
        }
    }
    struct NoContext;
    impl Context for NoContext {
        fn now(&self) -> i64 {
            0
        }
        fn register(&self) -> Option<usize> {
            None
        }
        fn var(&self, _: &VarRead) -> RVal {
            RVal::Bool(false)
        }
    }
    match eval(node, &NoEvent, &NoContext) {
        RVal::Bool(b) => Some(b),
        _ => None,
    }
}

fn is_literal_only(node: &Node) -> bool {
    match node {
        Node::Lit(_) => true,
        Node::Field(_)
        | Node::FieldLength(_)
        | Node::Var(_)
        | Node::VarLength(_)
        | Node::Interp(_)
        | Node::Age { .. } => false,
        Node::Not(n) | Node::Neg(n) | Node::BitNot(n) => is_literal_only(n),
        Node::And(a, b) | Node::Or(a, b) => is_literal_only(a) && is_literal_only(b),
        Node::Int { lhs, rhs, .. }
        | Node::CmpInt { lhs, rhs, .. }
        | Node::CmpBool { lhs, rhs, .. }
        | Node::CmpStr { lhs, rhs, .. }
        | Node::CmpIp { lhs, rhs, .. } => is_literal_only(lhs) && is_literal_only(rhs),
        Node::MatchStr { operand, .. } | Node::InStrSet { operand, .. } | Node::InIntSet { operand, .. } => {
            is_literal_only(operand)
        }
        Node::InIps { operand, set, .. } => is_literal_only(operand) && is_literal_only(set),
        Node::InArray { operand, array, .. } => is_literal_only(operand) && is_literal_only(array),
    }
}

/// Convenience for interpolation pieces held in an `Arc`.
pub fn interpolate_arc(pieces: &Arc<[Piece]>, ev: &dyn Event, cx: &dyn Context) -> String {
    interpolate(pieces, ev, cx)
}
