//! An index of many string matchers by their literal prefix, so that a value is only
//! tried against the patterns whose prefix it starts with.
//!
//! Every case-sensitive plain pattern and path glob requires the value to start with the
//! text before its first `*` (SPEC §5.2, §5.3), so the prefix is a sound pre-filter. The
//! prefixes form a byte trie; walking a value down it visits exactly the patterns whose
//! prefix matches.
//!
//! Patterns with no literal prefix (`*id_rsa*`, `*.minexmr.com`) are pre-filtered by
//! their longest literal run, which every match must contain: one Aho-Corasick scan of
//! the value finds the few worth trying. Path globs keep only the prefix rule (their
//! quirks let `/a/` match `/a/*/b`), and regexps are tried in order.

use crate::fxhash::FxHashMap;
use crate::matcher::StrMatcher;
use crate::value::glob::PathFacts;
use aho_corasick::AhoCorasick;
use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

#[derive(Clone, Debug, Default)]
struct TrieNode {
    /// Sorted by byte.
    children: Vec<(u8, u32)>,
    /// Entries whose prefix ends here.
    entries: Vec<u32>,
}

#[derive(Clone, Debug)]
pub struct PatternIndex<T> {
    nodes: Vec<TrieNode>,
    /// Patterns without a prefix but with a literal suffix, by that suffix read
    /// backwards (`*.minexmr.com`): a walk from the value's end finds them.
    suffixes: Vec<TrieNode>,
    /// Case-insensitive patterns by their lower-cased prefix or suffix, walked with the
    /// value lower-cased when it is ASCII; a non-ASCII value (Unicode folding can turn it
    /// into ASCII) tries all of `folded_ids`.
    folded_prefixes: Vec<TrieNode>,
    folded_suffixes: Vec<TrieNode>,
    folded_ids: Vec<u32>,
    /// Path globs whose last element is literal (`/home/*/.aws/credentials`), by it: a
    /// path tries only those of its last segment (one ending with `/` or without a `/`
    /// tries them all). Most paths share a prefix with many globs, not a last segment.
    by_last: FxHashMap<Box<[u8]>, Vec<u32>>,
    by_last_ids: Vec<u32>,
    entries: Vec<(Arc<StrMatcher>, T)>,
    /// Entries without a prefix but with a literal run: (literal, entry, case-insensitive).
    literal: Vec<(String, u32, bool)>,
    /// Entries with nothing to pre-filter on.
    unindexed: Vec<u32>,
    /// Built on first use, after every insert.
    scanner: OnceLock<Option<Scanner>>,
}

#[derive(Clone, Debug)]
struct Scanner {
    /// Two or more regexps without a usable prefix run as one `RegexSet` pass.
    regexes: Option<(regex::RegexSet, Vec<u32>)>,
    sensitive: Option<Literals>,
    /// ASCII-case-insensitive literals; values with non-ASCII text try these in full,
    /// since Unicode folding can turn them into ASCII (the Kelvin sign into `k`).
    insensitive: Option<Literals>,
}

/// The literal runs of some patterns, found by one automaton.
#[derive(Clone, Debug)]
struct Literals {
    ac: AhoCorasick,
    /// The entry of each literal.
    ids: Vec<u32>,
    /// Bytes of the shortest literal: a shorter ASCII value contains none (most values
    /// tried, environment variable names and short arguments, are settled so).
    shortest: usize,
}

impl<T> Default for PatternIndex<T> {
    fn default() -> Self {
        PatternIndex {
            nodes: vec![TrieNode::default()],
            suffixes: vec![TrieNode::default()],
            folded_prefixes: vec![TrieNode::default()],
            folded_suffixes: vec![TrieNode::default()],
            folded_ids: Vec::new(),
            by_last: FxHashMap::default(),
            by_last_ids: Vec::new(),
            entries: Vec::new(),
            literal: Vec::new(),
            unindexed: Vec::new(),
            scanner: OnceLock::new(),
        }
    }
}

/// The longest `*`-free run of a plain pattern, when it is worth a pre-filter.
fn longest_literal(m: &StrMatcher) -> Option<(String, bool)> {
    let StrMatcher::Pattern(p) = m else { return None };
    let ci = p.is_case_insensitive();
    let best = p.as_str().split('*').max_by_key(|s| s.len())?;
    if best.is_empty() || (ci && !best.is_ascii()) {
        return None;
    }
    Some((if ci { best.to_ascii_lowercase() } else { best.to_owned() }, ci))
}

