//! Host flags shared by the subcommands: `--agent-version`, `--kernel-version`, `--os`.

use crate::args::{Args, Spec};
use secl::eval::load::{Host, NEWEST_AGENT_VERSION, parse_kernel_version};
use secl::eval::value::semver::Version;

pub const HOST_FLAGS: &[&str] = &["agent-version", "kernel-version", "os"];

pub fn host_from_args(args: &Args) -> Result<Host, String> {
    let mut host = Host::default();
    let agent = args.value("agent-version").unwrap_or(NEWEST_AGENT_VERSION);
    host.agent_version = Version::parse(agent).map_err(|e| format!("invalid --agent-version `{agent}`: {e}"))?;
    if let Some(os) = args.value("os") {
        if os != "linux" && os != "windows" {
            return Err(format!("invalid --os `{os}`: use linux or windows"));
        }
        host.os = os.to_owned();
    }
    let kernel = match args.value("kernel-version") {
        Some(k) => k.to_owned(),
        None => running_kernel().unwrap_or_else(|| "6.8.0".to_owned()),
    };
    host.kernel = parse_kernel_version(&kernel).ok_or_else(|| format!("invalid --kernel-version `{kernel}`"))?;
    Ok(host)
}

fn running_kernel() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned())
}

/// Parses a command line that takes the host flags besides `valued` and `switches`, and
/// handles `--help` and usage errors: `Err` holds the exit status when the command is done.
pub fn command(raw: &[String], valued: &[&str], switches: &[&str], help: &str) -> Result<(Args, Host), i32> {
    let valued: Vec<&str> = valued.iter().chain(HOST_FLAGS).copied().collect();
    let switches: Vec<&str> = switches.iter().copied().chain(["help"]).collect();
    let args = Args::parse(raw, &Spec { valued: &valued, switches: &switches }).map_err(|e| crate::usage(&e, help))?;
    if args.has("help") {
        println!("{help}");
        return Err(crate::EXIT_OK);
    }
    let host = host_from_args(&args).map_err(|e| crate::usage(&e, help))?;
    Ok((args, host))
}
