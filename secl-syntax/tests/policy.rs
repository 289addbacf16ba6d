//! Policy files: decoding, locations, structural checks, loading and merging (SPEC §13).

use proptest::prelude::*;
use secl_syntax::diagnostics::codes;
use secl_syntax::policy::*;
use secl_syntax::span::line_col;
use secl_syntax::{Diagnostic, Severity, SourceFile, Span};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const DEFAULT_POLICY: &str = "/work/shared/corpus/datadog-default-1.69.3.policy";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policy").join(name)
}

fn parse(text: &str) -> (Option<Policy>, Vec<Diagnostic>) {
    parse_policy(SourceFile::new("custom.policy", text), false)
}

fn parse_ok(text: &str) -> Policy {
    let (p, d) = parse(text);
    assert!(d.is_empty(), "unexpected diagnostics: {:?}", messages(&d));
    p.expect("policy")
}

fn load_fixture(name: &str) -> Policy {
    let source = read_policy_file(&fixture(name)).expect("readable fixture");
    let (p, d) = parse_policy(source, false);
    assert!(d.is_empty(), "unexpected diagnostics: {:?}", messages(&d));
    p.expect("policy")
}

fn messages(d: &[Diagnostic]) -> Vec<String> {
    d.iter().map(|d| format!("{}: {}", d.code, d.message)).collect()
}

fn rule<'a>(p: &'a Policy, id: &str) -> &'a RuleDef {
    p.rules.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("rule {id}"))
}

/// 1-based line and column of a file span's start.
fn pos(source: &SourceFile, span: Span) -> (usize, usize) {
    line_col(&source.text, span.start as usize)
}

/// Where `needle` (found in the decoded value) lands in the file.
fn locate(text: &Text, needle: &str) -> (usize, usize, String) {
    let at = text.value.find(needle).unwrap_or_else(|| panic!("{needle:?} in {:?}", text.value));
    let span = text.file_span(Span::new(at, at + needle.len()));
    let (l, c) = pos(text.source(), span);
    (l, c, text.source().text[span.range()].to_string())
}

fn all_texts(p: &Policy) -> Vec<&Text> {
    let mut out = Vec::new();
    for m in &p.macros {
        out.push(&m.id);
        out.extend(m.expression.iter().chain(m.description.iter()).chain(m.agent_version.iter()));
        out.extend(m.values.iter().flatten());
        out.extend(&m.filters);
    }
    for r in &p.rules {
        out.push(&r.id);
        out.extend(r.expression.iter().chain(r.description.iter()).chain(r.agent_version.iter()));
        out.extend(&r.filters);
        for a in &r.actions {
            out.extend(a.filter.iter());
            if let ActionKind::Set(s) = &a.kind {
                out.extend(s.name.iter().chain(s.scope.iter()).chain(s.field.iter()));
                out.extend(s.expression.iter().chain(s.scope_field.iter()));
            }
        }
    }
    out
}

/// Every non-blank character of every text maps to the same character in the file.
fn assert_texts_map_exactly(p: &Policy) {
    for t in all_texts(p) {
        assert!(t.map.is_exact(), "inexact map for {:?}", t.value);
        let src = &t.source().text;
        for (i, c) in t.value.char_indices() {
            if c.is_whitespace() {
                continue;
            }
            let span = t.file_span(Span::new(i, i + c.len_utf8()));
            let found = &src[span.range()];
            if found.starts_with('\\') || (c == '\'' && found == "''") {
                continue;
            }
            assert_eq!(found, c.to_string(), "char {i} of {:?}", t.value);
        }
    }
}

// --- the real default policy ---------------------------------------------------------------

#[test]
fn default_policy_loads() {
    if !Path::new(DEFAULT_POLICY).exists() {
        eprintln!("skipped: {DEFAULT_POLICY} not found");
        return;
    }
    let source = read_policy_file(Path::new(DEFAULT_POLICY)).expect("readable");
    let (p, d) = parse_policy(source, true);
    assert!(d.is_empty(), "{:?}", messages(&d));
    let p = p.expect("policy");
    assert_eq!(p.rules.len(), 319);
    assert_eq!(p.macros.len(), 50);
    assert_eq!(p.version.as_deref(), Some("1.69.3"));
    assert_eq!(p.kind.as_deref(), Some("policy"));
    assert!(p.is_default);
    assert!(p.rules.iter().all(|r| r.expression().is_some() && !r.filters.is_empty()));

    let actions: Vec<&ActionDef> = p.rules.iter().flat_map(|r| &r.actions).collect();
    assert_eq!(actions.len(), 130);
    let sets = actions.iter().filter(|a| matches!(a.kind, ActionKind::Set(_))).count();
    let hashes = actions.iter().filter(|a| matches!(a.kind, ActionKind::Hash { .. })).count();
    assert_eq!((sets, hashes), (125, 5));
    assert_eq!(p.rules.iter().filter(|r| r.actions.iter().any(|a| a.filter.is_some())).count(), 40);
    assert_eq!(p.rules.iter().filter(|r| r.silent).count(), 19);
    assert_eq!(p.rules.iter().filter(|r| r.agent_version.is_some()).count(), 96);
    assert_eq!(p.rules.iter().filter(|r| r.every == Some(DurationValue::Nanos(0))).count(), 2);

    let r = rule(&p, "execution_context_cgroup_write");
    let ActionKind::Set(s) = &r.actions[0].kind else { panic!("set") };
    assert_eq!(s.name.as_ref().unwrap(), "parent_correlation_keys");
    assert_eq!(s.default_value, Some(YamlValue::String(String::new())));
    assert!(s.append && s.inherited);
    assert_eq!(s.scope_field.as_ref().unwrap(), "cgroup_write.pid");
    let ttls = p
        .rules
        .iter()
        .filter(|r| {
            r.actions
                .iter()
                .any(|a| matches!(&a.kind, ActionKind::Set(s) if matches!(s.ttl, Some(DurationValue::Nanos(_)))))
        })
        .count();
    assert_eq!(ttls, 42);

    assert_texts_map_exactly(&p);

    let merged = merge(std::slice::from_ref(&p), &mut |_| Acceptance::Accepted);
    assert!(merged.diagnostics.is_empty(), "{:?}", messages(&merged.diagnostics));
    assert_eq!((merged.rules.len(), merged.macros.len()), (319, 50));
}