fn automaton(lits: &[&(String, u32, bool)], ci: bool) -> Option<Literals> {
    if lits.is_empty() {
        return None;
    }
    let ac = AhoCorasick::builder().ascii_case_insensitive(ci).build(lits.iter().map(|l| l.0.as_str())).ok()?;
    let shortest = lits.iter().map(|l| l.0.len()).min().unwrap_or(0);
    Some(Literals { ac, ids: lits.iter().map(|l| l.1).collect(), shortest })
}

/// Whether `m` is indexed by a literal prefix, suffix or last path element (cheap to
/// add to an index: only values starting or ending with it try it).
pub fn is_indexed(m: &StrMatcher) -> bool {
    !matches!(place(m), Place::Literal(..) | Place::Unindexed)
}

/// Where an index keeps a matcher, the first that applies: path globs by their literal
/// last element, then by literal prefix, by suffix, case-folded prefix or suffix (keys
/// of suffix tries are reversed), by their longest literal run, or nowhere.
enum Place {
    Last(Box<[u8]>),
    Prefix(Vec<u8>),
    Suffix(Vec<u8>),
    FoldedPrefix(Vec<u8>),
    FoldedSuffix(Vec<u8>),
    Literal(String, bool),
    Unindexed,
}

fn place(m: &StrMatcher) -> Place {
    if let StrMatcher::Glob(g) = m
        && let Some(last) = g.literal_last()
    {
        return Place::Last(Box::from(last.as_bytes()));
    }
    if let Some(key) = prefix(m).filter(|p| !p.is_empty()) {
        return Place::Prefix(key.as_bytes().to_vec());
    }
    if let Some(tail) = suffix(m) {
        return Place::Suffix(tail.bytes().rev().collect());
    }
    match folded_key(m) {
        Some(Ok(head)) => Place::FoldedPrefix(head.as_bytes().to_vec()),
        Some(Err(tail)) => Place::FoldedSuffix(tail.bytes().rev().collect()),
        None => longest_literal(m).map_or(Place::Unindexed, |(lit, ci)| Place::Literal(lit, ci)),
    }
}

/// The prefix every match of `m` starts with, when there is a sound one.
fn prefix(m: &StrMatcher) -> Option<Cow<'_, str>> {
    match m {
        StrMatcher::Pattern(p) if !p.is_case_insensitive() => Some(Cow::Borrowed(p.literal_prefix())),
        StrMatcher::Glob(g) if !g.is_case_insensitive() => Some(Cow::Borrowed(g.literal_prefix())),
        StrMatcher::Exact(e) => Some(Cow::Borrowed(e)),
        StrMatcher::Regex(r) => regex_prefix(r.as_str()).map(Cow::Owned),
        _ => None,
    }
}

/// The text every match of a regexp anchored at the start (`^\[.*\]$`) begins with:
/// its leading literal characters, up to the first that is optional or not literal.
/// Conservative: a regexp with any alternation, or starting with flags, has none.
fn regex_prefix(src: &str) -> Option<String> {
    const META: &str = "\\.+*?()|[]{}^$";
    let rest = src.strip_prefix('^')?;
    if src.contains('|') {
        return None;
    }
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        let lit = match c {
            '\\' => match chars.next() {
                // `\.` is a literal dot; `\d`, `\b`, `\<` and the like are not literals.
                Some(e) if META.contains(e) => e,
                _ => break,
            },
            c if META.contains(c) => break,
            c => c,
        };
        if matches!(chars.peek(), Some('*' | '?' | '{')) {
            break;
        }
        out.push(lit);
    }
    (!out.is_empty()).then_some(out)
}

/// The text every match of a case-sensitive plain pattern without a literal prefix ends
/// with (`*.minexmr.com`): the reference requires its last literal to be a suffix.
fn suffix(m: &StrMatcher) -> Option<&str> {
    let StrMatcher::Pattern(p) = m else { return None };
    if p.is_case_insensitive() || !p.literal_prefix().is_empty() {
        return None;
    }
    Some(p.literal_suffix()).filter(|t| !t.is_empty())
}

