//! Path globs (SPEC §5.3): patterns on path fields, matched element by element.
//!
//! Semantics follow the reference engine: the glob is split on `/`; a whole `**`
//! element may appear once, anywhere. The elements up to and including `**` are
//! matched as a prefix of the path and the elements from `**` on as a suffix, each
//! check on its own (so the two may overlap). Other elements are plain patterns
//! (§5.2) that never cross a `/`. A leading `*` element makes the matcher skip the
//! path's first byte (its leading `/`).

use super::pattern::{Folded, eq_fold, fold_input, match_bytes};

/// A compiled path glob.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Glob {
    text: String,
    /// Elements after rewriting glued `**` to `*`; lower-cased when case-insensitive.
    elements: Vec<String>,
    /// Index of the `**` element.
    double_star: Option<usize>,
    /// No `*` at all: an exact comparison.
    scalar: bool,
    case_insensitive: bool,
}

const DOUBLE_STAR: &[u8] = b"**";

impl Glob {
    pub fn new(text: &str, case_insensitive: bool) -> Result<Glob, String> {
        let mut elements = Vec::new();
        let mut double_star = None;
        for (i, el) in text.split('/').enumerate() {
            // `**` glued to other text means `*`. Replacing pairs left to right turns
            // `***` into `**`, a real double star: kept as the reference does.
            let el = if el.len() != 2 && el.contains("**") { el.replace("**", "*") } else { el.to_string() };
            if el == "**" {
                if double_star.is_some() {
                    return Err(format!("invalid glob `{text}`: `**` is allowed only once in a pattern"));
                }
                double_star = Some(i);
            }
            elements.push(if case_insensitive { el.to_lowercase() } else { el });
        }
        Ok(Glob { text: text.to_string(), elements, double_star, scalar: !text.contains('*'), case_insensitive })
    }

    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_case_insensitive(&self) -> bool {
        self.case_insensitive
    }

    /// Whether the glob has no `*` and so is an exact comparison.
    pub fn is_exact(&self) -> bool {
        self.scalar
    }

    /// The literal text before the first `*`, as written (not case-folded).
    pub fn literal_prefix(&self) -> &str {
        match self.text.find('*') {
            Some(i) => &self.text[..i],
            None => &self.text,
        }
    }

    pub fn matches(&self, path: &str) -> bool {
        if path.is_empty() {
            return false;
        }
        if self.scalar {
            return if self.case_insensitive { eq_fold(&self.text, path) } else { self.text == path };
        }
        if !self.case_insensitive {
            return self.matches_bytes(path.as_bytes(), false);
        }
        match fold_input(path.as_bytes()) {
            Folded::Ascii(b) => self.matches_bytes(b, true),
            Folded::Lowered(l) => self.matches_bytes(l.as_bytes(), false),
        }
    }

    fn matches_bytes(&self, path: &[u8], fold: bool) -> bool {
        if !self.may_match(path, fold) {
            return false;
        }
        match self.double_star {
            None => self.matches_prefix(&self.elements, path, fold),
            Some(pos) => {
                self.matches_prefix(&self.elements[..=pos], path, fold)
                    && matches_suffix(&self.elements[pos..], path, fold)
            }
        }
    }

