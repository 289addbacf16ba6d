//! Derived argument fields `*.args`, `*.args_flags` and `*.args_options` (SPEC §7b),
//! computed from `argv` (argv0 excluded) the way the sensor does.

use std::sync::OnceLock;

use regex::Regex;

/// The arguments joined with single spaces.
pub fn args<S: AsRef<str>>(argv: &[S]) -> String {
    let mut out = String::with_capacity(argv.iter().map(|a| a.as_ref().len() + 1).sum());
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(a.as_ref());
    }
    out
}

/// The name of a dashed argument: the text after one `-`, or after `--`.
/// `None` for arguments that are not flags (no dash, or a lone `-`).
fn dashed_name(arg: &str) -> Option<(&str, bool)> {
    let name = arg.strip_prefix('-').filter(|_| arg.len() > 1)?;
    Some(match name.strip_prefix('-') {
        Some(long) => (long, false),
        None => (name, true),
    })
}

/// Go's `unicode.IsLetter(r) || unicode.IsDigit(r)` for every character (categories
/// L* and Nd, which is narrower than Rust's alphabetic/numeric).
fn all_letters_or_digits(s: &str) -> bool {
    if s.is_ascii() {
        return s.bytes().all(|b| b.is_ascii_alphanumeric());
    }
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[\p{L}\p{Nd}]*$").expect("valid class")).is_match(s)
}

/// Flags: every character of a single-dash all-alphanumeric name, then the whole name
/// when it has no `=` and is longer than one byte.
pub fn args_flags<S: AsRef<str>>(argv: &[S]) -> Vec<String> {
    args_flags_borrowed(argv).into_iter().map(str::to_string).collect()
}

/// [`args_flags`] without copying: the flags are slices of `argv`.
pub fn args_flags_borrowed<S: AsRef<str>>(argv: &[S]) -> Vec<&str> {
    let mut flags = Vec::new();
    for arg in argv {
        let Some((name, single_dash)) = dashed_name(arg.as_ref()) else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        if single_dash && all_letters_or_digits(name) {
            flags.extend(name.char_indices().map(|(i, c)| &name[i..i + c.len_utf8()]));
        }
        if !name.contains('=') && name.len() > 1 {
            flags.push(name);
        }
    }
    flags
}

/// Options: `name=value` from `--name=value`, or from `-n value` when the next
/// argument is empty or does not start with `-` (that argument is then consumed).
pub fn args_options<S: AsRef<str>>(argv: &[S]) -> Vec<String> {
    let mut options = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_ref();
        i += 1;
        let Some((name, _)) = dashed_name(arg) else {
            continue;
        };
        // The reference tests the first *byte* as a character: a UTF-8 lead byte reads
        // as a Latin-1 letter, so `-é` qualifies.
        let Some(&b0) = name.as_bytes().first() else {
            continue;
        };
        let c0 = char::from(b0);
        if !(c0.is_alphabetic() || c0.is_ascii_digit()) {
            continue;
        }
        if name.contains('=') {
            options.push(name.to_string());
        } else if let Some(next) = argv.get(i).map(AsRef::as_ref)
            && !next.starts_with('-')
        {
            options.push(format!("{name}={next}"));
            i += 1;
        }
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(a: &[&str]) -> Vec<String> {
        let owned = args_flags(a);
        assert_eq!(owned, args_flags_borrowed(a));
        owned
    }
    fn opts(a: &[&str]) -> Vec<String> {
        args_options(a)
    }

    #[test]
    fn joined() {
        assert_eq!(args(&["-l", "/tmp", ""]), "-l /tmp ");
        assert_eq!(args::<&str>(&[]), "");
    }

    #[test]
    fn spec_flags() {
        assert_eq!(flags(&["-ln"]), ["l", "n", "ln"]);
        assert_eq!(flags(&["--verbose"]), ["verbose"]);
        assert!(flags(&["--level=3"]).is_empty());
        assert_eq!(flags(&["-v", "-v"]), ["v", "v"]);
        assert_eq!(flags(&["-xvf", "a.tar"]), ["x", "v", "f", "xvf"]);
        assert_eq!(flags(&["--donate-level", "1"]), ["donate-level"]);
        assert_eq!(flags(&["-é"]), ["é", "é"]);
        assert_eq!(flags(&["-aé"]), ["a", "é", "aé"]);
        assert_eq!(flags(&["---x"]), ["-x"]);
        assert!(flags(&["-a=b"]).is_empty());
        assert_eq!(flags(&["-_x", "y"]), ["_x"]);
        assert_eq!(flags(&["-a", "-b", "c"]), ["a", "b"]);
        assert!(flags(&["-", "--", "x", ""]).is_empty());
        assert_eq!(flags(&["-o", ""]), ["o"]);
    }

    #[test]
    fn spec_options() {
        assert_eq!(opts(&["--url=x"]), ["url=x"]);
        assert_eq!(opts(&["-o", "out.txt"]), ["o=out.txt"]);
        assert_eq!(opts(&["--pool", "stratum+tcp://x:3333"]), ["pool=stratum+tcp://x:3333"]);
        assert_eq!(opts(&["-é", "x"]), ["é=x"]);
        assert_eq!(opts(&["-o", ""]), ["o="]);
        assert!(opts(&["---x"]).is_empty());
        assert_eq!(opts(&["-a=b"]), ["a=b"]);
        assert!(opts(&["-_x", "y"]).is_empty());
        assert_eq!(opts(&["-a", "-b", "c"]), ["b=c"]);
        assert!(opts(&["-v"]).is_empty());
        assert!(opts(&["--level=3"]) == ["level=3"]);
        // The consumed value is not read as an option itself.
        assert_eq!(opts(&["-o", "x", "y"]), ["o=x"]);
    }

    #[test]
    fn go_letter_classes() {
        // Roman numeral Ⅻ is Nl: alphabetic for Rust, not a letter for Go.
        assert_eq!(flags(&["-aⅫ"]), ["aⅫ"]);
        // Arabic-Indic digits are Nd.
        assert_eq!(flags(&["-a٣"]), ["a", "٣", "a٣"]);
    }
}
