//! Rule-set API: partial evaluation over a bucket, and hot reload while events flow.

use secl_eval::json_event::JsonEvent;
use secl_eval::load::{Host, load};
use secl_eval::model::Schema;
use secl_eval::partial::PValue;
use secl_eval::ruleset::{RuleSet, SharedRuleSet};
use secl_syntax::SourceFile;
use secl_syntax::policy::parse_policy;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn ruleset(text: &str) -> RuleSet {
    let (p, d) = parse_policy(SourceFile::new("p.policy", text), false);
    assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
    RuleSet::new(load(&[p.unwrap()], &Host::default()))
}

#[test]
fn bucket_partial_evaluation() {
    let rs = ruleset(
        r#"
rules:
  - id: shadow
    expression: open.file.path == "/etc/shadow" && process.uid != 0
  - id: keys
    expression: open.file.path in [~"/root/.ssh/*"] && open.flags & O_CREAT > 0
"#,
    );
    let path = Schema::linux().field("open.file.path").unwrap().id;
    let s = |v: &str| PValue::Str(v.into());
    assert!(rs.could_match("open", path, &s("/etc/shadow")));
    assert!(rs.could_match("open", path, &s("/root/.ssh/id_rsa")));
    // No rule of the bucket can match this path, whatever the other fields: a discarder.
    assert!(!rs.could_match("open", path, &s("/var/log/syslog")));
    // Another bucket has no rules at all.
    assert!(!rs.could_match("exec", path, &s("/etc/shadow")));
}

#[test]
fn hot_reload_while_events_flow() {
    let v1 = r#"
rules:
  - id: old_rule
    expression: exec.file.name == "nc"
"#;
    let v2 = r#"
rules:
  - id: new_rule
    expression: exec.file.name == "nc"
"#;
    let shared = Arc::new(SharedRuleSet::new(ruleset(v1)));
    let stop = Arc::new(AtomicBool::new(false));
    let seen_new = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (shared, stop, seen_new) = (shared.clone(), stop.clone(), seen_new.clone());
            std::thread::spawn(move || {
                let ev = JsonEvent::from_str(r#"{"type":"exec","values":{"exec.file.path":"/bin/nc"}}"#).unwrap();
                let mut evaluated = 0usize;
                while !stop.load(Ordering::Relaxed) || evaluated == 0 {
                    let rs = shared.load();
                    let mut st = rs.new_state();
                    let v = rs.evaluate(&ev, &mut st);
                    // Every event matches exactly one rule of whichever set it ran on.
                    assert_eq!(v.matched.len(), 1);
                    if &*rs.rule(v.matched[0]).id == "new_rule" {
                        seen_new.fetch_add(1, Ordering::Relaxed);
                    }
                    evaluated += 1;
                }
                evaluated
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let old = shared.store(ruleset(v2));
    assert_eq!(&*old.rule(0).id, "old_rule");
    std::thread::sleep(std::time::Duration::from_millis(20));
    stop.store(true, Ordering::Relaxed);
    let total: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(total > 0);
    assert!(seen_new.load(Ordering::Relaxed) > 0, "readers picked up the new rule set");
}
