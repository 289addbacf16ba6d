//! Differential property test: random well-typed expressions over a handful of fields of
//! every type, on random events over the same fields. The reference interpreter, the VM
//! evaluator, the compiled program and a one-rule rule set must give the same verdict.
//!
//! Expressions are generated as text and checked like rules: the ones the checker rejects
//! are skipped (and counted: most must be accepted, or the generator has drifted).
//! `DIFFERENTIAL_CASES=N` changes the number of cases (2,500 by default).

mod harness;

use harness::{VarsIn, check, evaluate, has_event_type, ruleset_matches, setup};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use secl_eval::check::VarTable;
use secl_eval::ruleset::RuleSet;
use secl_eval::vars::VarStore;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

/// "now" of every event: durations compare against it.
const NOW: i64 = 1_700_000_000_000_000_000;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Exec,
    Connect,
    Dns,
}

// --- literal pools: small, so that comparisons often hold ---------------------------------

const WORDS: &[&str] = &["sh", "bash", "curl", "", "SH", "x", "-c", "ln", "l", "verbose", "a/b", "node"];
const PATHS: &[&str] = &["/bin/sh", "/bin/bash", "/usr/bin/curl", "/tmp/x", "/usr/local/bin/node", "/etc/passwd"];
const ARGS: &[&str] = &["-c", "-ln", "--verbose", "x", "sh", "--level=3", "-o", "out", "", "-"];
const HOSTS: &[&str] = &["example.com", "WWW.Example.COM", "a.b.c", "www.example.com", "cdn.net"];
const IPS: &[&str] = &["10.1.2.3", "10.0.0.0/8", "192.168.1.1", "8.8.8.8", "::1", "::ffff:10.1.2.3", "fe80::1"];
const INTS: &[i64] = &[0, 1, 2, 8, 64, 1000, 4_294_967_295, -13];
const AGES_S: &[i64] = &[0, 1, 4, 5, 6, 600, 7200];

fn pick<T: Clone + std::fmt::Debug + 'static>(pool: &'static [T]) -> impl Strategy<Value = T> + Clone {
    proptest::sample::select(pool)
}

fn quoted(s: &str) -> String {
    format!("\"{s}\"")
}

/// A string literal for a plain string field: scalar, pattern or regexp.
fn str_literal() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        4 => pick(WORDS).prop_map(quoted),
        2 => pick(&["s*", "*h", "*", "b*h", "*-*", "n*e", ""][..]).prop_map(|p| format!("~\"{p}\"")),
        1 => pick(&["^s", "h$", "(?i)^SH$", "^-", "l+", "o.e"][..]).prop_map(|r| format!("r\"{r}\"")),
    ]
}

/// A string literal for a path field: exact paths and globs (no regexps).
fn path_literal() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => pick(PATHS).prop_map(quoted),
        2 => pick(&["/bin/*", "/usr/**", "*/sh", "/usr/*/curl", "/**/node", "/tmp/*"][..])
            .prop_map(|p| format!("~\"{p}\"")),
    ]
}

fn host_literal() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        3 => pick(HOSTS).prop_map(quoted),
        1 => pick(&["*.example.com", "*.COM", "a.*"][..]).prop_map(|p| format!("~\"{p}\"")),
        1 => pick(&["EXAMPLE", "^www", r"\.net$"][..]).prop_map(|r| format!("r\"{r}\"")),
    ]
}

fn list(member: impl Strategy<Value = String> + Clone) -> impl Strategy<Value = String> + Clone {
    proptest::collection::vec(member, 1..4).prop_map(|v| format!("[{}]", v.join(", ")))
}

fn int_literal() -> impl Strategy<Value = String> + Clone {
    pick(INTS).prop_map(|i| i.to_string())
}

fn ip_literal() -> impl Strategy<Value = String> + Clone {
    pick(IPS).prop_map(str::to_owned)
}

fn str_op() -> impl Strategy<Value = &'static str> + Clone {
    pick(&["==", "!="][..])
}

fn match_op() -> impl Strategy<Value = &'static str> + Clone {
    pick(&["=~", "!~"][..])
}

fn in_op() -> impl Strategy<Value = &'static str> + Clone {
    pick(&["in", "not in", "allin"][..])
}

fn int_op() -> impl Strategy<Value = &'static str> + Clone {
    pick(&["==", "!=", "<", "<=", ">", ">="][..])
}

// --- atoms ------------------------------------------------------------------------------------

