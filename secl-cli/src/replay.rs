//! `secl replay`: a recorded event stream through one stateful rule set.

use crate::actions::action_json;
use crate::events::{Batch, Item, LineReader, line_text};
use crate::{EXIT_OK, EXIT_UNREADABLE};
use secl::eval::ruleset::{EvalState, RuleSet};
use serde_json::Value;
use std::io::{BufWriter, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::time::Instant;

pub const HELP: &str = "\
secl replay --policy PATH [host flags] EVENTS.jsonl|-

Streams recorded events (JSON lines, `-` for stdin), in order, through one stateful rule
set: `set` actions persist from one event to the next, process-scoped variables are keyed
by `process.pid` (and dropped at the process's `exit` event), container- and
cgroup-scoped ones by the container and cgroup ids, and TTLs are measured on the events'
`timestamp`s (the wall clock for events without one).

Prints one JSON line per rule match:
  {\"rule_id\", \"event_index\" (0-based), \"actions\", \"event\"}
then a summary line {\"summary\": {\"events\", \"matches\", …}}. Output is flushed whenever
the input has no more data waiting, so a pipe sees matches as they happen. With two CPUs
or more, lines are read and parsed on other threads while the events are evaluated, in
input order, on the main one.

Options:
  --policy PATH      policy file or directory (required)
  --quiet            print the summary line only
  --agent-version V, --kernel-version X.Y.Z, --os linux|windows   as in `secl check`

Exit status: 0 done, 2 unreadable policy or input, or an invalid event line (reported on
stderr; the stream goes on), 3 usage error.";

pub fn run(raw: &[String]) -> i32 {
    let (args, host) = match crate::host::command(raw, &["policy"], &["quiet"], HELP) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let Some(policy) = args.value("policy") else { return crate::usage("--policy is required", HELP) };
    let input = match args.positionals.as_slice() {
        [one] => one.clone(),
        [] => return crate::usage("give the events file, or `-` for stdin", HELP),
        _ => return crate::usage("give one events file", HELP),
    };
    let loaded = match crate::policy::load_policy(&[policy.to_owned()], &host) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNREADABLE;
        }
    };
    let rs = RuleSet::new(loaded);
    let reader: Box<dyn Read + Send> = if input == "-" {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open(&input) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: {input}: {e}");
                return EXIT_UNREADABLE;
            }
        }
    };
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let quiet = args.has("quiet");
    let mut bad = |line: usize, e: &str| eprintln!("error: line {line}: {e}");
    match replay(&rs, reader, &mut out, quiet, &mut bad, Pipeline::for_this_machine()) {
        Ok(s) => {
            let summary = serde_json::json!({"summary": {
                "events": s.events,
                "matches": s.matches,
                "invalid_lines": s.invalid,
                "rules": rs.rules().len(),
                "seconds": (s.seconds * 1e6).round() / 1e6,
                "events_per_second": if s.seconds > 0.0 { (s.events as f64 / s.seconds).round() } else { 0.0 },
            }});
            let written = writeln!(out, "{summary}").and_then(|()| out.flush());
            if written.is_err() {
                // The reader went away (`| head`): not an error of ours.
                return EXIT_OK;
            }
            if s.invalid > 0 { EXIT_UNREADABLE } else { EXIT_OK }
        }
        // As above: whoever reads our output has stopped reading.
        Err(Stop::Closed) => EXIT_OK,
        Err(Stop::Failed(e)) => {
            let _ = out.flush();
            eprintln!("error: {e}");
            EXIT_UNREADABLE
        }
    }
}

pub struct Summary {
    pub events: u64,
    pub matches: u64,
    pub invalid: u64,
    pub seconds: f64,
}

/// Why a replay stopped before the end of its input.
#[derive(Debug)]
pub enum Stop {
    /// The output is closed (a broken pipe: `secl replay … | head`).
    Closed,
    /// A read or write error.
    Failed(String),
}

