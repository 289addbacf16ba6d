//! The variable store (SPEC §8): global variables, and variables scoped to a process, a
//! container or a cgroup, with TTLs and size-bounded array variables.
//!
//! The store is the only mutable state of an engine; a rule set is immutable. TTLs are
//! measured on the evaluation clock (the events' timestamps in replay).

use crate::check::VarTable;
use crate::fxhash::FxHashMap;
use crate::ir::{Lit, Ty, VarId, VarRead, VarScope};
use crate::value::ip::IpNet;
use crate::vm::val::Val;
use std::borrow::Cow;

/// One scalar value held by a variable or an array variable's element.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Str(Box<str>),
    Ip(IpNet),
}

impl Scalar {
    pub fn as_str(&self) -> Option<&str> {
        if let Scalar::Str(s) = self { Some(s) } else { None }
    }
    pub fn as_int(&self) -> Option<i64> {
        if let Scalar::Int(i) = self { Some(*i) } else { None }
    }
    pub fn as_bool(&self) -> Option<bool> {
        if let Scalar::Bool(b) = self { Some(*b) } else { None }
    }
    pub fn as_ip(&self) -> Option<IpNet> {
        if let Scalar::Ip(i) = self { Some(*i) } else { None }
    }
    pub fn write_text(&self, out: &mut String) {
        match self {
            Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Scalar::Int(i) => out.push_str(&i.to_string()),
            Scalar::Str(s) => out.push_str(s),
            Scalar::Ip(ip) => out.push_str(&ip.to_string()),
        }
    }
}

/// An element of an array variable with its own expiry.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub value: Scalar,
    pub expires_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
enum Slot {
    Scalar(Scalar, Option<i64>),
    /// Oldest first: `append` moves a re-added element to the back (LRU).
    Array(Vec<Item>),
}

