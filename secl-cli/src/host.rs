//! Host flags shared by the subcommands: `--agent-version`, `--kernel-version`, `--os`.

use crate::args::Args;
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
