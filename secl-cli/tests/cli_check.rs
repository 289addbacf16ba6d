//! `secl check` end to end: exit codes, the JSON report's shape, the other formats.

use serde_json::Value;
use std::process::Command;

fn secl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_secl"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("secl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn exit_codes() {
    assert_eq!(secl(&["check", "../examples/policies/quickstart.policy"]).0, 0);
    // Warnings only: clean at the default fail level, a finding at `warning`.
    assert_eq!(secl(&["check", "tests/fixtures/warn.policy"]).0, 0);
    assert_eq!(secl(&["check", "--fail-level", "warning", "tests/fixtures/warn.policy"]).0, 1);
    assert_eq!(secl(&["check", "tests/fixtures/bad.policy"]).0, 1);
    assert_eq!(secl(&["check", "tests/fixtures/does-not-exist.policy"]).0, 2);
    assert_eq!(secl(&["check", "--format", "yaml", "tests/fixtures/warn.policy"]).0, 3);
    assert_eq!(secl(&["check", "--bogus"]).0, 3);
    assert_eq!(secl(&["check"]).0, 3);
    assert_eq!(secl(&["frobnicate"]).0, 3);
}

#[test]
fn json_report_has_rules_macros_diagnostics_and_summary() {
    let (code, out, _) = secl(&["check", "--format", "json", "tests/fixtures/bad.policy"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).expect("one JSON object");
    let rules = v["rules"].as_array().unwrap();
    let by_id = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("rule {id}"));
    assert_eq!(by_id("good")["status"], "loaded");
    assert_eq!(by_id("good")["event_type"], "exec");
    assert_eq!(by_id("typo")["status"], "error");
    assert!(by_id("typo")["reason"].as_str().unwrap().contains("exec.file.nam"));
    // A rule whose only fault is a bad action stays loaded without it.
    assert_eq!(by_id("bad_action")["status"], "loaded");
    for r in rules {
        assert!(r["file"].as_str().unwrap().ends_with("bad.policy"));
        assert!(r["line"].as_u64().unwrap() >= 2);
    }
    let diags = v["diagnostics"].as_array().unwrap();
    let typo = diags.iter().find(|d| d["code"] == "secl::unknown-field").expect("unknown field");
    assert_eq!((typo["line"].as_u64(), typo["column"].as_u64()), (Some(5), Some(17)));
    assert_eq!(typo["rule_id"], "typo");
    assert_eq!(typo["severity"], "error");
    assert!(typo["help"].as_str().unwrap().contains("exec.file.name"));
    let signal = diags.iter().find(|d| d["code"] == "secl::invalid-action").expect("bad signal");
    assert_eq!(signal["rule_id"], "bad_action");
    assert_eq!(v["summary"]["rules_loaded"], 2);
    assert_eq!(v["summary"]["rules_error"], 1);
}

#[test]
fn policy_level_errors_have_no_rule_id() {
    let dir = std::env::temp_dir().join(format!("secl-cli-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("empty.policy");
    std::fs::write(&file, "rules:\n").unwrap();
    let (code, out, _) = secl(&["check", "--format", "json", file.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "secl::empty-policy");
    assert!(d.get("rule_id").is_none());
}

#[test]
fn sarif_and_github_formats() {
    let (_, out, _) = secl(&["check", "--format", "sarif", "tests/fixtures/bad.policy"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["ruleId"] == "secl::unknown-field"
            && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 5)
    );
    let (_, out, _) = secl(&["check", "--format", "github", "tests/fixtures/bad.policy"]);
    assert!(
        out.lines()
            .any(|l| l
                .starts_with("::error file=tests/fixtures/bad.policy,line=5,col=17,title=secl%3A%3Aunknown-field::")),
        "{out}"
    );
}

#[test]
fn human_format_shows_caret_and_help() {
    let (_, out, err) = secl(&["check", "tests/fixtures/bad.policy"]);
    assert!(err.contains("field `exec.file.nam` not found"), "{err}");
    assert!(err.contains("did you mean `exec.file.name`?"));
    assert!(err.contains("bad.policy:5:17"));
    assert!(out.contains("2 rules loaded"));
}