/// How [`replay`] spreads its work.
#[derive(Clone, Copy, Debug)]
pub struct Pipeline {
    /// Threads that parse lines into events while the calling thread evaluates them;
    /// 0: one thread reads, parses and evaluates.
    pub parsers: usize,
    /// How much one read asks for: a batch holds at most that (or one longer line).
    pub read_size: usize,
}

impl Pipeline {
    /// With one CPU, one thread does everything, event by event. With more, one thread
    /// reads, one parses and the caller evaluates (evaluation is sequential: the rule
    /// set's state goes from one event to the next). One parser keeps up with the
    /// evaluation (a second one made the replay slower on two cores).
    pub fn for_this_machine() -> Pipeline {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Pipeline { parsers: if cpus > 1 { 1 } else { 0 }, read_size: 256 << 10 }
    }
}

/// Batches that circulate per parser thread: one being read, one parsed, one evaluated.
/// They bound the memory a fast reader can take ahead of evaluation.
const BATCHES_PER_PARSER: usize = 3;

/// Evaluates every line of `input` in order on one state, writing a JSON line per match;
/// `bad` hears of each invalid line (1-based number, message). Output is flushed whenever
/// the evaluation would wait for input.
pub fn replay<R: Read + Send + 'static>(
    rs: &RuleSet,
    input: R,
    out: &mut impl Write,
    quiet: bool,
    bad: &mut dyn FnMut(usize, &str),
    pipeline: Pipeline,
) -> Result<Summary, Stop> {
    let start = Instant::now();
    let mut ev = Evaluator {
        rs,
        st: rs.new_state(),
        out,
        bad,
        quiet,
        ids: Vec::new(),
        text: String::new(),
        events: 0,
        matches: 0,
        invalid: 0,
        lines: 0,
    };
    let mut lines = LineReader::new(input, pipeline.read_size);
    if pipeline.parsers == 0 {
        // Each event is evaluated and dropped as soon as it is parsed, while it is in the
        // cache, and the next one reuses its buffers.
        let mut batch = Batch::default();
        while lines.next(&mut batch) {
            batch.parse_each(|text, item| ev.item(text, item))?;
            ev.end_batch(&batch)?;
            // The next read may wait for the writer.
            ev.flush()?;
        }
    } else {
        pipelined(&mut ev, lines, pipeline.parsers)?;
    }
    Ok(Summary { events: ev.events, matches: ev.matches, invalid: ev.invalid, seconds: start.elapsed().as_secs_f64() })
}

