//! Partial evaluation (SPEC §12): "could this rule still match if field F had value v?",
//! for approvers and discarders (SPEC §15).
//!
//! Two evaluators over the typed IR:
//!
//! * [`eval`] / [`could_match`]: sound three-valued logic. Every comparison that reads
//!   anything besides F and literals (another field, a variable, the clock, an iterator
//!   element) is [`Truth::Unknown`]; `!`, `&&` and `||` follow Kleene's tables. A result
//!   of [`Truth::False`] is a proof that no event with F = v matches, whatever its other
//!   fields and the variable store hold.
//! * [`reference_eval`]: the reference engine's convention, kept for reproducing its
//!   approvers exactly: a sub-expression "not deterministic for F" under `&&`/`||` reads
//!   as `true`, `!`/`not` of one reads as `true`, and comparisons are otherwise run on an
//!   event where only F is set (everything else at its zero value). It is not sound
//!   (`!(F == "a" && x)` reads false at F = "a"): use it only to mirror the reference.
//!
//! [`eval_with`] exposes the three-valued walk with a caller-supplied verdict for the
//! comparisons that read only F, which is how kernel-filter compilers check that a set
//! of approver values covers a rule. [`field_values`] lists every (field, literal) pair
//! a node compares, with the literal's kind, as the reference compiler records them.

use crate::event::{Event, StrList, Value};
use crate::interp::{self, Context, RVal};
use crate::ir::{Access, CmpOp, IntOp, Lit, Node, Piece, VarRead};
use crate::matcher::StrMatcher;
use crate::model::FieldId;
use crate::value::ip::IpNet;
use std::sync::Arc;

/// A three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    pub fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }

    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }

    pub fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Unknown,
        }
    }

    /// Not proven false.
    pub fn possible(self) -> bool {
        self != Truth::False
    }
}

/// A value given to the field under partial evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum PValue {
    Bool(bool),
    Int(i64),
    Str(String),
    Ip(IpNet),
    Strs(Vec<String>),
}

impl PValue {
    /// A value certainly different from this one (the reference's `NotOfValue`):
    /// `^v` for ints, `!b` for bools, `""` (or `"<NOT>"` for `""`) for strings.
    pub fn not_of(&self) -> Option<PValue> {
        match self {
            PValue::Int(i) => Some(PValue::Int(!i)),
            PValue::Bool(b) => Some(PValue::Bool(!b)),
            PValue::Str(s) if s.is_empty() => Some(PValue::Str("<NOT>".into())),
            PValue::Str(_) => Some(PValue::Str(String::new())),
            PValue::Ip(_) | PValue::Strs(_) => None,
        }
    }
}

/// An event where only one field is set.
pub struct OneField<'a> {
    pub field: FieldId,
    pub value: &'a PValue,
}

impl Event for OneField<'_> {
    fn event_type(&self) -> &str {
        ""
    }

    fn field(&self, id: FieldId) -> Value<'_> {
        if id != self.field {
            return Value::Missing;
        }
        match self.value {
            PValue::Bool(b) => Value::Bool(*b),
            PValue::Int(i) => Value::Int(*i),
            PValue::Str(s) => Value::Str(s),
            PValue::Ip(ip) => Value::Ip(*ip),
            PValue::Strs(v) => Value::Strs(StrList::Owned(v)),
        }
    }
}

/// No variables (zero values), no iterator element, the epoch as "now".
struct ZeroContext;

impl Context for ZeroContext {
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

/// What a comparison reads.
#[derive(Clone, Copy, Debug, Default)]
struct Reads {
    /// F, read whole.
    field: bool,
    /// F through an iterator register or an index.
    field_element: bool,
    other_fields: bool,
    vars: bool,
    clock: bool,
}

impl Reads {
    fn only_field(&self) -> bool {
        self.field && !self.field_element && !self.other_fields && !self.vars && !self.clock
    }

