//! `secl test`, `secl replay` and `secl eval --explain`, run as the binary.
//!
//! The golden snapshots pin what an author reads: a deliberately wrong expectation must
//! fail with an explanation that names the false sub-expression
//! (`tests/test-cmd/failing`). The example scenario (`examples/cryptominer`) must pass
//! with every rule of its policy covered.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

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
fn wrong_expectations_fail_with_explanations() {
    let (code, out, _) = secl(&["test", "tests/test-cmd/failing"]);
    assert_eq!(code, 1, "{out}");
    // The false sub-expression is named, with the operand that made it false.
    assert!(out.contains("✗ exec.args_flags not in [\"h\", \"help\"]"), "{out}");
    assert!(out.contains("→ element 0 \"h\" matches \"h\""), "{out}");
    insta::assert_snapshot!("failing_human", out);
}

#[test]
fn failures_as_json_and_junit() {
    let (code, out, _) = secl(&["test", "--format", "json", "tests/test-cmd/failing"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(v["summary"]["failed"], 6);
    let case = &v["files"][0]["cases"][1];
    assert_eq!(case["name"], "nc asking for help");
    assert_eq!(case["status"], "failed");
    let tree = &case["failures"][0]["explanations"][0]["tree"];
    assert_eq!(tree["matched"], false);
    assert_eq!(tree["root"]["children"][1]["text"], "exec.args_flags not in [\"h\", \"help\"]");
    assert_eq!(tree["root"]["children"][1]["value"], false);
    assert_eq!(v["coverage"]["covered"], 2);

    let (code, out, _) = secl(&["test", "--format", "junit", "tests/test-cmd/failing"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("<?xml"));
    assert_eq!(out.matches("<testcase ").count(), 6 + 5, "{out}");
    assert_eq!(out.matches("<failure ").count(), 6, "{out}");
    assert!(out.contains("✗ exec.args_flags not in [&quot;h&quot;, &quot;help&quot;]"), "{out}");
}

#[test]
fn the_example_scenario_passes_with_full_coverage() {
    let (code, out, err) = secl(&["test", "--fail-on-missing", "../examples"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("coverage: 6/6 rules matched by some case\n"), "{out}");
    assert!(out.contains(" 0 failed, 1 todo"), "{out}");
    assert!(out.contains("... todo (pools reached by IP address"), "{out}");
}

#[test]
fn coverage_can_fail_the_run() {
    let (code, out, _) = secl(&["test", "--format", "json", "--fail-on-missing", "tests/test-cmd/failing"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let missing: Vec<&str> =
        v["coverage"]["not_covered"].as_array().unwrap().iter().map(|m| m["rule_id"].as_str().unwrap()).collect();
    assert_eq!(missing, ["cron_script", "network_utility_executed", "pool_connection"]);
}

#[test]
fn unreadable_inputs_exit_2() {
    let (code, out, _) = secl(&["test", "tests/test-cmd/unreadable"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("error: tests/test-cmd/unreadable/broken.test.yaml: invalid YAML"), "{out}");
    let (code, _, err) = secl(&["test", "tests/test-cmd/no-such-dir"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn replay_prints_one_line_per_match_then_a_summary() {
    let (code, out, err) = secl(&[
        "replay",
        "--policy",
        "../examples/cryptominer/cryptominer.policy",
        "../examples/cryptominer/events/host.jsonl",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let (summary, matches) = lines.split_last().unwrap();
    assert_eq!(summary["summary"]["events"], 48);
    assert_eq!(summary["summary"]["matches"], matches.len());
    let brief: Vec<String> =
        matches.iter().map(|m| format!("{} {}", m["event_index"], m["rule_id"].as_str().unwrap())).collect();
    insta::assert_snapshot!("replay_host", brief.join("\n"));
    let kill = matches.iter().find(|m| m["rule_id"] == "cryptominer_killed").unwrap();
    assert_eq!(kill["actions"][0]["type"], "kill");
    assert_eq!(kill["actions"][0]["signal"], "SIGKILL");
    assert_eq!(kill["event"]["values"]["exec.file.path"], "/opt/scripts/xmrig");
}

#[test]
fn replay_keeps_up_with_a_pipe() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_secl"))
        .args(["replay", "--policy", "../examples/cryptominer/cryptominer.policy", "-"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("secl runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Each match must come out while the writer still holds the pipe open.
    for (i, (event, rule)) in [
        (
            r#"{"type":"dns","timestamp":1,"values":{"process.pid":7,"dns.question.name":"c3pool.com"}}"#,
            "crypto_domain_dns_query",
        ),
        (
            r#"{"type":"connect","timestamp":2,"values":{"process.pid":7,"connect.addr.port":8443}}"#,
            "mining_pool_connection",
        ),
    ]
    .iter()
    .enumerate()
    {
        writeln!(stdin, "{event}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["rule_id"], *rule);
        assert_eq!(v["event_index"], i);
    }
    drop(stdin);
    let mut rest = String::new();
    stdout.read_line(&mut rest).unwrap();
    assert!(rest.starts_with("{\"summary\":"), "{rest}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn eval_explains_a_rule_and_an_expression() {
    let event = "../examples/cryptominer/events/xmrig-exec.json";
    let (code, out, _) = secl(&[
        "eval",
        "--policy",
        "tests/test-cmd/failing/miner.policy",
        "--rule-id",
        "cron_script",
        "--event",
        event,
        "--explain",
    ]);
    assert_eq!(code, 1, "{out}");
    insta::assert_snapshot!("eval_explain_rule", out);
    let (code, out, _) = secl(&[
        "eval",
        "--expr",
        r#"exec.file.name == "xmrig" && exec.args_flags in ["donate-level"] && process.ancestors.file.name in ["cron"]"#,
        "--event",
        event,
        "--explain",
    ]);
    assert_eq!(code, 0, "{out}");
    insta::assert_snapshot!("eval_explain_expression", out);
}
