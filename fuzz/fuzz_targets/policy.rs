//! Policy files end to end: `parse_policy` + `load` (merge, host filters, macro and rule
//! checking, compilation) + `RuleSet` construction and evaluation against a few fixed
//! events + `render_human` of every diagnostic.
//!
//! Each input (bytes decoded as UTF-8 lossily) is run twice:
//! 1. as a whole policy file (as the default policy and as a custom policy);
//! 2. wrapped as the `expression:` of a one-rule policy (and of a macro the rule set also
//!    loads), so that the whole pipeline, including the mapping of expression spans back
//!    into the file, runs on arbitrary expressions. The wrapping is a YAML double-quoted
//!    scalar (JSON string escaping) or, for inputs whose length is odd, a literal block
//!    scalar (`|-`), which maps expression spans through indentation instead of escapes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secl_eval::json_event::JsonEvent;
use secl_eval::load::{Host, load};
use secl_eval::ruleset::RuleSet;
use secl_syntax::diagnostics::{SourceFile, render_human};
use secl_syntax::policy::parse_policy;
use std::sync::LazyLock;

static EVENTS: LazyLock<Vec<JsonEvent>> = LazyLock::new(|| {
    [
        r#"{"type": "exec", "values": {"exec.pid": 2, "exec.uid": 0, "exec.file.path": "/usr/bin/curl", "exec.argv": ["-s", "http://169.254.169.254/latest/meta-data/iam/security-credentials/x"], "process.ancestors.file.name": ["bash", "sshd"], "process.ancestors.argv": [["-c", "x"], []]}, "timestamp": 1700000000000000000}"#,
        r#"{"type": "open", "values": {"process.pid": 3, "open.file.path": "/root/.aws/credentials", "open.flags": 577, "process.file.name": "python3"}}"#,
        r#"{"type": "dns", "values": {"dns.question.name": "api.telegram.org", "dns.question.type": 16}}"#,
        r#"{"type": "connect", "values": {"connect.addr.ip": "10.1.2.3", "connect.addr.port": 22, "connect.addr.family": 2}}"#,
    ]
    .iter()
    .map(|s| JsonEvent::from_str(s).expect("fixed fuzz event is valid"))
    .collect()
});

fn run(name: &str, text: String, is_default: bool) {
    let src = SourceFile::new(name, text);
    let (policy, diags) = parse_policy(src, is_default);
    for d in &diags {
        let _ = render_human(d, false);
    }
    let Some(policy) = policy else { return };
    let loaded = load(std::slice::from_ref(&policy), &Host::default());
    for d in &loaded.diagnostics {
        let _ = render_human(d, false);
    }
    let rs = RuleSet::new(loaded);
    let mut st = rs.new_state();
    for ev in EVENTS.iter() {
        let _ = rs.evaluate(ev, &mut st);
    }
}

fn wrapped(expr: &str) -> String {
    if expr.len() % 2 == 0 {
        let q = serde_json::to_string(expr).expect("a string always serializes");
        format!("version: 1.0.0\nmacros:\n  - id: fuzz_macro\n    expression: {q}\nrules:\n  - id: fuzz_rule\n    expression: {q}\n  - id: fuzz_macro_user\n    expression: exec.comm in fuzz_macro || fuzz_macro\n")
    } else {
        let mut block = String::new();
        for line in expr.split('\n') {
            block.push_str("      ");
            block.push_str(line);
            block.push('\n');
        }
        format!("version: 1.0.0\nmacros:\n  - id: fuzz_macro\n    expression: |-\n{block}rules:\n  - id: fuzz_rule\n    expression: |-\n{block}  - id: fuzz_macro_user\n    expression: exec.comm in fuzz_macro || fuzz_macro\n")
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    run("default.policy", text.clone(), true);
    run("custom.policy", text.clone(), false);
    run("wrapped.policy", wrapped(&text), false);
});
