//! Discarders (SPEC §15.2): after an event is evaluated, the values of its file paths for
//! which no rule of the bucket can match, whatever the other fields hold, proven by sound
//! partial evaluation. A path is discarded exactly, and its parent directory when no
//! rule can match any path below it (path globs can tell). Entries live in a bounded LRU
//! that a rule-set reload empties (the kernel side bumps a generation instead).

use crate::capabilities::discarder_fields;
use secl_eval::event::{Event, Value};
use secl_eval::ir::Node;
use secl_eval::matcher::StrMatcher;
use secl_eval::model::{FieldId, Schema};
use secl_eval::partial::{self, PValue, Truth};
use secl_eval::ruleset::RuleSet;
use std::collections::{BTreeMap, HashMap};

/// A negative kernel entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Discarder {
    pub event_type: String,
    pub field: String,
    /// A path, or a directory when `dir`.
    pub value: String,
    /// Every path strictly below `value`.
    pub dir: bool,
}

/// Discarders for the event's file paths, against every rule of its bucket.
pub fn compute(rs: &RuleSet, ev: &dyn Event) -> Vec<Discarder> {
    let t = ev.event_type();
    let fields = discarder_fields(t);
    if fields.is_empty() {
        return Vec::new();
    }
    let schema = Schema::linux();
    let rules: Vec<&Node> = rs.bucket(t).iter().map(|i| &rs.rule(*i).node).collect();
    let mut out = Vec::new();
    for name in fields {
        let Some(def) = schema.field(&name) else { continue };
        let Value::Str(path) = ev.field(def.id) else { continue };
        if path.is_empty() {
            continue;
        }
        // The kernel derives the file's name from its path: both are known at once.
        let mut known = vec![(def.id, PValue::Str(path.to_owned()))];
        if let Some(name) = name.strip_suffix(".path").and_then(|p| schema.field(&format!("{p}.name"))) {
            known.push((name.id, PValue::Str(crate::keys::basename(path).to_owned())));
        }
        if rules.iter().all(|n| !partial::eval_known(n, &known).possible()) {
            out.push(Discarder { event_type: t.to_owned(), field: name.clone(), value: path.to_owned(), dir: false });
            if let Some((dir, _)) = path.rsplit_once('/')
                && !dir.is_empty()
                && rules.iter().all(|n| !could_match_under(n, def.id, dir))
            {
                out.push(Discarder { event_type: t.to_owned(), field: name, value: dir.to_owned(), dir: true });
            }
        }
    }
    out
}

/// Whether a rule could match with the field set to some path strictly below `dir`.
pub fn could_match_under(node: &Node, field: FieldId, dir: &str) -> bool {
    let below = |m: &StrMatcher| match m {
        StrMatcher::Exact(s) => s.len() > dir.len() + 1 && s.starts_with(dir) && s.as_bytes()[dir.len()] == b'/',
        StrMatcher::Glob(g) => g.could_match_under(dir),
        _ => true,
    };
    let verdict = partial::eval_with(node, field, &mut |leaf| {
        let (negate, possible) = match leaf {
            Node::MatchStr { negate, matcher, .. } => (*negate, below(matcher)),
            Node::InStrSet { negate, set, .. } => (*negate, set.members().iter().any(below)),
            _ => return Truth::Unknown,
        };
        let t = if possible { Truth::Unknown } else { Truth::False };
        if negate { t.not() } else { t }
    });
    verdict.possible()
}

/// A bounded LRU of discarders.
#[derive(Debug)]
pub struct DiscarderCache {
    capacity: usize,
    tick: u64,
    entries: HashMap<Discarder, u64>,
    by_age: BTreeMap<u64, Discarder>,
    /// Bumped on every [`DiscarderCache::invalidate`].
    pub generation: u32,
}

impl DiscarderCache {
    pub fn new(capacity: usize) -> DiscarderCache {
        DiscarderCache {
            capacity: capacity.max(1),
            tick: 0,
            entries: HashMap::new(),
            by_age: BTreeMap::new(),
            generation: 1,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds (or refreshes) an entry, evicting the least recently used; `true` if new.
    pub fn insert(&mut self, d: Discarder) -> bool {
        self.tick += 1;
        if let Some(old) = self.entries.insert(d.clone(), self.tick) {
            self.by_age.remove(&old);
            self.by_age.insert(self.tick, d);
            return false;
        }
        self.by_age.insert(self.tick, d);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else { break };
            self.entries.remove(&oldest);
        }
        true
    }

    /// Rule-set reload: every discarder is forgotten.
    pub fn invalidate(&mut self) {
        self.entries.clear();
        self.by_age.clear();
        self.generation = self.generation.wrapping_add(1);
    }

    /// Whether a discarder drops the event: its path, or a directory above it.
    pub fn discards(&self, ev: &dyn Event) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let t = ev.event_type();
        let schema = Schema::linux();
        for name in discarder_fields(t) {
            let Some(def) = schema.field(&name) else { continue };
            let Value::Str(path) = ev.field(def.id) else { continue };
            let key = |value: &str, dir: bool| Discarder {
                event_type: t.to_owned(),
                field: name.clone(),
                value: value.to_owned(),
                dir,
            };
            if self.entries.contains_key(&key(path, false)) {
                return true;
            }
            let mut rest = path;
            while let Some((dir, _)) = rest.rsplit_once('/') {
                if dir.is_empty() {
                    break;
                }
                if self.entries.contains_key(&key(dir, true)) {
                    return true;
                }
                rest = dir;
            }
        }
        false
    }
}
