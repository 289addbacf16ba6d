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

use crate::matcher::StrMatcher;
use aho_corasick::AhoCorasick;
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
    sensitive: Option<(AhoCorasick, Vec<u32>)>,
    /// ASCII-case-insensitive literals; values with non-ASCII text try these in full,
    /// since Unicode folding can turn them into ASCII (the Kelvin sign into `k`).
    insensitive: Option<(AhoCorasick, Vec<u32>)>,
}

impl<T> Default for PatternIndex<T> {
    fn default() -> Self {
        PatternIndex {
            nodes: vec![TrieNode::default()],
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

fn automaton(lits: &[&(String, u32, bool)], ci: bool) -> Option<(AhoCorasick, Vec<u32>)> {
    if lits.is_empty() {
        return None;
    }
    let ac = AhoCorasick::builder().ascii_case_insensitive(ci).build(lits.iter().map(|l| l.0.as_str())).ok()?;
    Some((ac, lits.iter().map(|l| l.1).collect()))
}

/// The prefix every match of `m` starts with, when there is a sound one.
fn prefix(m: &StrMatcher) -> Option<&str> {
    match m {
        StrMatcher::Pattern(p) if !p.is_case_insensitive() => Some(p.literal_prefix()),
        StrMatcher::Glob(g) if !g.is_case_insensitive() => Some(g.literal_prefix()),
        StrMatcher::Exact(e) => Some(e),
        _ => None,
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
        let key = prefix(&m).filter(|p| !p.is_empty()).map(|p| p.as_bytes().to_vec());
        let literal = longest_literal(&m);
        self.entries.push((m, payload));
        let Some(key) = key else {
            match literal {
                Some((lit, ci)) => self.literal.push((lit, id, ci)),
                None => self.unindexed.push(id),
            }
            return;
        };
        let mut node = 0usize;
        for b in key {
            let pos = self.nodes[node].children.binary_search_by_key(&b, |c| c.0);
            node = match pos {
                Ok(i) => self.nodes[node].children[i].1 as usize,
                Err(i) => {
                    let next = self.nodes.len() as u32;
                    self.nodes.push(TrieNode::default());
                    self.nodes[node].children.insert(i, (b, next));
                    next as usize
                }
            };
        }
        self.nodes[node].entries.push(id);
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
    pub fn visit(&self, s: &str, v: &mut impl Visitor<T>) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let mut node = 0usize;
        let bytes = s.as_bytes();
        let mut depth = 0;
        loop {
            for &e in &self.nodes[node].entries {
                let (m, payload) = &self.entries[e as usize];
                if v.wants(payload) && m.matches(s) && v.hit(payload) {
                    return true;
                }
            }
            let Some(&b) = bytes.get(depth) else { break };
            let children = &self.nodes[node].children;
            match children.binary_search_by_key(&b, |c| c.0) {
                Ok(i) => node = children[i].1 as usize,
                Err(_) => break,
            }
            depth += 1;
        }
        let scanner = self.scanner.get_or_init(|| self.build_scanner());
        let in_set =
            |e: &u32| scanner.as_ref().and_then(|s| s.regexes.as_ref()).is_some_and(|(_, ids)| ids.contains(e));
        for e in &self.unindexed {
            if in_set(e) {
                continue;
            }
            let (m, payload) = &self.entries[*e as usize];
            if v.wants(payload) && m.matches(s) && v.hit(payload) {
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
        let mut try_entry = |e: u32| {
            let (m, payload) = &self.entries[e as usize];
            v.wants(payload) && m.matches(s) && v.hit(payload)
        };
        if let Some((ac, ids)) = &scanner.sensitive {
            for hit in ac.find_overlapping_iter(s) {
                if try_entry(ids[hit.pattern().as_usize()]) {
                    return true;
                }
            }
        }
        if let Some((ac, ids)) = &scanner.insensitive {
            if s.is_ascii() {
                for hit in ac.find_overlapping_iter(s) {
                    if try_entry(ids[hit.pattern().as_usize()]) {
                        return true;
                    }
                }
            } else {
                for &e in ids {
                    if try_entry(e) {
                        return true;
                    }
                }
            }
        }
        false
    }
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
