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
    /// Per element: whether it has no `*` (compared as it is, without the pattern walk).
    literal: Vec<bool>,
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
        let literal = elements.iter().map(|e| !e.contains('*')).collect();
        Ok(Glob {
            text: text.to_string(),
            elements,
            literal,
            double_star,
            scalar: !text.contains('*'),
            case_insensitive,
        })
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

    /// The last element, when it is literal and the glob has a `*` elsewhere
    /// (case-sensitive globs only): a path this glob matches ends with `/` and that
    /// element, ends with `/`, or has no `/` at all (the prefilter of `may_match`).
    pub fn literal_last(&self) -> Option<&str> {
        if self.scalar || self.case_insensitive {
            return None;
        }
        let last = self.elements.last()?;
        (!last.is_empty() && !last.contains('*')).then_some(last)
    }

    /// The literal text before the first `*`, as written (not case-folded).
    pub fn literal_prefix(&self) -> &str {
        match self.text.find('*') {
            Some(i) => &self.text[..i],
            None => &self.text,
        }
    }

    pub fn matches(&self, path: &str) -> bool {
        self.matches_with(path, || PathFacts::of(path))
    }

    /// [`Glob::matches`] with the facts of `path` (asked for only when needed) shared by
    /// all the globs tried on it.
    pub fn matches_with(&self, path: &str, facts: impl FnOnce() -> PathFacts) -> bool {
        if path.is_empty() {
            return false;
        }
        if self.scalar {
            return if self.case_insensitive { eq_fold(&self.text, path) } else { self.text == path };
        }
        if !self.case_insensitive {
            return self.matches_bytes(path.as_bytes(), false, &facts());
        }
        match fold_input(path.as_bytes()) {
            // ASCII folding keeps every byte where it was: the facts still hold.
            Folded::Ascii(b) => self.matches_bytes(b, true, &facts()),
            Folded::Lowered(l) => self.matches_bytes(l.as_bytes(), false, &PathFacts::of(&l)),
        }
    }

    fn matches_bytes(&self, path: &[u8], fold: bool, facts: &PathFacts) -> bool {
        if !self.may_match(path, fold, facts) {
            return false;
        }
        match self.double_star {
            None => self.matches_prefix(&self.elements, path, fold, facts),
            Some(pos) => {
                self.matches_prefix(&self.elements[..=pos], path, fold, facts)
                    && matches_suffix(&self.elements[pos..], &self.literal[pos..], path, fold)
            }
        }
    }

    /// Necessary conditions of a match that are cheaper than the element walk: the
    /// number of separators the path needs, and its last segment when the glob's last
    /// element is literal. Most paths a glob is tried on (all those sharing its literal
    /// prefix) fail one of them.
    fn may_match(&self, path: &[u8], fold: bool, facts: &PathFacts) -> bool {
        let n = self.elements.len();
        let last = self.elements[n - 1].as_bytes();
        let literal_last = !last.contains(&b'*');
        let same = |seg: &[u8]| if fold { seg.eq_ignore_ascii_case(last) } else { seg == last };
        match self.double_star {
            None => {
                let p = skip_leading(&self.elements, path);
                let skipped = path.len() - p.len();
                let seps = facts.seps - usize::from(skipped == 1 && path.first() == Some(&b'/'));
                if seps >= n {
                    return false;
                }
                if seps + 1 < n {
                    // Fewer elements than the glob: only a `*` element reached at an
                    // empty end matches (the reference's early end).
                    return p.last().is_none_or(|&b| b == b'/') && self.elements[seps] == "*";
                }
                let seg = match facts.last_sep {
                    Some(i) if i >= skipped => &path[i + 1..],
                    _ => p,
                };
                !literal_last || same(seg)
            }
            Some(pos) => {
                // The suffix half checks the last `n - 1 - pos` elements against the
                // path's last segments.
                let need = n - 1 - pos;
                if need == 0 {
                    return true;
                }
                let Some(i) = facts.last_sep else { return false };
                if literal_last && !same(&path[i + 1..]) {
                    return false;
                }
                // Separators before the last one, plus one.
                need == 1 || facts.seps >= need
            }
        }
    }

    /// The path's elements must match `els` one to one, except that a final `**`
    /// accepts any rest and a final `*` accepts a trailing empty element early.
    fn matches_prefix(&self, els: &[String], path: &[u8], fold: bool, facts: &PathFacts) -> bool {
        let p = skip_leading(els, path);
        let skipped = path.len() - p.len();
        match facts.positions() {
            Some(seps) => {
                let seps = seps.iter().map(|&x| x as usize).filter(|&x| x >= skipped).map(|x| x - skipped);
                self.walk_prefix(els, p, fold, seps)
            }
            None => self.walk_prefix(els, p, fold, p.iter().enumerate().filter(|(_, b)| **b == b'/').map(|(i, _)| i)),
        }
    }

    /// [`Glob::matches_prefix`] over the path's separator positions.
    fn walk_prefix(&self, els: &[String], path: &[u8], fold: bool, seps: impl Iterator<Item = usize>) -> bool {
        let mut i = 0;
        let mut start = 0;
        for end in seps {
            let el = els[i].as_bytes();
            if !element_matches(el, self.literal[i], &path[start..end], fold) {
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
fn matches_suffix(els: &[String], literal: &[bool], path: &[u8], fold: bool) -> bool {
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
        if !element_matches(el, literal[i], &path[start + 1..end], fold) {
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

/// One path segment against one glob element (`**` accepts any).
#[inline]
fn element_matches(el: &[u8], literal: bool, seg: &[u8], fold: bool) -> bool {
    if literal {
        // `match_bytes` on a `*`-free element is an exact comparison.
        if fold { seg.eq_ignore_ascii_case(el) } else { seg == el }
    } else {
        el == DOUBLE_STAR || match_bytes(el, seg, fold)
    }
}

/// What glob matching reads of a path: its separators, found once however many globs
/// are tried on it.
#[derive(Clone, Copy, Debug)]
pub struct PathFacts {
    seps: usize,
    last_sep: Option<usize>,
    /// The first separators' positions (all of them when `seps` is at most `MAX_SEPS`).
    pos: [u32; MAX_SEPS],
}

const MAX_SEPS: usize = 16;

impl PathFacts {
    pub fn of(path: &str) -> PathFacts {
        let mut f = PathFacts { seps: 0, last_sep: None, pos: [0; MAX_SEPS] };
        for (i, _) in path.bytes().enumerate().filter(|(_, c)| *c == b'/') {
            if let Some(slot) = f.pos.get_mut(f.seps) {
                *slot = i as u32;
            }
            f.seps += 1;
            f.last_sep = Some(i);
        }
        f
    }

    /// Every separator's position, when there are few enough to hold.
    fn positions(&self) -> Option<&[u32]> {
        self.pos.get(..self.seps)
    }
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
                    let facts = PathFacts::of(std::str::from_utf8(&bytes).unwrap());
                    let walked = match gl.double_star {
                        None => gl.matches_prefix(&gl.elements, &bytes, fold, &facts),
                        Some(pos) => {
                            gl.matches_prefix(&gl.elements[..=pos], &bytes, fold, &facts)
                                && matches_suffix(&gl.elements[pos..], &gl.literal[pos..], &bytes, fold)
                        }
                    };
                    if walked {
                        assert!(gl.may_match(&bytes, fold, &facts), "glob {text} (ci {ci}) path {path:?}");
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