/// The identity of the entity a scoped variable belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScopeKey<'a> {
    Global,
    Process(i64),
    Container(&'a str),
    Cgroup(&'a str),
}

type Slots = FxHashMap<u32, Slot>;

/// Variables' values. Scopes are separate maps so that reads borrow the event's keys
/// instead of building owned ones (no allocation per read).
#[derive(Debug, Default, Clone)]
pub struct VarStore {
    decls: Vec<(VarScope, Ty)>,
    initial: Vec<Option<Lit>>,
    global: Slots,
    process: FxHashMap<i64, Slots>,
    container: FxHashMap<Box<str>, Slots>,
    cgroup: FxHashMap<Box<str>, Slots>,
}

impl VarStore {
    pub fn new(table: &VarTable, inits: &[crate::rule::VarInit]) -> VarStore {
        let decls: Vec<(VarScope, Ty)> = table.decls().iter().map(|d| (d.scope, d.ty)).collect();
        let mut initial = vec![None; decls.len()];
        for i in inits {
            if let Some(slot) = initial.get_mut(i.var.0 as usize)
                && slot.is_none()
            {
                *slot = i.initial.clone();
            }
        }
        VarStore { decls, initial, ..VarStore::default() }
    }

    /// Forgets everything (a fresh state, as `secl eval` gives each event).
    pub fn clear(&mut self) {
        self.global.clear();
        self.process.clear();
        self.container.clear();
        self.cgroup.clear();
    }

    /// Drops the variables of an entity that went away (a process exit).
    pub fn release(&mut self, key: ScopeKey<'_>) {
        match key {
            ScopeKey::Global => {}
            ScopeKey::Process(pid) => {
                self.process.remove(&pid);
            }
            ScopeKey::Container(c) => {
                self.container.remove(c);
            }
            ScopeKey::Cgroup(c) => {
                self.cgroup.remove(c);
            }
        }
    }

    /// Number of (entity, variable) values held.
    pub fn len(&self) -> usize {
        self.global.len()
            + self.process.values().map(|s| s.len()).sum::<usize>()
            + self.container.values().map(|s| s.len()).sum::<usize>()
            + self.cgroup.values().map(|s| s.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn slots(&self, key: ScopeKey<'_>) -> Option<&Slots> {
        match key {
            ScopeKey::Global => Some(&self.global),
            ScopeKey::Process(p) => self.process.get(&p),
            ScopeKey::Container(c) => self.container.get(c),
            ScopeKey::Cgroup(c) => self.cgroup.get(c),
        }
    }

    fn slots_mut(&mut self, key: ScopeKey<'_>) -> &mut Slots {
        match key {
            ScopeKey::Global => &mut self.global,
            ScopeKey::Process(p) => self.process.entry(p).or_default(),
            ScopeKey::Container(c) => self.container.entry(Box::from(c)).or_default(),
            ScopeKey::Cgroup(c) => self.cgroup.entry(Box::from(c)).or_default(),
        }
    }

    pub fn scope_of(&self, var: VarId) -> VarScope {
        self.decls.get(var.0 as usize).map_or(VarScope::Global, |d| d.0)
    }

    /// Reads `var` for `key`; `None` when never set. An expired value reads as the zero
    /// value of its type (SPEC §8.1), not as the initial value.
    pub fn get(&self, var: VarId, key: ScopeKey<'_>, now: i64) -> Option<Val<'_>> {
        let (_, ty) = *self.decls.get(var.0 as usize)?;
        match self.slots(key)?.get(&var.0)? {
            Slot::Scalar(v, exp) => {
                if exp.is_some_and(|e| e <= now) {
                    return Some(Val::zero(ty));
                }
                Some(match v {
                    Scalar::Bool(b) => Val::Bool(*b),
                    Scalar::Int(i) => Val::Int(*i),
                    Scalar::Str(s) => Val::Str(Cow::Borrowed(s)),
                    Scalar::Ip(ip) => Val::Ip(*ip),
                })
            }
            Slot::Array(items) if ty.is_array() => Some(Val::Items(items, now)),
            Slot::Array(_) => None,
        }
    }

    /// The value a variable reads as when nothing was set for this key (SPEC §8.1).
    pub fn initial(&self, var: VarId) -> Val<'_> {
        let Some((scope, ty)) = self.decls.get(var.0 as usize).copied() else { return Val::Empty };
        if scope == VarScope::Global
            && let Some(Some(l)) = self.initial.get(var.0 as usize)
        {
            return match l {
                Lit::Bool(b) => Val::Bool(*b),
                Lit::Int(i) => Val::Int(*i),
                Lit::Str(s) => Val::Str(Cow::Borrowed(s)),
                Lit::Ip(ip) => Val::Ip(*ip),
                Lit::Bools(v) => Val::Bools(v),
                Lit::Ints(v) => Val::Ints(v),
                Lit::Strs(v) => Val::LitStrs(v),
                Lit::Ips(v) => Val::Ips(v),
            };
        }
        Val::zero(ty)
    }

    /// Writes `values` (one value, or the elements of an array) to `var`.
    #[allow(clippy::too_many_arguments)]
    pub fn set(
        &mut self,
        var: VarId,
        key: ScopeKey<'_>,
        values: Vec<Scalar>,
        append: bool,
        ttl: Option<i64>,
        size: usize,
        now: i64,
    ) {
        let Some((_, ty)) = self.decls.get(var.0 as usize).copied() else { return };
        let expires_at = ttl.filter(|t| *t > 0).map(|t| now.saturating_add(t));
        let init = self.initial.get(var.0 as usize).cloned().flatten();
        let slots = self.slots_mut(key);
        if !ty.is_array() {
            if let Some(v) = values.into_iter().next() {
                slots.insert(var.0, Slot::Scalar(v, expires_at));
            }
            return;
        }
        // Appending to a global array starts from its initial value.
        if append
            && !slots.contains_key(&var.0)
            && let Some(init) = init
        {
            let items = lit_scalars(&init).into_iter().map(|value| Item { value, expires_at: None }).collect();
            slots.insert(var.0, Slot::Array(items));
        }
        let slot = slots.entry(var.0).or_insert_with(|| Slot::Array(Vec::new()));
        let items = match slot {
            Slot::Array(items) if append => items,
            _ => {
                *slot = Slot::Array(Vec::new());
                let Slot::Array(items) = slot else { return };
                items
            }
        };
        items.retain(|i| i.expires_at.is_none_or(|e| e > now));
        for v in values {
            // Array variables are sets: a re-added element is refreshed and moves last.
            if let Some(pos) = items.iter().position(|i| i.value == v) {
                items.remove(pos);
            }
            items.push(Item { value: v, expires_at });
            if items.len() > size.max(1) {
                items.remove(0);
            }
        }
    }
}

fn lit_scalars(l: &Lit) -> Vec<Scalar> {
    match l {
        Lit::Bool(b) => vec![Scalar::Bool(*b)],
        Lit::Int(i) => vec![Scalar::Int(*i)],
        Lit::Str(s) => vec![Scalar::Str(Box::from(&**s))],
        Lit::Ip(ip) => vec![Scalar::Ip(*ip)],
        Lit::Bools(v) => v.iter().map(|b| Scalar::Bool(*b)).collect(),
        Lit::Ints(v) => v.iter().map(|i| Scalar::Int(*i)).collect(),
        Lit::Strs(v) => v.iter().map(|s| Scalar::Str(Box::from(&**s))).collect(),
        Lit::Ips(v) => v.iter().map(|i| Scalar::Ip(*i)).collect(),
    }
}

/// The scope keys of one event: its process (with ancestry, for inherited reads), its
/// container and its cgroup.
#[derive(Clone, Debug, Default)]
pub struct EventScopes {
    pub pid: Option<i64>,
    pub ancestors: Vec<i64>,
    /// Empty when the event has no container (reused buffers: no allocation per event).
    pub container: String,
    pub cgroup: String,
}

/// A [`crate::vm::eval::VarView`] over the store for one event.
pub struct ScopedVars<'a> {
    pub store: &'a VarStore,
    pub scopes: &'a EventScopes,
    pub inherited: &'a [bool],
}

impl ScopedVars<'_> {
    pub fn key(&self, scope: VarScope) -> Option<ScopeKey<'_>> {
        let named = |s: &str| (!s.is_empty()).then_some(());
        Some(match scope {
            VarScope::Global => ScopeKey::Global,
            VarScope::Process => ScopeKey::Process(self.scopes.pid?),
            VarScope::Container => {
                named(&self.scopes.container)?;
                ScopeKey::Container(&self.scopes.container)
            }
            VarScope::Cgroup => {
                named(&self.scopes.cgroup)?;
                ScopeKey::Cgroup(&self.scopes.cgroup)
            }
        })
    }
}

