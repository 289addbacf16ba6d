//! Compiled string matchers: what a string literal becomes once the typechecker knows
//! the field it is compared with (exact, case-folded, pattern, path glob or regex).

use crate::fxhash::FxHashSet;
use crate::value::glob::Glob;
use crate::value::pattern::Pattern;
use std::sync::Arc;

/// One compiled string literal.
#[derive(Clone, Debug)]
pub enum StrMatcher {
    Exact(Arc<str>),
    /// Stored folded; compared with Unicode simple case folding (Go's `EqualFold`).
    ExactFolded(Arc<str>),
    Pattern(Pattern),
    Glob(Glob),
    Regex(regex::Regex),
}

impl PartialEq for StrMatcher {
    fn eq(&self, other: &Self) -> bool {
        self.source() == other.source() && std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl StrMatcher {
    pub fn matches(&self, s: &str) -> bool {
        match self {
            StrMatcher::Exact(e) => **e == *s,
            StrMatcher::ExactFolded(e) => fold_eq(e, s),
            StrMatcher::Pattern(p) => p.matches(s),
            StrMatcher::Glob(g) => g.matches(s),
            StrMatcher::Regex(r) => r.is_match(s),
        }
    }

    /// The literal text this matcher was compiled from.
    pub fn source(&self) -> &str {
        match self {
            StrMatcher::Exact(e) | StrMatcher::ExactFolded(e) => e,
            StrMatcher::Pattern(p) => p.as_str(),
            StrMatcher::Glob(g) => g.as_str(),
            StrMatcher::Regex(r) => r.as_str(),
        }
    }
}

/// Case folding used for case-insensitive fields: lower-casing each character is Go's
/// simple folding for everything the reference's fields hold (the Kelvin sign included).
pub fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

/// `fold(a) == fold(b)` without allocating.
pub fn fold_eq(a: &str, b: &str) -> bool {
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

/// A literal list of strings, patterns and regexps. Exact members are hashed; the rest
/// are indexed by literal prefix.
#[derive(Clone, Default)]
pub struct StrSet {
    exact: FxHashSet<Box<str>>,
    folded: bool,
    others: crate::pattern_index::PatternIndex<()>,
    /// Members in source order, for explanations, approvers and display.
    members: Vec<StrMatcher>,
}

impl PartialEq for StrSet {
    fn eq(&self, other: &Self) -> bool {
        self.members == other.members
    }
}

impl StrSet {
    pub fn new(members: Vec<StrMatcher>) -> StrSet {
        let mut set = StrSet { members: members.clone(), ..StrSet::default() };
        for m in members {
            match m {
                StrMatcher::Exact(e) => {
                    set.exact.insert(Box::from(&*e));
                }
                StrMatcher::ExactFolded(e) => {
                    set.folded = true;
                    set.exact.insert(Box::from(&*e));
                }
                other => set.others.insert(Arc::new(other), ()),
            }
        }
        set.others.prepare();
        set
    }

    pub fn members(&self) -> &[StrMatcher] {
        &self.members
    }

    pub fn matches(&self, s: &str) -> bool {
        if !self.exact.is_empty() {
            if self.folded {
                if s.chars().all(|c| !c.is_uppercase()) {
                    if self.exact.contains(s) {
                        return true;
                    }
                } else if self.exact.contains(fold(s).as_str()) {
                    return true;
                }
            } else if self.exact.contains(s) {
                return true;
            }
        }
        self.others.find(s, |_| true)
    }
}

impl std::fmt::Debug for StrSet {
    /// The members only: the debug form doubles as the interning key of predicates.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.members.iter()).finish()
    }
}