// --- decoding ------------------------------------------------------------------------------

#[test]
fn every_action_kind() {
    let (p, d) = parse_policy(read_policy_file(&fixture("actions.policy")).unwrap(), false);
    assert!(d.iter().all(|d| d.rule_id.as_deref() == Some("bad_actions")));
    let p = p.unwrap();
    let r = rule(&p, "all_actions");
    let kinds: Vec<&ActionKind> = r.actions.iter().map(|a| &a.kind).collect();
    assert_eq!(kinds.len(), 12);
    let ActionKind::Set(s) = kinds[0] else { panic!() };
    assert_eq!(r.actions[0].filter.as_ref().unwrap(), "process.uid != 0");
    assert_eq!(s.name.as_ref().unwrap(), "touched");
    assert_eq!(s.scope.as_ref().unwrap(), "process");
    assert_eq!(s.field.as_ref().unwrap(), "open.file.path");
    assert!(s.append && s.private && s.inherited);
    assert_eq!(s.size, Some(500));
    assert!(matches!(&s.ttl, Some(DurationValue::Text(t)) if t == "15m"));
    assert_eq!(s.scope_field.as_ref().unwrap(), "process.pid");
    let ActionKind::Set(s) = kinds[1] else { panic!() };
    assert_eq!(s.value, Some(YamlValue::Int(7)));
    let ActionKind::Set(s) = kinds[2] else { panic!() };
    assert_eq!(s.value, Some(YamlValue::List(vec![YamlValue::String("a".into()), YamlValue::String("b".into())])));
    assert_eq!(s.ttl, Some(DurationValue::Nanos(1_000_000_000)));
    let ActionKind::Set(s) = kinds[3] else { panic!() };
    assert_eq!(s.expression.as_ref().unwrap(), "\"job_${builtins.uuid4}\"");
    assert_eq!(s.default_value, Some(YamlValue::String(String::new())));
    let ActionKind::Set(s) = kinds[4] else { panic!() };
    assert_eq!(s.value, Some(YamlValue::Bool(true)));
    let ActionKind::Set(s) = kinds[5] else { panic!() };
    assert_eq!(s.value, Some(YamlValue::String("7".into())), "a quoted scalar stays a string");
    let ActionKind::Kill { signal, scope, disable_container_disarmer, disable_executable_disarmer } = kinds[6] else {
        panic!()
    };
    assert_eq!(signal.as_ref().unwrap(), "SIGKILL");
    assert_eq!(scope.as_ref().unwrap(), "container");
    assert!(*disable_container_disarmer && *disable_executable_disarmer);
    assert_eq!(kinds[7], &ActionKind::Hash { field: None, max_file_size: None });
    let ActionKind::Hash { field, max_file_size } = kinds[8] else { panic!() };
    assert_eq!(field.as_ref().unwrap(), "process.file");
    assert_eq!(*max_file_size, Some(1_048_576));
    assert_eq!(kinds[9], &ActionKind::CoreDump { process: true, mount: true, dentry: false, no_compression: true });
    let ActionKind::Log { level, message } = kinds[10] else { panic!() };
    assert_eq!((level.as_ref().unwrap().as_str(), message.as_ref().unwrap().as_str()), ("warning", "shadow opened"));
    let ActionKind::NetworkFilter { filter, policy, scope } = kinds[11] else { panic!() };
    assert_eq!(filter.as_ref().unwrap(), "tcp port 22");
    assert_eq!(policy.as_ref().unwrap(), "drop");
    assert_eq!(scope.as_ref().unwrap(), "cgroup");
}

#[test]
fn bad_action_items_keep_the_rule() {
    let source = read_policy_file(&fixture("actions.policy")).unwrap();
    let (p, d) = parse_policy(source.clone(), false);
    let p = p.unwrap();
    let r = rule(&p, "bad_actions");
    assert_eq!(r.actions.len(), 4);
    assert!(matches!(&r.actions[0].kind, ActionKind::Invalid(m) if m == "only one action can be specified"));
    assert!(matches!(&r.actions[1].kind, ActionKind::Invalid(_)));
    assert!(matches!(&r.actions[2].kind, ActionKind::Invalid(_)), "`hash:` with no value is no action");
    assert!(matches!(&r.actions[3].kind, ActionKind::Log { .. }));
    assert_eq!(d.len(), 3, "{:?}", messages(&d));
    for diag in &d {
        assert_eq!(diag.code, codes::INVALID_ACTION);
        assert_eq!(diag.message, "only one action can be specified");
        assert_eq!(diag.rule_id.as_deref(), Some("bad_actions"));
        assert!(diag.is_error());
    }
    // The item with two actions points at it, and also at the second action key.
    assert_eq!(d.iter().map(|d| d.line_col().unwrap()).collect::<Vec<_>>(), [(59, 9), (60, 9), (65, 9)]);
    assert_eq!(pos(&source, d[1].labels[1].span), (63, 9));
    assert_eq!(&source.text[d[2].labels[0].span.range()], "hash:");
}

