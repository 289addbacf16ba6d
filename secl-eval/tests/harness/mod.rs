//! Shared by `tests/corpus.rs` and `tests/differential.rs`: one checked expression run on
//! one event by every engine of the crate.
//!
//! * (a) the reference interpreter, [`secl_eval::interp::eval`];
//! * (b) the VM's node evaluator, [`secl_eval::vm::eval::test`];
//! * (c) the compiled program path, [`secl_eval::vm::program::compile`] and
//!   [`secl_eval::vm::run`] over a memo buffer;
//! * (d) a rule set holding the expression as a rule (so rule guards take part), when
//!   the expression has an event type.
//!
//! The iterator register is driven the way [`secl_eval::ruleset::RuleSet`] drives it:
//! indices `0..min(len, 100)` where `len` is the prefix's `.length` field.

#![allow(dead_code)]

use secl_eval::check::{Checked, Checker, Env, VarTable};
use secl_eval::event::{Event, Value};
use secl_eval::interp::{self, Context, RVal};
use secl_eval::ir::{Ty, VarRead, VarScope};
use secl_eval::json_event::JsonEvent;
use secl_eval::load::{Host, Loaded, load};
use secl_eval::model::Schema;
use secl_eval::rule::ActionKind;
use secl_eval::ruleset::{EvalState, RuleSet};
use secl_eval::vars::{EventScopes, Scalar, ScopeKey, ScopedVars, VarStore};
use secl_eval::vm::eval::{Cx, VarView, wall_clock_ns};
use secl_eval::vm::program::{PredicateTable, compile};
use secl_eval::vm::val::Val;
use secl_syntax::policy::parse_policy;
use secl_syntax::{Diagnostic, SourceFile};
use std::cell::Cell;

/// The id of the rule the harness adds for path (d).
pub const CASE_RULE: &str = "corpus_case";

/// The reference caps register iteration at 100 elements (SPEC §9).
const MAX_REGISTER: usize = 100;

/// A policy (the case's own, if any) loaded together with a one-rule policy holding the
/// expression, which comes first so that it is evaluated before the case policy's rules
/// run their `set` actions on the same event.
pub struct Setup {
    pub loaded: Loaded,
    /// The diagnostics of the expression's rule (errors make the rule absent).
    pub rule_errors: Vec<Diagnostic>,
    /// Per variable: whether some `set` action declares it `inherited`.
    pub inherited: Vec<bool>,
}

/// Loads `policy` (YAML, may be empty) with the expression as rule [`CASE_RULE`].
pub fn setup(expr: &str, policy: Option<&str>) -> Result<Setup, String> {
    let rule = format!(
        "rules:\n  - id: {CASE_RULE}\n    expression: {}\n",
        serde_json::to_string(expr).map_err(|e| e.to_string())?
    );
    let mut policies = Vec::new();
    let mut sources = vec![("case.policy", rule)];
    if let Some(p) = policy {
        sources.push(("user.policy", p.to_owned()));
    }
    for (name, text) in sources {
        let (parsed, diags) = parse_policy(SourceFile::new(name, text), false);
        if let Some(d) = diags.iter().find(|d| d.is_error()) {
            return Err(format!("{name}: {}: {}", d.code, d.message));
        }
        policies.push(parsed.ok_or_else(|| format!("{name}: unusable policy"))?);
    }
    let loaded = load(&policies, &Host::default());
    let rule_errors: Vec<Diagnostic> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error() && d.rule_id.as_deref() == Some(CASE_RULE))
        .cloned()
        .collect();
    if let Some(d) = loaded.errors().find(|d| d.rule_id.as_deref() != Some(CASE_RULE)) {
        return Err(format!("the case policy has an error: {}: {}", d.code, d.message));
    }
    let mut inherited = vec![false; loaded.vars.decls().len()];
    for r in &loaded.rules {
        for a in &r.actions {
            if let ActionKind::Set(s) = &a.kind
                && s.inherited
            {
                inherited[s.var.0 as usize] = true;
            }
        }
    }
    Ok(Setup { loaded, rule_errors, inherited })
}

