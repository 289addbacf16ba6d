//! The declarative semantics corpus: every case of `testdata/*.toml` is an expression, an
//! event and a verdict (or the code of the compile error the expression must give), run
//! against every engine of the crate (see `harness`). All failures are reported, by file
//! and case name.
//!
//! File format:
//!
//! ```toml
//! [events]                    # optional: events named for reuse by the cases
//! sh = '{"type": "exec", "values": {"exec.file.path": "/bin/sh"}, "timestamp": 1}'
//!
//! [policies]                  # optional: policies named for reuse
//! tools = '''
//! macros:
//!   - id: tools
//!     expression: '["sh"]'
//! '''
//!
//! [[case]]
//! name = "name-in-macro"
//! expr = 'exec.file.name in tools'
//! event = "sh"                # a name from [events], or inline JSON
//! policy = "tools"            # optional: a name from [policies], or inline YAML
//! setup = ["ev1"]             # optional: events run first through the rule set
//! vars = { cnt = 7 }          # optional: values written before the event
//! matches = true              # or: error = "secl::type-mismatch"
//! bug = "why"                 # optional: a known engine bug makes the case fail
//! ```
//!
//! A `matches` case runs on (a) the reference interpreter, (b) the VM evaluator, (c) the
//! compiled program, and, when the expression has an event type, (d) a rule set holding
//! it as a rule; all four must give the verdict. An `error` case must be rejected with
//! that code by the checker (or, for event-type errors, by the loader), and loading it as
//! a rule must fail the same way. `CORPUS_CASE=text` runs only the cases whose name
//! contains `text`; `CORPUS_TRACE=1` (with `--nocapture`) prints each case as it runs.

mod harness;

use harness::{VarsIn, check, evaluate, event, has_event_type, preset, ruleset_matches, setup};
use secl_eval::ir::Ty;
use secl_eval::json_event::JsonEvent;
use secl_eval::ruleset::RuleSet;
use secl_eval::value::ip::{parse_cidr, parse_ip};
use secl_eval::vars::Scalar;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    events: BTreeMap<String, String>,
    #[serde(default)]
    policies: BTreeMap<String, String>,
    #[serde(default)]
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    expr: String,
    event: Option<String>,
    matches: Option<bool>,
    error: Option<String>,
    policy: Option<String>,
    #[serde(default)]
    setup: Vec<String>,
    #[serde(default)]
    vars: BTreeMap<String, toml::Value>,
    /// A known engine bug outside the corpus' reach: the case is expected to fail (and
    /// is reported as such); once it passes, the marker must be removed.
    bug: Option<String>,
}

fn testdata_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
}

#[test]
fn corpus() {
    let mut files: Vec<_> = std::fs::read_dir(testdata_dir())
        .expect("secl-eval/testdata")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut total = 0;
    let mut counts = Vec::new();
    let mut known = Vec::new();
    for path in &files {
        let fname = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let file: File = match toml::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{fname}: unreadable: {e}"));
                continue;
            }
        };
        let mut names = std::collections::BTreeSet::new();
        let only = std::env::var("CORPUS_CASE").ok();
        for case in &file.case {
            if only.as_ref().is_some_and(|o| !case.name.contains(o.as_str())) {
                continue;
            }
            if std::env::var_os("CORPUS_TRACE").is_some() {
                eprintln!("{fname}::{}", case.name);
            }
            if !names.insert(case.name.as_str()) {
                failures.push(format!("{fname}::{}: duplicate case name", case.name));
            }
            match (run_case(&file, case), &case.bug) {
                (Err(e), None) => failures.push(format!("{fname}::{}: {e}\n      expr: {}", case.name, case.expr)),
                (Err(e), Some(bug)) => known.push(format!("{fname}::{}: {e} (known bug: {bug})", case.name)),
                (Ok(()), Some(_)) => {
                    failures.push(format!("{fname}::{}: passes now; remove its `bug` marker", case.name))
                }
                (Ok(()), None) => {}
            }
        }
        counts.push(format!("{fname}: {}", file.case.len()));
        total += file.case.len();
    }
    // Written past the test harness' capture, so that every run shows it.
    let mut err = std::io::stderr();
    let _ = writeln!(err, "corpus: {total} cases in {} files ({})", files.len(), counts.join(", "));
    if !known.is_empty() {
        let _ = writeln!(err, "{} cases fail on known bugs:\n  {}", known.len(), known.join("\n  "));
    }
    assert!(failures.is_empty(), "{} of {total} corpus cases failed:\n  {}", failures.len(), failures.join("\n  "));
    if std::env::var_os("CORPUS_CASE").is_none() {
        assert!(total >= 300, "the corpus must hold at least 300 cases, it has {total}");
    }
}

