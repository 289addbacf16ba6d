//! Plain SECL patterns (SPEC §5.2): `*` is the only metacharacter and matches any run
//! of bytes, `/` included.
//!
//! The reference checks the text before the first `*` as a prefix, takes each middle
//! literal at its first occurrence, and requires the last literal to be a suffix of
//! what remains. For `*`-only patterns this gives exactly the answers of a
//! backtracking glob, without backtracking.

use std::borrow::Cow;

/// A compiled plain pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: String,
    /// The text to match with: lower-cased when `case_insensitive`.
    lit: String,
    case_insensitive: bool,
}

impl Pattern {
    /// Compiles `text`; `**` is rejected as in the reference.
    pub fn new(text: &str, case_insensitive: bool) -> Result<Pattern, String> {
        if text.contains("**") {
            return Err(format!("invalid pattern `{text}`: `**` is not allowed in patterns"));
        }
        Ok(Pattern {
            text: text.to_string(),
            lit: if case_insensitive { text.to_lowercase() } else { text.to_string() },
            case_insensitive,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// Whether the pattern has no `*` and so is an exact comparison.
    pub fn is_exact(&self) -> bool {
        !self.lit.contains('*')
    }

    /// The literal text every match starts with (lower-cased for case-insensitive
    /// patterns); the whole pattern when it has no `*`.
    pub fn literal_prefix(&self) -> &str {
        match self.lit.find('*') {
            Some(i) => &self.lit[..i],
            None => &self.lit,
        }
    }

    /// The literal text every match ends with (lower-cased for case-insensitive
    /// patterns): what follows the last `*`; the whole pattern when it has no `*`.
    pub fn literal_suffix(&self) -> &str {
        match self.lit.rfind('*') {
            Some(i) => &self.lit[i + 1..],
            None => &self.lit,
        }
    }

    pub fn matches(&self, s: &str) -> bool {
        if !self.case_insensitive {
            return match_bytes(self.lit.as_bytes(), s.as_bytes(), false);
        }
        match fold_input(s.as_bytes()) {
            Folded::Ascii(b) => match_bytes(self.lit.as_bytes(), b, true),
            Folded::Lowered(l) => match_bytes(self.lit.as_bytes(), l.as_bytes(), false),
        }
    }
}

/// How a case-insensitive match sees its input.
pub(crate) enum Folded<'a> {
    /// ASCII input, compared with ASCII case folding on the fly (no allocation).
    Ascii(&'a [u8]),
    /// Non-ASCII input, lower-cased once.
    Lowered(String),
}

pub(crate) fn fold_input(s: &[u8]) -> Folded<'_> {
    if s.is_ascii() { Folded::Ascii(s) } else { Folded::Lowered(String::from_utf8_lossy(s).to_lowercase()) }
}

/// Matches `s` against the pattern bytes `pat` (`*` wildcards, `**` behaving as `*`).
/// With `fold`, `pat` must be lower-case and `s` is ASCII-lower-cased on the fly.
pub(crate) fn match_bytes(pat: &[u8], s: &[u8], fold: bool) -> bool {
    let mut parts = pat.split(|&b| b == b'*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = strip_prefix(s, first, fold) else {
        return false;
    };
    let Some(mut last) = parts.next() else {
        // No `*`: an exact comparison.
        return rest.is_empty();
    };
    for next in parts {
        // `last` is a middle literal: take its first occurrence.
        if !last.is_empty() {
            match find(rest, last, fold) {
                Some(i) => rest = &rest[i + last.len()..],
                None => return false,
            }
        }
        last = next;
    }
    ends_with(rest, last, fold)
}

fn eq_bytes(a: &[u8], pat: &[u8], fold: bool) -> bool {
    if fold { a.len() == pat.len() && a.iter().zip(pat).all(|(x, p)| x.to_ascii_lowercase() == *p) } else { a == pat }
}

fn strip_prefix<'a>(s: &'a [u8], pre: &[u8], fold: bool) -> Option<&'a [u8]> {
    if s.len() >= pre.len() && eq_bytes(&s[..pre.len()], pre, fold) { Some(&s[pre.len()..]) } else { None }
}

