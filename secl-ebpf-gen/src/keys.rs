//! Approver values as kernel map entries: projecting a value onto a [`Key`], and proving
//! that a rule implies its key constraint (soundness of approvers).

use crate::approvers::{AValue, Approver};
use crate::capabilities::{AF_INET, AF_INET6, Key};
use secl_eval::ir::{CmpOp, IntOp, Lit, Node};
use secl_eval::matcher::StrMatcher;
use secl_eval::model::FieldId;
use secl_eval::partial::{self, Truth};
use secl_eval::value::ip::IpNet;
use serde::{Deserialize, Serialize};

/// A string entry: the exact string, or every string starting with `text`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StrEntry {
    pub text: String,
    pub prefix: bool,
}

impl StrEntry {
    pub fn exact(t: impl Into<String>) -> StrEntry {
        StrEntry { text: t.into(), prefix: false }
    }

    pub fn prefix(t: impl Into<String>) -> StrEntry {
        StrEntry { text: t.into(), prefix: true }
    }

    /// Whether every string this entry accepts is accepted by `by`.
    pub fn covered_by(&self, by: &StrEntry) -> bool {
        if by.prefix {
            self.text.as_bytes().starts_with(by.text.as_bytes())
        } else {
            !self.prefix && self.text == by.text
        }
    }

    pub fn accepts(&self, s: &[u8]) -> bool {
        if self.prefix { s.starts_with(self.text.as_bytes()) } else { s == self.text.as_bytes() }
    }
}

/// The values one guard allows for one key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entries {
    Strings(Vec<StrEntry>),
    Ints(Vec<i64>),
    /// `value & mask != 0`.
    Mask(u64),
    Ranges(Vec<(i64, i64)>),
    Cidrs(Vec<String>),
}

