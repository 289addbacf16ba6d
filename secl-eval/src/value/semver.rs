//! `agent_version` constraints (SPEC §14.2): the Masterminds semver (v3) constraint
//! language, whose rules differ from Cargo's (partial versions, `x` wildcards, `~`
//! vs `^`, `=` meaning "tilde" for partial versions).
//!
//! Parsing goes through the same regular expressions as the reference (the `regex`
//! crate is RE2-like and leftmost-first like Go's), so that the set of accepted
//! strings and the way they split into comparisons are the same.

use std::cmp::Ordering;
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;

/// A semantic version. Numbers are `u64`, as in the reference. Defaults to `0.0.0`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    /// Pre-release identifiers (`rc.2`), empty for a release.
    pub pre: String,
    /// Build metadata; ignored by comparisons.
    pub build: String,
}

impl Version {
    /// Parses the running agent's version with pre-release and build metadata
    /// stripped, as the rule loader does (`7.71.0-rc.2` is `7.71.0`).
    pub fn parse(text: &str) -> Result<Version, String> {
        let mut v = Version::parse_full(text)?;
        v.pre.clear();
        v.build.clear();
        Ok(v)
    }

    /// Parses a version keeping pre-release and build metadata. Accepts a leading `v`
    /// and partial versions (`7`, `7.71`).
    pub fn parse_full(text: &str) -> Result<Version, String> {
        let err = || format!("invalid semantic version `{text}`");
        let s = text.strip_prefix('v').unwrap_or(text);
        let (s, build) = match s.split_once('+') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let (core, pre) = match s.split_once('-') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let mut nums = [0u64; 3];
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 {
            return Err(err());
        }
        for (slot, p) in nums.iter_mut().zip(&parts) {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            *slot = p.parse().map_err(|_| err())?;
        }
        let ident_ok = |ids: &str| {
            ids.split('.').all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        };
        if let Some(pre) = pre {
            // Numeric pre-release identifiers may not have leading zeros.
            let leading_zero = |id: &str| id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit());
            if !ident_ok(pre) || pre.split('.').any(leading_zero) {
                return Err(err());
            }
        }
        if let Some(build) = build
            && !ident_ok(build)
        {
            return Err(err());
        }
        Ok(Version {
            major: nums[0],
            minor: nums[1],
            patch: nums[2],
            pre: pre.unwrap_or_default().to_string(),
            build: build.unwrap_or_default().to_string(),
        })
    }

    /// Semver precedence (build metadata ignored).
    pub fn compare(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch).cmp(&(other.major, other.minor, other.patch)).then_with(|| {
            match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prerelease(&self.pre, &other.pre),
            }
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => {
                let o = compare_pre_part(x.unwrap_or(""), y.unwrap_or(""));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Numeric identifiers sort below alphanumeric ones; a missing identifier sorts first.
fn compare_pre_part(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    if a.is_empty() {
        return Ordering::Less;
    }
    if b.is_empty() {
        return Ordering::Greater;
    }
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Single {
    op: Op,
    con: Version,
    /// A wildcard or missing part: major (`x`), minor (`7`, `7.x`) or patch (`7.70`).
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A parsed constraint: OR of ANDs of single comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constraint {
    text: String,
    any_of: Vec<Vec<Single>>,
}

// Version as written in a constraint: digits, `x`, `X`, `*` (and `|`, an artefact of
// the reference's character class kept for identical acceptance).
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
// Go's `\s` is ASCII-only.
const WS: &str = r"[\t\n\f\r ]";
// The empty alternative is deliberate: no operator means `=`.
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Regexes {
    single: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

fn regexes() -> &'static Regexes {
    static RE: OnceLock<Regexes> = OnceLock::new();
    RE.get_or_init(|| {
        let re = |s: String| Regex::new(&s).expect("constraint regex");
        Regexes {
            single: re(format!(r"^{WS}*({OPS}){WS}*({CV}){WS}*$")),
            range: re(format!(r"{WS}*({CV}){WS}+-{WS}+({CV}){WS}*")),
            find: re(format!(r"({OPS}){WS}*({CV})")),
            valid: re(format!(r"^({WS}*({OPS}){WS}*({CV}){WS}*)((?:{WS}+|,{WS}*)({OPS}){WS}*({CV}){WS}*)*$")),
        }
    })
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

impl Constraint {
    /// Parses a constraint; the empty string accepts every version.
    pub fn parse(text: &str) -> Result<Constraint, String> {
        if text.is_empty() {
            return Ok(Constraint { text: String::new(), any_of: vec![] });
        }
        let re = regexes();
        let rewritten = rewrite_ranges(text, &re.range);
        let mut any_of = Vec::new();
        for part in rewritten.split("||") {
            if !re.valid.is_match(part) {
                return Err(format!("improper constraint: {part}"));
            }
            let all =
                re.find.find_iter(part).map(|m| parse_single(m.as_str(), &re.single)).collect::<Result<Vec<_>, _>>()?;
            any_of.push(all);
        }
        Ok(Constraint { text: text.to_string(), any_of })
    }

    /// The constraint as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `v` satisfies the constraint. Pass the agent version through
    /// [`Version::parse`], which strips pre-release and build metadata.
    pub fn matches(&self, v: &Version) -> bool {
        self.any_of.is_empty() || self.any_of.iter().any(|all| all.iter().all(|c| c.check(v)))
    }
}

/// `A - B` becomes `>= A, <= B` (the whole match, surrounding blanks included, is
/// replaced at its first occurrence, as the reference does).
fn rewrite_ranges(text: &str, range: &Regex) -> String {
    let mut out = text.to_string();
    for caps in range.captures_iter(text) {
        let whole = &caps[0];
        // Group 1 is the first version; the second version's group comes after the
        // first version's ten groups.
        let rep = format!(">= {}, <= {}", &caps[1], &caps[11]);
        out = out.replacen(whole, &rep, 1);
    }
    out
}

fn parse_single(s: &str, single: &Regex) -> Result<Single, String> {
    let caps = single.captures(s).ok_or_else(|| format!("improper constraint: {s}"))?;
    let op = match &caps[1] {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        _ => Op::Caret,
    };
    let g = |i: usize| caps.get(i).map_or("", |m| m.as_str());
    let (major, minor, patch, pre) = (g(3), g(4), g(5), g(6));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let ver = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        dirty = true;
        minor_dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        g(2).to_string()
    };
    let con = Version::parse_full(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Single { op, con, dirty, minor_dirty, patch_dirty })
}

impl Single {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        // A pre-release only satisfies constraints that mention a pre-release (for
        // `!=`, only when the constraint has a wildcard part).
        if !v.pre.is_empty() && c.pre.is_empty() && (self.op != Op::NotEqual || self.dirty) {
            return false;
        }
        let cmp = v.compare(c);
        match self.op {
            Op::TildeOrEqual if self.dirty => self.tilde(v),
            Op::TildeOrEqual => cmp == Ordering::Equal,
            Op::Tilde => self.tilde(v),
            Op::NotEqual => self.not_equal(v),
            Op::Greater => {
                if !self.dirty {
                    cmp == Ordering::Greater
                } else if v.major != c.major {
                    v.major > c.major
                } else if self.minor_dirty {
                    false
                } else if self.patch_dirty {
                    v.minor > c.minor
                } else {
                    cmp == Ordering::Greater
                }
            }
            Op::Less => cmp == Ordering::Less,
            Op::GreaterEqual => cmp != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    cmp != Ordering::Greater
                } else {
                    !(v.major > c.major || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
                }
            }
            Op::Caret => self.caret(v, cmp),
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if (c.major, c.minor, c.patch) == (0, 0, 0) && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.dirty {
            if c.major != v.major {
                return true;
            }
            if c.minor != v.minor && !self.minor_dirty {
                return true;
            }
            if self.minor_dirty {
                return false;
            }
            if c.patch != v.patch && !self.patch_dirty {
                return true;
            }
            if self.patch_dirty {
                return (!v.pre.is_empty() || !c.pre.is_empty())
                    && compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
            }
        }
        v.compare(c) != Ordering::Equal
    }

    fn caret(&self, v: &Version, cmp: Ordering) -> bool {
        let c = &self.con;
        if cmp == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        v.patch == c.patch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        Constraint::parse(c).unwrap_or_else(|e| panic!("{c}: {e}")).matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn spec_examples_for_7_70_0() {
        let v = "7.70.0";
        assert!(!ok("~7.69", v));
        assert!(!ok("^7.70.5", v));
        assert!(ok("~7.70", v));
        assert!(ok("^7.60", v));
        assert!(ok("7.70.0 - 7.70.0", v));
        assert!(ok(">= 7.70.0", "7.70.0-rc.2"));
        assert!(ok("7.70.0", "7.70.0-rc.2+git.1.abc"));
    }

    #[test]
    fn spec_syntax_examples() {
        assert!(ok(">= 7.68", "7.70.0"));
        assert!(!ok(">= 7.68", "7.67.9"));
        assert!(ok(">=7.65 <7.70", "7.69.3"));
        assert!(!ok(">=7.65 <7.70", "7.70.0"));
        assert!(ok(">=7.65, <7.70", "7.65.0"));
        assert!(ok("< 7.71", "7.70.99"));
        assert!(!ok("< 7.71", "7.71.0"));
        assert!(ok(">= 7.70.1", "7.70.1"));
        assert!(!ok(">= 7.70.1", "7.70.0"));
        assert!(ok("^7", "7.99.0"));
        assert!(!ok("^7", "8.0.0"));
        assert!(ok(">=v7.60", "7.60.0"));
        assert!(ok("=> 7.60", "7.61.0"));
        assert!(ok("~> 7.60", "7.60.9"));
        assert!(ok("7.*", "7.1.2"));
        assert!(!ok("7.*", "8.0.0"));
        assert!(ok("7.70.*", "7.70.4"));
        assert!(ok("7.70.x", "7.70.4"));
        assert!(!ok("7.70.x", "7.71.0"));
        assert!(ok("x", "1.2.3"));
        assert!(ok("*", "7.70.0"));
        assert!(ok(">= 7.x", "7.0.0"));
        assert!(ok("7.60 - 7.65", "7.65.0"));
        assert!(!ok("7.60 - 7.65", "7.66.0"));
        assert!(ok("< 7.50 || >= 7.70", "7.70.0"));
        assert!(ok("< 7.50 || >= 7.70", "7.49.0"));
        assert!(!ok("< 7.50 || >= 7.70", "7.60.0"));
        assert!(ok("!= 7.70.0", "7.70.1"));
        assert!(!ok("!= 7.70.0", "7.70.0"));
        assert!(!ok("!= 7.70", "7.70.3"));
        assert!(ok("!= 7.70", "7.71.0"));
        assert!(ok("", "1.0.0"));
        assert!(ok("7.70", "7.70.5"));
        assert!(ok("= 7.70.0", "7.70.0"));
        assert!(!ok("= 7.70.0", "7.70.1"));
        assert!(ok("> 7", "8.0.0"));
        assert!(!ok("> 7", "7.9.0"));
        assert!(ok("> 7.69", "7.70.0"));
        assert!(!ok("> 7.70", "7.70.9"));
        assert!(ok("<= 7.70", "7.70.9"));
        assert!(!ok("<= 7.70", "7.71.0"));
        assert!(ok("<= 7", "7.99.0"));
    }

    #[test]
    fn spec_invalid() {
        for c in ["7.6x", "7.7x"] {
            assert_eq!(Constraint::parse(c).unwrap_err(), "constraint parser error", "{c}");
        }
        assert_eq!(Constraint::parse(">= 7.60 && < 7.75").unwrap_err(), "improper constraint: >= 7.60 && < 7.75");
        assert!(Constraint::parse("agent seven").unwrap_err().starts_with("improper constraint: "));
        assert!(Constraint::parse(" ").is_err());
        assert!(Constraint::parse("||").is_err());
    }

    #[test]
    fn caret_on_zero_majors() {
        assert!(ok("^0.2.3", "0.2.9"));
        assert!(!ok("^0.2.3", "0.3.0"));
        assert!(ok("^0.0.3", "0.0.3"));
        assert!(!ok("^0.0.3", "0.0.4"));
        assert!(ok("^0", "0.9.0"));
        assert!(!ok("^0", "1.0.0"));
    }

    #[test]
    fn prerelease_constraints() {
        let v = Version::parse_full("7.70.0-rc.2").unwrap();
        assert!(Constraint::parse(">= 7.70.0-rc.1").unwrap().matches(&v));
        assert!(!Constraint::parse(">= 7.70.0").unwrap().matches(&v));
        assert!(ok(">= 7.70.0-rc.1", "7.70.0"));
    }

    #[test]
    fn versions() {
        let v = Version::parse("v7.71.0-rc.2+build.5").unwrap();
        assert_eq!(v.to_string(), "7.71.0");
        assert_eq!(Version::parse("7.71").unwrap().to_string(), "7.71.0");
        assert!(Version::parse("7.x").is_err());
        assert!(Version::parse("").is_err());
        assert!(Version::parse("1.2.3.4").is_err());
        assert!(Version::parse("1.2.3-01").is_err());
        assert!(Version::parse("99999999999999999999.0.0").is_err());
        let a = Version::parse_full("1.0.0-alpha").unwrap();
        let b = Version::parse_full("1.0.0-alpha.1").unwrap();
        let c = Version::parse_full("1.0.0-beta").unwrap();
        let d = Version::parse_full("1.0.0-2").unwrap();
        assert_eq!(a.compare(&b), Ordering::Less);
        assert_eq!(b.compare(&c), Ordering::Less);
        assert_eq!(d.compare(&a), Ordering::Less);
    }
}