#[test]
fn lenient_decoding() {
    let p = parse_ok(
        "version: 1.2\nunknown_top: [1, 2]\nrules:\n  - id: r\n    expression: exec.file.name == \"x\"\n    \
         tags: {reviewed: true, score: 3, empty: }\n    whatever: {nested: [1]}\n    disabled: false\n    \
         priority: 0x10\n    group_id: grp_1\n    limiter_token: [process.file.path]\n    product_tags: [a, 1]\n",
    );
    assert_eq!(p.version.as_deref(), Some("1.2"));
    let r = &p.rules[0];
    assert_eq!(r.tags.get("reviewed").map(String::as_str), Some("true"));
    assert_eq!(r.tags.get("score").map(String::as_str), Some("3"));
    assert_eq!(r.tags.get("empty").map(String::as_str), Some(""));
    assert_eq!(r.priority, Some(16));
    assert_eq!(r.group_id.as_ref().unwrap(), "grp_1");
    assert_eq!(r.limiter_token, vec!["process.file.path"]);
    assert_eq!(r.product_tags, vec!["a", "1"]);
    assert_eq!(p.name, "custom.policy");
}

#[test]
fn type_errors_exclude_only_their_definition() {
    let (p, d) = parse(
        "rules:\n  - id: good\n    expression: exec.file.name == \"x\"\n  - id: bad\n    expression: a\n    \
         disabled: maybe\n  - id: bad2\n    expression: a\n    tags: [x]\n",
    );
    let p = p.unwrap();
    assert_eq!(p.rules.len(), 1);
    assert_eq!(
        messages(&d),
        vec![
            "secl::yaml-error: invalid value for `disabled`: expected a boolean",
            "secl::yaml-error: invalid value for `tags`: expected a mapping",
        ]
    );
    assert_eq!(d[0].rule_id.as_deref(), Some("bad"));
    assert_eq!(d[0].line_col(), Some((6, 15)));
    // The top level failing to decode fails the file, as in the reference.
    let (p, d) = parse("rules: not a list\n");
    assert!(p.is_none());
    assert_eq!(d[0].code, codes::YAML);
    assert_eq!(d[0].line_col(), Some((1, 8)));
}

#[test]
fn structural_checks() {
    let text = "macros:\n  - expression: '[1]'\n  - id: bad-macro\n    values: [a]\n  - id: both\n    \
                expression: '[1]'\n    values: [a]\n  - id: fim\n    expression: 'fim.write.file.path == \"/x\"'\n  \
                - id: ok_macro\n    values: [a]\nrules:\n  - expression: exec.file.name == \"x\"\n  - id: bad-id\n    \
                expression: a\n  - id: no_expr\n    description: nothing\n  - id: bad_group\n    group_id: a.b\n    \
                expression: a\n  - id: disabled_ok\n    disabled: true\n  - id: combine_ok\n    combine: override\n  \
                - id: ok\n    expression: exec.file.name == \"y\"\n";
    let (p, d) = parse(text);
    let p = p.unwrap();
    assert_eq!(p.macros.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["ok_macro"]);
    assert_eq!(p.rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["disabled_ok", "combine_ok", "ok"]);
    let got: Vec<(String, Option<String>, (usize, usize))> =
        d.iter().map(|d| (format!("{}: {}", d.code, d.message), d.rule_id.clone(), d.line_col().unwrap())).collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        got,
        vec![
            ("secl::missing-id: no ID defined for macro with expression `[1]`".into(), None, (2, 5)),
            ("secl::invalid-id: ID does not match pattern `^[A-Za-z0-9_]*$`".into(), s("bad-macro"), (3, 9)),
            ("secl::macro-definition: only one of 'expression' and 'values' can be defined".into(), s("both"), (6, 17)),
            (
                "secl::macro-definition: macro expression cannot contain 'fim.write.file.' event types".into(),
                s("fim"),
                (9, 18)
            ),
            ("secl::missing-id: no rule ID".into(), None, (13, 5)),
            ("secl::invalid-id: rule ID pattern error".into(), s("bad-id"), (14, 9)),
            ("secl::missing-expression: no rule expression".into(), s("no_expr"), (16, 9)),
            ("secl::invalid-id: rule ID pattern error".into(), s("bad_group"), (19, 15)),
        ]
    );
    assert!(d.iter().all(|d| d.is_error() && d.source.is_some()));
}

// --- locations -----------------------------------------------------------------------------

#[test]
fn spans_for_every_scalar_style() {
    let p = load_fixture("styles.policy");
    assert_texts_map_exactly(&p);
    let expr = |id: &str| rule(&p, id).expression.as_ref().unwrap();

    let t = expr("plain_style");
    assert_eq!(locate(t, "open.flags"), (3, 47, "open.flags".into()));
    assert_eq!(locate(t, "é\""), (3, 41, "é\"".into()));
    assert_eq!(pos(t.source(), t.span), (3, 17));

    let t = expr("single_quoted");
    assert_eq!(t.value, "exec.file.name == 'sh' && process.uid == 0");
    assert_eq!(locate(t, "'sh'"), (5, 36, "''sh''".into()));
    assert_eq!(locate(t, "process.uid"), (5, 46, "process.uid".into()));

    let t = expr("double_quoted");
    assert_eq!(t.value, "exec.file.path == \"/bin/ñ\\\\x\" && process.gid == 0");
    assert_eq!(locate(t, "\"/bin"), (7, 36, "\\\"/bin".into()));
    assert_eq!(locate(t, "process.gid"), (7, 55, "process.gid".into()));

    let t = expr("literal_block");
    // An error deep in the third line of a `|-` block.
    let at = t.value.find("== \"sshd\"").unwrap();
    let span = t.file_span(Span::new(at, at + 2));
    assert_eq!(pos(t.source(), span), (12, 40));
    assert_eq!(&t.source().text[span.range()], "==");
    assert_eq!(locate(t, "process.gid"), (12, 53, "process.gid".into()));
    assert_eq!(pos(t.source(), t.span), (9, 17), "the span starts at the block indicator");

    let t = expr("folded_block");
    assert_eq!(t.value, "open.file.path == \"/etc/ä\" && open.flags > 0\n");
    assert_eq!(locate(t, "ä"), (15, 31, "ä".into()));
    assert_eq!(locate(t, "\" &&"), (15, 32, "\"\n      &&".into()));
    assert_eq!(locate(t, "open.flags"), (16, 10, "open.flags".into()));

    let t = expr("plain_multiline");
    assert_eq!(t.value, "open.file.path == \"/x\" && process.pid > 1");
    assert_eq!(locate(t, "pid >"), (19, 18, "pid\n      >".into()));
    assert_eq!(locate(t, "> 1"), (20, 7, "> 1".into()));
}

