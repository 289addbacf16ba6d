//! Fast paths for the commonest predicate shapes: a field against a literal, tested on
//! the event's borrowed [`Value`] directly instead of through the general evaluator's
//! [`Val`](super::val::Val) (most rules' cheap conjuncts: `exec.auid != AUDIT_AUID_UNSET`,
//! `process.cap_permitted & CAP_SYS_ADMIN > 0`, `process.container.id != ""`).
//!
//! Each shape gives exactly the answer of [`super::eval::test`] for the values it
//! handles (a field's zero value for a missing field, any element for an array, `!=` as
//! "no element equal"), and declines (`None`) a value of an unexpected kind, which then
//! takes the general path. The differential tests hold the two to the same verdicts.

use super::eval::Cx;
use crate::event::{Event, Value};
use crate::ir::{Access, CmpOp, FieldLoad, IntOp, Lit, Node};
use crate::matcher::{StrMatcher, StrSet};
use crate::model::FieldId;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub enum Fast {
    /// `field <op> k`, or `field & mask <op> k` on a scalar field.
    Int { field: FieldId, array: bool, mask: Option<i64>, op: CmpOp, k: i64 },
    /// `now - field <op> nanos` (a duration comparison).
    Age { field: FieldId, array: bool, op: CmpOp, nanos: i64 },
    /// `field == want` (or `!=`).
    Bool { field: FieldId, array: bool, negate: bool, want: bool },
    /// A bare scalar bool field used as a condition.
    BoolField(FieldId),
    /// `field == "lit"` / `!= "lit"`.
    StrEq { field: FieldId, array: bool, negate: bool, lit: Arc<str> },
    /// A string field against one matcher or a literal list.
    Str { field: FieldId, array: bool, negate: bool, test: StrTest },
    /// Two scalar string fields compared (case-sensitively).
    FieldsEq { lhs: FieldId, rhs: FieldId, negate: bool },
}

#[derive(Clone, Debug)]
pub enum StrTest {
    One(Arc<StrMatcher>),
    Set(Arc<StrSet>),
}

impl StrTest {
    #[inline]
    fn matches(&self, s: &str) -> bool {
        match self {
            StrTest::One(m) => m.matches(s),
            StrTest::Set(set) => set.matches(s),
        }
    }
}

/// A whole-field read: `(field, is an array field)`.
fn whole(n: &Node) -> Option<(FieldId, bool)> {
    match n {
        Node::Field(FieldLoad { field, access: Access::Whole, ty }) => Some((*field, ty.is_array())),
        _ => None,
    }
}

fn int_lit(n: &Node) -> Option<i64> {
    match n {
        Node::Lit(Lit::Int(i)) => Some(*i),
        _ => None,
    }
}

impl Fast {
    /// The fast form of a predicate, when it has one.
    pub fn of(node: &Node) -> Option<Fast> {
        match node {
            Node::CmpInt { op, lhs, rhs } => {
                let (op, f, k) = match (int_lit(lhs), int_lit(rhs)) {
                    (None, Some(k)) => (*op, &**lhs, k),
                    (Some(k), None) => (op.mirrored(), &**rhs, k),
                    _ => return None,
                };
                if let Some((field, array)) = whole(f) {
                    return Some(Fast::Int { field, array, mask: None, op, k });
                }
                match f {
                    Node::Int { op: IntOp::And, lhs, rhs } => {
                        let (field, array) = whole(lhs)?;
                        let mask = int_lit(rhs)?;
                        // `int` reads an array as 0: only scalars take this path.
                        (!array).then_some(Fast::Int { field, array, mask: Some(mask), op, k })
                    }
                    _ => None,
                }
            }
            Node::Age { op, operand, nanos } => {
                let (field, array) = whole(operand)?;
                Some(Fast::Age { field, array, op: *op, nanos: *nanos })
            }
            Node::CmpBool { negate, lhs, rhs } => {
                let (field, array) = whole(lhs)?;
                let Node::Lit(Lit::Bool(want)) = **rhs else { return None };
                Some(Fast::Bool { field, array, negate: *negate, want })
            }
            Node::Field(FieldLoad { field, access: Access::Whole, ty: crate::ir::Ty::Bool }) => {
                Some(Fast::BoolField(*field))
            }
            Node::MatchStr { negate, operand, matcher } => {
                let (field, array) = whole(operand)?;
                Some(match &**matcher {
                    StrMatcher::Exact(lit) => Fast::StrEq { field, array, negate: *negate, lit: lit.clone() },
                    _ => Fast::Str { field, array, negate: *negate, test: StrTest::One(matcher.clone()) },
                })
            }
            Node::InStrSet { negate, operand, set } => {
                let (field, array) = whole(operand)?;
                Some(Fast::Str { field, array, negate: *negate, test: StrTest::Set(set.clone()) })
            }
            Node::CmpStr { negate, case_insensitive: false, lhs, rhs } => {
                let (lhs, false) = whole(lhs)? else { return None };
                let (rhs, false) = whole(rhs)? else { return None };
                Some(Fast::FieldsEq { lhs, rhs, negate: *negate })
            }
            _ => None,
        }
    }

