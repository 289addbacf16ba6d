//! Rule guards: the candidate-rule index of a bucket.
//!
//! Most rules require one field to take one of a few values (`exec.file.name in
//! [...]`, `dns.question.name == "x"`). Such a conjunct is the rule's *guard*. Guards on
//! the same field are scanned together with the field's other tests (see
//! [`super::groups`]), so one scan per guarded field tells which rules can match at all;
//! the others are not touched. Rules without a usable guard are always candidates.
//! Guards only narrow the candidates: a candidate is then evaluated in full, so verdicts
//! do not depend on them.

use super::groups::{FieldGroups, GroupState, Members};
use super::program::PredicateTable;
use crate::event::Event;
use crate::ir::{FieldLoad, Node, Ty};
use crate::matcher::StrMatcher;

/// Pattern members are pre-filtered (prefix trie, literal scan), so a guard may hold many;
/// past this many a rule is cheaper to evaluate than to index.
const MAX_GUARD_PATTERNS: usize = 256;

#[derive(Debug, Default)]
pub struct Guards {
    /// Rules (positions in the bucket) with no guard, as a bitset.
    always: Vec<u64>,
    pub words: usize,
    pub guarded: usize,
    /// Positions of the rules without a guard.
    pub unguarded: Vec<u32>,
}

/// The guard candidates of a conjunct: a positive membership test of a whole field (the
/// tests field groups answer), with its pattern count.
fn guard_of(node: &Node) -> Option<(FieldLoad, usize)> {
    let (load, negate, members) = super::groups::membership(node)?;
    let patterns = match members {
        Members::Strs(v) => v.iter().filter(|m| !matches!(m, StrMatcher::Exact(_))).count(),
        Members::Ints(_) => 0,
    };
    (!negate).then_some((load, patterns))
}

/// A rule's guard: leaves (with their pattern counts), one of which holds whenever the
/// rule does. A conjunction takes the best guard of its parts; a disjunction needs one
/// for every part and takes them all.
fn guard(node: &Node) -> Option<Vec<(&Node, usize)>> {
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
            let (load, patterns) = guard_of(leaf)?;
            let usable = matches!(load.ty.element(), Ty::Str | Ty::Int) && patterns <= MAX_GUARD_PATTERNS;
            usable.then(|| vec![(leaf, patterns)])
        }
    }
}

/// Lower is better: fewer alternatives and fewer patterns to try per event.
fn score(g: &[(&Node, usize)]) -> usize {
    g.iter().map(|(_, patterns)| 1 + 4 * patterns).sum()
}

impl Guards {
    /// Chooses the guards of a bucket whose rules have these bodies (in bucket order).
    /// Returns them with, per predicate of `table`, the rules it guards.
    pub fn build<'a>(bodies: impl Iterator<Item = &'a Node>, table: &PredicateTable) -> (Guards, Vec<Vec<u32>>) {
        let mut by_pred: Vec<Vec<u32>> = vec![Vec::new(); table.preds.len()];
        let mut always = Vec::new();
        let mut count = 0u32;
        let mut guarded = 0;
        for (pos, body) in bodies.enumerate() {
            count = pos as u32 + 1;
            let ids: Option<Vec<u32>> = guard(body)
                .filter(|g| score(g) <= 4 * MAX_GUARD_PATTERNS)
                .and_then(|g| g.iter().map(|(leaf, _)| table.id_of(leaf)).collect());
            let Some(ids) = ids else {
                always.push(pos as u32);
                continue;
            };
            guarded += 1;
            for id in ids {
                let rules = &mut by_pred[id as usize];
                if rules.last() != Some(&(pos as u32)) {
                    rules.push(pos as u32);
                }
            }
        }
        let unguarded = always.clone();
        let words = (count as usize).div_ceil(64).max(1);
        let mut bits = vec![0u64; words];
        for p in always {
            bits[(p / 64) as usize] |= 1 << (p % 64);
        }
        (Guards { always: bits, words, guarded, unguarded }, by_pred)
    }

    /// Fills `bits` with the candidate rules of this event: the unguarded ones, and those
    /// a guard core of `groups` lets through.
    pub fn candidates<E: Event + ?Sized>(&self, groups: &FieldGroups, ev: &E, st: &mut GroupState, bits: &mut [u64]) {
        bits[..self.words].copy_from_slice(&self.always);
        groups.scan_guards(ev, st, &mut bits[..self.words]);
    }
}
