//! Embedding secl in an agent: load a policy once, implement [`Event`] over your own
//! event struct (here, the shape a kernel exec event decodes to), and evaluate.
//!
//! Run with `cargo run --example embed`.

use secl::eval::event::{Event, StrList, Value};
use secl::eval::load::{Host, load};
use secl::eval::model::{FieldId, Schema};
use secl::eval::rule::ActionKind;
use secl::eval::ruleset::RuleSet;
use secl::syntax::SourceFile;
use secl::syntax::diagnostics::render_human;
use secl::syntax::policy::parse_policy;

const POLICY: &str = r#"
rules:
  - id: miner_started
    expression: exec.args in [~"*stratum+tcp*"] && process.ancestors.file.name == "cron"
    actions:
      - kill:
          signal: SIGKILL
  - id: net_util
    expression: exec.file.name in ["nc", "ncat", "netcat"]
"#;

/// An exec event as a sensor decodes it from its ring buffer: borrowed strings, no maps.
struct ExecEvent<'a> {
    pid: i64,
    path: &'a str,
    name: &'a str,
    argv: &'a [&'a str],
    args: &'a str,
    ancestors: &'a [&'a str],
}

/// Field ids resolved once, when the rule set is loaded.
struct Fields {
    pid: FieldId,
    path: FieldId,
    name: FieldId,
    argv: FieldId,
    args: FieldId,
    ancestors: FieldId,
}

impl Fields {
    fn resolve() -> Fields {
        let id = |n: &str| Schema::linux().field(n).map(|f| f.id).expect("field of the model");
        Fields {
            pid: id("process.pid"),
            path: id("exec.file.path"),
            name: id("exec.file.name"),
            argv: id("exec.argv"),
            args: id("exec.args"),
            ancestors: id("process.ancestors.file.name"),
        }
    }
}

struct Bound<'a> {
    ev: &'a ExecEvent<'a>,
    f: &'a Fields,
}

impl Event for Bound<'_> {
    fn event_type(&self) -> &str {
        "exec"
    }

    fn field(&self, id: FieldId) -> Value<'_> {
        let (e, f) = (self.ev, self.f);
        match id {
            x if x == f.pid => Value::Int(e.pid),
            x if x == f.path => Value::Str(e.path),
            x if x == f.name => Value::Str(e.name),
            x if x == f.argv => Value::Strs(StrList::Borrowed(e.argv)),
            x if x == f.args => Value::Str(e.args),
            x if x == f.ancestors => Value::Strs(StrList::Borrowed(e.ancestors)),
            // Anything the sensor does not collect reads as the field's zero value.
            _ => Value::Missing,
        }
    }
}

fn main() {
    let (policy, diags) = parse_policy(SourceFile::new("embedded.policy", POLICY), false);
    for d in &diags {
        eprint!("{}", render_human(d, false));
    }
    let loaded = load(&policy.into_iter().collect::<Vec<_>>(), &Host::default());
    for d in loaded.errors() {
        eprint!("{}", render_human(d, false));
    }
    let rules = RuleSet::new(loaded);
    let fields = Fields::resolve();
    let mut state = rules.new_state();

    let events = [
        ExecEvent {
            pid: 4242,
            path: "/tmp/.x/xmrig",
            name: "xmrig",
            argv: &["-o", "stratum+tcp://pool.example:3333"],
            args: "-o stratum+tcp://pool.example:3333",
            ancestors: &["sh", "cron", "systemd"],
        },
        ExecEvent { pid: 4243, path: "/usr/bin/ls", name: "ls", argv: &["-l"], args: "-l", ancestors: &["bash"] },
    ];
    for ev in &events {
        let verdict = rules.evaluate(&Bound { ev, f: &fields }, &mut state);
        let ids: Vec<&str> = verdict.matched.iter().map(|i| &*rules.rule(*i).id).collect();
        println!("{} (pid {}): {:?}", ev.path, ev.pid, ids);
        for fired in verdict.fired {
            let rule = rules.rule(fired.rule);
            if let ActionKind::Kill { signal, .. } = &rule.actions[fired.action as usize].kind {
                println!("  -> the agent should send {signal} to pid {}", ev.pid);
            }
        }
    }
}
