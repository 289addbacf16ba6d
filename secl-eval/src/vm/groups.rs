//! Field groups: the membership tests of one bucket on one field, answered together by
//! one scan of the field's value.
//!
//! Policies test the same field many times with different lists (`exec.file.name in
//! [...]` in most exec rules, five different lists of `exec.envs` names). Evaluated one
//! by one, each test reads the field again and hashes every element again. A group
//! merges the members of all those tests into one table from member to the tests it
//! belongs to (its *cores*), so the first test of the group an event needs scans the
//! value once and settles every test of the group. Guards are cores too: the rules a
//! guard core lets through become candidates during the same scan.
//!
//! A core is the positive test (`any element is a member`); a negated test (`not in`,
//! `!=`, `!~`) reads its core and flips it, which is the "no element matches" rule of
//! SPEC §4.3.

use crate::event::{Event, Value};
use crate::fxhash::FxHashMap;
use crate::ir::{Access, CmpOp, FieldLoad, Lit, Node, Ty};
use crate::matcher::{StrMatcher, fold};
use crate::model::FieldId;
use crate::pattern_index::{PatternIndex, Visitor};
use std::borrow::Cow;
use std::sync::Arc;

/// Where a grouped predicate finds its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grouped {
    pub group: u32,
    pub core: u32,
    pub negate: bool,
}

#[derive(Debug)]
struct Group {
    load: FieldLoad,
    /// First word of this group's core bits in [`GroupState::hits`].
    offset: usize,
    words: usize,
    strs: FxHashMap<Box<str>, Vec<u32>>,
    /// Bit `min(len, 63)` set for the byte length of every member of `strs`: most values
    /// are settled by their length, without hashing.
    str_lens: u64,
    /// Members of case-insensitive tests, folded.
    folded: FxHashMap<Box<str>, Vec<u32>>,
    ints: FxHashMap<i64, Vec<u32>>,
    others: PatternIndex<u32>,
    /// Per core: the rules (bucket positions) it makes candidates, when it is a guard.
    guards: Vec<Vec<u32>>,
    /// Cores of negated guards (`field != ""`), with the rules they make candidates when
    /// the core does not hold.
    negated_guards: Vec<(u32, Vec<u32>)>,
}

/// The field groups of one bucket.
#[derive(Debug, Default)]
pub struct FieldGroups {
    groups: Vec<Group>,
    /// Per predicate of the bucket.
    of_pred: Vec<Option<Grouped>>,
    hit_words: usize,
    /// Groups holding guard cores: scanned before any rule runs.
    pub eager: Vec<u32>,
}

/// Per-event scratch: which groups were scanned and the cores that hold.
#[derive(Debug, Default)]
pub struct GroupState {
    done: Vec<u64>,
    hits: Vec<u64>,
}

/// The members of a predicate that can join a group, with its negation.
pub(super) enum Members<'a> {
    Strs(Vec<&'a StrMatcher>),
    Ints(Vec<i64>),
}

fn whole_field(n: &Node) -> Option<FieldLoad> {
    match n {
        Node::Field(f) if f.access == Access::Whole => Some(*f),
        _ => None,
    }
}

/// `(field, negate, members)` of a membership test, if it is one.
pub(super) fn membership(node: &Node) -> Option<(FieldLoad, bool, Members<'_>)> {
    let (load, negate, members) = match node {
        Node::InStrSet { negate, operand, set } => {
            (whole_field(operand)?, *negate, Members::Strs(set.members().iter().collect()))
        }
        Node::MatchStr { negate, operand, matcher } => {
            (whole_field(operand)?, *negate, Members::Strs(vec![&**matcher]))
        }
        Node::InIntSet { negate, operand, set } => (whole_field(operand)?, *negate, Members::Ints(set.to_vec())),
        Node::CmpInt { op: op @ (CmpOp::Eq | CmpOp::Ne), lhs, rhs } => match (&**lhs, &**rhs) {
            (Node::Lit(Lit::Int(v)), f) | (f, Node::Lit(Lit::Int(v))) => {
                (whole_field(f)?, *op == CmpOp::Ne, Members::Ints(vec![*v]))
            }
            _ => return None,
        },
        _ => return None,
    };
    let fits = match &members {
        Members::Strs(_) => load.ty.element() == Ty::Str,
        Members::Ints(_) => load.ty.element() == Ty::Int,
    };
    fits.then_some((load, negate, members))
}