/// A named entry of `table`, or the text itself.
fn named<'a>(table: &'a BTreeMap<String, String>, text: &'a str) -> &'a str {
    table.get(text).map_or(text, String::as_str)
}

fn run_case(file: &File, case: &Case) -> Result<(), String> {
    let policy = case.policy.as_deref().map(|p| named(&file.policies, p));
    let st = setup(&case.expr, policy)?;
    match (case.matches, &case.error) {
        (None, Some(code)) => return expect_error(case, &st, code),
        (Some(_), None) => {}
        _ => return Err("give exactly one of `matches` and `error`".into()),
    }
    let want = case.matches.unwrap_or_default();
    let checked = check(&case.expr, &st.loaded).map_err(|d| format!("rejected: {}: {}", d.code, d.message))?;
    let ev_text = case.event.as_deref().ok_or("a `matches` case needs an `event`")?;
    let ev = event(named(&file.events, ev_text)).map_err(|e| format!("event: {e}"))?;
    let setup_events: Vec<JsonEvent> = case
        .setup
        .iter()
        .map(|s| event(named(&file.events, s)).map_err(|e| format!("setup event: {e}")))
        .collect::<Result<_, _>>()?;

    let with_rule = has_event_type(&checked);
    let rule_loaded = st.loaded.rules.iter().any(|r| &*r.id == harness::CASE_RULE);
    if with_rule && !rule_loaded {
        let why = st.rule_errors.first().map(|d| format!("{}: {}", d.code, d.message)).unwrap_or_default();
        return Err(format!("the checker accepts the expression but the rule does not load: {why}"));
    }
    let table = st.loaded.vars.clone();
    let inherited = st.inherited.clone();
    let rs = RuleSet::new(st.loaded);
    let mut state = rs.new_state();
    for ev in &setup_events {
        rs.evaluate(ev, &mut state);
    }
    for (name, value) in &case.vars {
        let decl = table.get(name).ok_or_else(|| format!("vars: no variable `{name}` is declared"))?;
        preset(&mut state.vars, &table, name, scalars(value, decl.ty)?, &ev)?;
    }
    let store = state.vars.clone();
    let got = evaluate(&checked, &ev, &VarsIn { store: &store, table: &table, inherited: &inherited });
    let mut wrong = Vec::new();
    for (engine, v) in [("interpreter", got.interp), ("vm::eval::test", got.vm), ("program", got.program)] {
        if v != want {
            wrong.push(engine);
        }
    }
    if with_rule && ruleset_matches(&rs, &mut state, &ev) != want {
        wrong.push("ruleset");
    }
    if wrong.is_empty() { Ok(()) } else { Err(format!("expected {want}, wrong verdict from {}", wrong.join(", "))) }
}

fn expect_error(case: &Case, st: &harness::Setup, code: &str) -> Result<(), String> {
    if case.event.is_some() {
        return Err("an `error` case takes no `event`".into());
    }
    let got = match check(&case.expr, &st.loaded) {
        Err(d) => d.code.as_str().to_owned(),
        Ok(_) => match st.rule_errors.first() {
            Some(d) => d.code.as_str().to_owned(),
            None => return Err(format!("accepted, expected {code}")),
        },
    };
    if got != code {
        return Err(format!("rejected with {got}, expected {code}"));
    }
    // Loading the expression as a rule must fail the same way.
    match st.rule_errors.first() {
        Some(d) if d.code.as_str() == code => Ok(()),
        Some(d) => Err(format!("the checker says {code} but the loader says {}: {}", d.code, d.message)),
        None => Err(format!("the checker says {code} but the rule loads")),
    }
}

/// A TOML value as the scalars of a variable of type `ty`.
fn scalars(v: &toml::Value, ty: Ty) -> Result<Vec<Scalar>, String> {
    let one = |v: &toml::Value| -> Result<Scalar, String> {
        Ok(match (v, ty.element()) {
            (toml::Value::Integer(i), Ty::Int) => Scalar::Int(*i),
            (toml::Value::Boolean(b), Ty::Bool) => Scalar::Bool(*b),
            (toml::Value::String(s), Ty::Str) => Scalar::Str(Box::from(s.as_str())),
            (toml::Value::String(s), Ty::Ip) => {
                let ip = if s.contains('/') { parse_cidr(s) } else { parse_ip(s) };
                Scalar::Ip(ip.map_err(|_| format!("vars: bad IP `{s}`"))?)
            }
            (v, t) => return Err(format!("vars: `{v}` is not a {t:?}")),
        })
    };
    match v {
        toml::Value::Array(items) => items.iter().map(one).collect(),
        v => Ok(vec![one(v)?]),
    }
}