    /// The predicate's answer, or `None` when the event holds a value of a kind this
    /// path does not handle.
    #[inline]
    pub fn test<E: Event + ?Sized>(&self, ev: &E, cx: &Cx<'_>) -> Option<bool> {
        match self {
            Fast::Int { field, array, mask, op, k } => {
                let (op, k) = (*op, *k);
                match (ev.field(*field), mask) {
                    (Value::Int(i), None) => Some(op.apply(i, k)),
                    (Value::Int(i), Some(m)) => Some(op.apply(i & m, k)),
                    // A missing scalar reads as 0, and `0 & mask` is 0.
                    (Value::Missing, _) if !array => Some(op.apply(0, k)),
                    (Value::Ints(a), None) => Some(any_int(a, op, k)),
                    (Value::Missing, None) => Some(any_int(&[], op, k)),
                    _ => None,
                }
            }
            Fast::Age { field, array, op, nanos } => {
                let now = cx.now();
                let age = |t: i64| op.apply(now.wrapping_sub(t), *nanos);
                match ev.field(*field) {
                    Value::Int(t) => Some(age(t)),
                    Value::Missing if !array => Some(age(0)),
                    Value::Missing => Some(false),
                    Value::Ints(a) => Some(a.iter().any(|t| age(*t))),
                    _ => None,
                }
            }
            Fast::Bool { field, array, negate, want } => {
                let any = match ev.field(*field) {
                    Value::Bool(b) => b == *want,
                    Value::Missing if !array => !*want,
                    Value::Missing => false,
                    Value::Bools(a) => a.contains(want),
                    _ => return None,
                };
                Some(any != *negate)
            }
            Fast::BoolField(field) => match ev.field(*field) {
                Value::Bool(b) => Some(b),
                Value::Missing => Some(false),
                _ => None,
            },
            Fast::StrEq { field, array, negate, lit } => {
                let any = match ev.field(*field) {
                    Value::Str(s) => s == &**lit,
                    Value::Missing if !array => lit.is_empty(),
                    Value::Missing => false,
                    Value::Strs(l) => l.iter().any(|s| s == &**lit),
                    _ => return None,
                };
                Some(any != *negate)
            }
            Fast::Str { field, array, negate, test } => {
                let any = match ev.field(*field) {
                    Value::Str(s) => test.matches(s),
                    Value::Missing if !array => test.matches(""),
                    Value::Missing => false,
                    Value::Strs(l) => l.iter().any(|s| test.matches(s)),
                    _ => return None,
                };
                Some(any != *negate)
            }
            Fast::FieldsEq { lhs, rhs, negate } => {
                let r = text(ev.field(*rhs))?;
                let l = text(ev.field(*lhs))?;
                Some((l == r) != *negate)
            }
        }
    }
}

/// `any element <op> k`, with `!=` as "no element equal" (SPEC §4.3).
#[inline]
fn any_int(a: &[i64], op: CmpOp, k: i64) -> bool {
    if op == CmpOp::Ne { !a.contains(&k) } else { a.iter().any(|e| op.apply(*e, k)) }
}