impl FieldGroups {
    /// Groups the membership tests among `preds` (a bucket's predicates): every field
    /// tested at least twice, or holding a guard (`guards`: per predicate, the rules it
    /// guards).
    pub fn build(preds: &[super::program::Predicate], guards: &[Vec<u32>]) -> FieldGroups {
        // A field with guards gets an eager group: its guard tests, and the tests whose
        // members are all exact (one hash lookup answers them along). Other fields get a
        // lazy group of their exact tests, scanned when a rule first needs one of them.
        // A test with patterns that guards nothing stays alone: evaluated on its own it
        // stops at its first match, where a group would try every pattern of every test
        // of the field on every event that needs any of them.
        let is_guard = |p: usize| guards.get(p).is_some_and(|g| !g.is_empty());
        let exact_only = |node: &Node| match membership(node) {
            Some((_, _, Members::Strs(v))) => {
                v.iter().all(|m| matches!(m, StrMatcher::Exact(_) | StrMatcher::ExactFolded(_)))
            }
            Some((_, _, Members::Ints(_))) => true,
            None => false,
        };
        let mut by_field: FxHashMap<FieldId, Vec<usize>> = FxHashMap::default();
        for (i, p) in preds.iter().enumerate() {
            if !p.volatile
                && let Some((load, ..)) = membership(&p.node)
            {
                by_field.entry(load.field).or_default().push(i);
            }
        }
        let mut fields: Vec<(FieldId, bool, Vec<usize>)> = Vec::new();
        for (f, ps) in by_field {
            let cheap: Vec<usize> = ps.iter().copied().filter(|p| exact_only(&preds[*p].node)).collect();
            if ps.iter().any(|p| is_guard(*p)) {
                let mut eager: Vec<usize> = ps.iter().copied().filter(|p| is_guard(*p)).collect();
                eager.extend(cheap.iter().filter(|p| !is_guard(**p)));
                fields.push((f, true, eager));
            } else if cheap.len() >= 2 {
                fields.push((f, false, cheap));
            }
        }
        fields.sort_by_key(|(f, eager, _)| (*f, !*eager));
        let fields: Vec<(FieldId, Vec<usize>)> = fields.into_iter().map(|(f, _, ps)| (f, ps)).collect();
        let mut out = FieldGroups { of_pred: vec![None; preds.len()], ..FieldGroups::default() };
        for (gi, (_, ps)) in fields.into_iter().enumerate() {
            let mut g = Group {
                load: membership(&preds[ps[0]].node).map(|m| m.0).expect("grouped predicate"),
                offset: out.hit_words,
                words: ps.len().div_ceil(64),
                strs: Default::default(),
                str_lens: 0,
                folded: Default::default(),
                ints: Default::default(),
                others: PatternIndex::default(),
                guards: Vec::with_capacity(ps.len()),
                negated_guards: Vec::new(),
            };
            for (core, &p) in ps.iter().enumerate() {
                let core = core as u32;
                let (_, negate, members) = membership(&preds[p].node).expect("grouped predicate");
                match members {
                    Members::Ints(v) => v.into_iter().for_each(|i| push(g.ints.entry(i).or_default(), core)),
                    Members::Strs(v) => {
                        for m in v {
                            match m {
                                StrMatcher::Exact(s) => push(g.strs.entry(Box::from(&**s)).or_default(), core),
                                StrMatcher::ExactFolded(s) => push(g.folded.entry(Box::from(&**s)).or_default(), core),
                                other => g.others.insert(Arc::new(other.clone()), core),
                            }
                        }
                    }
                }
                let rules = guards.get(p).cloned().unwrap_or_default();
                if negate && !rules.is_empty() {
                    g.negated_guards.push((core, rules));
                    g.guards.push(Vec::new());
                } else {
                    g.guards.push(rules);
                }
                out.of_pred[p] = Some(Grouped { group: gi as u32, core, negate });
            }
            g.others.prepare();
            g.str_lens = g.strs.keys().fold(0, |m, k| m | len_bit(k));
            if g.guards.iter().any(|r| !r.is_empty()) || !g.negated_guards.is_empty() {
                out.eager.push(gi as u32);
            }
            out.hit_words += g.words;
            out.groups.push(g);
        }
        out
    }

