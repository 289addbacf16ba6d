//! [`RuleSet`]: compiled rules bucketed by event type, evaluated by the VM.
//!
//! A rule set is immutable and `Send + Sync`: share it in an `Arc` and swap it for hot
//! reload (see [`SharedRuleSet`]). All per-event scratch space and the variable store
//! live in an [`EvalState`] owned by the caller, so evaluation allocates nothing once the
//! state is warm (for rules without `set` actions).

use crate::event::{Event, Value};
use crate::ir::{Node, VarScope};
use crate::load::Loaded;
use crate::model::{FieldId, Schema};
use crate::rule::{ActionKind, Rule, SetSource};
use crate::vars::{EventScopes, Scalar, ScopeKey, ScopedVars, VarStore};
use crate::vm::eval::{Cx, VarView, eval, test};
use crate::vm::program::{PredicateTable, Program, compile};
use crate::vm::val::Val;
use std::cell::Cell;
use std::sync::{Arc, RwLock};

struct Bucket {
    /// Indices into `RuleSet::rules`, in load order.
    rules: Vec<u32>,
    programs: Vec<Program>,
    preds: PredicateTable,
    /// Whether any rule reads or writes variables (scope keys are then resolved).
    uses_vars: bool,
    guards: crate::vm::guard::Guards,
    groups: crate::vm::groups::FieldGroups,
    slots: crate::vm::cache::SlotMap,
    /// Rules (positions) that read variables or have actions (need scope keys), as a
    /// bitset.
    needs_scopes: Vec<u64>,
}

/// Fields the engine itself reads to key scoped variables.
#[derive(Clone, Copy)]
struct ScopeFields {
    pid: Option<FieldId>,
    ancestors_pid: Option<FieldId>,
    container: Option<FieldId>,
    cgroup: Option<FieldId>,
}

pub struct RuleSet {
    rules: Vec<Rule>,
    buckets: crate::fxhash::FxHashMap<Box<str>, Bucket>,
    loaded: Arc<LoadedParts>,
    inherited: Vec<bool>,
    scope_fields: ScopeFields,
    cache_fields: bool,
}

/// What a rule set keeps of its load for variables.
struct LoadedParts {
    vars: crate::check::VarTable,
    var_inits: Vec<crate::rule::VarInit>,
}

/// An action a matched rule hands to the embedder (or that the engine ran, for `set`
/// and `log`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fired {
    /// Index into [`RuleSet::rules`].
    pub rule: u32,
    /// Index into that rule's actions.
    pub action: u32,
}

/// Mutable state of evaluation: scratch buffers and variables.
pub struct EvalState {
    memo: Vec<u8>,
    candidates: Vec<u64>,
    groups: crate::vm::groups::GroupState,
    matched: Vec<u32>,
    fired: Vec<Fired>,
    scopes: EventScopes,
    pub vars: VarStore,
}

