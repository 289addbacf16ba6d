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
use crate::fxhash::FxHashMap;
use crate::ir::{Node, Ty};
use crate::matcher::StrMatcher;
use crate::model::FieldId;

/// Pattern members are pre-filtered (prefix trie, literal scan), so a guard may hold many;
/// past this many a rule is cheaper to evaluate than to index.
const MAX_GUARD_PATTERNS: usize = 256;

/// Guard options kept per node while combining them (the cheapest by themselves).
const MAX_OPTIONS: usize = 8;

/// Rounds of re-choosing guards once the fields other rules scan are known.
const ROUNDS: usize = 4;

// The cost model of guard choice, in rough units of ten instructions per event.
//
// A guard costs the scan of its field (nothing more when the bucket scans that field
// anyway for another guard), what its members add to the scan (a member with a literal
// prefix is found by a trie walk, others are tried on every value), and the evaluation
// of the rule on the events it lets through. How many it lets through is a guess by the
// kind of test: exact names and paths are selective, small integers (ports, families,
// ids) much less, and a string test that holds on the empty string (`process.container.id
// == ""`) holds on most events.
const SCALAR_SCAN: u32 = 10;
const ARRAY_SCAN: u32 = 20;
const PREFIXED_MEMBER: u32 = 1;
const SCANNED_MEMBER: u32 = 8;
/// Evaluating a rule, as a candidate or unguarded.
const RULE_EVAL: u32 = 40;
/// Guessed share of events a leaf lets through, per mille.
const PASS_EXACT_STR: u32 = 50;
const PASS_PATTERN: u32 = 100;
const PASS_INT: u32 = 500;
/// `field != ""` on a field that is often unset.
const PASS_SET: u32 = 300;
const PASS_ALL: u32 = 1000;

#[derive(Debug, Default)]
pub struct Guards {
    /// Rules (positions in the bucket) with no guard, as a bitset.
    always: Vec<u64>,
    pub words: usize,
    pub guarded: usize,
    /// Positions of the rules without a guard.
    pub unguarded: Vec<u32>,
    /// Per rule (bucket position): the fields its guard scans, `None` when unguarded.
    pub fields: Vec<Option<Vec<FieldId>>>,
}

/// A conjunct that can guard: a positive membership test of a whole field (the tests
/// field groups answer).
#[derive(Clone, Copy, Debug)]
struct Leaf<'a> {
    node: &'a Node,
    field: FieldId,
    array: bool,
    /// What its non-exact members add to a scan of the field.
    members_cost: u32,
    patterns: usize,
    /// Guessed share of events it lets through, per mille.
    pass: u32,
}

fn leaf(node: &Node) -> Option<Leaf<'_>> {
    let (load, negate, members) = super::groups::membership(node)?;
    if !matches!(load.ty.element(), Ty::Str | Ty::Int) {
        return None;
    }
    if negate {
        // Of negated tests only `field != ""` guards: it holds on the events where the
        // field is set (a container id, a Kubernetes user), which are few, except for
        // the names and paths every process has.
        let Members::Strs(v) = &members else { return None };
        if !matches!(&v[..], [StrMatcher::Exact(e) | StrMatcher::ExactFolded(e)] if e.is_empty()) {
            return None;
        }
        let name = &crate::model::Schema::linux().field_by_id(load.field).name;
        let always_set = [".file.name", ".file.path", ".comm", ".argv0"].iter().any(|s| name.ends_with(s));
        let pass = if always_set { PASS_ALL } else { PASS_SET };
        return Some(Leaf { node, field: load.field, array: load.ty.is_array(), members_cost: 0, patterns: 0, pass });
    }
    let (patterns, members_cost, pass) = match members {
        Members::Strs(v) => {
            let cost = v.iter().map(|m| matcher_cost(m)).sum::<u32>();
            let patterns = v.iter().filter(|m| !matches!(m, StrMatcher::Exact(_))).count();
            let pass = if v.iter().any(|m| m.matches("")) {
                PASS_ALL
            } else if patterns > 0 {
                PASS_PATTERN
            } else {
                PASS_EXACT_STR
            };
            (patterns, cost, pass)
        }
        // Zero is a real value of most integer fields (uid 0, PTRACE_TRACEME), not
        // a missing one: no worse than other integers.
        Members::Ints(_) => (0, 0, PASS_INT),
    };
    // Arrays (environment variables, ancestors) hold several values, often dozens.
    let array = load.ty.is_array();
    let members_cost = if array { 4 * members_cost } else { members_cost };
    (patterns <= MAX_GUARD_PATTERNS).then_some(Leaf { node, field: load.field, array, members_cost, patterns, pass })
}