impl Entries {
    /// The union of two entry sets of the same key.
    pub fn union(&mut self, other: &Entries) {
        match (self, other) {
            (Entries::Strings(a), Entries::Strings(b)) => extend_dedup(a, b),
            (Entries::Ints(a), Entries::Ints(b)) => extend_dedup(a, b),
            (Entries::Mask(a), Entries::Mask(b)) => *a |= *b,
            (Entries::Ranges(a), Entries::Ranges(b)) => extend_dedup(a, b),
            (Entries::Cidrs(a), Entries::Cidrs(b)) => extend_dedup(a, b),
            _ => {}
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Entries::Strings(v) => v.len(),
            Entries::Ints(v) => v.len(),
            Entries::Mask(_) => 1,
            Entries::Ranges(v) => v.len(),
            Entries::Cidrs(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn nets(&self) -> Vec<IpNet> {
        match self {
            Entries::Cidrs(v) => v.iter().filter_map(|s| secl_eval::value::ip::parse_cidr(s).ok()).collect(),
            _ => Vec::new(),
        }
    }
}

fn extend_dedup<T: PartialEq + Clone>(a: &mut Vec<T>, b: &[T]) {
    for x in b {
        if !a.contains(x) {
            a.push(x.clone());
        }
    }
}

/// The last path element, as the kernel's dentry name (and [`JsonEvent`]'s derivation).
///
/// [`JsonEvent`]: secl_eval::json_event::JsonEvent
pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Go's `path.Base`, used by the reference to validate and key basename approvers.
pub fn go_path_base(p: &str) -> &str {
    if p.is_empty() {
        return ".";
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/";
    }
    t.rsplit('/').next().unwrap_or(t)
}

fn reversed(s: &str) -> String {
    // Byte-wise reversal; the kernel reverses bytes too. Entries are compared as bytes.
    String::from_utf8_lossy(&s.bytes().rev().collect::<Vec<u8>>()).into_owned()
}

/// Glob elements with glued `**` rewritten to `*`, as the matcher sees them.
fn glob_elements(text: &str) -> Vec<String> {
    text.split('/')
        .map(|el| if el.len() != 2 && el.contains("**") { el.replace("**", "*") } else { el.to_string() })
        .collect()
}

/// What every path matching `g` has as its last element.
fn glob_basename(g: &secl_eval::value::glob::Glob) -> Option<Vec<StrEntry>> {
    if g.is_case_insensitive() {
        return None;
    }
    if g.is_exact() {
        return Some(vec![StrEntry::exact(basename(g.as_str()))]);
    }
    let els = glob_elements(g.as_str());
    let last = els.last()?;
    let double_star = els.iter().any(|e| e == "**");
    let mut out = match last.find('*') {
        None => vec![StrEntry::exact(last.clone())],
        Some(0) => return None,
        Some(i) => vec![StrEntry::prefix(&last[..i])],
    };
    // Without `**`, a `*` element before the last accepts a path that ends right after
    // it with a `/` (SPEC §5.3 matcher quirk): such a path has an empty basename.
    if !double_star && els[..els.len() - 1].iter().any(|e| e == "*") {
        out.push(StrEntry::exact(""));
    }
    Some(out)
}

/// What every string matching `m` looks like through `key`; `None` when the key cannot
/// describe it (a value without literal prefix, a regexp, a case mismatch).
pub fn project_matcher(m: &StrMatcher, key: Key) -> Option<Vec<StrEntry>> {
    match (key, m) {
        (Key::Path | Key::Str, StrMatcher::Exact(s)) => Some(vec![StrEntry::exact(&**s)]),
        (Key::Path | Key::Str, StrMatcher::Glob(g)) if !g.is_case_insensitive() => {
            if g.is_exact() {
                Some(vec![StrEntry::exact(g.as_str())])
            } else {
                let lit = g.literal_prefix();
                (!lit.is_empty()).then(|| vec![StrEntry::prefix(lit)])
            }
        }
        (Key::Path | Key::Str, StrMatcher::Pattern(p)) if !p.is_case_insensitive() => {
            if p.is_exact() {
                Some(vec![StrEntry::exact(p.as_str())])
            } else {
                let lit = p.literal_prefix();
                (!lit.is_empty()).then(|| vec![StrEntry::prefix(lit)])
            }
        }
        (Key::StrRev, StrMatcher::Exact(s)) => Some(vec![StrEntry::exact(reversed(s))]),
        (Key::StrRev, StrMatcher::Pattern(p)) if !p.is_case_insensitive() => suffix_entry(p.as_str()),
        (Key::Basename, StrMatcher::Exact(s)) => Some(vec![StrEntry::exact(basename(s))]),
        (Key::Basename, StrMatcher::Glob(g)) => glob_basename(g),
        (Key::Folded, StrMatcher::ExactFolded(s)) => Some(vec![StrEntry::exact(&**s)]),
        (Key::Folded, StrMatcher::Exact(s)) => Some(vec![StrEntry::exact(secl_eval::matcher::fold(s))]),
        (Key::Folded, StrMatcher::Pattern(p)) => {
            let lit = p.literal_prefix();
            if p.is_exact() {
                Some(vec![StrEntry::exact(secl_eval::matcher::fold(lit))])
            } else {
                let lit = secl_eval::matcher::fold(lit);
                (!lit.is_empty()).then(|| vec![StrEntry::prefix(lit)])
            }
        }
        (Key::FoldedRev, StrMatcher::ExactFolded(s)) => Some(vec![StrEntry::exact(reversed(s))]),
        (Key::FoldedRev, StrMatcher::Exact(s)) => Some(vec![StrEntry::exact(reversed(&secl_eval::matcher::fold(s)))]),
        (Key::FoldedRev, StrMatcher::Pattern(p)) => suffix_entry(&secl_eval::matcher::fold(p.as_str())),
        _ => None,
    }
}

/// The reversed literal suffix of a plain pattern.
fn suffix_entry(text: &str) -> Option<Vec<StrEntry>> {
    match text.rfind('*') {
        None => Some(vec![StrEntry::exact(reversed(text))]),
        Some(i) => {
            let suffix = &text[i + 1..];
            (!suffix.is_empty()).then(|| vec![StrEntry::prefix(reversed(suffix))])
        }
    }
}

/// Projects approver values onto a key; `None` when some value cannot be expressed.
pub fn project(values: &[Approver], key: Key) -> Option<Entries> {
    let mut out = match key {
        k if k.is_string() => Entries::Strings(Vec::new()),
        Key::Int | Key::InetFamily => Entries::Ints(Vec::new()),
        Key::Flags => Entries::Mask(0),
        Key::Ranges => Entries::Ranges(Vec::new()),
        _ => Entries::Cidrs(Vec::new()),
    };
    if key == Key::InetFamily {
        return Some(Entries::Ints(vec![AF_INET, AF_INET6]));
    }
    for v in values {
        let piece = match (key, &v.value) {
            (k, AValue::Str(_)) if k.is_string() => Entries::Strings(project_matcher(v.matcher.as_deref()?, key)?),
            (Key::Int, AValue::Int(i)) => Entries::Ints(vec![*i]),
            (Key::Int, AValue::Bool(b)) => Entries::Ints(vec![i64::from(*b)]),
            (Key::Flags, AValue::Int(i)) if *i != 0 => Entries::Mask(*i as u64),
            (Key::Ranges, AValue::Int(i)) => Entries::Ranges(vec![(*i, *i)]),
            (Key::Ranges, AValue::Range(lo, hi)) => Entries::Ranges(vec![(*lo, *hi)]),
            (Key::Cidr, AValue::Ip(net)) => Entries::Cidrs(vec![net.to_string()]),
            _ => return None,
        };
        out.union(&piece);
    }
    Some(out)
}

/// The reference's lowering of flag approvers: every value OR-ed into one mask.
pub fn reference_mask(values: &[Approver]) -> u64 {
    values.iter().fold(0u64, |m, v| match v.value {
        AValue::Int(i) => m | i as u64,
        _ => m,
    })
}

/// Whether a rule implies that `key(field)` is in `entries`: evaluated under the
/// assumption that it is not, the rule must be certainly false.
pub fn implies(node: &Node, field: FieldId, key: Key, entries: &Entries) -> bool {
    if let Some(spans) = int_spans(entries) {
        // Case split over the values outside the entries, one interval at a time.
        return complement(spans)
            .into_iter()
            .all(|(lo, hi)| partial::eval_with(node, field, &mut |leaf| int_leaf_on(leaf, lo, hi)) == Truth::False);
    }
    partial::eval_with(node, field, &mut |leaf| outside(leaf, key, entries)) == Truth::False
}

fn int_spans(entries: &Entries) -> Option<Vec<(i64, i64)>> {
    match entries {
        Entries::Ints(v) => Some(v.iter().map(|i| (*i, *i)).collect()),
        Entries::Ranges(v) => Some(v.clone()),
        _ => None,
    }
}

/// The intervals of `i64` not covered by `spans`.
fn complement(mut spans: Vec<(i64, i64)>) -> Vec<(i64, i64)> {
    spans.sort_unstable();
    let mut out = Vec::new();
    let mut next = Some(i64::MIN);
    for (a, b) in spans {
        let Some(n) = next else { break };
        if a > n {
            out.push((n, a - 1));
        }
        if b >= n {
            next = b.checked_add(1);
        }
    }
    if let Some(n) = next {
        out.push((n, i64::MAX));
    }
    out
}

/// An int comparison of the field (unmasked) when the field lies in `[lo, hi]`.
fn int_leaf_on(leaf: &Node, lo: i64, hi: i64) -> Truth {
    let within = |a: i64, b: i64| {
        if a <= lo && hi <= b {
            Truth::True
        } else if b < lo || hi < a {
            Truth::False
        } else {
            Truth::Unknown
        }
    };
    let point = |c: i64| within(c, c);
    let (t, negated) = match leaf {
        Node::CmpInt { op, lhs, rhs } => {
            let (op, c) = match (&**lhs, &**rhs) {
                (Node::Field(_), Node::Lit(Lit::Int(c))) => (*op, *c),
                (Node::Lit(Lit::Int(c)), Node::Field(_)) => (op.mirrored(), *c),
                _ => return Truth::Unknown,
            };
            match op {
                CmpOp::Ne => (point(c), true),
                op => match interval(op, c) {
                    Some((a, b)) => (within(a, b), false),
                    None => (Truth::False, false),
                },
            }
        }
        Node::InIntSet { negate, operand, set } if matches!(**operand, Node::Field(_)) => {
            let t = set.iter().fold(Truth::False, |acc, c| acc.or(point(*c)));
            (t, *negate)
        }
        Node::CmpBool { negate, lhs, rhs } => match (&**lhs, &**rhs) {
            (Node::Field(_), Node::Lit(Lit::Bool(b))) => (point(i64::from(*b)), *negate),
            _ => return Truth::Unknown,
        },
        _ => return Truth::Unknown,
    };
    if negated { t.not() } else { t }
}

/// A comparison reading only the field, under "the field's key is outside `entries`".
fn outside(leaf: &Node, key: Key, entries: &Entries) -> Truth {
    let negate = |t: Truth, n: bool| if n { t.not() } else { t };
    let covered = |ok: bool| if ok { Truth::False } else { Truth::Unknown };
    match (leaf, entries) {
        (Node::MatchStr { negate: n, matcher, .. }, Entries::Strings(c)) => {
            negate(covered(matcher_covered(matcher, key, c)), *n)
        }
        (Node::InStrSet { negate: n, set, .. }, Entries::Strings(c)) => {
            negate(covered(set.members().iter().all(|m| matcher_covered(m, key, c))), *n)
        }
        (Node::CmpInt { op, lhs, rhs }, _) => {
            let (origin, op, c) = match (&**lhs, &**rhs) {
                (o, Node::Lit(Lit::Int(c))) => (o, *op, *c),
                (Node::Lit(Lit::Int(c)), o) => (o, op.mirrored(), *c),
                _ => return Truth::Unknown,
            };
            int_leaf(origin, &[(op, c)], false, entries)
        }
        (Node::InIntSet { negate: n, operand, set }, _) => {
            let tests: Vec<(CmpOp, i64)> = set.iter().map(|c| (CmpOp::Eq, *c)).collect();
            int_leaf(operand, &tests, *n, entries)
        }
        (Node::CmpBool { negate: n, lhs, rhs }, Entries::Ints(s)) => match (&**lhs, &**rhs) {
            (Node::Field(_), Node::Lit(Lit::Bool(b))) => negate(covered(s.contains(&i64::from(*b))), *n),
            _ => Truth::Unknown,
        },
        (Node::CmpIp { negate: n, lhs, rhs }, Entries::Cidrs(_)) => match (&**lhs, &**rhs) {
            (Node::Field(_), Node::Lit(Lit::Ip(ip))) => negate(covered(net_covered(ip, &entries.nets())), *n),
            _ => Truth::Unknown,
        },
        (Node::InIps { negate: n, all: false, operand, set }, Entries::Cidrs(_)) => match (&**operand, &**set) {
            (Node::Field(_), Node::Lit(Lit::Ips(v))) => {
                let nets = entries.nets();
                negate(covered(v.iter().all(|ip| net_covered(ip, &nets))), *n)
            }
            _ => Truth::Unknown,
        },
        _ => Truth::Unknown,
    }
}

fn matcher_covered(m: &StrMatcher, key: Key, c: &[StrEntry]) -> bool {
    match project_matcher(m, key) {
        Some(items) => items.iter().all(|i| c.iter().any(|e| i.covered_by(e))),
        None => false,
    }
}

/// Whether every address of `ip` lies in one of `nets`.
fn net_covered(ip: &IpNet, nets: &[IpNet]) -> bool {
    nets.iter().any(|n| n.prefix_len() <= ip.prefix_len() && n.contains_addr(ip))
}

/// An int comparison `origin <op> c` (any of `tests` for a set), `origin` being the
/// field or the field AND-ed with a mask.
fn int_leaf(origin: &Node, tests: &[(CmpOp, i64)], negated: bool, entries: &Entries) -> Truth {
    let negate = |t: Truth| if negated { t.not() } else { t };
    let mask = match origin {
        Node::Field(_) => None,
        Node::Int { op: IntOp::And, lhs, rhs } => match (&**lhs, &**rhs) {
            (Node::Field(_), Node::Lit(Lit::Int(m))) | (Node::Lit(Lit::Int(m)), Node::Field(_)) => Some(*m),
            _ => return Truth::Unknown,
        },
        _ => return Truth::Unknown,
    };
    match (entries, mask) {
        // Under `field & U == 0`, `field & m` is 0 when `m` has no bit outside `U`.
        (Entries::Mask(u), Some(m)) if (m as u64) & !u == 0 => {
            negate(Truth::from_bool(tests.iter().any(|(op, c)| op.apply(0, *c))))
        }
        // `field == c` is impossible when `c` shares a bit with `U`.
        (Entries::Mask(u), None) if tests.iter().all(|(op, c)| *op == CmpOp::Eq && (*c as u64) & u != 0) => {
            negate(Truth::False)
        }
        (Entries::Ints(_) | Entries::Ranges(_), None) => {
            let covered = tests.iter().all(|(op, c)| match interval(*op, *c) {
                Some((lo, hi)) => interval_covered(lo, hi, entries),
                None => false,
            });
            negate(if covered { Truth::False } else { Truth::Unknown })
        }
        _ => Truth::Unknown,
    }
}

/// The values `x` with `x <op> c`, as an interval.
fn interval(op: CmpOp, c: i64) -> Option<(i64, i64)> {
    match op {
        CmpOp::Eq => Some((c, c)),
        CmpOp::Lt => c.checked_sub(1).map(|h| (i64::MIN, h)),
        CmpOp::Le => Some((i64::MIN, c)),
        CmpOp::Gt => c.checked_add(1).map(|l| (l, i64::MAX)),
        CmpOp::Ge => Some((c, i64::MAX)),
        CmpOp::Ne => None,
    }
}

fn interval_covered(lo: i64, hi: i64, entries: &Entries) -> bool {
    let mut spans: Vec<(i64, i64)> = match entries {
        Entries::Ints(v) => v.iter().map(|i| (*i, *i)).collect(),
        Entries::Ranges(v) => v.clone(),
        _ => return false,
    };
    spans.sort_unstable();
    let mut next = lo;
    for (a, b) in spans {
        if a > next {
            break;
        }
        if b >= next {
            if b >= hi {
                return true;
            }
            next = b + 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use secl_eval::value::glob::Glob;

    fn g(t: &str) -> StrMatcher {
        StrMatcher::Glob(Glob::new(t, false).unwrap())
    }

    #[test]
    fn glob_projections() {
        let p = |t: &str, k| project_matcher(&g(t), k);
        assert_eq!(p("/etc/cron.*/**", Key::Path), Some(vec![StrEntry::prefix("/etc/cron.")]));
        assert_eq!(p("/etc/crontab", Key::Path), Some(vec![StrEntry::exact("/etc/crontab")]));
        assert_eq!(p("*/bin/*", Key::Path), None);
        assert_eq!(p("/etc/**/x", Key::Basename), Some(vec![StrEntry::exact("x")]));
        assert_eq!(p("/var/spool/cron/**", Key::Basename), None);
        assert_eq!(p("/proc/*/environ", Key::Basename), Some(vec![StrEntry::exact("environ"), StrEntry::exact("")]));
        assert_eq!(p("/home/*/x*", Key::Basename), Some(vec![StrEntry::prefix("x"), StrEntry::exact("")]));
        // The quirk is real: the matcher accepts a trailing-slash path.
        assert!(g("/proc/*/environ").matches("/proc/"));
    }

    #[test]
    fn pattern_suffix() {
        let p = StrMatcher::Pattern(secl_eval::value::pattern::Pattern::new("*.interact.sh", false).unwrap());
        assert_eq!(project_matcher(&p, Key::StrRev), Some(vec![StrEntry::prefix("hs.tcaretni.")]));
        assert_eq!(project_matcher(&p, Key::Str), None);
    }

    #[test]
    fn intervals() {
        assert!(interval_covered(5, 5, &Entries::Ints(vec![5])));
        assert!(interval_covered(1000, i64::MAX, &Entries::Ranges(vec![(0, 10), (1000, i64::MAX)])));
        assert!(!interval_covered(999, i64::MAX, &Entries::Ranges(vec![(1000, i64::MAX)])));
        assert!(interval_covered(0, 20, &Entries::Ranges(vec![(0, 10), (11, 20)])));
    }
}
