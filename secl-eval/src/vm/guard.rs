//! Rule guards: the candidate-rule index of a bucket.
//!
//! Most rules require one field to take one of a few values (`exec.file.name in
//! [...]`, `dns.question.name == "x"`). Such a conjunct is the rule's *guard*. Guards on
//! the same field are merged into one hash table from value to rules, so one lookup per
//! guarded field tells which rules can match at all; the others are not touched. Rules
//! without a usable guard are always candidates. Guards only narrow the candidates: a
//! candidate is then evaluated in full, so verdicts do not depend on them.

use crate::event::Event;
use crate::fxhash::FxHashMap;
use crate::ir::{Access, CmpOp, FieldLoad, Lit, Node, Ty};
use crate::matcher::StrMatcher;
use crate::model::FieldId;
use std::sync::Arc;

/// Pattern members are pre-filtered (prefix trie, literal scan), so a guard may hold many;
/// past this many a rule is cheaper to evaluate than to index.
const MAX_GUARD_PATTERNS: usize = 256;

#[derive(Debug, Default)]
struct FieldGuard {
    load: Option<FieldLoad>,
    strs: FxHashMap<Box<str>, Vec<u32>>,
    /// Members of case-insensitive fields, folded.
    folded: FxHashMap<Box<str>, Vec<u32>>,
    ints: FxHashMap<i64, Vec<u32>>,
    others: crate::pattern_index::PatternIndex<u32>,
}

#[derive(Debug, Default)]
pub struct Guards {
    fields: Vec<FieldGuard>,
    /// Rules (positions in the bucket) with no guard, as a bitset.
    always: Vec<u64>,
    pub words: usize,
    pub guarded: usize,
    /// Positions of the rules without a guard.
    pub unguarded: Vec<u32>,
}

enum Members<'a> {
    Strs(Vec<Arc<StrMatcher>>),
    Ints(&'a [i64]),
}

