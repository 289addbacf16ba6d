//! What parsed events cost: heap bytes and allocations per event kept in memory, and a
//! parse-and-drop loop to run under `valgrind --tool=callgrind` for instructions per event.
//!
//! ```sh
//! cargo run --release -p secl-eval --example json_event_footprint -- mem ../shared/corpus/bench-events.jsonl
//! # instructions per event: (count for 10 rounds - count for 5 rounds) / (5 * events)
//! valgrind --tool=callgrind target/release/examples/json_event_footprint parse EVENTS.jsonl 5
//! valgrind --tool=callgrind target/release/examples/json_event_footprint parse EVENTS.jsonl 10
//! ```

use secl_eval::event::Event;
use secl_eval::json_event::JsonEvent;
use secl_eval::model::Schema;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: json_event_footprint mem|parse EVENTS.jsonl [ROUNDS]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let parse = |l: &str| JsonEvent::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
    match mode.as_str() {
        "mem" => {
            // The tables are built by the first event.
            drop(parse(lines[0]));
            let n = lines.len() as f64;
            let region = Region::new(GLOBAL);
            let events: Vec<JsonEvent> = lines.iter().map(|l| parse(l)).collect();
            let s = region.change();
            let vec_bytes = (events.capacity() * size_of::<JsonEvent>()) as f64;
            let net = s.bytes_allocated as f64 - s.bytes_deallocated as f64 - vec_bytes;
            println!(
                "{} events kept: {:.0} heap bytes and {:.1} allocations per event, + {} bytes of JsonEvent",
                events.len(),
                net / n,
                (s.allocations - 1) as f64 / n,
                size_of::<JsonEvent>()
            );
            let region = Region::new(GLOBAL);
            for e in &events {
                for f in Schema::linux().fields() {
                    std::hint::black_box(e.field(f.id));
                }
            }
            let s = region.change();
            let net = s.bytes_allocated as f64 - s.bytes_deallocated as f64;
            println!("every field read once: + {:.0} bytes per event (lazily derived fields)", net / n);
            drop(events);
            for l in &lines {
                drop(parse(l));
            }
            let region = Region::new(GLOBAL);
            for l in &lines {
                drop(std::hint::black_box(parse(l)));
            }
            let s = region.change();
            println!("parse and drop, warm: {:.2} allocations per event", s.allocations as f64 / n);
        }
        "parse" => {
            let rounds: usize = args.get(3).and_then(|r| r.parse().ok()).unwrap_or(1);
            let mut bytes = 0;
            for _ in 0..rounds {
                for l in &lines {
                    bytes += parse(l).event_type().len();
                }
            }
            println!("{} events parsed ({bytes})", rounds * lines.len());
        }
        _ => {
            eprintln!("unknown mode `{mode}`");
            std::process::exit(2);
        }
    }
}