/// A scalar string value (a missing one reads as `""`).
#[inline]
fn text(v: Value<'_>) -> Option<&str> {
    match v {
        Value::Str(s) => Some(s),
        Value::Missing => Some(""),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::StrList;
    use crate::ir::Ty;
    use crate::value::pattern::Pattern;
    use crate::vm::eval::{NoVars, test};
    use std::cell::Cell;

    const INT: FieldId = FieldId(1);
    const INTS: FieldId = FieldId(2);
    const STR: FieldId = FieldId(3);
    const STRS: FieldId = FieldId(4);
    const BOOL: FieldId = FieldId(5);
    const BOOLS: FieldId = FieldId(6);
    const STR2: FieldId = FieldId(7);

    /// An event holding any value for any field, of the right kind or not.
    struct Values(Vec<(FieldId, Value<'static>)>);

    impl Event for Values {
        fn event_type(&self) -> &str {
            "exec"
        }
        fn field(&self, id: FieldId) -> Value<'_> {
            self.0.iter().find(|(f, _)| *f == id).map_or(Value::Missing, |(_, v)| *v)
        }
    }

    fn values() -> Vec<Value<'static>> {
        vec![
            Value::Missing,
            Value::Int(0),
            Value::Int(5),
            Value::Int(-1),
            Value::Int(2048 | 1),
            Value::Ints(&[]),
            Value::Ints(&[0, 5]),
            Value::Ints(&[7]),
            Value::Str(""),
            Value::Str("a"),
            Value::Str("abc"),
            Value::Strs(StrList::Borrowed(&[])),
            Value::Strs(StrList::Borrowed(&["", "a"])),
            Value::Strs(StrList::Borrowed(&["abc"])),
            Value::Bool(true),
            Value::Bool(false),
            Value::Bools(&[true]),
            Value::Bools(&[false]),
            Value::Bools(&[]),
            Value::Ip(Default::default()),
        ]
    }

    fn field(field: FieldId, ty: Ty) -> Box<Node> {
        Box::new(Node::Field(FieldLoad { field, access: Access::Whole, ty }))
    }

    fn int(i: i64) -> Box<Node> {
        Box::new(Node::Lit(Lit::Int(i)))
    }

    fn nodes() -> Vec<Node> {
        let ops = [CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge];
        let mut out = Vec::new();
        for op in ops {
            for k in [0, 5] {
                for (f, ty) in [(INT, Ty::Int), (INTS, Ty::IntArray)] {
                    out.push(Node::CmpInt { op, lhs: field(f, ty), rhs: int(k) });
                    out.push(Node::CmpInt { op, lhs: int(k), rhs: field(f, ty) });
                    out.push(Node::Age { op, operand: field(f, ty), nanos: k });
                }
                let masked = Box::new(Node::Int { op: IntOp::And, lhs: field(INT, Ty::Int), rhs: int(2048) });
                out.push(Node::CmpInt { op, lhs: masked, rhs: int(k) });
            }
        }
        for negate in [false, true] {
            for want in [false, true] {
                for (f, ty) in [(BOOL, Ty::Bool), (BOOLS, Ty::BoolArray)] {
                    out.push(Node::CmpBool { negate, lhs: field(f, ty), rhs: Box::new(Node::Lit(Lit::Bool(want))) });
                }
            }
            let matchers = [
                StrMatcher::Exact(Arc::from("")),
                StrMatcher::Exact(Arc::from("a")),
                StrMatcher::Pattern(Pattern::new("a*", false).unwrap()),
            ];
            for (f, ty) in [(STR, Ty::Str), (STRS, Ty::StrArray)] {
                for m in &matchers {
                    out.push(Node::MatchStr { negate, operand: field(f, ty), matcher: Arc::new(m.clone()) });
                }
                let set = StrSet::new(vec![StrMatcher::Exact(Arc::from("a")), matchers[2].clone()]);
                out.push(Node::InStrSet { negate, operand: field(f, ty), set: Arc::new(set) });
            }
            out.push(Node::CmpStr {
                negate,
                case_insensitive: false,
                lhs: field(STR, Ty::Str),
                rhs: field(STR2, Ty::Str),
            });
        }
        out.push(*field(BOOL, Ty::Bool));
        out
    }

    #[test]
    fn fast_paths_answer_as_the_evaluator_does() {
        let cx = Cx { now: Cell::new(None), event_time: Some(10), register: None, vars: &NoVars };
        for node in nodes() {
            let fast = Fast::of(&node).unwrap_or_else(|| panic!("no fast path for {node:?}"));
            let fields: Vec<FieldId> = [INT, INTS, STR, STRS, BOOL, BOOLS]
                .into_iter()
                .filter(|f| format!("{node:?}").contains(&format!("FieldId({})", f.0)))
                .collect();
            let mut answered = 0;
            for v in values() {
                for other in [Value::Missing, Value::Str("a"), Value::Str(""), Value::Int(1)] {
                    let ev = Values(fields.iter().map(|f| (*f, v)).chain([(STR2, other)]).collect());
                    if let Some(r) = fast.test(&ev, &cx) {
                        answered += 1;
                        assert_eq!(r, test(&node, &ev, &cx), "{node:?} on {v:?} (other field {other:?})");
                    }
                }
            }
            // A missing field and values of the field's own kind take the fast path.
            assert!(answered >= 8, "{node:?} answered {answered} times");
        }
    }
}