/// The guard candidates of a conjunct: a positive membership of a whole field.
fn guard_of(node: &Node) -> Option<(FieldLoad, Members<'_>)> {
    let field = |n: &Node| match n {
        Node::Field(f) if f.access == Access::Whole => Some(*f),
        _ => None,
    };
    match node {
        Node::InStrSet { negate: false, operand, set } => {
            Some((field(operand)?, Members::Strs(set.members().iter().cloned().map(Arc::new).collect())))
        }
        Node::MatchStr { negate: false, operand, matcher } => {
            Some((field(operand)?, Members::Strs(vec![matcher.clone()])))
        }
        Node::InIntSet { negate: false, operand, set } => Some((field(operand)?, Members::Ints(set))),
        Node::CmpInt { op: CmpOp::Eq, lhs, rhs } => match (&**lhs, &**rhs) {
            (Node::Lit(Lit::Int(v)), f) | (f, Node::Lit(Lit::Int(v))) => {
                Some((field(f)?, Members::Ints(std::slice::from_ref(v))))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A rule's guard: alternatives, one of which holds whenever the rule does. A conjunction
/// takes the best guard of its parts; a disjunction needs one for every part and takes
/// them all.
fn guard(node: &Node) -> Option<Vec<(FieldLoad, Members<'_>)>> {
    match node {
        Node::And(a, b) => match (guard(a), guard(b)) {
            (Some(x), Some(y)) => Some(if score(&x) <= score(&y) { x } else { y }),
            (x, y) => x.or(y),
        },
        Node::Or(a, b) => {
            let mut x = guard(a)?;
            x.extend(guard(b)?);
            Some(x)
        }
        leaf => {
            let (load, members) = guard_of(leaf)?;
            let usable =
                matches!(load.ty.element(), Ty::Str | Ty::Int) && pattern_count(&members) <= MAX_GUARD_PATTERNS;
            usable.then(|| vec![(load, members)])
        }
    }
}

/// Lower is better: fewer alternatives and fewer patterns to try per event.
fn score(g: &[(FieldLoad, Members<'_>)]) -> usize {
    g.iter().map(|(_, m)| 1 + 4 * pattern_count(m)).sum()
}

fn pattern_count(m: &Members<'_>) -> usize {
    match m {
        Members::Strs(v) => v.iter().filter(|m| !matches!(***m, StrMatcher::Exact(_))).count(),
        Members::Ints(_) => 0,
    }
}

impl Guards {
    /// Builds the guards of a bucket whose rules have these bodies (in bucket order).
    pub fn build<'a>(bodies: impl Iterator<Item = &'a Node>) -> Guards {
        let mut by_field: FxHashMap<FieldId, FieldGuard> = FxHashMap::default();
        let mut always = Vec::new();
        let mut count = 0u32;
        let mut guarded = 0;
        for (pos, body) in bodies.enumerate() {
            count = pos as u32 + 1;
            let Some(alternatives) = guard(body).filter(|g| score(g) <= 4 * MAX_GUARD_PATTERNS) else {
                always.push(pos as u32);
                continue;
            };
            guarded += 1;
            let pos = pos as u32;
            for (load, members) in alternatives {
                let g = by_field.entry(load.field).or_default();
                g.load = Some(load);
                match members {
                    Members::Ints(v) => {
                        for i in v {
                            g.ints.entry(*i).or_default().push(pos);
                        }
                    }
                    Members::Strs(v) => {
                        for m in v {
                            match &*m {
                                StrMatcher::Exact(s) => g.strs.entry(Box::from(&**s)).or_default().push(pos),
                                StrMatcher::ExactFolded(s) => g.folded.entry(Box::from(&**s)).or_default().push(pos),
                                _ => g.others.insert(m.clone(), pos),
                            }
                        }
                    }
                }
            }
        }
        let unguarded = always.clone();
        let words = (count as usize).div_ceil(64).max(1);
        let mut bits = vec![0u64; words];
        for p in always {
            bits[(p / 64) as usize] |= 1 << (p % 64);
        }
        let mut fields: Vec<FieldGuard> = by_field.into_values().collect();
        fields.iter().for_each(|g| g.others.prepare());
        fields.sort_by_key(|g| g.load.map(|l| l.field));
        Guards { fields, always: bits, words, guarded, unguarded }
    }

    /// Fills `bits` with the candidate rules of this event.
    pub fn candidates<E: Event + ?Sized>(&self, ev: &E, bits: &mut [u64]) {
        bits[..self.words].copy_from_slice(&self.always);
        for i in 0..self.fields.len() {
            self.candidates_for(i, ev, bits);
        }
    }

    /// Adds the candidates that guarded field `i` lets through.
    fn candidates_for<E: Event + ?Sized>(&self, i: usize, ev: &E, bits: &mut [u64]) {
        {
            let g = &self.fields[i];
            let Some(load) = &g.load else { return };
            let v = super::eval::load(ev, load, None);
            let mut set = |p: &u32| bits[(*p / 64) as usize] |= 1 << (*p % 64);
            if !g.strs.is_empty() || !g.others.is_empty() || !g.folded.is_empty() {
                v.any_str(|s| {
                    if let Some(rules) = g.strs.get(s) {
                        rules.iter().for_each(&mut set);
                    }
                    if !g.folded.is_empty() {
                        // Folding allocates only for values with upper-case or non-ASCII text.
                        let key: std::borrow::Cow<'_, str> =
                            if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                                std::borrow::Cow::Borrowed(s)
                            } else {
                                std::borrow::Cow::Owned(crate::matcher::fold(s))
                            };
                        if let Some(rules) = g.folded.get(&*key) {
                            rules.iter().for_each(&mut set);
                        }
                    }
                    if !g.others.is_empty() {
                        g.others.find(s, |p| {
                            set(p);
                            false
                        });
                    }
                    false
                });
            }
            if !g.ints.is_empty() {
                v.any_int(|i| {
                    if let Some(rules) = g.ints.get(&i) {
                        rules.iter().for_each(&mut set);
                    }
                    false
                });
            }
        }
    }
}

impl Guards {
    /// Times each guarded field's lookup on `events` (ns per event), for profiling.
    pub fn field_costs<E: Event>(&self, events: &[&E]) -> Vec<(FieldId, usize, f64)> {
        let mut bits = vec![0u64; self.words];
        let mut out = Vec::new();
        for (i, g) in self.fields.iter().enumerate() {
            let Some(load) = g.load else { continue };
            let start = std::time::Instant::now();
            for ev in events {
                self.candidates_for(i, *ev, &mut bits);
            }
            let entries = g.strs.len() + g.folded.len() + g.ints.len() + g.others.len();
            out.push((load.field, entries, start.elapsed().as_nanos() as f64 / events.len().max(1) as f64));
        }
        out
    }
}