/// One thread reads batches of lines and deals them in turn to `parsers` threads; the
/// caller takes the parsed batches back in the same turn, so in input order, evaluates
/// them and sends each batch back to the reader for reuse. The events of a batch are
/// dropped by the parser that made them, when it parses the batch's next lines: a
/// `JsonEvent` gives its buffers back to the pool of the thread that drops it. Their lazy
/// fields, though, are computed here, by the evaluation: each event gives them back to
/// this thread's pool once evaluated ([`JsonEvent::recycle_lazy`]), for the next one.
///
/// [`JsonEvent::recycle_lazy`]: secl::eval::json_event::JsonEvent::recycle_lazy
///
/// The threads are not joined when the evaluation stops early (a closed output): the
/// reader may be waiting on a pipe.
fn pipelined<R: Read + Send + 'static>(
    ev: &mut Evaluator<'_, impl Write>,
    mut lines: LineReader<R>,
    parsers: usize,
) -> Result<(), Stop> {
    let spawn_error = |e: std::io::Error| Stop::Failed(format!("cannot start a thread: {e}"));
    // Per parser: empty batches (evaluator → reader), batches to parse (reader → parser),
    // parsed ones (parser → evaluator). BATCHES_PER_PARSER batches go round, so no send
    // waits for room.
    let mut free_tx: Vec<SyncSender<Batch>> = Vec::new();
    let mut free_rx: Vec<Receiver<Batch>> = Vec::new();
    let mut todo_tx: Vec<SyncSender<Batch>> = Vec::new();
    let mut done_rx: Vec<Receiver<Batch>> = Vec::new();
    let mut threads: Vec<std::thread::JoinHandle<()>> = Vec::new();
    for k in 0..parsers {
        let (tx, rx) = sync_channel(BATCHES_PER_PARSER);
        for _ in 0..BATCHES_PER_PARSER {
            let _ = tx.send(Batch::default());
        }
        free_tx.push(tx);
        free_rx.push(rx);
        let (todo, todo_rx) = sync_channel::<Batch>(BATCHES_PER_PARSER);
        let (done_tx, done) = sync_channel(BATCHES_PER_PARSER);
        todo_tx.push(todo);
        done_rx.push(done);
        let parser = std::thread::Builder::new().name(format!("secl-parse-{k}")).spawn(move || {
            for mut batch in todo_rx {
                batch.parse();
                if done_tx.send(batch).is_err() {
                    return;
                }
            }
        });
        threads.push(parser.map_err(spawn_error)?);
    }
    let reader = std::thread::Builder::new().name("secl-read".into()).spawn(move || {
        for k in (0..parsers).cycle() {
            let Ok(mut batch) = free_rx[k].recv() else { return };
            let more = lines.next(&mut batch);
            if !more || todo_tx[k].send(batch).is_err() {
                return;
            }
        }
    });
    let reader = reader.map_err(spawn_error)?;
    let mut last = 0;
    for k in (0..parsers).cycle() {
        last = k;
        let mut batch = match done_rx[k].try_recv() {
            Ok(batch) => batch,
            Err(TryRecvError::Empty) => {
                // Nothing parsed yet: the reader may be waiting for the writer.
                ev.flush()?;
                match done_rx[k].recv() {
                    Ok(batch) => batch,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        let mut items = std::mem::take(&mut batch.items);
        for item in &mut items {
            ev.item(batch.text(), item)?;
            if let Item::Event { event, .. } = item {
                event.recycle_lazy();
            }
        }
        batch.items = items;
        ev.end_batch(&batch)?;
        let _ = free_tx[k].send(batch);
    }
    // Parser `last` has ended: at the end of the input, once the reader has (then all
    // threads are ending), or by a panic, which goes on here.
    let join = |t: std::thread::JoinHandle<()>| {
        if let Err(panic) = t.join() {
            std::panic::resume_unwind(panic);
        }
    };
    join(threads.swap_remove(last));
    join(reader);
    threads.into_iter().for_each(join);
    Ok(())
}

/// The evaluating end of a replay: one rule-set state, the output and the counts.
struct Evaluator<'a, W: Write> {
    rs: &'a RuleSet,
    st: EvalState,
    out: &'a mut W,
    bad: &'a mut dyn FnMut(usize, &str),
    quiet: bool,
    ids: Vec<&'a str>,
    text: String,
    events: u64,
    matches: u64,
    invalid: u64,
    /// Lines of the input before the current batch.
    lines: usize,
}

impl<W: Write> Evaluator<'_, W> {
    /// Evaluates an event, or reports an invalid line; `text` is its batch's text.
    fn item(&mut self, text: &[u8], item: &Item) -> Result<(), Stop> {
        match item {
            Item::Event { line, event } => {
                self.event(event, || line_text(text, line.clone()))?;
                self.events += 1;
            }
            Item::Invalid { line, error } => {
                (self.bad)(self.lines + line + 1, error);
                self.invalid += 1;
            }
        }
        Ok(())
    }

    /// After the items of a batch: counts its lines, and ends with its read error, if any.
    fn end_batch(&mut self, batch: &Batch) -> Result<(), Stop> {
        self.lines += batch.lines;
        match &batch.error {
            Some(e) => Err(Stop::Failed(e.clone())),
            None => Ok(()),
        }
    }

    fn event<'l>(&mut self, event: &secl::eval::json_event::JsonEvent, line: impl Fn() -> &'l str) -> Result<(), Stop> {
        let rs = self.rs;
        let v = rs.evaluate(event, &mut self.st);
        if v.matched.is_empty() {
            return Ok(());
        }
        self.ids.clear();
        for r in v.matched {
            let id = &*rs.rule(*r).id;
            if !self.ids.contains(&id) {
                self.ids.push(id);
            }
        }
        self.matches += self.ids.len() as u64;
        if self.quiet {
            return Ok(());
        }
        for id in &self.ids {
            let actions: Vec<Value> = v
                .fired
                .iter()
                .filter(|f| &*rs.rule(f.rule).id == *id)
                .map(|f| action_json(rs, f.rule, f.action))
                .collect();
            let text = &mut self.text;
            text.clear();
            text.push_str("{\"rule_id\":");
            text.push_str(&Value::String((*id).to_owned()).to_string());
            text.push_str(",\"event_index\":");
            text.push_str(&self.events.to_string());
            text.push_str(",\"actions\":");
            text.push_str(&Value::Array(actions).to_string());
            text.push_str(",\"event\":");
            // The line parsed as one JSON object: it is embedded as it was recorded.
            text.push_str(line());
            text.push_str("}\n");
            self.out.write_all(text.as_bytes()).map_err(write_error)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Stop> {
        self.out.flush().map_err(write_error)
    }
}

fn write_error(e: std::io::Error) -> Stop {
    if e.kind() == std::io::ErrorKind::BrokenPipe { Stop::Closed } else { Stop::Failed(format!("write error: {e}")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secl::eval::json_event::JsonEvent;

    const MINER_POLICY: &str = "../examples/cryptominer/cryptominer.policy";
    const MINER_EVENTS: &str = "../examples/cryptominer/events/host.jsonl";

    fn rules(policy: &str, host: &secl::eval::load::Host) -> RuleSet {
        RuleSet::new(crate::policy::load_policy(&[policy.to_owned()], host).expect("the policy loads"))
    }

    fn miner_rules() -> RuleSet {
        rules(MINER_POLICY, &secl::eval::load::Host::default())
    }

    /// Every way to run a replay: one thread, then 1 to 3 parsers, with reads from one
    /// byte (a batch per line) to more than the input (one batch).
    fn pipelines() -> Vec<Pipeline> {
        let mut all = Vec::new();
        for parsers in 0..=3 {
            for read_size in [1, 2, 100, 1000, 4096, 1 << 20] {
                all.push(Pipeline { parsers, read_size });
            }
        }
        all
    }

    struct Run {
        out: String,
        bad: Vec<(usize, String)>,
        summary: Summary,
    }

    fn replay_bytes(rs: &RuleSet, input: &[u8], pipeline: Pipeline) -> Run {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        let summary = replay(
            rs,
            std::io::Cursor::new(input.to_vec()),
            &mut out,
            false,
            &mut |line, e| bad.push((line, e.to_owned())),
            pipeline,
        )
        .expect("the replay ends");
        Run { out: String::from_utf8(out).unwrap(), bad, summary }
    }

    /// `(event_index, rule_id)` of each output line.
    fn matches(out: &str) -> Vec<(u64, String)> {
        out.lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("a JSON line");
                (v["event_index"].as_u64().unwrap(), v["rule_id"].as_str().unwrap().to_owned())
            })
            .collect()
    }

    /// The same replay the simplest way: line by line, one state, no batches.
    fn reference(rs: &RuleSet, input: &str) -> Vec<(u64, String)> {
        let mut st = rs.new_state();
        let mut found = Vec::new();
        let events = input.lines().filter_map(|l| JsonEvent::from_str(l.trim()).ok());
        for (i, e) in events.enumerate() {
            let mut ids: Vec<String> = Vec::new();
            for r in rs.evaluate(&e, &mut st).matched {
                let id = rs.rule(*r).id.to_string();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            found.extend(ids.into_iter().map(|id| (i as u64, id)));
        }
        found
    }

    /// Stateful rules (`set` actions) see the events in input order whatever the batches
    /// and threads: every pipeline prints what the line-by-line reference finds, byte for
    /// byte the same output.
    #[test]
    fn batches_and_threads_keep_the_input_order() {
        let rs = miner_rules();
        // Three rounds of the scenario: the variables set in one round are read in the next.
        let input = std::fs::read_to_string(MINER_EVENTS).unwrap().repeat(3);
        let expected = reference(&rs, &input);
        assert!(expected.len() > 10 && expected.last().unwrap().0 > 100, "{expected:?}");
        let first = replay_bytes(&rs, input.as_bytes(), Pipeline { parsers: 0, read_size: 1 << 20 });
        assert_eq!(matches(&first.out), expected);
        assert_eq!(first.summary.events, 3 * 48);
        for pipeline in pipelines() {
            let run = replay_bytes(&rs, input.as_bytes(), pipeline);
            assert!(run.out == first.out, "{pipeline:?}: the output differs");
            assert_eq!(
                (run.summary.events, run.summary.matches, run.summary.invalid),
                (3 * 48, expected.len() as u64, 0)
            );
        }
    }

    /// The same with Datadog's default policy on recorded events (where the corpus is).
    #[test]
    fn the_default_policy_on_the_corpus_in_batches() {
        let policy = "../../shared/corpus/datadog-default-1.69.3.policy";
        let Ok(input) = std::fs::read_to_string("../../shared/corpus/bench-events.jsonl") else {
            eprintln!("skipped: ../shared/corpus is not here");
            return;
        };
        let host = secl::eval::load::Host {
            agent_version: secl::eval::value::semver::Version::parse("7.70.0").unwrap(),
            ..Default::default()
        };
        let rs = rules(policy, &host);
        let expected = reference(&rs, &input);
        assert!(!expected.is_empty());
        let first = replay_bytes(&rs, input.as_bytes(), Pipeline { parsers: 0, read_size: 1 << 20 });
        assert_eq!(matches(&first.out), expected);
        for pipeline in [
            Pipeline { parsers: 0, read_size: 3000 },
            Pipeline { parsers: 1, read_size: 3000 },
            Pipeline { parsers: 2, read_size: 64 << 10 },
        ] {
            assert!(replay_bytes(&rs, input.as_bytes(), pipeline).out == first.out, "{pipeline:?}");
        }
    }

    /// Blank and invalid lines inside a batch: the invalid ones are reported with their
    /// line numbers and counted, and are not events (the event indices skip them).
    #[test]
    fn invalid_lines_in_the_middle_of_a_batch() {
        let rs = miner_rules();
        let dns = r#"{"type":"dns","timestamp":1,"values":{"process.pid":7,"dns.question.name":"c3pool.com"}}"#;
        let connect = r#"{"type":"connect","timestamp":2,"values":{"process.pid":7,"connect.addr.port":8443}}"#;
        let mut input = Vec::new();
        for line in
            [dns.as_bytes(), b"{\"type\": ", b"", b"  \t", b"\xff\xfe not UTF-8", b"[1, 2]", connect.as_bytes(), b"  "]
        {
            input.extend_from_slice(line);
            input.push(b'\n');
        }
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(dns.as_bytes()); // the last line, without its newline
        let mut first: Option<Run> = None;
        for pipeline in pipelines() {
            let run = replay_bytes(&rs, &input, pipeline);
            let lines: Vec<usize> = run.bad.iter().map(|(l, _)| *l).collect();
            assert_eq!(lines, [2, 5, 6], "{pipeline:?}: {:?}", run.bad);
            assert_eq!(run.bad[1].1, "not UTF-8");
            assert_eq!((run.summary.events, run.summary.invalid), (3, 3), "{pipeline:?}");
            assert_eq!(
                matches(&run.out),
                [
                    (0, "crypto_domain_dns_query".into()),
                    (1, "mining_pool_connection".into()),
                    (2, "crypto_domain_dns_query".into())
                ],
                "{pipeline:?}"
            );
            match &first {
                None => first = Some(run),
                Some(first) => {
                    assert!(run.out == first.out && run.bad == first.bad, "{pipeline:?}");
                }
            }
        }
    }

    #[test]
    fn an_empty_input() {
        let rs = miner_rules();
        for input in ["", "\n", "\n  \n\r\n", "   "] {
            for pipeline in pipelines() {
                let run = replay_bytes(&rs, input.as_bytes(), pipeline);
                assert_eq!(run.out, "");
                assert!(run.bad.is_empty());
                assert_eq!((run.summary.events, run.summary.matches, run.summary.invalid), (0, 0, 0));
            }
        }
    }

    /// A reader that gives `data`, then fails.
    struct Failing(std::io::Cursor<Vec<u8>>);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::other("the disk is on fire")),
                n => Ok(n),
            }
        }
    }

    /// A read error ends the stream after the lines before it are evaluated; the
    /// incomplete line it cut is dropped.
    #[test]
    fn a_read_error_after_whole_lines() {
        let rs = miner_rules();
        let dns = r#"{"type":"dns","timestamp":1,"values":{"process.pid":7,"dns.question.name":"c3pool.com"}}"#;
        let input = format!("{dns}\n{dns}\n{{\"type\":");
        for pipeline in pipelines() {
            let mut out = Vec::new();
            let stop = replay(
                &rs,
                Failing(std::io::Cursor::new(input.clone().into_bytes())),
                &mut out,
                false,
                &mut |_, _| {},
                pipeline,
            );
            match stop {
                Err(Stop::Failed(e)) => assert_eq!(e, "read error: the disk is on fire"),
                other => panic!("{pipeline:?}: {:?}", other.map(|s| s.events)),
            }
            let out = String::from_utf8(out).unwrap();
            assert_eq!(
                matches(&out),
                [(0, "crypto_domain_dns_query".into()), (1, "crypto_domain_dns_query".into())],
                "{pipeline:?}"
            );
        }
    }

    /// Output that is closed after `room` bytes, as a pipe whose reader went away.
    struct Closing {
        room: usize,
    }

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if buf.len() > self.room {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.room -= buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_output_stops_the_replay() {
        let rs = miner_rules();
        let input = std::fs::read_to_string(MINER_EVENTS).unwrap().repeat(50);
        for pipeline in pipelines() {
            let stop = replay(
                &rs,
                std::io::Cursor::new(input.clone().into_bytes()),
                &mut Closing { room: 1000 },
                false,
                &mut |_, _| {},
                pipeline,
            );
            assert!(matches!(stop, Err(Stop::Closed)), "{pipeline:?}");
        }
    }

    /// Allocations made on this thread while `f` runs.
    fn allocations_of<R>(f: impl FnOnce() -> R) -> (u64, R) {
        let mut r = None;
        let info = allocation_counter::measure(|| r = Some(f()));
        (info.count_total, r.expect("ran"))
    }

    /// A pipelined replay computes the events' lazy fields (`exec.args`, …) on the
    /// evaluating thread and drops the events on the parsing one: the evaluating thread
    /// keeps the lazy fields' buffers for its next events, so it allocates no more than a
    /// replay on one thread, which parses the events too. (When the events took those
    /// buffers to the parser's pool, the evaluating thread made new ones for every exec
    /// event: 4 allocations or more each.)
    #[test]
    fn the_evaluating_thread_reuses_the_lazy_fields_buffers() {
        let rs = miner_rules();
        let input = std::fs::read_to_string(MINER_EVENTS).unwrap().repeat(100);
        let execs = input.lines().filter(|l| serde_json::from_str::<Value>(l).unwrap()["type"] == "exec").count();
        assert_eq!(execs, 1500);
        let allocations = |parsers: usize| {
            let pipeline = Pipeline { parsers, read_size: 4096 };
            let (allocations, summary) = allocations_of(|| {
                let input = std::io::Cursor::new(input.clone().into_bytes());
                replay(&rs, input, &mut std::io::sink(), true, &mut |_, _| {}, pipeline).expect("the replay ends")
            });
            assert_eq!(summary.events, 4800);
            allocations
        };
        // Both count what the evaluation itself allocates (the rule set's state).
        let one_thread = allocations(0);
        let evaluating = allocations(1);
        assert!(
            evaluating <= one_thread + execs as u64 / 4,
            "{evaluating} allocations evaluating {execs} exec events parsed on another thread, \
             {one_thread} parsing and evaluating them"
        );
    }

    #[test]
    fn parsed_events_may_go_to_another_thread() {
        fn is<T: Send + Sync>() {}
        is::<Batch>();
    }
}