/// What a member adds to a scan: exact ones share the scan's one hash lookup.
fn matcher_cost(m: &StrMatcher) -> u32 {
    match m {
        StrMatcher::Exact(_) => 0,
        StrMatcher::ExactFolded(_) => PREFIXED_MEMBER,
        m if crate::pattern_index::is_indexed(m) => PREFIXED_MEMBER,
        _ => SCANNED_MEMBER,
    }
}

/// One way to guard a rule: leaves one of which holds whenever the rule does.
type Option_<'a> = Vec<Leaf<'a>>;

/// The ways to guard `node`, in source order: a conjunction can be guarded
/// by any of its parts, a disjunction needs a guard for every part and takes them all.
fn options(node: &Node) -> Vec<Option_<'_>> {
    let mut out: Vec<Option_<'_>> = match node {
        Node::And(a, b) => {
            let mut v = options(a);
            v.extend(options(b));
            v
        }
        Node::Or(a, b) => {
            let (x, y) = (options(a), options(b));
            let mut v = Vec::with_capacity(x.len() * y.len());
            for l in &x {
                for r in &y {
                    v.push(l.iter().chain(r).copied().collect());
                }
            }
            v
        }
        other => leaf(other).map(|l| vec![vec![l]]).unwrap_or_default(),
    };
    if out.len() > MAX_OPTIONS {
        // Keep the cheapest by themselves, in source order: on equal costs the first
        // written wins (authors tend to lead with the selective test).
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_by_key(|i| cost(&out[*i], &Default::default()));
        order.truncate(MAX_OPTIONS);
        order.sort_unstable();
        out = order.into_iter().map(|i| std::mem::take(&mut out[i])).collect();
    }
    out
}