#[test]
fn rule_and_action_spans() {
    let p = parse_policy(read_policy_file(&fixture("actions.policy")).unwrap(), false).0.unwrap();
    let r = rule(&p, "bad_actions");
    let src = &p.source;
    assert_eq!(pos(src, r.span), (56, 5));
    assert!(src.text[r.span.range()].starts_with("id: bad_actions"));
    assert!(src.text[r.span.range()].ends_with("level: info"));
    assert_eq!(pos(src, r.actions[3].span), (66, 9));
    assert_eq!(&src.text[r.actions[3].span.range()], "log:\n          level: info");
}

#[test]
fn crlf_line_endings() {
    let text = "rules:\r\n  - id: r\r\n    expression: |-\r\n      exec.file.name == \"a\"\r\n        && process.uid == 0\r\n  - id: s\r\n    expression: open.file.path == \"/x\"\r\n";
    let p = parse_ok(text);
    assert_texts_map_exactly(&p);
    assert_eq!(p.rules[0].expression.as_ref().unwrap().value, "exec.file.name == \"a\"\n  && process.uid == 0");
    assert_eq!(locate(p.rules[0].expression.as_ref().unwrap(), "process"), (5, 12, "process".into()));
    assert_eq!(locate(p.rules[1].expression.as_ref().unwrap(), "\"/x\""), (7, 35, "\"/x\"".into()));
}

#[test]
fn set_values_keep_their_yaml_type() {
    let p = parse_ok(
        "rules:\n  - id: r\n    expression: a\n    actions:\n      - set: {name: a, value: 1.5}\n      \
         - set: {name: b, value: [1, 2], default_value: []}\n      - set: {name: c, value: {k: v}}\n      \
         - set: {name: d, value: ~, field: x}\n      - set: {name: e, value: 'true', ttl: \"10\"}\n",
    );
    let sets: Vec<&SetAction> = p.rules[0]
        .actions
        .iter()
        .map(|a| match &a.kind {
            ActionKind::Set(s) => &**s,
            k => panic!("{k:?}"),
        })
        .collect();
    assert_eq!(sets[0].value, Some(YamlValue::Float(1.5)));
    assert_eq!(sets[1].value, Some(YamlValue::List(vec![YamlValue::Int(1), YamlValue::Int(2)])));
    assert_eq!(sets[1].default_value, Some(YamlValue::List(vec![])));
    assert_eq!(sets[2].value, Some(YamlValue::Map(vec![("k".into(), YamlValue::String("v".into()))])));
    assert_eq!(sets[3].value, None);
    assert_eq!(sets[4].value, Some(YamlValue::String("true".into())));
    assert!(matches!(&sets[4].ttl, Some(DurationValue::Text(t)) if t == "10"), "a quoted number is a string");
}

#[test]
fn one_long_line_is_not_quadratic() {
    // Positions are found per node; on a single 700 KB line that must not mean a scan of
    // the line per node.
    let rules: Vec<String> = (0..20_000).map(|i| format!("{{id: r{i}, expression: \"exec.pid == {i}\"}}")).collect();
    let text = format!("rules: [{}]\n", rules.join(", "));
    let p = parse_ok(&text);
    assert_eq!(p.rules.len(), 20_000);
    let last = p.rules.last().unwrap().expression.as_ref().unwrap();
    assert_eq!(&p.source.text[last.span.range()], "\"exec.pid == 19999\"");
}

// --- whole-file problems -------------------------------------------------------------------

#[test]
fn malformed_yaml() {
    let (p, d) = parse("rules:\n  - id: a\n    expression: [unclosed\n  - id: b\n");
    assert!(p.is_none());
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, codes::YAML);
    assert!(d[0].message.starts_with("invalid YAML:"), "{}", d[0].message);
    assert!(d[0].line_col().is_some());

    let (p, d) = parse("rules:\n  - id: a\n     expression: x: y\n");
    assert!(p.is_none());
    assert_eq!(d[0].line_col(), Some((3, 16)));
    assert_eq!(d[0].message, "invalid YAML: mapping values are not allowed in this context");

    let (_, d) = parse("- a\n- b\n");
    assert_eq!(d[0].code, codes::YAML);
    assert!(d[0].message.contains("must be a YAML mapping"));
    let (_, d) = parse("just a scalar");
    assert_eq!(d[0].code, codes::YAML);

    let (_, d) = parse("rules: []\nrules: []\n");
    assert_eq!(d[0].message, "mapping key `rules` already defined at line 1, column 1");
    assert_eq!(d[0].line_col(), Some((2, 1)));
}