    fn nothing(&self) -> bool {
        !self.field && !self.field_element && !self.other_fields && !self.vars && !self.clock
    }
}

fn reads(node: &Node, f: FieldId, r: &mut Reads) {
    match node {
        Node::Lit(_) => {}
        Node::Field(load) => {
            if load.field == f {
                if load.access == Access::Whole {
                    r.field = true;
                } else {
                    r.field_element = true;
                }
            } else {
                r.other_fields = true;
            }
        }
        Node::Var(_) | Node::VarLength(_) => r.vars = true,
        // A length depends on the field without being its value.
        Node::FieldLength(id) => {
            if *id == f {
                r.field_element = true;
            } else {
                r.other_fields = true;
            }
        }
        Node::Interp(pieces) => {
            for p in pieces.iter() {
                match p {
                    Piece::Text(_) => {}
                    Piece::Var(_) | Piece::VarLength(_) => r.vars = true,
                    Piece::Field(id) | Piece::FieldLength(id) | Piece::FieldRootDomain(id) => {
                        if *id == f {
                            r.field_element = true;
                        } else {
                            r.other_fields = true;
                        }
                    }
                }
            }
        }
        Node::Age { operand, .. } => {
            r.clock = true;
            reads(operand, f, r);
        }
        _ => {
            for c in children(node) {
                reads(c, f, r);
            }
        }
    }
}

/// The direct operands of a node.
pub fn children(node: &Node) -> Vec<&Node> {
    match node {
        Node::Lit(_) | Node::Field(_) | Node::FieldLength(_) | Node::Var(_) | Node::VarLength(_) | Node::Interp(_) => {
            Vec::new()
        }
        Node::Not(n) | Node::Neg(n) | Node::BitNot(n) => vec![n],
        Node::And(a, b) | Node::Or(a, b) => vec![a, b],
        Node::Int { lhs, rhs, .. }
        | Node::CmpInt { lhs, rhs, .. }
        | Node::CmpBool { lhs, rhs, .. }
        | Node::CmpStr { lhs, rhs, .. }
        | Node::CmpIp { lhs, rhs, .. } => vec![lhs, rhs],
        Node::Age { operand, .. }
        | Node::MatchStr { operand, .. }
        | Node::InStrSet { operand, .. }
        | Node::InIntSet { operand, .. } => vec![operand],
        Node::InIps { operand, set, .. } => vec![operand, set],
        Node::InArray { operand, array, .. } => vec![operand, array],
    }
}

/// Whether a comparison node is the negation of a positive test in the reference
/// (`!=`, `!~`, `not in`), which the reference compiles as `Not(test)`.
fn is_negated(node: &Node) -> bool {
    match node {
        Node::CmpInt { op, .. } => *op == CmpOp::Ne,
        Node::CmpBool { negate, .. }
        | Node::CmpStr { negate, .. }
        | Node::MatchStr { negate, .. }
        | Node::InStrSet { negate, .. }
        | Node::InIntSet { negate, .. }
        | Node::CmpIp { negate, .. }
        | Node::InIps { negate, .. }
        | Node::InArray { negate, .. } => *negate,
        _ => false,
    }
}

/// Evaluates a comparison on an event where only `f` is set.
pub fn concrete(node: &Node, f: FieldId, value: &PValue) -> bool {
    matches!(interp::eval(node, &OneField { field: f, value }, &ZeroContext), RVal::Bool(true))
}

/// Three-valued evaluation of a boolean node where `leaf` decides the comparisons that
/// read only `f` (whole) and literals; comparisons reading anything else are
/// [`Truth::Unknown`], literal-only ones are computed.
pub fn eval_with(node: &Node, f: FieldId, leaf: &mut dyn FnMut(&Node) -> Truth) -> Truth {
    match node {
        Node::Not(n) => eval_with(n, f, leaf).not(),
        Node::And(a, b) => {
            let l = eval_with(a, f, leaf);
            if l == Truth::False {
                return Truth::False;
            }
            l.and(eval_with(b, f, leaf))
        }
        Node::Or(a, b) => {
            let l = eval_with(a, f, leaf);
            if l == Truth::True {
                return Truth::True;
            }
            l.or(eval_with(b, f, leaf))
        }
        Node::Lit(Lit::Bool(b)) => Truth::from_bool(*b),
        _ => {
            let mut r = Reads::default();
            reads(node, f, &mut r);
            if r.nothing() {
                let zero = PValue::Bool(false);
                Truth::from_bool(concrete(node, f, &zero))
            } else if r.only_field() {
                leaf(node)
            } else {
                Truth::Unknown
            }
        }
    }
}

/// Sound partial evaluation with F = `value`.
pub fn eval(node: &Node, f: FieldId, value: &PValue) -> Truth {
    eval_with(node, f, &mut |leaf| Truth::from_bool(concrete(leaf, f, value)))
}

/// Sound partial evaluation with several fields known at once (a path and the basename
/// the kernel derives from it): comparisons reading only known fields are computed,
/// others are [`Truth::Unknown`].
pub fn eval_known(node: &Node, known: &[(FieldId, PValue)]) -> Truth {
    match node {
        Node::Not(n) => eval_known(n, known).not(),
        Node::And(a, b) => {
            let l = eval_known(a, known);
            if l == Truth::False {
                return Truth::False;
            }
            l.and(eval_known(b, known))
        }
        Node::Or(a, b) => {
            let l = eval_known(a, known);
            if l == Truth::True {
                return Truth::True;
            }
            l.or(eval_known(b, known))
        }
        Node::Lit(Lit::Bool(b)) => Truth::from_bool(*b),
        _ => {
            let mut only_known = true;
            let mut fields = Vec::new();
            let mut r = Reads::default();
            reads(node, FieldId(u16::MAX), &mut r);
            if r.vars || r.clock || r.field_element {
                return Truth::Unknown;
            }
            collect_loads(node, &mut fields, &mut only_known);
            if !only_known || !fields.iter().all(|f| known.iter().any(|(k, _)| k == f)) {
                return Truth::Unknown;
            }
            let ev = Known { known };
            Truth::from_bool(matches!(interp::eval(node, &ev, &ZeroContext), RVal::Bool(true)))
        }
    }
}

/// Fields a node reads whole; `whole` turns false on any other kind of read.
fn collect_loads(node: &Node, out: &mut Vec<FieldId>, whole: &mut bool) {
    match node {
        Node::Field(load) => {
            if load.access != Access::Whole {
                *whole = false;
            }
            out.push(load.field);
        }
        Node::Interp(_) | Node::FieldLength(_) | Node::Var(_) | Node::VarLength(_) | Node::Age { .. } => *whole = false,
        _ => {
            for c in children(node) {
                collect_loads(c, out, whole);
            }
        }
    }
}

struct Known<'a> {
    known: &'a [(FieldId, PValue)],
}