/// For a case-insensitive plain pattern (on a case-insensitive field: `dns.question.name`),
/// the lower-cased literal text every match of an ASCII value starts with (`Ok`) or, with
/// no prefix, ends with (`Err`).
fn folded_key(m: &StrMatcher) -> Option<Result<&str, &str>> {
    let StrMatcher::Pattern(p) = m else { return None };
    if !p.is_case_insensitive() {
        return None;
    }
    match (p.literal_prefix(), p.literal_suffix()) {
        ("", "") => None,
        ("", tail) => Some(Err(tail)),
        (head, _) => Some(Ok(head)),
    }
}

impl<T> PatternIndex<T> {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn payloads(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|e| &e.1)
    }

    /// Builds the literal scanner now rather than at the first lookup, so that no event
    /// pays for it (call once every matcher is inserted).
    pub fn prepare(&self) {
        self.scanner.get_or_init(|| self.build_scanner());
    }

    fn build_scanner(&self) -> Option<Scanner> {
        let regex_ids: Vec<u32> = self
            .unindexed
            .iter()
            .copied()
            .filter(|e| matches!(*self.entries[*e as usize].0, StrMatcher::Regex(_)))
            .collect();
        let regexes = (regex_ids.len() >= 2)
            .then(|| {
                let sources = regex_ids.iter().map(|e| self.entries[*e as usize].0.source().to_owned());
                regex::RegexSetBuilder::new(sources).size_limit(1 << 22).build().ok().map(|set| (set, regex_ids))
            })
            .flatten();
        if self.literal.is_empty() && regexes.is_none() {
            return None;
        }
        let (ci, cs): (Vec<_>, Vec<_>) = self.literal.iter().partition(|l| l.2);
        Some(Scanner { regexes, sensitive: automaton(&cs, false), insensitive: automaton(&ci, true) })
    }

    pub fn insert(&mut self, m: Arc<StrMatcher>, payload: T) {
        let id = self.entries.len() as u32;
        self.scanner = OnceLock::new();
        let place = place(&m);
        self.entries.push((m, payload));
        match place {
            Place::Last(last) => {
                self.by_last.entry(last).or_default().push(id);
                self.by_last_ids.push(id);
            }
            Place::Prefix(key) => trie_insert(&mut self.nodes, key, id),
            Place::Suffix(key) => trie_insert(&mut self.suffixes, key, id),
            Place::FoldedPrefix(key) => {
                trie_insert(&mut self.folded_prefixes, key, id);
                self.folded_ids.push(id);
            }
            Place::FoldedSuffix(key) => {
                trie_insert(&mut self.folded_suffixes, key, id);
                self.folded_ids.push(id);
            }
            Place::Literal(lit, ci) => self.literal.push((lit, id, ci)),
            Place::Unindexed => self.unindexed.push(id),
        }
    }

    /// Calls `f` with the payload of every matcher matching `s`, until `f` returns true;
    /// returns whether it did.
    pub fn find(&self, s: &str, f: impl FnMut(&T) -> bool) -> bool {
        struct All<F>(F);
        impl<T, F: FnMut(&T) -> bool> Visitor<T> for All<F> {
            fn hit(&mut self, payload: &T) -> bool {
                (self.0)(payload)
            }
        }
        self.visit(s, &mut All(f))
    }

    /// [`PatternIndex::find`] that skips the matchers whose payload `v` no longer wants
    /// (a rule already known to be a candidate), without matching them.
    pub fn visit<V: Visitor<T>>(&self, s: &str, v: &mut V) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let bytes = s.as_bytes();
        // Path globs sharing a prefix are often many: they share the value's separators.
        let mut facts = None;
        let mut try_entry = |v: &mut V, e: u32| {
            let (m, payload) = &self.entries[e as usize];
            v.wants(payload)
                && match &**m {
                    StrMatcher::Glob(g) => g.matches_with(s, || *facts.get_or_insert_with(|| PathFacts::of(s))),
                    m => m.matches(s),
                }
                && v.hit(payload)
        };
        if walk(&self.nodes, bytes.iter().copied(), &mut |e| try_entry(v, e))
            || (self.suffixes.len() > 1 && walk(&self.suffixes, bytes.iter().rev().copied(), &mut |e| try_entry(v, e)))
        {
            return true;
        }
        if !self.by_last_ids.is_empty() {
            let found = match bytes.iter().rposition(|&b| b == b'/') {
                Some(i) if i + 1 < bytes.len() => {
                    self.by_last.get(&bytes[i + 1..]).is_some_and(|ids| ids.iter().any(|e| try_entry(v, *e)))
                }
                _ => self.by_last_ids.iter().any(|e| try_entry(v, *e)),
            };
            if found {
                return true;
            }
        }
        if !self.folded_ids.is_empty() {
            let found = if s.is_ascii() {
                let lower = |b: &u8| b.to_ascii_lowercase();
                walk(&self.folded_prefixes, bytes.iter().map(lower), &mut |e| try_entry(v, e))
                    || walk(&self.folded_suffixes, bytes.iter().rev().map(lower), &mut |e| try_entry(v, e))
            } else {
                self.folded_ids.iter().any(|e| try_entry(v, *e))
            };
            if found {
                return true;
            }
        }
        if self.literal.is_empty() && self.unindexed.is_empty() {
            // Only prefixes and suffixes: settled by the walks.
            return false;
        }
        let scanner = self.scanner.get_or_init(|| self.build_scanner());
        let in_set =
            |e: &u32| scanner.as_ref().and_then(|s| s.regexes.as_ref()).is_some_and(|(_, ids)| ids.contains(e));
        for e in &self.unindexed {
            if in_set(e) {
                continue;
            }
            if try_entry(v, *e) {
                return true;
            }
        }
        let Some(scanner) = scanner else { return false };
        if let Some((set, ids)) = &scanner.regexes {
            // `RegexSet::matches` allocates; a miss (the common case) is decided by
            // `is_match`, and a hit reads into a stack buffer.
            if set.is_match(s) {
                let mut hits = [false; 64];
                if ids.len() <= hits.len() {
                    set.matches_read_at(&mut hits[..ids.len()], s, 0);
                    for (i, _) in hits[..ids.len()].iter().enumerate().filter(|(_, h)| **h) {
                        if v.hit(&self.entries[ids[i] as usize].1) {
                            return true;
                        }
                    }
                } else {
                    for i in set.matches(s).iter() {
                        if v.hit(&self.entries[ids[i] as usize].1) {
                            return true;
                        }
                    }
                }
            }
        }
        if let Some(l) = &scanner.sensitive
            && s.len() >= l.shortest
        {
            for hit in l.ac.find_overlapping_iter(s) {
                if try_entry(v, l.ids[hit.pattern().as_usize()]) {
                    return true;
                }
            }
        }
        if let Some(l) = &scanner.insensitive {
            if s.is_ascii() {
                if s.len() < l.shortest {
                    return false;
                }
                for hit in l.ac.find_overlapping_iter(s) {
                    if try_entry(v, l.ids[hit.pattern().as_usize()]) {
                        return true;
                    }
                }
            } else {
                for &e in &l.ids {
                    if try_entry(v, e) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// Tries the entries of every trie node on the path spelled by `bytes`, until `try_entry`
/// returns true; returns whether it did.
fn walk(nodes: &[TrieNode], mut bytes: impl Iterator<Item = u8>, try_entry: &mut impl FnMut(u32) -> bool) -> bool {
    let mut node = 0usize;
    loop {
        if nodes[node].entries.iter().any(|&e| try_entry(e)) {
            return true;
        }
        let Some(b) = bytes.next() else { return false };
        let children = &nodes[node].children;
        match children.binary_search_by_key(&b, |c| c.0) {
            Ok(i) => node = children[i].1 as usize,
            Err(_) => return false,
        }
    }
}

/// Adds entry `id` under `key` to a byte trie.
fn trie_insert(nodes: &mut Vec<TrieNode>, key: Vec<u8>, id: u32) {
    let mut node = 0usize;
    for b in key {
        let pos = nodes[node].children.binary_search_by_key(&b, |c| c.0);
        node = match pos {
            Ok(i) => nodes[node].children[i].1 as usize,
            Err(i) => {
                let next = nodes.len() as u32;
                nodes.push(TrieNode::default());
                nodes[node].children.insert(i, (b, next));
                next as usize
            }
        };
    }
    nodes[node].entries.push(id);
}

/// What [`PatternIndex::visit`] reports matches to.
pub trait Visitor<T> {
    /// Whether a match of this payload still matters; `false` skips its matcher.
    fn wants(&mut self, _payload: &T) -> bool {
        true
    }

    /// A matcher with this payload matched; `true` stops the search.
    fn hit(&mut self, payload: &T) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::glob::Glob;
    use crate::value::pattern::Pattern;

    #[test]
    fn regex_prefixes_are_required_text_only() {
        assert_eq!(regex_prefix(r"^\[.*\]$").as_deref(), Some("["));
        assert_eq!(regex_prefix(r"^ab?c").as_deref(), Some("a"));
        assert_eq!(regex_prefix(r"^ab+c").as_deref(), Some("ab"));
        assert_eq!(regex_prefix(r"^/tmp/").as_deref(), Some("/tmp/"));
        assert_eq!(regex_prefix(r"^a{2}"), None);
        assert_eq!(regex_prefix(r"^a|b"), None);
        assert_eq!(regex_prefix(r"a"), None);
        assert_eq!(regex_prefix(r"^\d"), None);
        assert_eq!(regex_prefix(r"^\<a"), None);
        assert_eq!(regex_prefix(r"(?i)^a"), None);
    }

    #[test]
    fn finds_exactly_the_matching_patterns() {
        let mut idx = PatternIndex::default();
        let ms = [
            StrMatcher::Glob(Glob::new("/usr/bin/*", false).unwrap()),
            StrMatcher::Glob(Glob::new("/usr/**", false).unwrap()),
            StrMatcher::Pattern(Pattern::new("*rsa*", false).unwrap()),
            StrMatcher::Pattern(Pattern::new("*id_*_rsa", false).unwrap()),
            StrMatcher::Pattern(Pattern::new("*.MineXmr.com", true).unwrap()),
            StrMatcher::Pattern(Pattern::new("*", false).unwrap()),
            StrMatcher::Regex(regex::Regex::new("^/tmp").unwrap()),
            StrMatcher::Regex(regex::Regex::new(r"x\d").unwrap()),
            StrMatcher::Glob(Glob::new("/a/*/b", false).unwrap()),
            StrMatcher::Regex(regex::Regex::new(r"^\[.*\]$").unwrap()),
            StrMatcher::Regex(regex::Regex::new(r"^ab?c").unwrap()),
            StrMatcher::Regex(regex::Regex::new(r"^a|b").unwrap()),
            StrMatcher::Regex(regex::Regex::new(r"^x\d+").unwrap()),
            StrMatcher::Regex(regex::Regex::new(r"^(?i)kw").unwrap()),
            StrMatcher::Regex(regex::Regex::new(r"^k+w").unwrap()),
            StrMatcher::Pattern(Pattern::new("*.minexmr.com", false).unwrap()),
            StrMatcher::Pattern(Pattern::new("*a*.com", false).unwrap()),
            StrMatcher::Glob(Glob::new("/home/*/.ssh/id_rsa", false).unwrap()),
            StrMatcher::Glob(Glob::new("*/x", false).unwrap()),
            StrMatcher::Glob(Glob::new("/a/**/b", false).unwrap()),
            StrMatcher::Glob(Glob::new("*", false).unwrap()),
            StrMatcher::Pattern(Pattern::new("K*x", true).unwrap()),
            StrMatcher::Pattern(Pattern::new("Pool.*", true).unwrap()),
            StrMatcher::Pattern(Pattern::new("*.COM", true).unwrap()),
            StrMatcher::Pattern(Pattern::new("*Xmr*", true).unwrap()),
        ];
        for (i, m) in ms.iter().enumerate() {
            idx.insert(Arc::new(m.clone()), i);
        }
        for s in [
            "/usr/bin/ls",
            "/usr/lib/x",
            "/home/id_rsa",
            "/tmp/x",
            "/a/",
            "",
            "/usr",
            "pool.minexmr.COM",
            "x.minexmr.com\u{212A}",
            "id_x_rsa",
            "[kworker/0:1]",
            "[kworker",
            "ac",
            "abc",
            "b",
            "x12",
            "KWorker",
            "kkw",
            "x.minexmr.com",
            ".minexmr.com",
            "minexmr.com",
            "a.com",
            "\u{212A}x",
            "kX",
            "POOL.x",
            "pool",
            "x.Com",
            "/home/u/.ssh/id_rsa",
            "/home/u/.ssh/",
            "/home/",
            "/bin",
            "x",
            "/x",
            "//x",
            "/a/c/b",
            "/a/b",
            "/a/c/d/b",
            "/",
        ] {
            let mut got = Vec::new();
            idx.find(s, |i| {
                got.push(*i);
                false
            });
            got.sort();
            let want: Vec<usize> = (0..ms.len()).filter(|i| ms[*i].matches(s)).collect();
            assert_eq!(got, want, "{s}");
        }
    }
}
