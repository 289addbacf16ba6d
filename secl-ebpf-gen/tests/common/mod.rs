//! Shared helpers: the default policy at agent 7.70.0 and the bench events, read from
//! `../shared/corpus` only where present.
#![allow(dead_code)]

use secl_eval::json_event::JsonEvent;
use secl_eval::load::{Host, Loaded, load};
use secl_eval::value::semver::Version;
use secl_syntax::policy::{parse_policy, read_policy_file};
use std::path::{Path, PathBuf};

pub fn corpus() -> Option<PathBuf> {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus"));
    if p.join("datadog-default-1.69.3.policy").exists() {
        Some(p.to_path_buf())
    } else {
        eprintln!("skipping: ../shared/corpus is not present");
        None
    }
}

pub fn host() -> Host {
    Host { agent_version: Version::parse("7.70.0").unwrap(), kernel: (6, 8, 0), ..Host::default() }
}

pub fn default_policy(dir: &Path) -> Loaded {
    let src = read_policy_file(&dir.join("datadog-default-1.69.3.policy")).expect("readable");
    let (policy, diags) = parse_policy(src, true);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let loaded = load(&[policy.expect("policy")], &host());
    assert_eq!(loaded.errors().count(), 0);
    loaded
}

pub fn policy_text(text: &str) -> Loaded {
    let src = secl_syntax::diagnostics::SourceFile::new("test.policy", text.to_owned());
    let (policy, diags) = parse_policy(src, false);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let loaded = load(&[policy.expect("policy")], &host());
    let errors: Vec<_> = loaded.errors().collect();
    assert!(errors.is_empty(), "{errors:?}");
    loaded
}

pub fn bench_events(dir: &Path) -> Vec<JsonEvent> {
    let text = std::fs::read_to_string(dir.join("bench-events.jsonl")).unwrap();
    text.lines().map(|l| JsonEvent::from_str(l).unwrap()).collect()
}