impl Event for Known<'_> {
    fn event_type(&self) -> &str {
        ""
    }

    fn field(&self, id: FieldId) -> Value<'_> {
        match self.known.iter().find(|(f, _)| *f == id) {
            Some((f, v)) => OneField { field: *f, value: v }.field_ref(id),
            None => Value::Missing,
        }
    }
}

impl<'a> OneField<'a> {
    fn field_ref(&self, id: FieldId) -> Value<'a> {
        if id != self.field {
            return Value::Missing;
        }
        match self.value {
            PValue::Bool(b) => Value::Bool(*b),
            PValue::Int(i) => Value::Int(*i),
            PValue::Str(s) => Value::Str(s),
            PValue::Ip(ip) => Value::Ip(*ip),
            PValue::Strs(v) => Value::Strs(StrList::Owned(v)),
        }
    }
}

/// `false` only when no event with F = `value` can match `node`.
pub fn could_match(node: &Node, f: FieldId, value: &PValue) -> bool {
    eval(node, f, value).possible()
}

/// The reference engine's partial evaluation (see the module documentation).
pub fn reference_eval(node: &Node, f: FieldId, value: &PValue) -> bool {
    reference(node, f, value).value
}

struct RefResult {
    value: bool,
    /// Deterministic for F (depends on F and on no other field).
    det: bool,
    /// A constant.
    constant: bool,
}

