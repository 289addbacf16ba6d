//! Criterion benchmarks of the front end and the rule engine.
//!
//! `cargo bench --bench engine`. The default-policy benches read `../shared/corpus` where
//! present and are skipped (with a message) otherwise; the synthetic ones always run.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use secl::eval::json_event::JsonEvent;
use secl::eval::load::{Host, load};
use secl::eval::ruleset::RuleSet;
use secl::eval::value::semver::Version;
use secl::syntax::SourceFile;
use secl::syntax::policy::parse_policy;
use std::hint::black_box;
use std::path::Path;

fn host() -> Host {
    Host { agent_version: Version::parse("7.70.0").unwrap(), kernel: (6, 8, 0), ..Host::default() }
}

fn ruleset(text: &str) -> RuleSet {
    let (policy, diags) = parse_policy(SourceFile::new("bench.policy", text), true);
    assert!(diags.iter().all(|d| !d.is_error()), "{diags:?}");
    let loaded = load(&[policy.expect("policy")], &host());
    assert_eq!(loaded.errors().count(), 0, "{:?}", loaded.diagnostics);
    RuleSet::new(loaded)
}

fn shared(name: &str) -> Option<String> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus").join(name);
    let text = std::fs::read_to_string(&p).ok();
    if text.is_none() {
        eprintln!("skipping: {} is not present", p.display());
    }
    text
}

fn default_policy(c: &mut Criterion) {
    let (Some(policy), Some(events)) = (shared("datadog-default-1.69.3.policy"), shared("bench-events.jsonl")) else {
        return;
    };
    c.bench_function("check/default_policy_parse_typecheck_load", |b| {
        b.iter(|| {
            let (p, _) = parse_policy(SourceFile::new("default.policy", policy.as_str()), true);
            black_box(load(&[p.unwrap()], &host()).rules.len())
        })
    });
    let rs = ruleset(&policy);
    let events: Vec<JsonEvent> = events.lines().map(|l| JsonEvent::from_str(l).unwrap()).collect();
    let mut g = c.benchmark_group("eval");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("default_policy_bench_mix", |b| {
        let mut st = rs.new_state();
        b.iter(|| {
            for ev in &events {
                black_box(rs.evaluate(ev, &mut st).matched.len());
            }
        })
    });
    g.finish();
    let text = shared("bench-events.jsonl").unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("default_policy_parse_and_eval", |b| {
        let mut st = rs.new_state();
        b.iter(|| {
            for l in &lines {
                let ev = JsonEvent::from_str(l).unwrap();
                black_box(rs.evaluate(&ev, &mut st).matched.len());
            }
        })
    });
    g.finish();
}

fn exec_event(extra: &str) -> JsonEvent {
    JsonEvent::from_str(&format!(
        r#"{{"type":"exec","values":{{"exec.file.path":"/usr/bin/ls","process.uid":1,"exec.argv":["-l"]{extra}}}}}"#
    ))
    .unwrap()
}

fn single_rule(c: &mut Criterion, name: &str, expression: &str, ev: &JsonEvent) {
    let rs = ruleset(&format!("rules:\n  - id: r\n    expression: '{}'\n", expression.replace('\'', "''")));
    let mut st = rs.new_state();
    c.bench_function(name, |b| b.iter(|| black_box(rs.evaluate(ev, &mut st).matched.len())));
}

fn synthetic(c: &mut Criterion) {
    let and100 = vec![r#"(process.file.path == "/usr/bin/ls" && process.uid == 1)"#; 100].join(" && ");
    let ev = exec_event("");
    single_rule(c, "rule/and_100", &format!("exec.file.path != \"\" && {and100}"), &ev);

    let patterns: Vec<String> = (0..255).map(|i| format!("~\"/opt/app{i}/*\"")).collect();
    let strings: Vec<String> = (0..255).map(|i| format!("\"/usr/local/bin/tool{i}\"")).collect();
    let in_list = format!("exec.file.path in [{}, {}]", patterns.join(", "), strings.join(", "));
    single_rule(c, "rule/in_255_patterns_255_strings_miss", &in_list, &exec_event(""));
    let hit = JsonEvent::from_str(r#"{"type":"exec","values":{"exec.file.path":"/opt/app200/bin/x"}}"#).unwrap();
    single_rule(c, "rule/in_255_patterns_255_strings_hit", &in_list, &hit);

    let regex = r##"exec.comm in [r"^\[kworker/\d+:\d+\]$"] && exec.file.path != """##;
    let kw =
        JsonEvent::from_str(r#"{"type":"exec","values":{"exec.file.path":"/x","exec.comm":"[kworker/0:1]"}}"#).unwrap();
    single_rule(c, "rule/regex", regex, &kw);

    let reg = r#"process.ancestors[A].file.name == "cron" && process.ancestors[A].uid == 0 && exec.file.name == "sh""#;
    let anc = JsonEvent::from_str(
        r#"{"type":"exec","values":{"exec.file.path":"/bin/sh","process.ancestors.file.name":["bash","sshd","a","b","c","d","e","f","cron","systemd"],"process.ancestors.uid":[1000,0,0,0,0,0,0,0,0,0]}}"#,
    )
    .unwrap();
    single_rule(c, "rule/ancestors_register", reg, &anc);
}

criterion_group!(benches, default_policy, synthetic);
criterion_main!(benches);