    pub fn of(&self, pred: usize) -> Option<Grouped> {
        self.of_pred.get(pred).copied().flatten()
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The field a group tests.
    pub fn field(&self, group: u32) -> FieldId {
        self.groups[group as usize].load.field
    }

    /// Members in a group's tables (for profiles).
    pub fn entries(&self, group: u32) -> usize {
        let g = &self.groups[group as usize];
        g.strs.len() + g.folded.len() + g.ints.len() + g.others.len()
    }

    /// Forgets the previous event.
    pub fn reset(&self, st: &mut GroupState) {
        let words = self.groups.len().div_ceil(64);
        if st.done.len() < words {
            st.done.resize(words, 0);
        }
        if st.hits.len() < self.hit_words {
            st.hits.resize(self.hit_words, 0);
        }
        st.done[..words].fill(0);
    }

    /// The answer of a grouped predicate, scanning its group first if needed.
    #[inline]
    pub fn test<E: Event + ?Sized>(&self, at: Grouped, ev: &E, st: &mut GroupState) -> bool {
        let gi = at.group as usize;
        if st.done[gi / 64] & (1 << (gi % 64)) == 0 {
            self.scan(gi, ev, st, None);
        }
        self.holds(at, st)
    }

    /// A grouped predicate's answer from its group's last scan.
    #[inline]
    fn holds(&self, at: Grouped, st: &GroupState) -> bool {
        let g = &self.groups[at.group as usize];
        let hit = st.hits[g.offset + at.core as usize / 64] & (1 << (at.core % 64)) != 0;
        hit != at.negate
    }

    /// A grouped predicate's answer if its group was scanned for the last event.
    pub fn answer(&self, at: Grouped, st: &GroupState) -> Option<bool> {
        let gi = at.group as usize;
        let scanned = st.done.get(gi / 64)? & (1 << (gi % 64)) != 0;
        scanned.then(|| self.holds(at, st))
    }

    /// Scans the groups that hold guards, adding the rules their holding cores guard to
    /// `candidates`.
    pub fn scan_guards<E: Event + ?Sized>(&self, ev: &E, st: &mut GroupState, candidates: &mut [u64]) {
        for &gi in &self.eager {
            self.scan(gi as usize, ev, st, Some(candidates));
        }
    }

    fn scan<E: Event + ?Sized>(&self, gi: usize, ev: &E, st: &mut GroupState, candidates: Option<&mut [u64]>) {
        let g = &self.groups[gi];
        st.done[gi / 64] |= 1 << (gi % 64);
        let hits = &mut st.hits[g.offset..g.offset + g.words];
        match &mut *hits {
            [w] => *w = 0,
            more => more.fill(0),
        }
        let mut mark = Marks(hits);
        // The value as `load` and `Val` give it to the general evaluator: a missing
        // scalar is its zero value, a missing array is empty; an integer group tests only
        // integers, a string group only strings.
        let scalar = !g.load.ty.is_array();
        if !g.ints.is_empty() {
            let mut check = |i: i64| {
                if let Some(cores) = g.ints.get(&i) {
                    mark.all(cores);
                }
            };
            match ev.field(g.load.field) {
                Value::Int(i) => check(i),
                Value::Ints(a) => a.iter().for_each(|i| check(*i)),
                Value::Missing if scalar => check(0),
                _ => {}
            }
        } else {
            match ev.field(g.load.field) {
                Value::Str(s) => g.check_str(s, &mut mark),
                Value::Strs(l) => l.iter().for_each(|s| g.check_str(s, &mut mark)),
                Value::Missing if scalar => g.check_str("", &mut mark),
                _ => {}
            }
        }
        if let Some(bits) = candidates {
            for (w, &word) in mark.0.iter().enumerate() {
                let mut word = word;
                while word != 0 {
                    let core = w * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    for &r in &g.guards[core] {
                        bits[(r / 64) as usize] |= 1 << (r % 64);
                    }
                }
            }
            for (core, rules) in &g.negated_guards {
                if mark.0[*core as usize / 64] & (1 << (core % 64)) == 0 {
                    for &r in rules {
                        bits[(r / 64) as usize] |= 1 << (r % 64);
                    }
                }
            }
        }
    }
}

impl Group {
    /// Marks the cores one string of the value is a member of.
    #[inline]
    fn check_str(&self, s: &str, mark: &mut Marks<'_>) {
        if self.str_lens & len_bit(s) != 0
            && let Some(cores) = self.strs.get(s)
        {
            mark.all(cores);
        }
        if !self.folded.is_empty() {
            // Folding allocates only for values with upper-case or non-ASCII text.
            let key: Cow<'_, str> = if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                Cow::Borrowed(s)
            } else {
                Cow::Owned(fold(s))
            };
            if let Some(cores) = self.folded.get(&*key) {
                mark.all(cores);
            }
        }
        if !self.others.is_empty() {
            self.others.visit(s, mark);
        }
    }
}