fn reference(node: &Node, f: FieldId, value: &PValue) -> RefResult {
    match node {
        Node::Lit(Lit::Bool(b)) => RefResult { value: *b, det: false, constant: true },
        Node::Not(n) => {
            let r = reference(n, f, value);
            let v = if r.det || r.constant { !r.value } else { true };
            RefResult { value: v, det: r.det, constant: r.constant }
        }
        Node::And(a, b) | Node::Or(a, b) => {
            let (ra, rb) = (reference(a, f, value), reference(b, f, value));
            let pick = |r: &RefResult| if r.det || r.constant { r.value } else { true };
            let v = if matches!(node, Node::And(..)) { pick(&ra) && pick(&rb) } else { pick(&ra) || pick(&rb) };
            RefResult { value: v, det: ra.det || rb.det, constant: ra.constant && rb.constant }
        }
        _ => {
            let mut r = Reads::default();
            reads(node, f, &mut r);
            let det = (r.field || r.field_element) && !r.other_fields;
            if is_negated(node) && !det && !r.nothing() {
                return RefResult { value: true, det: false, constant: false };
            }
            RefResult { value: concrete(node, f, value), det, constant: r.nothing() }
        }
    }
}

/// The kind of a literal a field is compared with (the reference's value types).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// An exact string, int or bool.
    Scalar,
    /// A plain pattern (`~"..."`, or a string after `=~`, on a non-path field).
    Pattern,
    /// A path glob (a pattern on a `*.file.path` field).
    Glob,
    Regex,
    /// A mask the field is AND-ed (or OR-ed, XOR-ed) with.
    Bitmask,
    /// The bound of an ordering comparison, as `field <op> value`.
    Range(CmpOp),
    /// An IP address or network.
    IpNet,
    /// Something only known at run time (another field, a variable), or an operation
    /// no approver can describe (arithmetic, durations).
    Dynamic,
}

/// One literal a field is compared with.
#[derive(Clone, Debug)]
pub struct FieldValue {
    pub field: FieldId,
    pub value: PValue,
    pub kind: ValueKind,
    /// The compiled matcher, for string literals.
    pub matcher: Option<Arc<StrMatcher>>,
}

/// Every (field, literal) pair `node` compares, in source order, the way the reference
/// compiler records them (`state.UpdateFieldValues`): both operands of a comparison are
/// looked at, a masked field (`f & M`) also records `M` as a bitmask, and a field
/// compared with anything but a literal records a [`ValueKind::Dynamic`] value.
pub fn field_values(node: &Node) -> Vec<FieldValue> {
    let mut out = Vec::new();
    collect(node, &mut out);
    out
}

fn matcher_kind(m: &StrMatcher) -> ValueKind {
    match m {
        StrMatcher::Exact(_) | StrMatcher::ExactFolded(_) => ValueKind::Scalar,
        StrMatcher::Pattern(_) => ValueKind::Pattern,
        StrMatcher::Glob(_) => ValueKind::Glob,
        StrMatcher::Regex(_) => ValueKind::Regex,
    }
}

fn direct_field(node: &Node) -> Option<FieldId> {
    match node {
        Node::Field(load) => Some(load.field),
        _ => None,
    }
}

/// The field an int operand comes from, with the mask applied to it (`f & M`).
fn int_origin(node: &Node) -> Option<(FieldId, Option<i64>)> {
    match node {
        Node::Field(load) => Some((load.field, None)),
        Node::Int { op: IntOp::And | IntOp::Or | IntOp::Xor, lhs, rhs } => match (&**lhs, &**rhs) {
            (Node::Field(load), Node::Lit(Lit::Int(m))) | (Node::Lit(Lit::Int(m)), Node::Field(load)) => {
                Some((load.field, Some(*m)))
            }
            _ => None,
        },
        _ => None,
    }
}

