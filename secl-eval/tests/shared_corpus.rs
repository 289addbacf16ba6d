//! The shared benchmark mix against Datadog's own verdicts: every event of
//! `../shared/corpus/bench-events.jsonl`, evaluated alone with the default policy at agent
//! 7.70.0, must match exactly the rules of `bench-expected.jsonl`.
//! Reads `../shared` only where present, and says so when it skips.

use secl_eval::event::Event;
use secl_eval::json_event::JsonEvent;
use secl_eval::load::{Host, load};
use secl_eval::ruleset::RuleSet;
use secl_eval::value::semver::Version;
use secl_syntax::policy::{parse_policy, read_policy_file};
use std::path::Path;

fn shared() -> Option<&'static Path> {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"));
    if p.join("bench-events.jsonl").exists() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared/corpus is not present");
        None
    }
}

fn default_ruleset(dir: &Path) -> RuleSet {
    let src = read_policy_file(&dir.join("datadog-default-1.69.3.policy")).expect("readable");
    let (policy, diags) = parse_policy(src, true);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let host = Host { agent_version: Version::parse("7.70.0").unwrap(), kernel: (6, 8, 0), ..Host::default() };
    let loaded = load(&[policy.expect("policy")], &host);
    assert_eq!(loaded.errors().count(), 0);
    RuleSet::new(loaded)
}

#[test]
fn bench_events_match_datadog_verdicts() {
    let Some(dir) = shared() else { return };
    let rs = default_ruleset(dir);
    let events = std::fs::read_to_string(dir.join("bench-events.jsonl")).unwrap();
    let expected = std::fs::read_to_string(dir.join("bench-expected.jsonl")).unwrap();
    let mut mismatches = Vec::new();
    for (i, (line, exp)) in events.lines().zip(expected.lines()).enumerate() {
        let ev = JsonEvent::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let exp: serde_json::Value = serde_json::from_str(exp).unwrap();
        let mut want: Vec<String> =
            exp["matches"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        want.sort();
        let mut st = rs.new_state();
        let verdict = rs.evaluate(&ev, &mut st);
        let mut got: Vec<String> = verdict.matched.iter().map(|r| rs.rule(*r).id.to_string()).collect();
        got.sort();
        if got != want {
            mismatches.push(format!("line {} ({}): got {got:?}, want {want:?}", i + 1, ev.event_type()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}