/// The cost of guarding with `option` when `scanned` fields are scanned anyway.
fn cost(option: &[Leaf<'_>], scanned: &FxHashMap<FieldId, u32>) -> u32 {
    let mut fields: Vec<FieldId> = Vec::with_capacity(option.len());
    let mut total = 0u32;
    for l in option {
        if !fields.contains(&l.field) {
            fields.push(l.field);
            if scanned.get(&l.field).is_none_or(|n| *n == 0) {
                total += if l.array { ARRAY_SCAN } else { SCALAR_SCAN };
            }
        }
        total += l.members_cost;
    }
    total + RULE_EVAL * passes(option) / PASS_ALL
}

/// Guessed share of events an option lets through, per mille: tests of one field are
/// counted as their least selective one (a value rarely matches two lists of names).
fn passes(option: &[Leaf<'_>]) -> u32 {
    let mut per_field: Vec<(FieldId, u32)> = Vec::with_capacity(option.len());
    for l in option {
        match per_field.iter_mut().find(|(f, _)| *f == l.field) {
            Some((_, p)) => *p = (*p).max(l.pass),
            None => per_field.push((l.field, l.pass)),
        }
    }
    per_field.iter().map(|(_, p)| p).sum::<u32>().min(PASS_ALL)
}

impl Guards {
    /// Chooses the guards of a bucket whose rules have these bodies (in bucket order).
    /// Returns them with, per predicate of `table`, the rules it guards.
    ///
    /// Each rule first takes its cheapest guard on its own; then, in a few rounds, each
    /// rule re-chooses knowing which fields the other rules' guards scan anyway, so rules
    /// gather on shared fields and a field scanned for one rule alone is dropped when
    /// that rule has a guard elsewhere. A rule whose every guard costs more than
    /// evaluating it (a guard that holds on the zero value of a field scanned for it
    /// alone) stays unguarded.
    pub fn build<'a>(bodies: impl Iterator<Item = &'a Node>, table: &PredicateTable) -> (Guards, Vec<Vec<u32>>) {
        let rules: Vec<Vec<Option_<'a>>> = bodies
            .map(|b| {
                let opts: Vec<Option_<'a>> = options(b)
                    .into_iter()
                    .filter(|o| o.iter().map(|l| 1 + 4 * l.patterns).sum::<usize>() <= 4 * MAX_GUARD_PATTERNS)
                    .filter(|o| o.iter().all(|l| table.id_of(l.node).is_some()))
                    .collect();
                opts
            })
            .collect();
        let none = FxHashMap::default();
        let mut chosen: Vec<Option<usize>> = rules.iter().map(|opts| best(opts, &none)).collect();
        // How many chosen guards scan each field; a rule re-choosing takes its own out.
        let mut scanned: FxHashMap<FieldId, u32> = FxHashMap::default();
        let count = |scanned: &mut FxHashMap<FieldId, u32>, option: &[Leaf<'_>], add: bool| {
            for l in option {
                let n = scanned.entry(l.field).or_default();
                *n = if add { *n + 1 } else { n.saturating_sub(1) };
            }
        };
        for (opts, c) in rules.iter().zip(&chosen) {
            if let Some(i) = c {
                count(&mut scanned, &opts[*i], true);
            }
        }
        for _ in 0..ROUNDS {
            let mut changed = false;
            for (opts, c) in rules.iter().zip(chosen.iter_mut()) {
                if let Some(i) = *c {
                    count(&mut scanned, &opts[i], false);
                }
                let pick = best(opts, &scanned);
                if let Some(i) = pick {
                    count(&mut scanned, &opts[i], true);
                }
                changed |= pick != *c;
                *c = pick;
            }
            if !changed {
                break;
            }
        }
        let mut by_pred: Vec<Vec<u32>> = vec![Vec::new(); table.preds.len()];
        let mut always = Vec::new();
        let mut guarded = 0;
        for (pos, c) in chosen.iter().enumerate() {
            let Some(i) = c else {
                always.push(pos as u32);
                continue;
            };
            guarded += 1;
            for l in &rules[pos][*i] {
                let Some(id) = table.id_of(l.node) else { continue };
                let guarded_rules = &mut by_pred[id as usize];
                if guarded_rules.last() != Some(&(pos as u32)) {
                    guarded_rules.push(pos as u32);
                }
            }
        }
        let fields = chosen
            .iter()
            .zip(&rules)
            .map(|(c, opts)| {
                c.map(|i| {
                    let mut f: Vec<FieldId> = Vec::new();
                    for l in &opts[i] {
                        if !f.contains(&l.field) {
                            f.push(l.field);
                        }
                    }
                    f
                })
            })
            .collect();
        let unguarded = always.clone();
        let words = rules.len().div_ceil(64).max(1);
        let mut bits = vec![0u64; words];
        for p in always {
            bits[(p / 64) as usize] |= 1 << (p % 64);
        }
        (Guards { always: bits, words, guarded, unguarded, fields }, by_pred)
    }

    /// Fills `bits` with the candidate rules of this event: the unguarded ones, and those
    /// a guard core of `groups` lets through.
    pub fn candidates<E: Event + ?Sized>(&self, groups: &FieldGroups, ev: &E, st: &mut GroupState, bits: &mut [u64]) {
        bits[..self.words].copy_from_slice(&self.always);
        groups.scan_guards(ev, st, &mut bits[..self.words]);
    }
}

/// The cheapest option worth having (index), or `None` when evaluating the rule
/// unguarded is cheaper.
fn best(opts: &[Option_<'_>], scanned: &FxHashMap<FieldId, u32>) -> Option<usize> {
    let mut best: Option<(u32, usize)> = None;
    for (i, o) in opts.iter().enumerate() {
        let c = cost(o, scanned);
        // A guard that lets most events through is worth less than none once it costs
        // more than the rule's evaluation; a costly but selective one still spares the
        // evaluation on most events.
        let worth_it = c < RULE_EVAL || passes(o) < PASS_ALL / 2;
        if worth_it && best.is_none_or(|(bc, _)| c < bc) {
            best = Some((c, i));
        }
    }
    best.map(|(_, i)| i)
}
