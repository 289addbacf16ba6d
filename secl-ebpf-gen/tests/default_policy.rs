//! Acceptance on Datadog's default policy at agent 7.70.0 (SPEC §15.1): the `datadog`
//! profile reproduces the agent's own approvers, and every bench event a rule matches
//! is sent by the kernel model, in both profiles.

mod common;

use secl_ebpf_gen::approvers::Mode;
use secl_ebpf_gen::simulator::{Simulator, simulate};
use secl_ebpf_gen::{Profile, analyze, compile};
use secl_eval::ruleset::RuleSet;

#[test]
fn datadog_profile_equals_the_agent() {
    let Some(dir) = common::corpus() else { return };
    let loaded = common::default_policy(&dir);
    let a = analyze(&loaded.rules, Profile::Datadog);
    for (t, f) in &a.event_types {
        if f.mode == Mode::NotHooked {
            continue;
        }
        let counts: Vec<String> = f.approvers.iter().map(|(k, v)| format!("{k}={}", v.len())).collect();
        let culprits: Vec<&str> = f.culprits.iter().map(|c| c.rule.as_str()).collect();
        eprintln!("{t}: {} {:?} culprits {:?}", f.mode.name(), counts, culprits);
    }
    let et = |t: &str| &a.event_types[t];
    let count = |t: &str, field: &str| et(t).approvers_of(field).map_or(0, <[_]>::len);
    assert_eq!(et("open").mode, Mode::Approve);
    assert_eq!(count("open", "open.file.path"), 88);
    assert_eq!(count("open", "open.file.name"), 20);
    assert_eq!(count("open", "open.flags"), 5);
    assert_eq!(et("open").approvers.len(), 3, "open is approved by path, name and flags only");
    assert_eq!(et("bpf").mode, Mode::Approve);
    assert_eq!(count("bpf", "bpf.cmd"), 2);
    for t in ["chdir", "mmap", "setsockopt"] {
        assert_eq!(et(t).mode, Mode::Approve, "{t}");
        let n: usize = et(t).approvers.iter().map(|(_, v)| v.len()).sum();
        assert_eq!(n, 1, "{t}");
    }
    for t in ["chmod", "chown", "link", "rename", "unlink", "utimes"] {
        assert_eq!(et(t).mode, Mode::AcceptAll, "{t}");
        // The agent reports the first rule without approvers; we list them all, in order.
        let first = &et(t).culprits.first().expect("a culprit").rule;
        assert!(
            first.starts_with("cron_at_job_creation_") || first.starts_with("credential_modified_"),
            "{t}: unexpected first culprit {first}"
        );
    }
    assert_eq!(et("connect").mode, Mode::AcceptAll);
    let connect: Vec<&str> = et("connect").culprits.iter().map(|c| c.rule.as_str()).collect();
    assert_eq!(connect, ["github_api_contacted"]);
}

#[test]
fn bench_events_are_never_missed() {
    let Some(dir) = common::corpus() else { return };
    let events = common::bench_events(&dir);
    for profile in [Profile::Datadog, Profile::Secl] {
        let loaded = common::default_policy(&dir);
        let plan = compile(&loaded.rules, profile);
        let sim = Simulator::new(&plan);
        let rs = RuleSet::new(loaded);
        for discarders in [false, true] {
            let s = simulate(&sim, &rs, &events, discarders);
            eprintln!("{profile} discarders={discarders}: {s:?} drop share {:.1}%", 100.0 * s.drop_share());
            assert_eq!(s.missed_matches, 0, "{profile}: {s:?}");
            assert!(s.matched > 0);
        }
    }
}
