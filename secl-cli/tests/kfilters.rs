//! `secl check --kfilters` and `secl compile --kfilters`.

use std::process::Command;

fn secl(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_secl")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn check_and_compile() {
    let dir = std::env::temp_dir().join(format!("secl-kfilters-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "rules:\n  - id: shadow\n    expression: open.file.path == \"/etc/shadow\"\n  - id: any_open\n    expression: open.flags != 0 || process.uid == 0\n  - id: curl\n    expression: exec.file.name == \"curl\"\n",
    )
    .unwrap();
    let events = dir.join("e.jsonl");
    std::fs::write(
        &events,
        "{\"type\": \"exec\", \"values\": {\"exec.file.path\": \"/usr/bin/curl\"}}\n{\"type\": \"exec\", \"values\": {\"exec.file.path\": \"/usr/bin/ls\"}}\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let (code, out) = secl(&["check", "--kfilters", "--format", "json", "--events", events.to_str().unwrap(), p]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let k = &v["kfilters"];
    assert_eq!(k["event_types"]["open"]["mode"], "accept-all");
    assert_eq!(k["event_types"]["open"]["culprits"][0]["rule"], "any_open");
    assert_eq!(k["event_types"]["exec"]["mode"], "approve");
    assert_eq!(k["event_types"]["exec"]["approvers"]["exec.file.name"][0], "curl");
    assert_eq!(k["event_types"]["chmod"]["mode"], "not-hooked");
    assert_eq!(k["simulation"]["events"], 2);
    assert_eq!(k["simulation"]["sent"], 1);
    assert_eq!(k["simulation"]["dropped"], 1);
    assert_eq!(k["simulation"]["missed_matches"], 0);

    let (code, out) = secl(&["check", "--kfilters", "--profile", "datadog", p]);
    assert_eq!(code, 0);
    assert!(out.contains("exec: accept-all"), "{out}");

    let plan = dir.join("plan.json");
    let (code, _) = secl(&["compile", "--kfilters", plan.to_str().unwrap(), p]);
    assert_eq!(code, 0);
    let plan: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(plan["format"], "secl-kfilters");
    assert_eq!(plan["event_types"]["exec"]["mode"], "approve");
    let _ = std::fs::remove_dir_all(&dir);
}