fn ends_with(s: &[u8], suf: &[u8], fold: bool) -> bool {
    s.len() >= suf.len() && eq_bytes(&s[s.len() - suf.len()..], suf, fold)
}

pub(crate) fn find(hay: &[u8], needle: &[u8], fold: bool) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    if hay.len() < needle.len() {
        return None;
    }
    let first = needle[0];
    (0..=hay.len() - needle.len()).find(|&i| {
        let h = hay[i];
        let h = if fold { h.to_ascii_lowercase() } else { h };
        h == first && eq_bytes(&hay[i..i + needle.len()], needle, fold)
    })
}

/// Go's `strings.EqualFold`: equality under Unicode simple case folding, without
/// allocating (the Kelvin sign equals `k`, `ß` does not equal `ss`).
pub fn eq_fold(a: &str, b: &str) -> bool {
    let mut ai = a.chars();
    let mut bi = b.chars();
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if chars_fold_eq(x, y) => {}
            _ => return false,
        }
    }
}

fn chars_fold_eq(x: char, y: char) -> bool {
    if x == y {
        return true;
    }
    if x.is_ascii() && y.is_ascii() {
        return x.eq_ignore_ascii_case(&y);
    }
    one(x.to_lowercase()).is_some_and(|l| Some(l) == one(y.to_lowercase()))
        || one(x.to_uppercase()).is_some_and(|u| Some(u) == one(y.to_uppercase()))
}

/// The mapping result when it is a single character.
fn one(mut it: impl Iterator<Item = char>) -> Option<char> {
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

/// Lower-cases for case-insensitive comparison, borrowing when nothing changes.
pub fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::new(p, false).unwrap().matches(s)
    }
    fn mi(p: &str, s: &str) -> bool {
        Pattern::new(p, true).unwrap().matches(s)
    }

    #[test]
    fn spec_examples() {
        assert!(m("*.log", "app.log.log"));
        assert!(m("*a", "aa"));
        assert!(m("*x*x", "axxbx"));
        assert!(!m("a*a", "a"));
        assert!(m("*", ""));
        assert!(m("*", "anything/at/all"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("* --listen *", "-p 1 --listen 0.0.0.0"));
        assert!(m("kworker*", "kworker/0:1"));
        assert!(m("*-helper", "gpg-helper"));
        assert!(!m("*-helper", "gpg-helper2"));
        assert!(m("/a/*", "/a/b/c"));
    }

    #[test]
    fn exact_and_anchoring() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abc", "xabc"));
        assert!(m("a*", "a"));
        assert!(m("*a*", "bab"));
        assert!(!m("*a*", "bbb"));
        assert!(m("ab*ab", "abab"));
        assert!(!m("ab*ab", "aba"));
        assert!(m("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn rejects_double_star() {
        assert_eq!(Pattern::new("a**", false).unwrap_err(), "invalid pattern `a**`: `**` is not allowed in patterns");
    }

    #[test]
    fn case_insensitive() {
        assert!(mi("*.EXAMPLE.com", "www.example.COM"));
        assert!(mi("Example.COM", "example.com"));
        assert!(!m("Example.COM", "example.com"));
        assert!(mi("*é*", "CAFÉ"));
        assert!(mi("straße", "STRAßE"));
    }

    #[test]
    fn prefix() {
        assert_eq!(Pattern::new("/usr/*/bin", false).unwrap().literal_prefix(), "/usr/");
        assert_eq!(Pattern::new("abc", false).unwrap().literal_prefix(), "abc");
        assert_eq!(Pattern::new("*x", false).unwrap().literal_prefix(), "");
        assert_eq!(Pattern::new("AB*", true).unwrap().literal_prefix(), "ab");
        assert!(Pattern::new("abc", false).unwrap().is_exact());
        assert!(!Pattern::new("a*", false).unwrap().is_exact());
    }

    #[test]
    fn equal_fold() {
        assert!(eq_fold("Example.COM", "example.com"));
        assert!(eq_fold("\u{212A}", "k"));
        assert!(eq_fold("ſ", "S"));
        assert!(!eq_fold("ß", "ss"));
        assert!(!eq_fold("a", "ab"));
        assert!(eq_fold("", ""));
    }
}
