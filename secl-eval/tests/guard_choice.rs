//! Which guard each rule gets. Guards never change verdicts (a candidate is evaluated in
//! full, see `field_groups.rs` and `shared_corpus.rs`), only the work per event: rules
//! should gather on fields the bucket scans anyway, avoid tests that hold on most events,
//! and stay guarded when every part of a disjunction can be.

use secl_eval::load::{Host, load};
use secl_eval::ruleset::RuleSet;
use secl_syntax::SourceFile;
use secl_syntax::policy::parse_policy;

const POLICY: &str = r#"
rules:
  - id: nc
    expression: exec.file.name == "nc"
  - id: shared_field
    expression: process.parent.comm == "sshd" && exec.file.name in ["sh", "bash"]
  - id: empty_container
    expression: process.container.id == "" && exec.comm in ["curl", "wget"]
  - id: only_empty_test
    expression: exec.file.path != "/x" && process.container.id == ""
  - id: names_or_args
    expression: exec.file.name in ["frp"] || exec.file.name in ["gost"] || process.args in ["authtoken"]
  - id: not_a_guard
    expression: exec.file.name not in ["a", "b"] && exec.uid != 0
  - id: family_or_shell
    expression: (connect.addr.family == AF_INET || connect.addr.family == AF_INET6) && process.file.name in ["sh"]
  - id: port_only
    expression: connect.addr.port == 6667 && connect.addr.is_public == true
  - id: in_a_container
    expression: exec.file.name != "" && process.container.id != "" && process.cap_permitted & CAP_SYS_ADMIN > 0
  - id: k8s_session
    expression: exec.user_session.k8s_username != ""
  - id: named_only
    expression: exec.file.name != "" && process.parent.file.path == "/usr/bin/nohup"
"#;

fn guards() -> Vec<(String, Option<Vec<String>>)> {
    let (p, diags) = parse_policy(SourceFile::new("guards.policy", POLICY), false);
    assert!(diags.is_empty(), "{diags:?}");
    let loaded = load(&[p.unwrap()], &Host::default());
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let rs = RuleSet::new(loaded);
    let mut out = Vec::new();
    for t in ["exec", "connect"] {
        for (id, fields) in rs.guard_fields(t) {
            out.push((id.to_owned(), fields.map(|f| f.into_iter().map(str::to_owned).collect())));
        }
    }
    out
}

fn guard_of(id: &str) -> Option<Vec<String>> {
    guards().into_iter().find(|(r, _)| r == id).unwrap_or_else(|| panic!("no rule {id}")).1
}

fn fields(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|s| s.to_string()).collect())
}

#[test]
fn a_rule_joins_a_field_other_rules_scan() {
    // Alone, the first conjunct would do as well; `exec.file.name` is scanned for `nc`.
    assert_eq!(guard_of("shared_field"), fields(&["exec.file.name"]));
    assert_eq!(guard_of("nc"), fields(&["exec.file.name"]));
}

#[test]
fn a_test_of_the_empty_string_does_not_guard() {
    assert_eq!(guard_of("empty_container"), fields(&["exec.comm"]));
    // Its only candidate holds on most events: evaluating the rule is cheaper.
    assert_eq!(guard_of("only_empty_test"), None);
}

#[test]
fn a_disjunction_is_guarded_by_all_its_parts() {
    assert_eq!(guard_of("names_or_args"), fields(&["exec.file.name", "process.args"]));
}

#[test]
fn other_negated_tests_never_guard() {
    assert_eq!(guard_of("not_a_guard"), None);
}

#[test]
fn names_are_preferred_to_small_integers() {
    assert_eq!(guard_of("family_or_shell"), fields(&["process.file.name"]));
    // With nothing better, an integer test still guards.
    assert_eq!(guard_of("port_only"), fields(&["connect.addr.port"]));
}

#[test]
fn a_set_field_guards_when_it_is_often_unset() {
    // `!= ""` holds where the field is set: containers and Kubernetes sessions are rare,
    // an executable's name is always there.
    assert_eq!(guard_of("in_a_container"), fields(&["process.container.id"]));
    assert_eq!(guard_of("k8s_session"), fields(&["exec.user_session.k8s_username"]));
    assert_eq!(guard_of("named_only"), fields(&["process.parent.file.path"]));
}