    /// Necessary conditions of a match that are cheaper than the element walk: the
    /// number of separators the path needs, and its last segment when the glob's last
    /// element is literal. Most paths a glob is tried on (all those sharing its literal
    /// prefix) fail one of them.
    fn may_match(&self, path: &[u8], fold: bool) -> bool {
        let n = self.elements.len();
        let last = self.elements[n - 1].as_bytes();
        let literal_last = !last.contains(&b'*');
        let same = |seg: &[u8]| if fold { seg.eq_ignore_ascii_case(last) } else { seg == last };
        match self.double_star {
            None => {
                let p = skip_leading(&self.elements, path);
                let seps = p.iter().filter(|&&b| b == b'/').count();
                if seps >= n {
                    return false;
                }
                if seps + 1 < n {
                    // Fewer elements than the glob: only a `*` element reached at an
                    // empty end matches (the reference's early end).
                    return p.last().is_none_or(|&b| b == b'/') && self.elements[seps] == "*";
                }
                let seg = p.iter().rposition(|&b| b == b'/').map_or(p, |i| &p[i + 1..]);
                !literal_last || same(seg)
            }
            Some(pos) => {
                // The suffix half checks the last `n - 1 - pos` elements against the
                // path's last segments.
                let need = n - 1 - pos;
                if need == 0 {
                    return true;
                }
                let Some(i) = path.iter().rposition(|&b| b == b'/') else { return false };
                if literal_last && !same(&path[i + 1..]) {
                    return false;
                }
                need == 1 || path[..i].iter().filter(|&&b| b == b'/').count() + 1 >= need
            }
        }
    }

    /// The path's elements must match `els` one to one, except that a final `**`
    /// accepts any rest and a final `*` accepts a trailing empty element early.
    fn matches_prefix(&self, els: &[String], path: &[u8], fold: bool) -> bool {
        let path = skip_leading(els, path);
        let mut i = 0;
        let mut start = 0;
        for (end, &b) in path.iter().enumerate() {
            if b != b'/' {
                continue;
            }
            let el = els[i].as_bytes();
            if el != DOUBLE_STAR && !match_bytes(el, &path[start..end], fold) {
                return false;
            }
            start = end + 1;
            i += 1;
            if i == els.len() {
                return el == DOUBLE_STAR;
            }
        }
        let el = els[i].as_bytes();
        let rest = &path[start..];
        if el == DOUBLE_STAR || (rest.is_empty() && el == b"*") {
            return true;
        }
        i + 1 == els.len() && match_bytes(el, rest, fold)
    }

    /// Whether some path strictly below directory `dir` could match. Conservative:
    /// `false` only when no such path can match.
    pub fn could_match_under(&self, dir: &str) -> bool {
        let lowered;
        let dir = if self.case_insensitive {
            // Unicode folding can pair non-ASCII with ASCII (Kelvin sign and `k`): stay
            // conservative rather than approximate it.
            if !dir.is_ascii() || !self.text.is_ascii() {
                return true;
            }
            lowered = dir.to_ascii_lowercase();
            lowered.as_str()
        } else {
            dir
        };
        // Paths below `dir` are `base` followed by at least one more byte.
        let base_len = if dir.ends_with('/') { dir.len() } else { dir.len() + 1 };
        if self.scalar {
            let text = if self.case_insensitive { self.text.to_ascii_lowercase() } else { self.text.clone() };
            let t = text.as_bytes();
            let d = dir.as_bytes();
            return t.len() > base_len && t.starts_with(d) && t[base_len - 1] == b'/';
        }
        let prefix_els = match self.double_star {
            Some(pos) => &self.elements[..=pos],
            None => &self.elements[..],
        };
        // The complete elements `base` contributes, after the leading-`*` skip.
        let complete: &[u8] = {
            let d = dir.as_bytes();
            let d = d.strip_suffix(b"/").unwrap_or(d);
            if prefix_els[0] == "*" {
                if d.is_empty() {
                    // The skipped byte is the separator itself: every element is free.
                    return true;
                }
                &d[1..]
            } else {
                d
            }
        };
        let fold = self.case_insensitive;
        let mut count = 0;
        for (j, el) in complete.split(|&b| b == b'/').enumerate() {
            let Some(pat) = prefix_els.get(j) else {
                // More directory elements than the glob has: no path below can match.
                return false;
            };
            if pat == "**" {
                return true;
            }
            if !match_bytes(pat.as_bytes(), el, fold) {
                return false;
            }
            count = j + 1;
        }
        // Without `**`, the path needs at least one more element than `dir`.
        self.double_star.is_some() || prefix_els.len() > count
    }
}

