//! Loading policies for the commands that evaluate: diagnostics go to stderr, and any
//! error stops the command (exit 2), unlike `secl check`, which reports and goes on.

use secl::eval::load::{Host, Loaded, load};
use secl::syntax::diagnostics::render_human;
use secl::syntax::policy::load_paths;
use std::path::PathBuf;

pub fn load_policy(paths: &[String], host: &Host) -> Result<Loaded, String> {
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let (policies, diags) = load_paths(&paths);
    let loaded = load(&policies, host);
    let errors: Vec<_> = diags.iter().chain(loaded.diagnostics.iter()).filter(|d| d.is_error()).collect();
    if !errors.is_empty() {
        for d in &errors {
            eprint!("{}", render_human(d, false));
        }
        return Err(format!("{} error(s) in the policy", errors.len()));
    }
    Ok(loaded)
}