impl RuleSet {
    pub fn new(loaded: Loaded) -> RuleSet {
        let schema = Schema::linux();
        let mut buckets: crate::fxhash::FxHashMap<Box<str>, Bucket> = Default::default();
        for (i, rule) in loaded.rules.iter().enumerate() {
            let b = buckets.entry(Box::from(&*rule.event_type)).or_insert_with(|| Bucket {
                rules: Vec::new(),
                programs: Vec::new(),
                preds: PredicateTable::default(),
                uses_vars: false,
                guards: Default::default(),
                groups: Default::default(),
                slots: Default::default(),
                needs_scopes: Vec::new(),
            });
            b.rules.push(i as u32);
            b.programs.push(compile(&rule.node, &mut b.preds));
            let needs = reads_vars(&rule.node) || !rule.actions.is_empty();
            let pos = b.rules.len() - 1;
            if b.needs_scopes.len() <= pos / 64 {
                b.needs_scopes.push(0);
            }
            b.needs_scopes[pos / 64] |= u64::from(needs) << (pos % 64);
            b.uses_vars |= needs;
        }
        for b in buckets.values_mut() {
            let (guards, by_pred) =
                crate::vm::guard::Guards::build(b.rules.iter().map(|&i| &loaded.rules[i as usize].node), &b.preds);
            b.guards = guards;
            b.groups = crate::vm::groups::FieldGroups::build(&b.preds.preds, &by_pred);
            for prog in &mut b.programs {
                prog.bind_groups(&b.groups);
            }
            let mut uses: crate::fxhash::FxHashMap<FieldId, usize> = Default::default();
            for &i in &b.rules {
                for f in &loaded.rules[i as usize].fields {
                    *uses.entry(*f).or_default() += 1;
                }
            }
            b.slots = crate::vm::cache::SlotMap::new(uses.into_iter().collect());
        }
        let mut inherited = vec![false; loaded.vars.decls().len()];
        for rule in &loaded.rules {
            for a in &rule.actions {
                if let ActionKind::Set(s) = &a.kind
                    && s.inherited
                {
                    inherited[s.var.0 as usize] = true;
                }
            }
        }
        let id = |n: &str| schema.field(n).map(|f| f.id);
        let scope_fields = ScopeFields {
            pid: id("process.pid"),
            ancestors_pid: id("process.ancestors.pid"),
            container: id("process.container.id"),
            cgroup: id("process.cgroup.id"),
        };
        RuleSet {
            rules: loaded.rules,
            buckets,
            loaded: Arc::new(LoadedParts { vars: loaded.vars, var_inits: loaded.var_inits }),
            inherited,
            scope_fields,
            cache_fields: false,
        }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, index: u32) -> &Rule {
        &self.rules[index as usize]
    }

    /// The declared variables (names as `${…}` reads them, scopes, types).
    pub fn variables(&self) -> &crate::check::VarTable {
        &self.loaded.vars
    }

    /// Event types with at least one rule.
    pub fn event_types(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.buckets.keys().map(|k| &**k).collect();
        v.sort_unstable();
        v
    }