/// Comparisons on a scalar string field compared with `literal`.
fn scalar_str_atom(
    field: &'static str,
    literal: impl Strategy<Value = String> + Clone + 'static,
) -> BoxedStrategy<String> {
    prop_oneof![
        (str_op(), literal.clone()).prop_map(move |(op, v)| format!("{field} {op} {v}")),
        (str_op(), literal.clone()).prop_map(move |(op, v)| format!("{v} {op} {field}")),
        (match_op(), literal.clone()).prop_map(move |(op, v)| format!("{field} {op} {v}")),
        (in_op(), list(literal)).prop_map(move |(op, l)| format!("{field} {op} {l}")),
    ]
    .boxed()
}

/// Comparisons on a string array field.
fn array_str_atom(field: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        (str_op(), str_literal()).prop_map(move |(op, v)| format!("{field} {op} {v}")),
        (match_op(), str_literal()).prop_map(move |(op, v)| format!("{field} {op} {v}")),
        (in_op(), list(str_literal())).prop_map(move |(op, l)| format!("{field} {op} {l}")),
        (0..3u32, pick(WORDS)).prop_map(move |(i, w)| format!("{field}[{i}] == \"{w}\"")),
    ]
    .boxed()
}

fn int_atom(field: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        3 => (int_op(), int_literal()).prop_map(move |(op, v)| format!("{field} {op} {v}")),
        1 => (int_op(), int_literal()).prop_map(move |(op, v)| format!("{v} {op} {field}")),
        1 => (pick(&[1i64, 2, 8, 64, 3][..]), pick(&[">", "==", "!="][..]), pick(&[0i64, 1, 2, 8][..]))
            .prop_map(move |(m, op, v)| format!("{field} & {m} {op} {v}")),
        1 => (pick(&["+", "-", "|", "^"][..]), int_literal(), int_op(), int_literal())
            .prop_map(move |(a, x, op, y)| format!("{field} {a} {x} {op} {y}")),
        1 => (in_op(), list(int_literal())).prop_map(move |(op, l)| format!("{field} {op} {l}")),
        1 => (int_op(), int_literal()).prop_map(move |(op, v)| format!("-{field} {op} {v}")),
    ]
    .boxed()
}

fn int_array_atom(field: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        (int_op(), int_literal()).prop_map(move |(op, v)| format!("{field} {op} {v}")),
        (int_op(), int_literal()).prop_map(move |(op, v)| format!("{v} {op} {field}")),
        (in_op(), list(int_literal())).prop_map(move |(op, l)| format!("{field} {op} {l}")),
    ]
    .boxed()
}

fn age_atom(field: &'static str) -> BoxedStrategy<String> {
    (pick(&["<", "<=", ">", ">=", "=="][..]), pick(&["1s", "5s", "1500ms", "10m", "1h"][..]))
        .prop_map(move |(op, d)| format!("{field} {op} {d}"))
        .boxed()
}

fn bool_atom(field: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        Just(field.to_owned()),
        Just(format!("!{field}")),
        (str_op(), pick(&["true", "false"][..])).prop_map(move |(op, b)| format!("{field} {op} {b}")),
    ]
    .boxed()
}

fn ip_atom(field: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        (str_op(), ip_literal()).prop_map(move |(op, v)| format!("{field} {op} {v}")),
        (in_op(), list(ip_literal())).prop_map(move |(op, l)| format!("{field} {op} {l}")),
        pick(&["10.0.0.0/8", "::/0", "0.0.0.0/0"][..]).prop_map(move |c| format!("{field} in {c}")),
    ]
    .boxed()
}

fn ip_array_atom(field: &'static str) -> BoxedStrategy<String> {
    prop_oneof![
        (str_op(), ip_literal()).prop_map(move |(op, v)| format!("{field} {op} {v}")),
        (in_op(), list(ip_literal())).prop_map(move |(op, l)| format!("{field} {op} {l}")),
    ]
    .boxed()
}

/// Conditions tied to one ancestor through the register `A`.
fn register_atom() -> BoxedStrategy<String> {
    prop_oneof![
        (str_op(), pick(WORDS)).prop_map(|(op, w)| format!("process.ancestors[A].file.name {op} \"{w}\"")),
        (int_op(), int_literal()).prop_map(|(op, v)| format!("process.ancestors[A].pid {op} {v}")),
    ]
    .boxed()
}

/// Atoms on common fields, present in every event type.
fn common_atoms() -> Vec<(u32, BoxedStrategy<String>)> {
    vec![
        (2, int_atom("process.pid")),
        (2, array_str_atom("process.ancestors.file.name")),
        (1, int_array_atom("process.ancestors.pid")),
        (1, register_atom()),
        (1, age_atom("process.created_at")),
        (1, bool_atom("process.is_thread")),
        (1, Just("process.ancestors.file.name in process.argv".to_owned()).boxed()),
        (1, Just("process.pid in process.ancestors.pid".to_owned()).boxed()),
    ]
}