fn push(out: &mut Vec<FieldValue>, field: FieldId, value: PValue, kind: ValueKind) {
    out.push(FieldValue { field, value, kind, matcher: None });
}

fn dynamic(out: &mut Vec<FieldValue>, node: &Node) {
    let mut fields = Vec::new();
    fields_of(node, &mut fields);
    for f in fields {
        push(out, f, PValue::Bool(false), ValueKind::Dynamic);
    }
}

fn fields_of(node: &Node, out: &mut Vec<FieldId>) {
    if let Node::Field(load) = node {
        out.push(load.field);
    }
    for c in children(node) {
        fields_of(c, out);
    }
}

fn collect(node: &Node, out: &mut Vec<FieldValue>) {
    match node {
        Node::MatchStr { operand, matcher, .. } => match direct_field(operand) {
            Some(f) => out.push(FieldValue {
                field: f,
                value: PValue::Str(matcher.source().to_owned()),
                kind: matcher_kind(matcher),
                matcher: Some(matcher.clone()),
            }),
            None => dynamic(out, operand),
        },
        Node::InStrSet { operand, set, .. } => match direct_field(operand) {
            Some(f) => {
                for m in set.members() {
                    out.push(FieldValue {
                        field: f,
                        value: PValue::Str(m.source().to_owned()),
                        kind: matcher_kind(m),
                        matcher: Some(Arc::new(m.clone())),
                    });
                }
            }
            None => dynamic(out, operand),
        },
        Node::CmpInt { op, lhs, rhs } => {
            let sides = [(lhs, rhs, *op), (rhs, lhs, op.mirrored())];
            for (this, other, op) in sides {
                let Some((f, mask)) = int_origin(this) else {
                    if !matches!(**this, Node::Lit(_)) && !matches!(**other, Node::Lit(_)) {
                        dynamic(out, this);
                    }
                    continue;
                };
                if let Some(m) = mask {
                    push(out, f, PValue::Int(m), ValueKind::Bitmask);
                }
                match &**other {
                    Node::Lit(Lit::Int(c)) => {
                        let kind =
                            if matches!(op, CmpOp::Eq | CmpOp::Ne) { ValueKind::Scalar } else { ValueKind::Range(op) };
                        push(out, f, PValue::Int(*c), kind);
                    }
                    Node::Lit(Lit::Ints(v)) => {
                        for c in v.iter() {
                            push(out, f, PValue::Int(*c), ValueKind::Scalar);
                        }
                    }
                    _ => push(out, f, PValue::Int(0), ValueKind::Dynamic),
                }
            }
            if int_origin(lhs).is_none() {
                collect(lhs, out);
            }
            if int_origin(rhs).is_none() {
                collect(rhs, out);
            }
            return;
        }
        Node::InIntSet { operand, set, .. } => {
            match int_origin(operand) {
                Some((f, mask)) => {
                    if let Some(m) = mask {
                        push(out, f, PValue::Int(m), ValueKind::Bitmask);
                    }
                    for c in set.iter() {
                        push(out, f, PValue::Int(*c), ValueKind::Scalar);
                    }
                }
                None => dynamic(out, operand),
            }
            return;
        }
        Node::CmpBool { lhs, rhs, .. } => {
            for (this, other) in [(lhs, rhs), (rhs, lhs)] {
                if let Some(f) = direct_field(this) {
                    match &**other {
                        Node::Lit(Lit::Bool(b)) => push(out, f, PValue::Bool(*b), ValueKind::Scalar),
                        _ => push(out, f, PValue::Bool(false), ValueKind::Dynamic),
                    }
                }
            }
            return;
        }
        Node::CmpIp { lhs, rhs, .. } => {
            for (this, other) in [(lhs, rhs), (rhs, lhs)] {
                if let Some(f) = direct_field(this) {
                    match &**other {
                        Node::Lit(Lit::Ip(ip)) => push(out, f, PValue::Ip(*ip), ValueKind::IpNet),
                        _ => push(out, f, PValue::Bool(false), ValueKind::Dynamic),
                    }
                }
            }
            return;
        }
        Node::InIps { operand, set, .. } => {
            if let Some(f) = direct_field(operand) {
                match &**set {
                    Node::Lit(Lit::Ips(v)) => {
                        for ip in v.iter() {
                            push(out, f, PValue::Ip(*ip), ValueKind::IpNet);
                        }
                    }
                    Node::Lit(Lit::Ip(ip)) => push(out, f, PValue::Ip(*ip), ValueKind::IpNet),
                    _ => push(out, f, PValue::Bool(false), ValueKind::Dynamic),
                }
            } else {
                dynamic(out, operand);
            }
            dynamic(out, set);
            return;
        }
        Node::CmpStr { lhs, rhs, .. } | Node::InArray { operand: lhs, array: rhs, .. } => {
            dynamic(out, lhs);
            dynamic(out, rhs);
            return;
        }
        Node::Age { operand, .. } => {
            dynamic(out, operand);
            return;
        }
        Node::Int { .. } | Node::Neg(_) | Node::BitNot(_) => {
            dynamic(out, node);
            return;
        }
        _ => {}
    }
    for c in children(node) {
        collect(c, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{FieldLoad, Ty};
    use crate::matcher::StrSet;

    fn field(id: u16, ty: Ty) -> Node {
        Node::Field(FieldLoad { field: FieldId(id), access: Access::Whole, ty })
    }
    fn eq(id: u16, s: &str) -> Node {
        Node::MatchStr {
            negate: false,
            operand: Box::new(field(id, Ty::Str)),
            matcher: Arc::new(StrMatcher::Exact(s.into())),
        }
    }
    fn ne(id: u16, s: &str) -> Node {
        Node::MatchStr {
            negate: true,
            operand: Box::new(field(id, Ty::Str)),
            matcher: Arc::new(StrMatcher::Exact(s.into())),
        }
    }
    fn and(a: Node, b: Node) -> Node {
        Node::And(Box::new(a), Box::new(b))
    }
    fn not(a: Node) -> Node {
        Node::Not(Box::new(a))
    }
    fn s(v: &str) -> PValue {
        PValue::Str(v.into())
    }

    #[test]
    fn three_valued() {
        let f = FieldId(1);
        let rule = and(eq(1, "a"), ne(2, "x"));
        assert_eq!(eval(&rule, f, &s("a")), Truth::Unknown);
        assert_eq!(eval(&rule, f, &s("b")), Truth::False);
        assert_eq!(eval(&eq(1, "a"), f, &s("a")), Truth::True);
        // `!(F == a && G == x)` can match with F = a: sound says unknown, the reference
        // convention says false.
        let tricky = not(and(eq(1, "a"), eq(2, "x")));
        assert!(could_match(&tricky, f, &s("a")));
        assert!(!reference_eval(&tricky, f, &s("a")));
        assert!(reference_eval(&rule, f, &s("a")));
        assert!(!reference_eval(&rule, f, &s("b")));
    }

    #[test]
    fn values() {
        let set = StrSet::new(vec![StrMatcher::Exact("p".into()), StrMatcher::Exact("q".into())]);
        let node = and(
            Node::InStrSet { negate: false, operand: Box::new(field(1, Ty::Str)), set: Arc::new(set) },
            Node::CmpInt {
                op: CmpOp::Gt,
                lhs: Box::new(Node::Int {
                    op: IntOp::And,
                    lhs: Box::new(field(3, Ty::Int)),
                    rhs: Box::new(Node::Lit(Lit::Int(64))),
                }),
                rhs: Box::new(Node::Lit(Lit::Int(0))),
            },
        );
        let v = field_values(&node);
        let kinds: Vec<_> = v.iter().map(|v| (v.field.0, v.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (1, ValueKind::Scalar),
                (1, ValueKind::Scalar),
                (3, ValueKind::Bitmask),
                (3, ValueKind::Range(CmpOp::Gt))
            ]
        );
    }
}