/// Parses and checks an expression against a load's macros and variables.
pub fn check(expr: &str, loaded: &Loaded) -> Result<Checked, Box<Diagnostic>> {
    let parsed = secl_syntax::parser::parse_expression(expr).map_err(Box::new)?;
    let env = Env { fields: Schema::linux(), macros: Some(&loaded.macros), vars: Some(&loaded.vars) };
    Checker::new(env).check_bool(&parsed)
}

/// Whether the checked expression reads an event-specific field (directly or through a
/// macro), i.e. whether it can be a rule.
pub fn has_event_type(checked: &Checked) -> bool {
    let schema = Schema::linux();
    checked.fields.iter().any(|(id, _)| schema.field_by_id(*id).event_type.is_some())
}

/// The scope keys of an event, as the rule set resolves them.
pub fn scopes_of(ev: &JsonEvent) -> EventScopes {
    let schema = Schema::linux();
    let read = |name: &str| schema.field(name).map(|f| ev.field(f.id)).unwrap_or(Value::Missing);
    let mut s = EventScopes::default();
    if let Value::Int(p) = read("process.pid") {
        s.pid = Some(p);
    }
    if let Value::Ints(a) = read("process.ancestors.pid") {
        s.ancestors.extend_from_slice(a);
    }
    if let Value::Str(c) = read("process.container.id") {
        s.container = c.to_owned();
    }
    if let Value::Str(c) = read("process.cgroup.id") {
        s.cgroup = c.to_owned();
    }
    s
}

/// The register indices to try: `None` alone without a register.
fn register_indices(checked: &Checked, ev: &JsonEvent) -> Vec<Option<usize>> {
    let Some(reg) = &checked.register else { return vec![None] };
    let len = match ev.field(reg.length_field) {
        Value::Int(n) => n.max(0) as usize,
        _ => checked
            .fields
            .iter()
            .filter_map(|(f, _)| match ev.field(*f) {
                Value::Strs(l) => Some(l.len()),
                Value::Ints(l) => Some(l.len()),
                Value::Bools(l) => Some(l.len()),
                Value::Ips(l) => Some(l.len()),
                _ => None,
            })
            .max()
            .unwrap_or(0),
    };
    (0..len.min(MAX_REGISTER)).map(Some).collect()
}

/// The interpreter's context over the variable store.
struct InterpCx<'a> {
    now: i64,
    register: Option<usize>,
    view: &'a ScopedVars<'a>,
    table: &'a VarTable,
}

impl Context for InterpCx<'_> {
    fn now(&self) -> i64 {
        self.now
    }

    fn register(&self) -> Option<usize> {
        self.register
    }

    fn var(&self, read: &VarRead) -> RVal {
        let ty = match read {
            VarRead::Declared(id) => self.table.decl(*id).ty,
            VarRead::ProcessPid => Ty::Int,
            VarRead::Uuid4 => Ty::Str,
        };
        to_rval(&self.view.read(read, self.now), ty)
    }
}

fn to_rval(v: &Val<'_>, ty: Ty) -> RVal {
    let scalar = |s: &Scalar| match s {
        Scalar::Bool(b) => RVal::Bool(*b),
        Scalar::Int(i) => RVal::Int(*i),
        Scalar::Str(s) => RVal::Str(s.to_string()),
        Scalar::Ip(ip) => RVal::Ip(*ip),
    };
    match v {
        Val::Bool(b) => RVal::Bool(*b),
        Val::Int(i) => RVal::Int(*i),
        Val::Str(s) => RVal::Str(s.to_string()),
        Val::Ip(ip) => RVal::Ip(*ip),
        Val::Bools(v) => RVal::Bools(v.to_vec()),
        Val::Ints(v) => RVal::Ints(v.to_vec()),
        Val::Strs(v) => RVal::Strs(v.iter().map(str::to_owned).collect()),
        Val::LitStrs(v) => RVal::Strs(v.iter().map(|s| s.to_string()).collect()),
        Val::Ips(v) => RVal::Ips(v.to_vec()),
        Val::Items(items, now) => {
            let live: Vec<RVal> =
                items.iter().filter(|i| i.expires_at.is_none_or(|e| e > *now)).map(|i| scalar(&i.value)).collect();
            let mut out = RVal::zero(ty);
            for x in live {
                match (&mut out, x) {
                    (RVal::Bools(v), RVal::Bool(b)) => v.push(b),
                    (RVal::Ints(v), RVal::Int(i)) => v.push(i),
                    (RVal::Strs(v), RVal::Str(s)) => v.push(s),
                    (RVal::Ips(v), RVal::Ip(i)) => v.push(i),
                    _ => {}
                }
            }
            out
        }
        Val::Empty => RVal::zero(ty),
    }
}

