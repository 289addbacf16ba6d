//! `secl`: check, evaluate and test SECL policies.

mod actions;
mod args;
mod bench;
mod check;
mod eval;
mod events;
mod explain;
mod host;
mod kfilters;
mod policy;
mod replay;
mod test;
mod testfile;

pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_UNREADABLE: i32 = 2;
pub const EXIT_USAGE: i32 = 3;

const HELP: &str = "\
secl: a toolkit for Datadog's Security Language (SECL)

Usage: secl <command> [options]

Commands:
  check    parse, typecheck and lint policy files
  eval     evaluate an expression or a policy on events
  test     run policy tests (`*.test.yaml`) with coverage and explanations
  replay   stream recorded events through one stateful rule set
  bench    measure single-threaded throughput on an event stream
  compile  compile policies to a kernel filter plan (`--kfilters OUT.json`)
  help     show this help, or a command's help (`secl help check`)

Run `secl <command> --help` for a command's options.";

/// `secl … | head` closes our stdout early: that is the reader's choice, not a crash.
/// Rust reports it as a panic from `println!`; exit quietly instead (without `unsafe`
/// code to restore the default SIGPIPE handling).
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() {
    quiet_broken_pipe();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = match argv.first().map(String::as_str) {
        Some("check") => check::run(&argv[1..]),
        Some("eval") => eval::run(&argv[1..]),
        Some("test") => test::run(&argv[1..]),
        Some("replay") => replay::run(&argv[1..]),
        Some("bench") => bench::run(&argv[1..]),
        Some("compile") => kfilters::compile(&argv[1..]),
        Some("help") | Some("--help") | Some("-h") => {
            match argv.get(1).map(String::as_str) {
                Some("check") => println!("{}", check::HELP),
                Some("eval") => println!("{}", eval::HELP),
                Some("test") => println!("{}", test::HELP),
                Some("replay") => println!("{}", replay::HELP),
                Some("bench") => println!("{}", bench::HELP),
                Some("compile") => println!("{}", kfilters::COMPILE_HELP),
                _ => println!("{HELP}"),
            }
            EXIT_OK
        }
        Some("--version") | Some("-V") => {
            println!("secl {}", env!("CARGO_PKG_VERSION"));
            EXIT_OK
        }
        Some(other) => usage(&format!("unknown command `{other}`"), HELP),
        None => usage("no command given", HELP),
    };
    std::process::exit(code);
}

pub fn usage(msg: &str, help: &str) -> i32 {
    eprintln!("error: {msg}\n\n{help}");
    EXIT_USAGE
}
