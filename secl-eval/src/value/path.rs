//! Compile-time validation of values compared with path fields (SPEC §5.3).

/// Longest accepted path element, in bytes.
pub const MAX_SEGMENT_LENGTH: usize = 255;
/// Most `/`-separated pieces a path value may have.
pub const MAX_PATH_DEPTH: usize = 1160;

/// Checks a scalar or pattern value for a path field (every field whose name ends in
/// `path` except `*.syscall.path`; variables are not checked).
pub fn validate_path_value(value: &str) -> Result<(), String> {
    let not_absolute = || format!("invalid path `{value}`, all the path have to be absolute");
    if value.is_empty() {
        return Ok(());
    }
    if value != clean(value) || value == "*" {
        return Err(not_absolute());
    }
    if !value.starts_with('/') && !value.starts_with('*') {
        return Err(not_absolute());
    }
    // Depth is checked before segment sizes, as the reference does.
    if value.split('/').count() > MAX_PATH_DEPTH {
        return Err(format!("invalid path `{value}`, path depths have to be shorter than {MAX_PATH_DEPTH}"));
    }
    for segment in value.split('/') {
        if segment == ".." {
            return Err(not_absolute());
        }
        if segment.len() > MAX_SEGMENT_LENGTH {
            return Err(format!(
                "invalid path `{value}`, each segment of a path must be shorter than {MAX_SEGMENT_LENGTH}"
            ));
        }
    }
    Ok(())
}

/// Short name for [`validate_path_value`].
pub fn validate(value: &str) -> Result<(), String> {
    validate_path_value(value)
}

/// Go's `path.Clean`: the shortest lexically equivalent path.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for el in p.split('/') {
        match el {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            e => out.push(e),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abs_err(v: &str) -> String {
        format!("invalid path `{v}`, all the path have to be absolute")
    }

    #[test]
    fn rejected_as_not_absolute() {
        for v in [
            "etc/x",
            "~/x",
            "*",
            "/etc/",
            "//etc",
            "/etc/./x",
            "/etc/..",
            "/etc/../x",
            "etc/*",
            "/etc/*/",
            "~",
            ".",
            "..",
            "./x",
            "*/..",
            "/..",
        ] {
            assert_eq!(validate_path_value(v), Err(abs_err(v)), "{v}");
        }
    }

    #[test]
    fn accepted() {
        for v in ["", "/", "/a..b", "/etc/pass~wd", "*/x", "/etc/passwd", "/var/log/**", "*x", "/tmp/*"] {
            assert_eq!(validate_path_value(v), Ok(()), "{v}");
        }
    }

    #[test]
    fn limits() {
        let ok = format!("/{}", "a".repeat(255));
        assert_eq!(validate_path_value(&ok), Ok(()));
        let long = format!("/{}", "a".repeat(256));
        assert_eq!(
            validate_path_value(&long),
            Err(format!("invalid path `{long}`, each segment of a path must be shorter than 255"))
        );
        let deep_ok = "/a".repeat(MAX_PATH_DEPTH - 1);
        assert_eq!(validate_path_value(&deep_ok), Ok(()));
        let deep = "/a".repeat(MAX_PATH_DEPTH);
        assert_eq!(
            validate_path_value(&deep),
            Err(format!("invalid path `{deep}`, path depths have to be shorter than 1160"))
        );
    }

    #[test]
    fn go_clean() {
        for (i, o) in [
            ("", "."),
            ("/", "/"),
            ("a/b/../c", "a/c"),
            ("../../x", "../../x"),
            ("/../x", "/x"),
            ("a//b/", "a/b"),
            ("./", "."),
            ("a/..", "."),
        ] {
            assert_eq!(clean(i), o, "{i}");
        }
    }
}
