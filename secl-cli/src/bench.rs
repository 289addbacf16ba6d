//! `secl bench`: single-threaded throughput of a policy on a recorded event stream.

use crate::{EXIT_OK, EXIT_UNREADABLE};
use secl::eval::ruleset::RuleSet;
use std::time::{Duration, Instant};

pub const HELP: &str = "\
secl bench --policy PATH --events FILE.jsonl [--seconds N] [--passes N]

Loads the policy once, parses the events once, then evaluates the stream repeatedly on
one thread for N seconds (default 3), or for exactly N passes with --passes, and prints
events/s, ns/event and matches per pass. --profile also lists, per event type, the rules,
how many have a guard, and the most expensive predicates.
Host flags (--agent-version, --kernel-version, --os) as in `secl check`.";

pub fn run(raw: &[String]) -> i32 {
    let (args, host) = match crate::host::command(raw, &["policy", "events", "seconds", "passes"], &["profile"], HELP) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (Some(policy), Some(events)) = (args.value("policy"), args.value("events")) else {
        return crate::usage("--policy and --events are required", HELP);
    };
    let seconds: f64 = match args.value("seconds").unwrap_or("3").parse() {
        Ok(s) if s > 0.0 => s,
        _ => return crate::usage("--seconds takes a positive number", HELP),
    };
    let loaded = match crate::policy::load_policy(&[policy.to_owned()], &host) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let events = match crate::events::read_all(events) {
        Ok(e) if !e.is_empty() => e,
        Ok(_) => {
            eprintln!("error: no events");
            return EXIT_UNREADABLE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let rs = RuleSet::new(loaded);
    if args.has("profile") {
        for (t, n, g, p, unguarded) in rs.bucket_stats() {
            println!("{t}: {n} rules, {g} guarded, {p} predicates; unguarded: {}", unguarded.join(" "));
            // Guarded rules by the fields their guards scan.
            let mut by_fields: Vec<(String, Vec<&str>)> = Vec::new();
            for (id, fields) in rs.guard_fields(t) {
                let Some(fields) = fields else { continue };
                let key = fields.join(" | ");
                match by_fields.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, ids)) => ids.push(id),
                    None => by_fields.push((key, vec![id])),
                }
            }
            for (fields, ids) in by_fields {
                println!("    guard {fields}: {}", ids.join(" "));
            }
        }
        println!("guard lookups, timed hot (ns per event of their type; costliest over the stream first):");
        for (t, f, n, rules, ns) in rs.guard_costs(&events).iter().take(60) {
            println!("{ns:>8.1} ns  {t:<8} {f} ({n} entries, {rules} rules)");
        }
        println!("predicates, timed hot (ns per test, tests over the stream, held; costliest over the stream first):");
        for c in rs.predicate_costs(&events).iter().take(40) {
            println!(
                "{:>8.1} ns  {:>6} tests {:>6} held  {:<8} {}",
                c.nanos_per_test, c.evaluated, c.held, c.event_type, c.predicate
            );
        }
    }
    let mut st = rs.new_state();
    let mut matches_per_pass = 0usize;
    for ev in &events {
        matches_per_pass += rs.evaluate(ev, &mut st).matched.len();
    }
    // A fixed number of passes (instead of a time budget) gives repeatable instruction
    // counts under `valgrind --tool=callgrind`.
    let passes: Option<u64> = args.value("passes").and_then(|p| p.parse().ok());
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut evaluated = 0u64;
    while passes.map_or(start.elapsed() < budget, |p| evaluated < p * events.len() as u64) {
        for ev in &events {
            std::hint::black_box(rs.evaluate(ev, &mut st).matched.len());
        }
        evaluated += events.len() as u64;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rate = evaluated as f64 / elapsed;
    println!("{} events/s", rate.round() as u64);
    println!("{:.1} ns/event", 1e9 / rate);
    println!("{matches_per_pass} matches per pass of {} events ({} rules loaded)", events.len(), rs.rules().len());
    EXIT_OK
}