    /// Per event type: (rules, rules with a guard, distinct predicates, unguarded rule ids).
    pub fn bucket_stats(&self) -> Vec<(&str, usize, usize, usize, Vec<&str>)> {
        let mut v: Vec<_> = self
            .buckets
            .iter()
            .map(|(t, b)| {
                let unguarded =
                    b.guards.unguarded.iter().map(|p| &*self.rules[b.rules[*p as usize] as usize].id).collect();
                (&**t, b.rules.len(), b.guards.guarded, b.preds.preds.len(), unguarded)
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// The guard of each rule of `event_type` (in load order): the fields whose scan
    /// makes it a candidate, or `None` for a rule evaluated on every event.
    pub fn guard_fields(&self, event_type: &str) -> Vec<(&str, Option<Vec<&str>>)> {
        let schema = Schema::linux();
        let Some(b) = self.buckets.get(event_type) else { return Vec::new() };
        b.rules
            .iter()
            .zip(&b.guards.fields)
            .map(|(&r, f)| {
                let names = f.as_ref().map(|f| f.iter().map(|id| schema.field_by_id(*id).name.as_str()).collect());
                (&*self.rules[r as usize].id, names)
            })
            .collect()
    }

    /// Partial evaluation over a bucket (SPEC §12): can any rule of `event_type` match an
    /// event whose `field` is `value`, whatever its other fields? `false` means certainly
    /// not: the ground for discarders.
    pub fn could_match(&self, event_type: &str, field: FieldId, value: &crate::partial::PValue) -> bool {
        self.bucket(event_type).iter().any(|&i| crate::partial::could_match(&self.rules[i as usize].node, field, value))
    }

    /// Rule indices of one event type's bucket.
    pub fn bucket(&self, event_type: &str) -> &[u32] {
        self.buckets.get(event_type).map_or(&[], |b| &b.rules)
    }

    /// A fresh state for this rule set (variables at their initial values).
    pub fn new_state(&self) -> EvalState {
        let max_preds = self.buckets.values().map(|b| b.preds.preds.len()).max().unwrap_or(0);
        EvalState {
            memo: vec![0; max_preds],
            candidates: vec![0; self.buckets.values().map(|b| b.guards.words).max().unwrap_or(1)],
            groups: Default::default(),
            matched: Vec::with_capacity(16),
            fired: Vec::with_capacity(16),
            scopes: EventScopes::default(),
            vars: VarStore::new(&self.loaded.vars, &self.loaded.var_inits),
        }
    }

    /// Evaluates every rule of the event's bucket, runs `set` actions of matching rules,
    /// and returns the matches (rule indices in load order) and fired actions.
    pub fn evaluate<'s, E: Event + ?Sized>(&self, ev: &E, st: &'s mut EvalState) -> Verdict<'s> {
        st.matched.clear();
        st.fired.clear();
        let Some(bucket) = self.buckets.get(ev.event_type()) else {
            // A process that exits takes its variables with it, rules for `exit` or not.
            if ev.event_type() == "exit" && !st.vars.is_empty() {
                self.resolve_scopes(ev, &mut st.scopes);
                if let Some(pid) = st.scopes.pid {
                    st.vars.release(ScopeKey::Process(pid));
                }
            }
            return Verdict { matched: &st.matched, fired: &st.fired };
        };
        if self.cache_fields {
            let cached = crate::vm::cache::Cached::new(ev, &bucket.slots);
            self.evaluate_bucket(bucket, &cached, st);
        } else {
            self.evaluate_bucket(bucket, ev, st);
        }
        Verdict { matched: &st.matched, fired: &st.fired }
    }

    /// Reads each field at most once per evaluation (off by default). Worth it when the
    /// embedder's `Event::field` is expensive (resolving ancestors from a process cache,
    /// say); for events that hold their values, as `JsonEvent` does, a direct read is
    /// cheaper than the cache (measured: +40% instructions per event on the benchmark mix).
    pub fn set_field_cache(&mut self, on: bool) {
        self.cache_fields = on;
    }

    fn evaluate_bucket<E: Event + ?Sized>(&self, bucket: &Bucket, ev: &E, st: &mut EvalState) {
        let n = bucket.preds.preds.len();
        if st.memo.len() < n {
            st.memo.resize(n, 0);
        }
        st.memo[..n].fill(0);
        let now = Cell::new(None);
        let words = bucket.guards.words;
        if st.candidates.len() < words {
            st.candidates.resize(words, 0);
        }
        bucket.groups.reset(&mut st.groups);
        bucket.guards.candidates(&bucket.groups, ev, &mut st.groups, &mut st.candidates);
        // Scope keys are read only when a candidate reads variables or has actions.
        let scopes_ready = st.candidates[..words].iter().zip(&bucket.needs_scopes).any(|(c, n)| c & n != 0);
        if scopes_ready {
            self.resolve_scopes(ev, &mut st.scopes);
        }
        let event_time = ev.timestamp_ns();
        let mut w = 0;
        while w < words {
            // One evaluation context serves the candidates up to the next match with
            // actions, which change variables the context reads.
            let fired = {
                let view = ScopedVars { store: &st.vars, scopes: &st.scopes, inherited: &self.inherited };
                let cx = Cx { now: now.clone(), event_time, register: None, vars: &view };
                let mut fired = None;
                'rules: while w < words {
                    while st.candidates[w] != 0 {
                        let bit = st.candidates[w].trailing_zeros() as usize;
                        st.candidates[w] &= st.candidates[w] - 1;
                        let k = w * 64 + bit;
                        let rule_index = bucket.rules[k];
                        let rule = &self.rules[rule_index as usize];
                        let matched = match &rule.register {
                            None => crate::vm::run_grouped(
                                &bucket.programs[k],
                                &bucket.preds.preds,
                                &mut st.memo,
                                Some((&bucket.groups, &mut st.groups)),
                                ev,
                                &cx,
                            ),
                            Some(reg) => self.run_register(
                                rule,
                                reg,
                                &bucket.programs[k],
                                (&bucket.preds.preds, &bucket.groups),
                                (&mut st.memo, &mut st.groups),
                                ev,
                                &cx,
                            ),
                        };
                        if matched {
                            st.matched.push(rule_index);
                            if !rule.actions.is_empty() {
                                fired = Some(rule_index);
                                break 'rules;
                            }
                        }
                    }
                    w += 1;
                }
                now.set(cx.now.get());
                fired
            };
            if let Some(rule_index) = fired {
                self.run_actions(rule_index, ev, st, &now);
            }
        }
        if ev.event_type() == "exit" {
            if !scopes_ready {
                self.resolve_scopes(ev, &mut st.scopes);
            }
            if let Some(pid) = st.scopes.pid {
                st.vars.release(ScopeKey::Process(pid));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn run_register<E: Event + ?Sized>(
        &self,
        rule: &Rule,
        reg: &crate::ir::Register,
        prog: &Program,
        (preds, groups): (&[crate::vm::program::Predicate], &crate::vm::groups::FieldGroups),
        (memo, group_state): (&mut [u8], &mut crate::vm::groups::GroupState),
        ev: &E,
        cx: &Cx<'_>,
    ) -> bool {
        let len = match ev.field(reg.length_field) {
            Value::Int(n) => n.max(0) as usize,
            _ => rule
                .fields
                .iter()
                .filter_map(|f| match ev.field(*f) {
                    Value::Strs(l) => Some(l.len()),
                    Value::Ints(l) => Some(l.len()),
                    Value::Bools(l) => Some(l.len()),
                    Value::Ips(l) => Some(l.len()),
                    _ => None,
                })
                .max()
                .unwrap_or(0),
        };
        // The reference caps iteration at 100 elements (SPEC §9).
        (0..len.min(100)).any(|i| {
            let inner = Cx { now: cx.now.clone(), event_time: cx.event_time, register: Some(i), vars: cx.vars };
            crate::vm::run_grouped(prog, preds, memo, Some((groups, &mut *group_state)), ev, &inner)
        })
    }

    fn resolve_scopes<E: Event + ?Sized>(&self, ev: &E, s: &mut EventScopes) {
        let f = self.scope_fields;
        s.pid = f.pid.and_then(|id| match ev.field(id) {
            Value::Int(p) => Some(p),
            _ => None,
        });
        s.ancestors.clear();
        if let Some(id) = f.ancestors_pid
            && let Value::Ints(a) = ev.field(id)
        {
            s.ancestors.extend_from_slice(a);
        }
        let text = |id: Option<FieldId>, out: &mut String| {
            out.clear();
            if let Some(Value::Str(t)) = id.map(|id| ev.field(id)) {
                out.push_str(t);
            }
        };
        text(f.container, &mut s.container);
        text(f.cgroup, &mut s.cgroup);
    }

    fn run_actions<E: Event + ?Sized>(&self, rule_index: u32, ev: &E, st: &mut EvalState, now: &Cell<Option<i64>>) {
        let rule = &self.rules[rule_index as usize];
        for (ai, action) in rule.actions.iter().enumerate() {
            let (pass, write) = {
                let view = ScopedVars { store: &st.vars, scopes: &st.scopes, inherited: &self.inherited };
                let cx = Cx { now: now.clone(), event_time: ev.timestamp_ns(), register: None, vars: &view };
                let pass = action.filter.as_ref().is_none_or(|f| test(f, ev, &cx));
                let write = match (&action.kind, pass) {
                    (ActionKind::Set(set), true) => {
                        let values = match &set.source {
                            SetSource::Value(l) => scalars(&crate::vm::eval::lit_val(l)),
                            SetSource::Field(load) => scalars(&crate::vm::eval::load(ev, load, None)),
                            SetSource::Expression(node) => scalars(&eval(node, ev, &cx)),
                        };
                        let scope = st.vars.scope_of(set.var);
                        let key = match (scope, set.scope_field) {
                            (VarScope::Process, Some(field)) => match ev.field(field) {
                                Value::Int(pid) => Some(OwnedKey::Process(pid)),
                                _ => None,
                            },
                            _ => view.key(scope).map(OwnedKey::from),
                        };
                        key.map(|k| (set.var, k, values, set.append, set.ttl_ns, set.size, cx.now()))
                    }
                    _ => None,
                };
                now.set(cx.now.get());
                (pass, write)
            };
            if !pass {
                continue;
            }
            if let Some((var, key, values, append, ttl, size, t)) = write {
                st.vars.set(var, key.as_key(), values, append, ttl, size, t);
            }
            st.fired.push(Fired { rule: rule_index, action: ai as u32 });
        }
    }
}

/// A scope key that outlives the borrow of the event's scopes (only built when a `set`
/// action runs).
enum OwnedKey {
    Global,
    Process(i64),
    Container(String),
    Cgroup(String),
}

impl From<ScopeKey<'_>> for OwnedKey {
    fn from(k: ScopeKey<'_>) -> OwnedKey {
        match k {
            ScopeKey::Global => OwnedKey::Global,
            ScopeKey::Process(p) => OwnedKey::Process(p),
            ScopeKey::Container(c) => OwnedKey::Container(c.to_owned()),
            ScopeKey::Cgroup(c) => OwnedKey::Cgroup(c.to_owned()),
        }
    }
}

impl OwnedKey {
    fn as_key(&self) -> ScopeKey<'_> {
        match self {
            OwnedKey::Global => ScopeKey::Global,
            OwnedKey::Process(p) => ScopeKey::Process(*p),
            OwnedKey::Container(c) => ScopeKey::Container(c),
            OwnedKey::Cgroup(c) => ScopeKey::Cgroup(c),
        }
    }
}

/// The scalars of a value: itself, or the elements of an array.
fn scalars(v: &Val<'_>) -> Vec<Scalar> {
    let mut out = Vec::new();
    match v {
        Val::Bool(b) => out.push(Scalar::Bool(*b)),
        Val::Int(i) => out.push(Scalar::Int(*i)),
        Val::Str(s) => out.push(Scalar::Str(Box::from(&**s))),
        Val::Ip(ip) => out.push(Scalar::Ip(*ip)),
        Val::Items(items, now) => {
            out.extend(items.iter().filter(|i| i.expires_at.is_none_or(|e| e > *now)).map(|i| i.value.clone()))
        }
        arr => {
            arr.any_str(|s| {
                out.push(Scalar::Str(Box::from(s)));
                false
            });
            arr.any_int(|i| {
                out.push(Scalar::Int(i));
                false
            });
            arr.any_bool(|b| {
                out.push(Scalar::Bool(b));
                false
            });
            arr.any_ip(|ip| {
                out.push(Scalar::Ip(*ip));
                false
            });
        }
    }
    out
}

fn reads_vars(node: &Node) -> bool {
    crate::vm::eval::is_volatile(node)
}

/// The outcome of one evaluation, borrowed from the state.
#[derive(Debug)]
pub struct Verdict<'s> {
    /// Matched rules, as indices into [`RuleSet::rules`], in load order.
    pub matched: &'s [u32],
    /// Actions of matched rules whose filter held, in order.
    pub fired: &'s [Fired],
}

