//! Evaluation allocates nothing once the state is warm, for rules without `set` actions
//! (the issue's requirement): a counting global allocator checks it on the shared
//! benchmark mix with the default policy (read from `../shared` only where present), and
//! on a synthetic policy that is always available.

use secl_eval::json_event::JsonEvent;
use secl_eval::load::{Host, load};
use secl_eval::ruleset::RuleSet;
use secl_eval::value::semver::Version;
use secl_syntax::SourceFile;
use secl_syntax::policy::parse_policy;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The counter is process-wide: tests that measure take turns.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ruleset(policy_text: &str) -> RuleSet {
    ruleset_with(policy_text, false)
}

fn ruleset_with(policy_text: &str, keep_set_actions: bool) -> RuleSet {
    let (policy, diags) = parse_policy(SourceFile::new("p.policy", policy_text), true);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let host = Host { agent_version: Version::parse("7.70.0").unwrap(), kernel: (6, 8, 0), ..Host::default() };
    let mut loaded = load(&[policy.unwrap()], &host);
    assert_eq!(loaded.errors().count(), 0);
    if !keep_set_actions {
        loaded.rules.retain(|r| r.actions.is_empty());
    }
    RuleSet::new(loaded)
}

/// Allocations made by evaluating every event once more, after a warm-up pass.
fn allocations_of_second_pass(rs: &RuleSet, events: &[JsonEvent]) -> (usize, usize) {
    let mut st = rs.new_state();
    let mut matches = 0;
    for ev in events {
        matches += rs.evaluate(ev, &mut st).matched.len();
    }
    let region = Region::new(GLOBAL);
    for ev in events {
        std::hint::black_box(rs.evaluate(ev, &mut st).matched.len());
    }
    let stats = region.change();
    (stats.allocations + stats.reallocations, matches)
}

#[test]
fn synthetic_policy_evaluates_without_allocating() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rs = ruleset(
        r#"
rules:
  - id: nc
    expression: exec.file.name in ["nc", "ncat", "netcat"] && process.ancestors.file.name not in ["sshd"]
  - id: miner
    expression: exec.args in [~"*stratum+tcp*", ~"*donate-level*"] || exec.args_flags == "randomx-1gb-pages"
  - id: shadow
    expression: open.file.path == "/etc/shadow" && process.file.path not in [~"/usr/sbin/*", "/usr/bin/passwd"]
  - id: pool
    expression: dns.question.name in [~"*.ethermine.org", "c3pool.com"]
  - id: port
    expression: connect.addr.port in [3333, 4444, 15555] && connect.addr.ip not in [10.0.0.0/8, 127.0.0.0/8]
  - id: re
    expression: exec.comm in [r"^\[.+\]$"] && process.ancestors[A].file.name == "cron" && process.ancestors[A].uid == 0
"#,
    );
    let events: Vec<JsonEvent> = [
        r#"{"type":"exec","values":{"exec.file.path":"/usr/bin/nc","exec.argv":["-v","10.0.0.5","3333"],"process.ancestors.file.name":["bash","cron"],"process.ancestors.uid":[0,0]}}"#,
        r#"{"type":"exec","values":{"exec.file.path":"/opt/xmrig","exec.argv":["--donate-level","1","-o","stratum+tcp://pool:3333"],"exec.comm":"[kworker]"}}"#,
        r#"{"type":"open","values":{"open.file.path":"/etc/shadow","process.file.path":"/usr/bin/cat","open.flags":2}}"#,
        r#"{"type":"dns","values":{"dns.question.name":"eu1.ethermine.org"}}"#,
        r#"{"type":"connect","values":{"connect.addr.port":3333,"connect.addr.ip":"203.0.113.9"}}"#,
    ]
    .iter()
    .map(|e| JsonEvent::from_str(e).unwrap())
    .collect();
    let (allocs, matches) = allocations_of_second_pass(&rs, &events);
    assert!(matches >= 5, "the events should match the rules ({matches} matches)");
    assert_eq!(allocs, 0, "evaluation allocated {allocs} times");
}

#[test]
fn default_policy_on_the_benchmark_mix_evaluates_without_allocating() {
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"));
    let (Ok(policy), Ok(events)) = (
        std::fs::read_to_string(dir.join("datadog-default-1.69.3.policy")),
        std::fs::read_to_string(dir.join("bench-events.jsonl")),
    ) else {
        eprintln!("skipping: ../shared/corpus is not present");
        return;
    };
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rs = ruleset(&policy);
    let events: Vec<JsonEvent> = events.lines().map(|l| JsonEvent::from_str(l).unwrap()).collect();
    let (allocs, _) = allocations_of_second_pass(&rs, &events);
    assert_eq!(allocs, 0, "evaluating {} events allocated {allocs} times", events.len());
}

/// The control: a rule whose `set` action builds a string does allocate, so the counter
/// above is really watching.
#[test]
fn set_actions_are_seen_allocating() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let rs = ruleset_with(
        r#"
rules:
  - id: tag
    expression: exec.file.name == "nc"
    actions:
      - set:
          name: seen
          scope: process
          expression: '"nc_${builtins.uuid4}"'
          default_value: ""
"#,
        true,
    );
    let ev =
        JsonEvent::from_str(r#"{"type":"exec","values":{"exec.file.path":"/usr/bin/nc","process.pid":42}}"#).unwrap();
    let (allocs, matches) = allocations_of_second_pass(&rs, &[ev]);
    assert_eq!(matches, 1);
    assert!(allocs > 0, "a set action with an interpolated uuid must allocate");
}
