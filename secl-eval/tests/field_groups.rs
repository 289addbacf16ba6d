//! Field groups (several tests of one field answered by one scan, guards among them, also
//! negated `!= ""` ones) give every rule the verdict of the reference interpreter: many
//! rules on the same fields,
//! negated and positive, scalar and array, case-folded, with patterns, on events that
//! hit, miss or lack the fields.

use secl_eval::interp::{Context, RVal, eval};
use secl_eval::ir::VarRead;
use secl_eval::json_event::JsonEvent;
use secl_eval::load::{Host, load};
use secl_eval::ruleset::RuleSet;
use secl_syntax::SourceFile;
use secl_syntax::policy::parse_policy;

const POLICY: &str = r#"
rules:
  - id: name_in
    expression: exec.file.name in ["nc", "ncat"]
  - id: name_eq_path_ne
    expression: exec.file.name == "nc" && exec.file.path != "/bin/nc"
  - id: name_not_in
    expression: exec.file.name not in ["ls", "nc"] && exec.file.name != ""
  - id: envs_in
    expression: exec.envs in ["A", "B"]
  - id: envs_not_in
    expression: exec.envs not in ["A"] && exec.file.name == "sh"
  - id: envs_ne
    expression: exec.envs != "B" && exec.file.name in ["sh", "nc"]
  - id: envs_pattern
    expression: exec.envs in [~"LD_*", "C"]
  - id: flags_or_name
    expression: exec.args_flags in ["v", "l"] || exec.file.name == "x"
  - id: uid_gid
    expression: exec.uid == 0 && exec.gid != 0
  - id: uid_in
    expression: exec.uid in [0, 1000] && exec.gid == 5
  - id: uid_ne
    expression: exec.uid != 1000 && exec.file.name == "nc"
  - id: ancestors
    expression: process.ancestors.file.name in ["cron", "sh"] && process.ancestors.file.name != "bash" && exec.pid >= 0
  - id: ancestor_pids
    expression: process.ancestors.pid in [1, 7] && process.ancestors.pid != 812 && exec.pid >= 0
  - id: path_glob
    expression: exec.file.path in [~"/usr/bin/*", "/bin/nc"]
  - id: path_pattern
    expression: exec.file.path =~ "/usr/*/nc" && exec.file.path not in [~"/usr/local/*"]
  - id: dns_in
    expression: dns.question.name in ["EXAMPLE.com", "x.org"]
  - id: dns_ne
    expression: dns.question.name != "Foo.COM" && dns.question.type == 1
  - id: dns_eq
    expression: dns.question.name == "example.COM" || dns.question.name in [~"*.evil.*"]
  - id: set_scalar_guard
    expression: process.container.id != "" && exec.pid >= 0
  - id: set_array_guard
    expression: process.ancestors.comm != "" && exec.pid >= 0
"#;

const EVENTS: &[&str] = &[
    r#"{"type":"exec","values":{"exec.file.path":"/usr/bin/nc","exec.envs":["A","PATH"],"exec.argv":["-v","h"],"exec.uid":0,"exec.gid":5,"process.ancestors.file.name":["sh","cron"],"process.ancestors.pid":[812,1]}}"#,
    r#"{"type":"exec","values":{"exec.file.path":"/bin/nc","exec.envs":["B"],"exec.uid":1000,"exec.gid":0}}"#,
    r#"{"type":"exec","values":{"exec.file.path":"/bin/sh","exec.envs":[],"exec.argv":["-l"],"process.ancestors.file.name":["bash","cron"],"process.ancestors.pid":[7]}}"#,
    r#"{"type":"exec","values":{"exec.file.path":"/usr/local/bin/nc","exec.envs":["LD_PRELOAD","C"],"exec.uid":1000}}"#,
    r#"{"type":"exec","values":{"exec.file.path":"/usr/bin/ls","exec.envs":["a","b"],"process.ancestors.file.name":["bash"],"process.ancestors.pid":[812]}}"#,
    r#"{"type":"exec","values":{"exec.file.path":"/usr/sbin/ncat","exec.uid":0,"exec.gid":0}}"#,
    r#"{"type":"exec","values":{}}"#,
    r#"{"type":"exec","values":{"exec.file.path":"/x","exec.envs":["B","A"],"exec.argv":["--l"]}}"#,
    r#"{"type":"dns","values":{"dns.question.name":"Example.COM","dns.question.type":1}}"#,
    r#"{"type":"dns","values":{"dns.question.name":"foo.com","dns.question.type":1}}"#,
    r#"{"type":"dns","values":{"dns.question.name":"a.EVIL.net","dns.question.type":28}}"#,
    r#"{"type":"dns","values":{"dns.question.name":"X.ORG"}}"#,
    r#"{"type":"dns","values":{"dns.question.name":"\u212Aelvin.org","dns.question.type":1}}"#,
    r#"{"type":"dns","values":{}}"#,
    r#"{"type":"exec","values":{"exec.file.path":"/bin/x","process.container.id":"abc","process.ancestors.comm":["","sh"]}}"#,
    r#"{"type":"exec","values":{"exec.file.path":"/bin/y","process.ancestors.comm":["bash"]}}"#,
];

struct Plain;

impl Context for Plain {
    fn now(&self) -> i64 {
        0
    }
    fn register(&self) -> Option<usize> {
        None
    }
    fn var(&self, _: &VarRead) -> RVal {
        RVal::Bool(false)
    }
}

#[test]
fn grouped_tests_give_the_interpreters_verdicts() {
    let (p, diags) = parse_policy(SourceFile::new("groups.policy", POLICY), false);
    assert!(diags.is_empty(), "{diags:?}");
    let rs = RuleSet::new(load(&[p.unwrap()], &Host::default()));
    assert_eq!(rs.rules().len(), 20, "every rule loads");
    let mut st = rs.new_state();
    let mut matched_somewhere = vec![false; rs.rules().len()];
    let mut missed_somewhere = vec![false; rs.rules().len()];
    for text in EVENTS {
        let ev = JsonEvent::from_str(text).unwrap();
        let got = rs.evaluate(&ev, &mut st).matched.to_vec();
        for (i, rule) in rs.rules().iter().enumerate() {
            if *rule.event_type != *secl_eval::event::Event::event_type(&ev) {
                continue;
            }
            let want = matches!(eval(&rule.node, &ev, &Plain), RVal::Bool(true));
            assert_eq!(got.contains(&(i as u32)), want, "rule {} on {text}", rule.id);
            matched_somewhere[i] |= want;
            missed_somewhere[i] |= !want;
        }
    }
    // The events exercise both verdicts of every rule.
    for (i, rule) in rs.rules().iter().enumerate() {
        assert!(matched_somewhere[i] && missed_somewhere[i], "rule {} is not exercised both ways", rule.id);
    }
}