/// A rule set that can be replaced while events keep flowing: readers take a cheap
/// `Arc` clone per event (or per batch); a reload swaps the pointer.
pub struct SharedRuleSet {
    current: RwLock<Arc<RuleSet>>,
}

impl SharedRuleSet {
    pub fn new(rs: RuleSet) -> SharedRuleSet {
        SharedRuleSet { current: RwLock::new(Arc::new(rs)) }
    }

    pub fn load(&self) -> Arc<RuleSet> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the rule set; evaluations in flight finish on the old one.
    pub fn store(&self, rs: RuleSet) -> Arc<RuleSet> {
        let new = Arc::new(rs);
        let mut g = match self.current.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::replace(&mut *g, new)
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<RuleSet>();
    is::<SharedRuleSet>();
}

#[allow(dead_code)]
fn _uses(v: &dyn VarView) -> &dyn VarView {
    v
}

/// One predicate's measured cost (see [`RuleSet::predicate_costs`]).
#[derive(Clone, Debug)]
pub struct PredicateCost {
    pub event_type: String,
    pub predicate: String,
    /// Time of one evaluation with the event in cache.
    pub nanos_per_test: f64,
    /// How many times in the stream the engine evaluated it, and how often it held.
    pub evaluated: usize,
    pub held: usize,
}

impl PredicateCost {
    /// What the predicate cost over the stream, in ns.
    pub fn total_nanos(&self) -> f64 {
        self.nanos_per_test * self.evaluated as f64
    }
}

/// Repetitions per event when timing one piece hot: the event stays in cache, so the
/// figure is the piece's own work, not the memory traffic of loading the event.
const HOT_REPS: u32 = 8;

impl RuleSet {
    /// Where a policy spends its time: every predicate of every bucket, timed hot on the
    /// events of its type, with how often the engine evaluates it on `events` (each event
    /// evaluated alone). For `secl bench --profile`; sorted by total cost.
    pub fn predicate_costs<E: Event>(&self, events: &[E]) -> Vec<PredicateCost> {
        let mut out = Vec::new();
        let scopes = EventScopes::default();
        let store = VarStore::default();
        let mut st = self.new_state();
        for (t, b) in &self.buckets {
            let evs: Vec<&E> = events.iter().filter(|e| e.event_type() == &**t).collect();
            if evs.is_empty() {
                continue;
            }
            let n = b.preds.preds.len();
            let mut counts = vec![(0usize, 0usize); n];
            for ev in &evs {
                self.evaluate(*ev, &mut st);
                for (i, (c, m)) in counts.iter_mut().zip(&st.memo[..n]).enumerate() {
                    // A grouped predicate's memo is its group's scan.
                    let answer = match b.groups.of(i) {
                        Some(at) => b.groups.answer(at, &st.groups),
                        None => (*m != crate::vm::UNKNOWN).then_some(*m == crate::vm::TRUE),
                    };
                    c.0 += answer.is_some() as usize;
                    c.1 += (answer == Some(true)) as usize;
                }
            }
            for (p, (evaluated, held)) in b.preds.preds.iter().zip(counts) {
                let start = std::time::Instant::now();
                for ev in &evs {
                    let view = ScopedVars { store: &store, scopes: &scopes, inherited: &self.inherited };
                    let cx = Cx { now: Cell::new(None), event_time: ev.timestamp_ns(), register: Some(0), vars: &view };
                    for _ in 0..HOT_REPS {
                        std::hint::black_box(crate::vm::test_pred(std::hint::black_box(p), *ev, &cx));
                    }
                }
                let ns = start.elapsed().as_nanos() as f64 / (evs.len() as f64 * HOT_REPS as f64);
                let mut text = format!("{:?}", p.node);
                text.truncate(160);
                out.push(PredicateCost {
                    event_type: t.to_string(),
                    predicate: text,
                    nanos_per_test: ns,
                    evaluated,
                    held,
                });
            }
        }
        out.sort_by(|a, b| b.total_nanos().total_cmp(&a.total_nanos()));
        out
    }

    /// Times each guarded field's candidate lookup hot: (event type, field, entries,
    /// rules guarded, ns/event), sorted by ns over the stream.
    pub fn guard_costs<E: Event>(&self, events: &[E]) -> Vec<(String, String, usize, usize, f64)> {
        let schema = Schema::linux();
        let mut out = Vec::new();
        let mut total = Vec::new();
        for (t, b) in &self.buckets {
            let evs: Vec<&E> = events.iter().filter(|e| e.event_type() == &**t).collect();
            for (f, n, rules, _, ns) in b.groups.scan_costs(&evs, HOT_REPS) {
                out.push((t.to_string(), schema.field_by_id(f).name.clone(), n, rules, ns));
                total.push(ns * evs.len() as f64);
            }
        }
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_by(|a, b| total[*b].total_cmp(&total[*a]));
        order.into_iter().map(|i| out[i].clone()).collect()
    }
}