fn atom(kind: Kind) -> BoxedStrategy<String> {
    let mut atoms = common_atoms();
    match kind {
        Kind::Exec => atoms.extend([
            (3, scalar_str_atom("exec.file.path", path_literal())),
            (3, scalar_str_atom("exec.file.name", str_literal())),
            (2, scalar_str_atom("exec.comm", str_literal())),
            (3, array_str_atom("exec.argv")),
            (2, array_str_atom("exec.args_flags")),
            (1, array_str_atom("exec.args_options")),
            (2, int_atom("exec.uid")),
            (2, int_atom("exec.file.mode")),
            (1, bool_atom("exec.is_kworker")),
            (1, Just("exec.comm == exec.file.name".to_owned()).boxed()),
            (1, Just("exec.comm in exec.argv".to_owned()).boxed()),
            (1, Just("exec.argv in exec.args_flags".to_owned()).boxed()),
            (1, Just("exec.argv == exec.comm".to_owned()).boxed()),
            (1, Just("exec.comm == \"%{exec.file.name}\"".to_owned()).boxed()),
        ]),
        Kind::Connect => atoms.extend([
            (4, ip_atom("connect.addr.ip")),
            (2, int_atom("connect.addr.port")),
            (1, bool_atom("connect.addr.is_public")),
            (1, array_str_atom("connect.addr.hostname")),
        ]),
        Kind::Dns => atoms.extend([
            (3, scalar_str_atom("dns.question.name", host_literal())),
            (2, array_str_atom("dns.response.cnames")),
            (3, ip_array_atom("dns.response.ips")),
            (2, ip_atom("network.destination.ip")),
            (1, int_atom("dns.question.type")),
            (1, Just("network.destination.ip in dns.response.ips".to_owned()).boxed()),
            (1, Just("dns.response.cnames == dns.question.name".to_owned()).boxed()),
        ]),
    }
    proptest::strategy::Union::new_weighted(atoms).boxed()
}

/// Atoms combined with `&&`, `||` (also as `and`/`or`, unparenthesised: both engines
/// share the parse) and negations.
fn expression(kind: Kind) -> BoxedStrategy<String> {
    atom(kind)
        .prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), pick(&["&&", "||", "and", "or"][..]), inner.clone())
                    .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
                (inner.clone(), pick(&["&&", "||"][..]), inner.clone())
                    .prop_map(|(a, op, b)| format!("({a}) {op} ({b})")),
                inner.clone().prop_map(|a| format!("!({a})")),
                inner.prop_map(|a| format!("not ({a})")),
            ]
        })
        .boxed()
}

// --- events -----------------------------------------------------------------------------------

fn ancestors() -> impl Strategy<Value = Vec<(String, i64, bool)>> {
    proptest::collection::vec((pick(WORDS).prop_map(str::to_owned), pick(INTS), any::<bool>()), 0..4)
}

fn common_values() -> impl Strategy<Value = serde_json::Map<String, Value>> {
    (pick(INTS), ancestors(), pick(AGES_S), any::<bool>(), proptest::collection::vec(pick(ARGS), 0..3)).prop_map(
        |(pid, anc, age, thread, pargv)| {
            let mut m = serde_json::Map::new();
            m.insert("process.pid".into(), json!(pid));
            m.insert("process.created_at".into(), json!(NOW - age * 1_000_000_000));
            m.insert("process.is_thread".into(), json!(thread));
            if !anc.is_empty() {
                m.insert("process.ancestors.file.name".into(), json!(anc.iter().map(|a| &a.0).collect::<Vec<_>>()));
                m.insert("process.ancestors.pid".into(), json!(anc.iter().map(|a| a.1).collect::<Vec<_>>()));
                m.insert("process.ancestors.is_thread".into(), json!(anc.iter().map(|a| a.2).collect::<Vec<_>>()));
            }
            m.insert("process.argv".into(), json!(pargv));
            m
        },
    )
}