/// The suffix half: the path's last elements must match `els[1..]` (`els[0]` is `**`).
fn matches_suffix(els: &[String], path: &[u8], fold: bool) -> bool {
    if els.len() == 1 {
        return true;
    }
    let mut i = els.len() - 1;
    let mut end = path.len();
    for start in (0..path.len()).rev() {
        if path[start] != b'/' {
            continue;
        }
        let el = els[i].as_bytes();
        if el != DOUBLE_STAR && !match_bytes(el, &path[start + 1..end], fold) {
            return false;
        }
        end = start;
        i -= 1;
        if i == 0 {
            return true;
        }
    }
    // Fewer separators than suffix elements: the `**` element was never reached.
    false
}

/// A leading `*` element skips the first byte of the path (normally its `/`).
fn skip_leading<'a>(els: &[String], path: &'a [u8]) -> &'a [u8] {
    if els.first().is_some_and(|e| e == "*") { path.get(1..).unwrap_or_default() } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str) -> Glob {
        Glob::new(p, false).unwrap()
    }
    fn m(p: &str, s: &str) -> bool {
        g(p).matches(s)
    }

    #[test]
    fn spec_double_star() {
        assert!(m("/a/**/b", "/a/b"));
        assert!(m("/a/**/b", "/a/x/b"));
        assert!(m("/a/**/b", "/a/x/y/b"));
        assert!(!m("/a/**/b", "/a/x/c"));
        assert!(m("/**/x", "/x"));
        assert!(m("/**/x", "/a/b/x"));
        assert!(m("**/x", "/a/x"));
        assert!(m("/etc/**", "/etc/a"));
        assert!(m("/etc/**", "/etc/a/b/c"));
        assert!(m("/etc/**", "/etc/"));
        assert!(!m("/etc/**", "/etc"));
        assert!(!m("/etcx/**", "/etc/a"));
        assert!(!m("/etc/**", "/etcx/a"));
    }

    #[test]
    fn spec_glued_double_star() {
        assert!(m("/a/**b", "/a/xb"));
        assert!(m("/a/**b", "/a/b"));
        assert!(!m("/a/**b", "/a/x/yb"));
    }

    #[test]
    fn spec_errors() {
        assert_eq!(
            Glob::new("/a/**/b/**", false).unwrap_err(),
            "invalid glob `/a/**/b/**`: `**` is allowed only once in a pattern"
        );
        // `***` collapses to `**` and counts.
        assert!(Glob::new("/a/***/b/**", false).is_err());
        assert!(Glob::new("/a/x**/b/**", false).is_ok());
    }

    #[test]
    fn spec_leading_star() {
        assert!(m("*/bin/*", "/usr/bin/ls"));
        assert!(!m("*/bin/*", "/usr/local/bin/ls"));
        assert!(m("*", "/anything"));
        assert!(!m("*", "/a/b"));
    }

    #[test]
    fn spec_star_within_element() {
        assert!(m("/tmp/*", "/tmp/"));
        assert!(m("/tmp/*", "/tmp/x"));
        assert!(!m("/tmp/*", "/tmp/x/y"));
        assert!(m("/var/lib/*/config.json", "/var/lib/app/config.json"));
        assert!(!m("/var/lib/*/config.json", "/var/lib/a/b/config.json"));
        assert!(m("/opt/app/*", "/opt/app/bin"));
        assert!(m("/var/log/*.log", "/var/log/app.log.log"));
        assert!(!m("/tmp/a*", "/tmp/"));
    }

    #[test]
    fn exact() {
        assert!(m("/etc/passwd", "/etc/passwd"));
        assert!(!m("/etc/passwd", "/etc/passwd2"));
        assert!(!m("", ""));
        assert!(Glob::new("/ETC/passwd", true).unwrap().matches("/etc/PASSWD"));
    }

    #[test]
    fn reference_quirks() {
        // A trailing empty element satisfies a `*` element early.
        assert!(m("/a/*/b", "/a/"));
        // Prefix and suffix are checked independently and may overlap.
        assert!(m("/a/b/**/b/c", "/a/b/c"));
        assert!(!m("**/x", "x"));
    }

    #[test]
    fn case_insensitive() {
        let gl = Glob::new("/Var/**/*.LOG", true).unwrap();
        assert!(gl.matches("/var/a/B/x.log"));
        assert!(gl.matches("/VAR/ÉTÉ/x.log"));
        assert!(!g("/Var/*").matches("/var/x"));
    }

    /// `may_match` only ever rejects paths the element walk rejects too.
    #[test]
    fn prefilter_is_sound() {
        let globs = [
            "/a/*/b",
            "/a/**/b",
            "/a/**",
            "**/x",
            "*/bin/*",
            "*",
            "/tmp/*",
            "/a/b/**/b/c",
            "/**/x",
            "/a/*",
            "/a/*/*",
            "/a/b",
            "/a/**/*.c",
            "*/x/**",
            "/a/x*/b",
            "/A/*/B",
            "a/*",
            "/a/",
            "/*/",
            "**",
            "/a/**/",
            "*/",
            "/a/*/b/*",
        ];
        let pieces = ["", "/", "a", "b", "x", "c", "A", "B", "bin", "x.c", "É"];
        let mut paths = vec![String::new()];
        for _ in 0..4 {
            let mut next = Vec::new();
            for p in &paths {
                for q in pieces {
                    next.push(format!("{p}{q}"));
                    next.push(format!("{p}/{q}"));
                }
            }
            next.sort();
            next.dedup();
            paths = next;
        }
        for text in globs {
            for ci in [false, true] {
                let gl = Glob::new(text, ci).unwrap();
                for path in &paths {
                    let (bytes, fold) = match fold_input(path.as_bytes()) {
                        Folded::Ascii(b) => (b.to_vec(), ci),
                        Folded::Lowered(l) => (l.into_bytes(), false),
                    };
                    let bytes = if ci { bytes } else { path.as_bytes().to_vec() };
                    let walked = match gl.double_star {
                        None => gl.matches_prefix(&gl.elements, &bytes, fold),
                        Some(pos) => {
                            gl.matches_prefix(&gl.elements[..=pos], &bytes, fold)
                                && matches_suffix(&gl.elements[pos..], &bytes, fold)
                        }
                    };
                    if walked {
                        assert!(gl.may_match(&bytes, fold), "glob {text} (ci {ci}) path {path:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn under() {
        assert!(g("/etc/**").could_match_under("/etc"));
        assert!(g("/etc/**").could_match_under("/etc/ssh"));
        assert!(g("/etc/**").could_match_under("/"));
        assert!(!g("/etc/**").could_match_under("/usr"));
        assert!(g("/etc/*").could_match_under("/etc"));
        assert!(!g("/etc/*").could_match_under("/etc/ssh"));
        assert!(g("/etc/*/x").could_match_under("/etc/ssh"));
        assert!(g("/etc/passwd").could_match_under("/etc"));
        assert!(g("/etc/passwd").could_match_under("/etc/"));
        assert!(!g("/etc/passwd").could_match_under("/etc/passwd"));
        assert!(!g("/etc/passwd").could_match_under("/et"));
        assert!(g("/etc/passwd").could_match_under("/"));
        assert!(g("*/bin/*").could_match_under("/usr"));
        assert!(g("*/bin/*").could_match_under("/usr/bin"));
        assert!(!g("*/bin/*").could_match_under("/usr/lib"));
        assert!(g("*/bin/*").could_match_under("/"));
        assert!(g("**/x").could_match_under("/a/b"));
        assert!(g("/**/x").could_match_under("/a/b"));
        assert!(!g("/a/**/x").could_match_under("/b"));
    }
}