impl crate::vm::eval::VarView for ScopedVars<'_> {
    fn read<'s>(&'s self, read: &VarRead, now: i64) -> Val<'s> {
        match read {
            VarRead::ProcessPid => Val::Int(self.scopes.pid.unwrap_or(0)),
            VarRead::Uuid4 => Val::Str(Cow::Owned(uuid4())),
            VarRead::Declared(id) => {
                let scope = self.store.scope_of(*id);
                if let Some(key) = self.key(scope)
                    && let Some(v) = self.store.get(*id, key, now)
                {
                    return v;
                }
                // Inherited process variables: walk up the ancestry (SPEC §8.2, UNSURE there;
                // we read at lookup time, as the spec recommends).
                if scope == VarScope::Process && self.inherited.get(id.0 as usize).copied().unwrap_or(false) {
                    for pid in &self.scopes.ancestors {
                        if let Some(v) = self.store.get(*id, ScopeKey::Process(*pid), now) {
                            return v;
                        }
                    }
                }
                self.store.initial(*id)
            }
        }
    }
}

/// A random version-4 UUID from the OS-seeded hasher (no dependency needed for a value
/// that only has to be unique).
pub fn uuid4() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = std::collections::hash_map::RandomState::new();
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = state.build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    // 8-4-4-4-12 hex digits, written directly (formatting each byte cost ~13,000
    // instructions per UUID, and the default policy draws one per correlation).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod uuid_tests {
    use super::uuid4;

    #[test]
    fn uuid4_is_a_fresh_version_4_uuid() {
        let a = uuid4();
        let b = uuid4();
        assert_ne!(a, b);
        for u in [a, b] {
            let groups: Vec<&str> = u.split('-').collect();
            assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{u}");
            assert!(u.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{u}");
            assert!(groups[2].starts_with('4'), "version nibble: {u}");
            assert!(matches!(groups[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "variant bits: {u}");
        }
    }
}