fn event(kind: Kind) -> BoxedStrategy<String> {
    let specific: BoxedStrategy<serde_json::Map<String, Value>> = match kind {
        Kind::Exec => (
            pick(PATHS),
            pick(WORDS),
            proptest::collection::vec(pick(ARGS), 0..4),
            pick(INTS),
            pick(&[0o755i64, 0o644, 0o4755, 8][..]),
            any::<bool>(),
        )
            .prop_map(|(path, comm, argv, uid, mode, kworker)| {
                let mut m = serde_json::Map::new();
                m.insert("exec.file.path".into(), json!(path));
                m.insert("exec.comm".into(), json!(comm));
                m.insert("exec.argv".into(), json!(argv));
                m.insert("exec.uid".into(), json!(uid));
                m.insert("exec.file.mode".into(), json!(mode));
                m.insert("exec.is_kworker".into(), json!(kworker));
                m
            })
            .boxed(),
        Kind::Connect => (pick(IPS), pick(INTS), any::<bool>(), proptest::collection::vec(pick(HOSTS), 0..3))
            .prop_map(|(ip, port, public, hosts)| {
                let mut m = serde_json::Map::new();
                m.insert("connect.addr.ip".into(), json!(ip));
                m.insert("connect.addr.port".into(), json!(port));
                m.insert("connect.addr.is_public".into(), json!(public));
                m.insert("connect.addr.hostname".into(), json!(hosts));
                m
            })
            .boxed(),
        Kind::Dns => (
            pick(HOSTS),
            proptest::collection::vec(pick(HOSTS), 0..3),
            proptest::collection::vec(pick(IPS), 0..3),
            pick(IPS),
            pick(INTS),
        )
            .prop_map(|(name, cnames, ips, dst, qtype)| {
                let mut m = serde_json::Map::new();
                m.insert("dns.question.name".into(), json!(name));
                m.insert("dns.response.cnames".into(), json!(cnames));
                m.insert("dns.response.ips".into(), json!(ips));
                m.insert("network.destination.ip".into(), json!(dst));
                m.insert("dns.question.type".into(), json!(qtype));
                m
            })
            .boxed(),
    };
    let name = match kind {
        Kind::Exec => "exec",
        Kind::Connect => "connect",
        Kind::Dns => "dns",
    };
    (common_values(), specific)
        .prop_map(move |(mut common, specific)| {
            common.extend(specific);
            json!({"type": name, "values": common, "timestamp": NOW}).to_string()
        })
        .boxed()
}

fn case() -> impl Strategy<Value = (String, String)> {
    prop_oneof![Just(Kind::Exec), Just(Kind::Connect), Just(Kind::Dns)]
        .prop_flat_map(|kind| (expression(kind), event(kind)))
}

// --- the property -------------------------------------------------------------------------------

#[test]
fn engines_agree_on_random_expressions() {
    let cases: u32 = std::env::var("DIFFERENTIAL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2500);
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let total = AtomicUsize::new(0);
    let accepted = AtomicUsize::new(0);
    let with_rule = AtomicUsize::new(0);
    let matched = AtomicUsize::new(0);
    let result = runner.run(&case(), |(expr, ev_json)| {
        total.fetch_add(1, Ordering::Relaxed);
        let fail = |what: String| TestCaseError::fail(format!("{what}\n  expr:  {expr}\n  event: {ev_json}"));
        let ev = harness::event(&ev_json).map_err(|e| fail(format!("bad generated event: {e}")))?;
        let st = setup(&expr, None).map_err(|e| fail(format!("setup: {e}")))?;
        let Ok(checked) = check(&expr, &st.loaded) else {
            return Ok(());
        };
        accepted.fetch_add(1, Ordering::Relaxed);
        let (table, store) = (VarTable::default(), VarStore::default());
        let got = evaluate(&checked, &ev, &VarsIn { store: &store, table: &table, inherited: &[] });
        if got.vm != got.interp || got.program != got.interp {
            return Err(fail(format!("engines disagree: {got:?}")));
        }
        matched.fetch_add(usize::from(got.interp), Ordering::Relaxed);
        if has_event_type(&checked) {
            let rule_loaded = st.loaded.rules.iter().any(|r| &*r.id == harness::CASE_RULE);
            if !rule_loaded {
                // A checked expression can still fail to load for event-type reasons only.
                let codes: Vec<_> = st.rule_errors.iter().map(|d| d.code.as_str()).collect();
                let allowed = ["secl::multiple-event-types", "secl::field-not-available"];
                if codes.iter().all(|c| allowed.contains(c)) && !codes.is_empty() {
                    return Ok(());
                }
                return Err(fail(format!("checked but not loaded: {codes:?}")));
            }
            with_rule.fetch_add(1, Ordering::Relaxed);
            let rs = RuleSet::new(st.loaded);
            let mut state = rs.new_state();
            let by_rules = ruleset_matches(&rs, &mut state, &ev);
            if by_rules != got.interp {
                return Err(fail(format!("rule set says {by_rules}, interpreter says {}", got.interp)));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (total, accepted) = (total.into_inner(), accepted.into_inner());
    let (with_rule, matched) = (with_rule.into_inner(), matched.into_inner());
    // Written past the test harness' capture, so that every run shows it.
    let _ = writeln!(
        std::io::stderr(),
        "differential: {total} cases, {accepted} accepted, {with_rule} as rules, {matched} matched"
    );
    assert!(accepted * 10 >= total * 8, "only {accepted} of {total} generated expressions were accepted");
    assert!(with_rule * 2 >= accepted, "only {with_rule} of {accepted} expressions had an event type");
    assert!(matched * 10 >= accepted && matched * 10 <= accepted * 9, "{matched} of {accepted} matched: too lopsided");
}