#[test]
fn yaml_errors_point_at_the_offender() {
    // A misaligned key is reported at the key, not at the `:` where the scanner sees it.
    let (_, d) = parse("rules:\n  - id: r\n    expression: a\n   description: b\n");
    assert_eq!(d[0].code, codes::YAML);
    assert_eq!(d[0].line_col(), Some((4, 4)));
    // A misaligned `- ` is reported where it is.
    let (_, d) = parse("rules:\n  - id: r\n    expression: a\n   - b: c\n");
    assert_eq!(d[0].code, codes::YAML);
    assert_eq!(d[0].line_col(), Some((4, 4)));
    // A tab indenting a line is reported at the tab, not at the scalar above it.
    let (_, d) = parse("rules:\n  - id: r\n\texpression: a\n");
    assert_eq!(d[0].code, codes::YAML);
    assert_eq!(d[0].line_col(), Some((3, 1)));
    let (_, d) = parse("rules:\n  - id: r\n    expression: a\n  \t  description: b\n");
    assert_eq!(d[0].code, codes::YAML);
    assert_eq!(d[0].line_col(), Some((4, 3)));
}

#[test]
fn anchors_aliases_and_tags_are_refused() {
    let (p, d) = parse("macros:\n  - &m {id: a, values: [x]}\nrules:\n  - *m\n");
    assert!(p.is_none());
    assert_eq!(d[0].code, codes::YAML);
    assert_eq!(d[0].message, "YAML anchors and aliases are not supported in policy files");
    assert_eq!(d[0].line_col(), Some((2, 5)));
    let (_, d) = parse("rules: !!seq []\n");
    assert_eq!(d[0].message, "YAML tags are not supported in policy files");
    // The classic billion-laughs document is refused at its first anchor.
    let lol = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n";
    let (p, d) = parse(lol);
    assert!(p.is_none());
    assert_eq!(d[0].code, codes::YAML);
}

#[test]
fn deep_nesting_is_bounded() {
    // At the limit, block nesting plus the deepest flow nesting the scanner allows must
    // parse on a test thread's small stack (this is a debug build).
    let mut deep = String::from("rules:\n");
    for i in 0..MAX_LINE_INDENT / 2 - 1 {
        deep.push_str(&" ".repeat(2 * i));
        deep.push_str("- k:\n");
    }
    deep.push_str(&" ".repeat(MAX_LINE_INDENT - 2));
    deep.push_str(&"[".repeat(255));
    deep.push_str(&"]".repeat(255));
    deep.push('\n');
    let (_, d) = parse(&deep);
    assert!(d.iter().all(|d| d.code != codes::TOO_DEEP), "{:?}", messages(&d));

    // Deep values are decoded recursively too.
    let nested = format!(
        "rules:\n  - id: r\n    expression: a\n    actions:\n      - set:\n          name: v\n          value: {}1{}\n",
        "[".repeat(250),
        "]".repeat(250)
    );
    let p = parse_ok(&nested);
    let ActionKind::Set(s) = &p.rules[0].actions[0].kind else { panic!() };
    let mut depth = 0;
    let mut v = s.value.as_ref().unwrap();
    while let YamlValue::List(items) = v {
        depth += 1;
        v = &items[0];
    }
    assert_eq!((depth, v), (250, &YamlValue::Int(1)));

    let compact = format!("rules:\n{}x\n", "- ".repeat(MAX_LINE_INDENT / 2));
    let (_, d) = parse(&compact);
    assert!(d.iter().all(|d| d.code != codes::TOO_DEEP), "{:?}", messages(&d));

    let too_deep = format!("rules:\n{}x\n", "- ".repeat(200_000));
    let (p, d) = parse(&too_deep);
    assert!(p.is_none());
    assert_eq!(d[0].code, codes::TOO_DEEP);
    assert_eq!(d[0].line_col(), Some((2, 1)));

    // Flow nesting is refused at the first bracket past the scanner's 255 levels, with the
    // code block nesting gets.
    let flow = format!("rules: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let (p, d) = parse(&flow);
    assert!(p.is_none());
    assert_eq!(d[0].code, codes::TOO_DEEP);
    assert_eq!(d[0].line_col(), Some((1, 8 + 255)));
    let (_, d) = parse(&format!("rules: {}{}\n", "[".repeat(255), "]".repeat(255)));
    assert!(d.iter().all(|d| d.code != codes::TOO_DEEP), "{:?}", messages(&d));

    // What looks like nesting inside scalars is not: a block scalar's content (`!` runs are
    // not tags there, nor `- ` block entries), quoted scalars, long lines.
    let text = format!(
        "rules:\n  - id: r\n    expression: |-\n      {}exec.comm == \"x\"\n      {}\n    description: \"{}\"\n",
        "!".repeat(2000),
        "- ".repeat(400),
        "[".repeat(1000)
    );
    let (_, d) = parse(&text);
    assert!(d.iter().all(|d| d.code != codes::TOO_DEEP), "{:?}", messages(&d));
}

#[test]
fn node_count_is_bounded() {
    let many = format!("rules: [{}]\n", "1,".repeat(MAX_INDICATORS));
    let (p, d) = parse(&many);
    assert!(p.is_none());
    assert_eq!(d[0].code, codes::TOO_LARGE);
}

#[test]
fn empty_policies() {
    for text in ["", "# only a comment\n", "rules:\n", "rules: []\nmacros: []\n", "version: 1.0\n"] {
        let (p, d) = parse(text);
        assert!(p.is_none(), "{text:?}");
        assert_eq!(messages(&d), vec!["secl::empty-policy: the policy is empty"], "{text:?}");
    }
    // The default policy may be empty.
    let (p, d) = parse_policy(SourceFile::new("default.policy", ""), true);
    assert!(d.is_empty());
    assert!(p.unwrap().rules.is_empty());
    // A policy with only macros is not empty.
    assert_eq!(parse_ok("macros:\n  - id: m\n    values: [a]\n").macros.len(), 1);
}

// --- reading files -------------------------------------------------------------------------

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn non_utf8_file() {
    let path = temp_file("latin1.policy", b"rules:\n  - id: r\n    expression: open.file.path == \"/caf\xe9\"\n");
    let d = read_policy_file(&path).unwrap_err();
    assert_eq!(d.code, codes::INVALID_UTF8);
    assert_eq!(d.line_col(), Some((3, 40)));
    assert!(d.message.contains("latin1.policy"));
}

#[test]
fn bom_is_stripped() {
    let path = temp_file("bom.policy", b"\xef\xbb\xbfrules:\n  - id: r\n    expression: exec.file.name == \"x\"\n");
    let source = read_policy_file(&path).unwrap();
    assert!(source.text.starts_with("rules:"));
    let (p, d) = parse_policy(source, false);
    assert!(d.is_empty());
    assert_eq!(locate(p.unwrap().rules[0].expression.as_ref().unwrap(), "\"x\""), (3, 35, "\"x\"".into()));
    // A BOM left in the text by another reader is skipped too, and spans still count it.
    let (p, d) = parse("\u{feff}rules:\n  - id: r\n    expression: exec.file.name == \"x\"\n");
    assert!(d.is_empty(), "{:?}", messages(&d));
    let t = p.unwrap().rules[0].expression.clone().unwrap();
    assert_eq!(locate(&t, "\"x\""), (3, 35, "\"x\"".into()));
}

#[test]
fn oversized_file() {
    let mut big = b"rules: []\n".to_vec();
    big.resize(MAX_POLICY_SIZE + 1, b'#');
    let path = temp_file("big.policy", &big);
    assert_eq!(read_policy_file(&path).unwrap_err().code, codes::TOO_LARGE);
    let (p, d) = parse_policy(SourceFile::new("big.policy", String::from_utf8(big).unwrap()), false);
    assert!(p.is_none());
    assert_eq!(d[0].code, codes::TOO_LARGE);
}

#[test]
fn unreadable_paths() {
    let (p, d) = load_paths(&[PathBuf::from("/nonexistent/secl/x.policy"), fixture("actions.policy")]);
    assert_eq!(p.len(), 1, "the readable file still loads");
    let d: Vec<_> = d.into_iter().filter(|d| d.code == codes::UNREADABLE).collect();
    assert_eq!(d.len(), 1);
    assert!(d[0].message.contains("/nonexistent/secl/x.policy"));
}

#[test]
fn directory_order() {
    let files = policy_files_in(&fixture("dir")).unwrap();
    let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap().to_str().unwrap()).collect();
    assert_eq!(names, ["default.policy", "a_custom.policy", "b_custom.policy"]);
    let (p, d) = load_paths(&[fixture("dir")]);
    assert!(d.is_empty());
    assert_eq!(
        p.iter().map(|p| (p.name.as_str(), p.is_default)).collect::<Vec<_>>(),
        [("default.policy", true), ("a_custom.policy", false), ("b_custom.policy", false)]
    );
    // Explicit files load in the order given; a file named default.policy is the default.
    let (p, _) = load_paths(&[fixture("dir/b_custom.policy"), fixture("dir/default.policy")]);
    assert_eq!(
        p.iter().map(|p| (p.name.as_str(), p.is_default)).collect::<Vec<_>>(),
        [("b_custom.policy", false), ("default.policy", true)]
    );
    // The first of two custom definitions wins (SPEC §13.5.1).
    let (p, _) = load_paths(&[fixture("dir")]);
    let m = merge(&p, &mut |_| Acceptance::Accepted);
    assert_eq!(m.rule("r").unwrap().def.expression().unwrap(), "exec.file.name == \"default\"");
}