#[inline]
fn len_bit(s: &str) -> u64 {
    1 << s.len().min(63)
}

fn push(cores: &mut Vec<u32>, core: u32) {
    if cores.last() != Some(&core) {
        cores.push(core);
    }
}

/// Core bits of one group being scanned; a pattern of a core already holding is skipped.
struct Marks<'a>(&'a mut [u64]);

impl Marks<'_> {
    fn all(&mut self, cores: &[u32]) {
        for &c in cores {
            self.0[c as usize / 64] |= 1 << (c % 64);
        }
    }
}

impl Visitor<u32> for Marks<'_> {
    fn wants(&mut self, c: &u32) -> bool {
        self.0[*c as usize / 64] & (1 << (c % 64)) == 0
    }

    fn hit(&mut self, c: &u32) -> bool {
        self.0[*c as usize / 64] |= 1 << (c % 64);
        false
    }
}

impl FieldGroups {
    /// Times each group's scan on `events`, each repeated `reps` times while the event is
    /// in cache: (field, entries, rules it guards, tests it answers, ns per event). For
    /// profiling.
    pub fn scan_costs<E: Event>(&self, events: &[&E], reps: u32) -> Vec<(FieldId, usize, usize, usize, f64)> {
        let mut st = GroupState::default();
        let mut out = Vec::new();
        for (gi, g) in self.groups.iter().enumerate() {
            let start = std::time::Instant::now();
            for ev in events {
                for _ in 0..reps {
                    self.reset(&mut st);
                    self.scan(gi, *ev, &mut st, None);
                }
            }
            let mut rules: Vec<u32> =
                g.guards.iter().flatten().chain(g.negated_guards.iter().flat_map(|(_, r)| r)).copied().collect();
            rules.sort_unstable();
            rules.dedup();
            let per = start.elapsed().as_nanos() as f64 / (events.len().max(1) as f64 * reps as f64);
            out.push((g.load.field, self.entries(gi as u32), rules.len(), g.guards.len(), per));
        }
        out
    }
}