/// Variables as the engines see them for one event.
pub struct VarsIn<'a> {
    pub store: &'a VarStore,
    pub table: &'a VarTable,
    pub inherited: &'a [bool],
}

/// Verdicts of paths (a), (b) and (c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdicts {
    pub interp: bool,
    pub vm: bool,
    pub program: bool,
}

pub fn evaluate(checked: &Checked, ev: &JsonEvent, vars: &VarsIn<'_>) -> Verdicts {
    let scopes = scopes_of(ev);
    let view = ScopedVars { store: vars.store, scopes: &scopes, inherited: vars.inherited };
    let now = ev.timestamp_ns().unwrap_or_else(wall_clock_ns);
    let indices = register_indices(checked, ev);

    // (a) The reference interpreter.
    let interp = indices.iter().any(|&register| {
        let cx = InterpCx { now, register, view: &view, table: vars.table };
        matches!(interp::eval(&checked.node, ev, &cx), RVal::Bool(true))
    });

    // (b) The VM's evaluator on the whole node.
    let vm = indices.iter().any(|&register| {
        let cx = Cx { now: Cell::new(None), event_time: ev.timestamp_ns(), register, vars: &view as &dyn VarView };
        secl_eval::vm::eval::test(&checked.node, ev, &cx)
    });

    // (c) The compiled program with a memo buffer shared by the register iterations.
    let mut table = PredicateTable::default();
    let prog = compile(&checked.node, &mut table);
    let mut memo = vec![0u8; table.preds.len()];
    let program = indices.iter().any(|&register| {
        let cx = Cx { now: Cell::new(None), event_time: ev.timestamp_ns(), register, vars: &view as &dyn VarView };
        secl_eval::vm::run(&prog, &table.preds, &mut memo, ev, &cx)
    });
    Verdicts { interp, vm, program }
}

/// Path (d): whether [`CASE_RULE`] matched `ev` in the rule set.
pub fn ruleset_matches(rs: &RuleSet, st: &mut EvalState, ev: &JsonEvent) -> bool {
    let v = rs.evaluate(ev, st);
    v.matched.iter().any(|r| &*rs.rule(*r).id == CASE_RULE)
}

/// Writes a value into a variable for the event's entity (global, or the event's
/// process, container or cgroup).
pub fn preset(
    store: &mut VarStore,
    table: &VarTable,
    name: &str,
    value: Vec<Scalar>,
    ev: &JsonEvent,
) -> Result<(), String> {
    let decl = table.get(name).ok_or_else(|| format!("no variable `{name}` is declared by the case policy"))?;
    let scopes = scopes_of(ev);
    let key = match decl.scope {
        VarScope::Global => ScopeKey::Global,
        VarScope::Process => ScopeKey::Process(scopes.pid.ok_or("a process variable needs `process.pid`")?),
        VarScope::Container => ScopeKey::Container(&scopes.container),
        VarScope::Cgroup => ScopeKey::Cgroup(&scopes.cgroup),
    };
    let now = ev.timestamp_ns().unwrap_or_else(wall_clock_ns);
    store.set(decl.id, key, value, false, None, 100, now);
    Ok(())
}

/// Parses a fixture event.
pub fn event(json: &str) -> Result<JsonEvent, String> {
    JsonEvent::from_str(json).map_err(|e| e.to_string())
}