// --- merging -------------------------------------------------------------------------------

fn merged_fixture() -> Merged {
    let (p, d) = load_paths(&[fixture("merge")]);
    assert!(d.is_empty(), "{:?}", messages(&d));
    assert_eq!(p.len(), 3);
    merge(&p, &mut |_| Acceptance::Accepted)
}

fn values(m: &MergedMacro) -> Vec<&str> {
    m.def.values.iter().flatten().map(Text::as_str).collect()
}

#[test]
fn merge_disable_rules() {
    let m = merged_fixture();
    // A custom policy disables a default rule by repeating its ID.
    let r = m.rule("to_disable").unwrap();
    assert!(r.is_disabled());
    assert_eq!(r.def.expression().unwrap(), "exec.file.name == \"nc\"");
    assert_eq!(r.origin.policy, "default.policy");
    // ... and enables a rule the default policy ships disabled.
    assert!(!m.rule("disabled_default").unwrap().is_disabled());
    // A custom policy cannot disable another custom policy's rule.
    let r = m.rule("custom_rule").unwrap();
    assert!(!r.is_disabled());
    assert_eq!(r.def.expression().unwrap(), "exec.file.name == \"e\"");
}

#[test]
fn merge_duplicates_warn_with_both_locations() {
    let m = merged_fixture();
    let dups: Vec<&Diagnostic> = m.diagnostics.iter().filter(|d| d.code == codes::DUPLICATE_ID).collect();
    let got: Vec<(String, String, (usize, usize))> =
        dups.iter().map(|d| (d.message.clone(), d.labels[0].text.clone(), d.line_col().unwrap())).collect();
    let dir = fixture("merge");
    let at = |f: &str, l: usize| format!("{}:{l}:", dir.join(f).display());
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got[0].0.starts_with("macro `editors` is already defined at ") && got[0].0.contains(&at("default.policy", 6))
    );
    assert_eq!(got[0].2, (11, 9));
    assert!(got[1].0.contains(&at("a_custom.policy", 43)), "{}", got[1].0);
    assert_eq!(got[1].1, "this `disabled: true` has no effect");
    assert_eq!(got[1].2, (2, 9));
    assert_eq!(got[2].1, "this definition is ignored");
    assert_eq!(got[2].2, (4, 9));
    assert!(dups.iter().all(|d| d.severity == Severity::Warning && d.source.is_some()));
    // Disabling an already disabled rule again says nothing.
    assert!(dups.iter().all(|d| d.rule_id.as_deref() != Some("to_disable")));
}

