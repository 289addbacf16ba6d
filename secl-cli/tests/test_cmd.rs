//! `secl test`, `secl replay` and `secl eval --explain`, run as the binary.
//!
//! The golden snapshots pin what an author reads: a deliberately wrong expectation must
//! fail with an explanation that names the false sub-expression
//! (`tests/test-cmd/failing`). The example scenario (`examples/cryptominer`) must pass
//! with every rule of its policy covered.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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
    let (mut child, mut stdin, lines) = replay_stdin();
    // Generous: a replay that stops flushing fails the test rather than hang it.
    let wait = Duration::from_secs(60);
    let next_line = |child: &mut std::process::Child, what: &str| match lines.recv_timeout(wait) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no {what} within {wait:?}");
        }
    };
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
        let line = next_line(&mut child, &format!("match for event {i}"));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["rule_id"], *rule);
        assert_eq!(v["event_index"], i);
    }
    drop(stdin);
    let rest = next_line(&mut child, "summary");
    assert!(rest.starts_with("{\"summary\":"), "{rest}");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > wait {
            let _ = child.kill();
            let _ = child.wait();
            panic!("replay goes on after the end of its input");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
}

const DNS_EVENT: &str = r#"{"type":"dns","timestamp":1,"values":{"process.pid":7,"dns.question.name":"c3pool.com"}}"#;

/// `secl replay --policy cryptominer.policy -`, its stdout's lines coming through a channel
/// (so a test can wait for one with a timeout).
fn replay_stdin() -> (std::process::Child, std::process::ChildStdin, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_secl"))
        .args(["replay", "--policy", "../examples/cryptominer/cryptominer.policy", "-"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("secl runs");
    let stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, stdin, rx)
}

/// Each match comes out while the writer holds the pipe open and waits for it, with
/// invalid and blank lines in between; the invalid line is reported with its number.
#[test]
fn replay_answers_each_line_of_a_slow_pipe() {
    let (mut child, mut stdin, lines) = replay_stdin();
    let wait = Duration::from_secs(30);
    let send = |stdin: &mut std::process::ChildStdin, text: &str| {
        stdin.write_all(text.as_bytes()).unwrap();
        stdin.flush().unwrap();
    };
    let expect = |index: u64, rule: &str| {
        let line = lines.recv_timeout(wait).unwrap_or_else(|_| panic!("no match for event {index} within {wait:?}"));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!((v["event_index"].as_u64(), v["rule_id"].as_str()), (Some(index), Some(rule)), "{line}");
    };
    send(&mut stdin, &format!("{DNS_EVENT}\n"));
    expect(0, "crypto_domain_dns_query");
    // An invalid line, a blank one, an event that matches nothing, then a match.
    send(&mut stdin, "{\"type\": \n\n");
    send(
        &mut stdin,
        "{\"type\":\"open\",\"timestamp\":2,\"values\":{\"process.pid\":7,\"open.file.path\":\"/tmp/x\"}}\n",
    );
    send(
        &mut stdin,
        "{\"type\":\"connect\",\"timestamp\":3,\"values\":{\"process.pid\":7,\"connect.addr.port\":8443}}\n",
    );
    expect(2, "mining_pool_connection");
    // A line that comes in two writes is one event.
    let (a, b) = DNS_EVENT.split_at(20);
    send(&mut stdin, a);
    std::thread::sleep(Duration::from_millis(50));
    send(&mut stdin, &format!("{b}\n"));
    expect(3, "crypto_domain_dns_query");
    drop(stdin);
    let summary = lines.recv_timeout(wait).expect("the summary");
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(v["summary"]["events"], 4, "{summary}");
    assert_eq!(v["summary"]["matches"], 3, "{summary}");
    assert_eq!(v["summary"]["invalid_lines"], 1, "{summary}");
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.starts_with("error: line 2: "), "{err}");
    assert_eq!(child.wait().unwrap().code(), Some(2));
}

/// `secl replay … | head -1`: once its output is closed, replay ends quietly, without
/// waiting for more input.
#[test]
fn replay_ends_quietly_when_its_output_is_closed() {
    let (mut child, mut stdin, lines) = replay_stdin();
    // Enough matches to fill the pipes; the writer keeps stdin open afterwards.
    let (back, stdin_back) = mpsc::channel();
    std::thread::spawn(move || {
        let lines = format!("{DNS_EVENT}\n").repeat(10_000);
        let _ = stdin.write_all(lines.as_bytes()).and_then(|()| stdin.flush());
        let _ = back.send(stdin);
    });
    let first = lines.recv_timeout(Duration::from_secs(30)).expect("a first match");
    assert!(first.starts_with("{\"rule_id\":\"crypto_domain_dns_query\""), "{first}");
    drop(lines); // the reader of the output goes away
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "replay goes on with its output closed");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!((status.code(), err.as_str()), (Some(0), ""));
    drop(stdin_back.recv_timeout(Duration::from_secs(30)));
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
