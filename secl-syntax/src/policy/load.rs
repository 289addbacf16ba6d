//! Reading policy files and directories (SPEC §13.5.1). The only I/O of this crate.

use super::{MAX_POLICY_SIZE, Policy, parse_policy};
use crate::diagnostics::{Diagnostic, SourceFile, codes};
use crate::span::Span;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The file name that marks the default policy.
pub const DEFAULT_POLICY_NAME: &str = "default.policy";

fn unreadable(path: &Path, err: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(codes::UNREADABLE, format!("cannot read `{}`: {err}", path.display()))
}

/// Reads one policy file: at most [`MAX_POLICY_SIZE`] bytes of UTF-8, with any byte-order
/// mark removed.
#[allow(clippy::result_large_err, reason = "called once per file; callers keep the diagnostic as is")]
pub fn read_policy_file(path: &Path) -> Result<Arc<SourceFile>, Diagnostic> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| unreadable(path, e))?;
    let too_large = || {
        Diagnostic::error(
            codes::TOO_LARGE,
            format!("policy file `{name}` is larger than {} MiB", MAX_POLICY_SIZE >> 20),
        )
    };
    if file.metadata().is_ok_and(|m| m.len() > MAX_POLICY_SIZE as u64) {
        return Err(too_large());
    }
    // Read one byte past the limit so a file that grew after the size check is caught too.
    let mut bytes = Vec::new();
    file.take(MAX_POLICY_SIZE as u64 + 1).read_to_end(&mut bytes).map_err(|e| unreadable(path, e))?;
    if bytes.len() > MAX_POLICY_SIZE {
        return Err(too_large());
    }
    let body = bytes.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(&bytes);
    match std::str::from_utf8(body) {
        Ok(text) => Ok(SourceFile::new(name, text)),
        Err(e) => {
            let at = e.valid_up_to();
            // Show the file with the bad bytes replaced; the prefix up to the first bad
            // byte is unchanged, so the offset is the same in both.
            let lossy = String::from_utf8_lossy(body).into_owned();
            let end = lossy[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            let source = SourceFile::new(name.clone(), lossy);
            Err(Diagnostic::error(codes::INVALID_UTF8, format!("policy file `{name}` is not valid UTF-8"))
                .with_label(Span::new(at, end), "invalid UTF-8 here")
                .with_source(source))
        }
    }
}

/// The policy files of a directory in load order: `default.policy` first, then the other
/// `*.policy` files sorted by name. Other files are ignored.
#[allow(clippy::result_large_err, reason = "called once per directory; callers keep the diagnostic as is")]
pub fn policy_files_in(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|e| unreadable(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(dir, e))?;
        let path = entry.path();
        let is_policy =
            path.extension().is_some_and(|e| e == "policy") || entry.file_name().to_str() == Some(".policy");
        // `metadata` follows symlinks, as the reference's directory provider does.
        if is_policy && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push((entry.file_name(), path));
        }
    }
    files.sort_by(|(a, _), (b, _)| {
        let (da, db) = (a == DEFAULT_POLICY_NAME, b == DEFAULT_POLICY_NAME);
        db.cmp(&da).then_with(|| a.cmp(b))
    });
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// Loads policy files and directories, in the given order (each directory in the order of
/// [`policy_files_in`]). A file named `default.policy` is the default policy. Unreadable
/// paths give `UNREADABLE` diagnostics; the other files still load.
pub fn load_paths(paths: &[PathBuf]) -> (Vec<Policy>, Vec<Diagnostic>) {
    let mut policies = Vec::new();
    let mut diags = Vec::new();
    let mut load_file = |path: &Path, diags: &mut Vec<Diagnostic>| match read_policy_file(path) {
        Ok(source) => {
            let is_default = path.file_name().is_some_and(|n| n == DEFAULT_POLICY_NAME);
            let (policy, mut d) = parse_policy(source, is_default);
            diags.append(&mut d);
            policies.extend(policy);
        }
        Err(d) => diags.push(d),
    };
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => match policy_files_in(path) {
                Ok(files) => files.iter().for_each(|f| load_file(f, &mut diags)),
                Err(d) => diags.push(d),
            },
            Ok(_) => load_file(path, &mut diags),
            Err(e) => diags.push(unreadable(path, e)),
        }
    }
    (policies, diags)
}