#[test]
fn merge_overrides() {
    let m = merged_fixture();
    // No fields: only the attribution moves; the expression is never replaced.
    let r = m.rule("over_none").unwrap();
    assert_eq!(r.def.expression().unwrap(), "exec.file.name == \"a\"");
    assert_eq!(r.policy.policy, "a_custom.policy");
    assert_eq!(r.origin.policy, "default.policy");
    // `all` copies every key but the expression when the base is a default rule.
    let r = m.rule("over_all").unwrap();
    assert_eq!(r.def.expression().unwrap(), "exec.file.name == \"b\"");
    assert_eq!(r.def.description.as_ref().unwrap(), "custom description");
    assert!(r.def.silent);
    assert!(r.def.tags.is_empty());
    assert_eq!(r.policy.policy, "default.policy");
    // ... and nothing when the base is a custom rule.
    let r = m.rule("custom_rule").unwrap();
    assert_eq!(r.def.description.as_ref().unwrap(), "first custom");
    // Field by field.
    let r = m.rule("over_fields").unwrap();
    assert_eq!(r.def.expression().unwrap(), "exec.file.name == \"c\"");
    let levels: Vec<&str> = r
        .def
        .actions
        .iter()
        .map(|a| match &a.kind {
            ActionKind::Log { level, .. } => level.as_ref().unwrap().as_str(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(levels, ["info", "error"], "actions already present are not added again");
    assert_eq!(r.def.actions[1].filter, None);
    assert!(r.def.actions[1].kind != r.def.actions[0].kind);
    assert!(matches!(&r.def.every, Some(DurationValue::Text(t)) if t == "5s"));
    let tags: Vec<(&str, &str)> = r.def.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(tags, [("a", "1"), ("b", "3"), ("c", "4")]);
    assert_eq!(r.def.product_tags, ["policy:y"]);
    assert_eq!(r.contributors.len(), 1);
    assert_eq!(r.contributors[0].policy, "a_custom.policy");
    // Ignored override expressions are pointed out.
    let ignored: Vec<_> = m.diagnostics.iter().filter(|d| d.code == codes::REFERENCE_INCOMPATIBLE).collect();
    assert_eq!(ignored.iter().map(|d| d.rule_id.as_deref().unwrap()).collect::<Vec<_>>(), ["over_none", "over_all"]);
}

#[test]
fn merge_macros() {
    let m = merged_fixture();
    assert_eq!(values(m.macro_def("shells").unwrap()), ["bash", "sh", "zsh"]);
    assert_eq!(values(m.macro_def("editors").unwrap()), ["nano"], "override replaces, the plain repeat is ignored");
    let w = m.macro_def("write_flags").unwrap();
    assert_eq!(w.def.expression().unwrap(), "O_WRONLY | O_RDWR");
    let errs: Vec<_> = m.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert_eq!(
        messages(&errs.iter().map(|d| (*d).clone()).collect::<Vec<_>>()),
        ["secl::cannot-merge: cannot merge expression"]
    );
    assert_eq!(errs[0].rule_id.as_deref(), Some("write_flags"));
    assert_eq!(errs[0].line_col(), Some((8, 9)));
    assert_eq!(m.macros.len(), 3);
    assert_eq!(m.rules.len(), 6);
}

#[test]
fn merge_cannot_merge_into_values_from_expression() {
    let a = parse_ok("macros:\n  - id: m\n    values: [a]\n");
    let b = parse_ok("macros:\n  - id: m\n    expression: '[\"b\"]'\n    combine: merge\n");
    let m = merge(&[a, b], &mut |_| Acceptance::Accepted);
    assert_eq!(m.diagnostics[0].code, codes::CANNOT_MERGE);
    assert_eq!(m.diagnostics[0].line_col(), Some((3, 17)));
    assert_eq!(values(&m.macros[0]), ["a"]);
}

#[test]
fn merge_filtered_and_errored_definitions() {
    let text = "macros:\n  - id: m\n    values: [a]\n    filters: ['os == \"windows\"']\nrules:\n  - id: r\n    \
                expression: exec.file.name == \"old\"\n    agent_version: '< 7.71'\n  - id: r\n    \
                expression: exec.file.name == \"new\"\n    agent_version: '>= 7.71'\n  - id: broken\n    \
                expression: x\n    filters: ['(']\n";
    let p = parse_ok(text);
    let mut seen = Vec::new();
    let m = merge(std::slice::from_ref(&p), &mut |d| {
        seen.push((d.kind(), d.id().to_string()));
        if !d.filters().is_empty() && d.filters()[0] == "(" {
            return Acceptance::Error(Diagnostic::error(codes::INVALID_FILTER, "bad filter").with_rule_id(d.id()));
        }
        if d.filters().iter().any(|f| f.as_str().contains("windows")) {
            return Acceptance::Filtered { reason: "agent rule filtered".into() };
        }
        match d.agent_version() {
            Some(v) if v == "< 7.71" => Acceptance::Filtered { reason: "agent version incompatible".into() },
            _ => Acceptance::Accepted,
        }
    });
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0], (DefKind::Macro, "m".to_string()));
    assert!(m.macros.is_empty());
    assert_eq!(m.rules.len(), 1);
    assert_eq!(m.rule("r").unwrap().def.expression().unwrap(), "exec.file.name == \"new\"");
    assert_eq!(m.filtered.len(), 2);
    assert_eq!(
        (m.filtered[1].kind, m.filtered[1].id.as_str(), m.filtered[1].reason.as_str()),
        (DefKind::Rule, "r", "agent version incompatible")
    );
    assert_eq!(pos(&m.filtered[1].source, m.filtered[1].span), (6, 5));
    assert_eq!(m.filtered[0].policy, "custom.policy");
    assert_eq!(messages(&m.diagnostics), ["secl::invalid-filter: bad filter"]);
}

#[test]
fn merge_rule_without_any_expression() {
    let a = parse_ok("rules:\n  - id: r\n    combine: override\n    description: no base\n");
    let m = merge(&[a], &mut |_| Acceptance::Accepted);
    assert!(m.rules.is_empty());
    assert_eq!(
        messages(&m.diagnostics),
        ["secl::missing-expression: rule `r` only exists as an override; it is not loaded"]
    );
    assert_eq!(m.diagnostics[0].severity, Severity::Warning);
    // Disabled first, enabled later: the enabling definition provides the body.
    let a = parse_ok("rules:\n  - id: r\n    disabled: true\n");
    let b = parse_ok("rules:\n  - id: r\n    expression: exec.file.name == \"x\"\n");
    let m = merge(&[a, b], &mut |_| Acceptance::Accepted);
    assert!(m.diagnostics.is_empty());
    let r = m.rule("r").unwrap();
    assert!(!r.is_disabled());
    assert_eq!(r.def.expression().unwrap(), "exec.file.name == \"x\"");
}

#[test]
fn texts_compare_by_value_and_know_their_file() {
    let a = parse_ok("rules:\n  - id: r\n    expression: x\n");
    let b = parse_policy(SourceFile::new("other.policy", "rules:\n- {id: r, expression: \"x\"}\n"), false).0.unwrap();
    let (ea, eb) = (a.rules[0].expression.as_ref().unwrap(), b.rules[0].expression.as_ref().unwrap());
    assert_eq!(ea, eb);
    assert_ne!(ea.span, eb.span);
    assert_eq!(eb.source().name, "other.policy");
    assert!(Arc::ptr_eq(ea.source(), &a.source));
    assert_eq!(pos(eb.source(), eb.span), (2, 23));
}

// --- robustness ----------------------------------------------------------------------------

fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("rules:\n".to_string()),
        Just("macros:\n".to_string()),
        Just("  - id: r\n".to_string()),
        Just("    expression: ".to_string()),
        Just("    actions:\n      - set:\n          name: x\n".to_string()),
        Just("|-\n".to_string()),
        Just(">\n".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("&a ".to_string()),
        Just("*a ".to_string()),
        Just("!t ".to_string()),
        Just("#".to_string()),
        Just("\r\n".to_string()),
        Just("\t".to_string()),
        Just("é".to_string()),
        Just("---\n".to_string()),
        Just("? ".to_string()),
        "[a-z0-9 .=\"]{0,12}",
        "[ \n]{0,6}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn exercise(text: String) {
    let source = SourceFile::new("fuzz.policy", text);
    let (p, diags) = parse_policy(source.clone(), false);
    for d in &diags {
        for l in &d.labels {
            assert!(l.span.start <= l.span.end && l.span.end as usize <= source.text.len());
            assert!(source.text.is_char_boundary(l.span.start as usize));
            assert!(source.text.is_char_boundary(l.span.end as usize));
        }
    }
    if let Some(p) = p {
        for t in all_texts(&p) {
            let s = t.file_span(Span::new(0, t.value.len()));
            assert!(s.end as usize <= source.text.len());
            assert!(source.text.is_char_boundary(s.start as usize) || !t.map.is_exact());
        }
        let _ = merge(&[p.clone(), p], &mut |_| Acceptance::Accepted);
    }
}

/// A value and one way of writing it as the `expression:` of a rule, in a random style.
fn styled_scalar() -> impl Strategy<Value = (String, String)> {
    let word = "[a-zé][a-z0-9_.=\"'\\\\é&|()<>~*!]{0,7}";
    (prop::collection::vec((word, any::<bool>(), any::<bool>()), 1..12), 0..5u8).prop_map(|(words, style)| {
        let indent = "\n      ";
        let mut value = String::new();
        let mut yaml = String::new();
        for (i, (w, brk, alt)) in words.iter().enumerate() {
            let sep_value = if style == 3 && *brk { "\n" } else { " " };
            if i > 0 {
                value.push_str(sep_value);
            }
            value.push_str(w);
            let w = match style {
                1 => w.replace('\'', "''"),
                2 => w.replace('\\', "\\\\").replace('"', "\\\""),
                _ => w.clone(),
            };
            if i > 0 {
                yaml.push_str(match (style, *brk, *alt) {
                    (3, true, _) => indent,
                    (3, false, _) => " ",
                    (2, true, true) => " \\\n      ",
                    (_, true, _) => indent,
                    _ => " ",
                });
            }
            yaml.push_str(&w);
        }
        let yaml = match style {
            0 => yaml,
            1 => format!("'{yaml}'"),
            2 => format!("\"{yaml}\""),
            3 => format!("|-{indent}{yaml}"),
            _ => format!(">-{indent}{yaml}"),
        };
        (value, yaml)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn spans_map_back_for_any_scalar(case in styled_scalar()) {
        let (value, yaml) = case;
        let text = format!("rules:\n  - id: r\n    expression: {yaml}\n");
        let (p, d) = parse(&text);
        prop_assert!(d.is_empty(), "{:?} for {text}", messages(&d));
        let p = p.unwrap();
        prop_assert_eq!(&p.rules[0].expression.as_ref().unwrap().value, &value);
        assert_texts_map_exactly(&p);
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        exercise(String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn random_yamlish_text_never_panics(text in yamlish()) {
        exercise(text);
    }
}
