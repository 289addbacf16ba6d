//! [`JsonEvent`]: an [`Event`] read from the fixture format
//! (`{"type": "exec", "values": {...}, "timestamp": ns}`), also Datadog's own
//! `runtime policy eval` event files (`{"Type", "Values"}`).
//!
//! Fields the sensor derives are derived here when absent, the way the agent does:
//! `*.args*` from `*.argv`, `*.file.name` from `*.file.path`, `.length` fields,
//! `process.parent.*` from ancestor 0, `process.*` from `exec.*` on exec events (the
//! exec'd process is the event's process), `process.ancestors.length`.
//!
//! Reading is built for replaying recorded streams:
//!
//! * [`JsonEvent::from_str`] scans the JSON text once and converts each value straight
//!   into its field's type, without an intermediate `serde_json::Value`. Anything
//!   unusual (an error, a duplicate key, a deep unknown value) falls back to the
//!   `serde_json` path, which owns the error messages: both give the same event or the
//!   same error.
//! * Derivations follow per-field tables computed once ([`tables`]): no field name is
//!   formatted per event.
//! * A derived field that is a view of a given one (the `process.*` twin of an `exec.*`
//!   field, `process.parent.*` as ancestor 0, the basename of a path) shares its storage;
//!   one that needs computing (`*.args*`, basenames of a list, per-element lengths) is
//!   computed on its first read, at most once (`exec.args` and its `process.args` twin
//!   share the result).
//! * A dropped event gives its buffers back to a per-thread pool that the next event on
//!   the thread takes them from, so a stream of events allocates little once warm.

use crate::event::{Event, StrList, Value, element_of};
use crate::fxhash::FxHashMap;
use crate::model::{ConstValue, FieldDef, FieldId, ScalarType, Schema};
use crate::value::ip::IpNet;
use serde_json::Value as Json;
use std::cell::RefCell;
use std::fmt;
use std::sync::OnceLock;

#[derive(Clone, Debug, PartialEq)]
enum Stored {
    Bool(bool),
    Int(i64),
    Str(String),
    Ip(IpNet),
    Bools(Vec<bool>),
    Ints(Vec<i64>),
    Strs(Vec<String>),
    Ips(Vec<IpNet>),
    /// A per-element array field (`process.ancestors.argv`).
    Nested(Box<Nested>),
}

#[derive(Clone, Debug, PartialEq)]
struct Nested {
    /// Every element's items, flattened.
    flat: Vec<String>,
    /// Each element's own list.
    lists: Vec<Vec<String>>,
}

fn nested(lists: Vec<Vec<String>>) -> Stored {
    Stored::Nested(Box::new(Nested { flat: lists.concat(), lists }))
}

/// How a field reads its value: a stored value itself, its first element
/// (`process.parent.*` from ancestor 0), the basename of a path (`*.file.name`), the
/// basename of the first element, or a value computed on first read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct View {
    /// Index into `store`, or into `lazy` for a `LAZY` view.
    pos: u16,
    mode: u8,
}

const FIRST: u8 = 1;
const BASENAME: u8 = 2;
const LAZY: u8 = 4;
/// Views are packed in the index as `field << 16 | pos << 3 | mode`.
const MAX_POS: usize = 1 << 13;

/// A field computed from another on its first read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Derived {
    /// `*.args` from `*.argv`: one string, or one per element (`array`).
    Args { array: bool },
    /// `*.args_flags`, per element when `nested`.
    Flags { nested: bool },
    /// `*.args_options`, per element when `nested`.
    Options { nested: bool },
    /// `*.file.name` of a list of paths.
    Basenames,
    /// Per-element lengths of a list of strings (`process.ancestors.file.name.length`).
    Lengths,
}

#[derive(Clone, Debug)]
struct Lazy {
    what: Derived,
    src: View,
    value: OnceLock<Stored>,
}

/// A stored value as a field sees it through its [`View`].
#[derive(Debug, PartialEq)]
enum Seen<'a> {
    None,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    Ip(IpNet),
    Bools(&'a [bool]),
    Ints(&'a [i64]),
    Strs(&'a [String]),
    Ips(&'a [IpNet]),
    Nested(&'a [String], &'a [Vec<String>]),
}

impl Seen<'_> {
    /// Element count of an array (for `process.ancestors.length`), 0 for scalars.
    fn array_len(&self) -> usize {
        match self {
            Seen::Bools(a) => a.len(),
            Seen::Ints(a) => a.len(),
            Seen::Strs(a) => a.len(),
            Seen::Ips(a) => a.len(),
            Seen::Nested(_, n) => n.len(),
            _ => 0,
        }
    }

    /// How many argument lists an `argv` value has: one, or one per element.
    fn list_count(&self) -> Option<usize> {
        match self {
            Seen::Strs(_) => Some(1),
            Seen::Nested(_, n) => Some(n.len()),
            _ => None,
        }
    }

    /// The argument lists of an `argv` value: one, or one per element.
    fn lists(&self) -> Option<Vec<&[String]>> {
        match self {
            Seen::Strs(a) => Some(vec![a]),
            Seen::Nested(_, n) => Some(n.iter().map(Vec::as_slice).collect()),
            _ => None,
        }
    }
}

/// An event parsed from JSON. Two events are equal when they have the same type,
/// timestamp and field values (however they are stored).
#[derive(Clone, Debug)]
pub struct JsonEvent {
    event_type: &'static str,
    /// Values given in the JSON, then values derived eagerly.
    store: Vec<Stored>,
    /// Values derived on first read.
    lazy: Vec<Lazy>,
    /// Every field present (given or derived) and how it reads its value.
    entries: Vec<(FieldId, View)>,
    /// Open-addressing index from field id to its view, packed as
    /// `field << 16 | pos << 3 | mode` (`EMPTY` for a free slot): a field read is one or
    /// two probes.
    index: Vec<u32>,
    timestamp: Option<i64>,
}

const EMPTY: u32 = u32::MAX;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonEventError(pub String);

impl fmt::Display for JsonEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonEventError {}

fn err<T>(msg: impl Into<String>) -> Result<T, JsonEventError> {
    Err(JsonEventError(msg.into()))
}

// ---------------------------------------------------------------------------------------
// Derivation tables

/// What a field derives, computed once per field of the model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldDerivation {
    /// On exec events: `exec.X` ↔ `process.X` (when the twin exists and belongs to exec
    /// events or to every event type).
    pub twin: Option<FieldId>,
    /// `process.ancestors.X` → `process.parent.X` (ancestor 0).
    pub parent: Option<FieldId>,
    /// For `*.argv`: the `args`, `args_flags` and `args_options` siblings.
    pub argv: Option<ArgvFamily>,
    /// `*.file.path` → `*.file.name`.
    pub name: Option<FieldId>,
    /// `X` → `X.length`, with whether the length field is an array (per-element lengths).
    pub length: Option<(FieldId, bool)>,
    /// The field lives under `process.ancestors` (counts for `process.ancestors.length`).
    pub in_ancestors: bool,
}

/// The fields derived from one `*.argv` field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgvFamily {
    /// `*.args`, with whether it is an array (one joined string per element).
    pub args: Option<(FieldId, bool)>,
    pub flags: Option<FieldId>,
    pub options: Option<FieldId>,
    /// The argv field is per-element (`process.ancestors.argv`): flags and options keep
    /// one list per element.
    pub nested: bool,
}

/// The derivation tables and the name lookup of the fast parser.
pub struct Tables {
    fields: Vec<FieldDerivation>,
    names: FxHashMap<&'static str, FieldId>,
    keys: KeyTable,
    event_types: Vec<&'static str>,
    timestamp: Option<FieldId>,
    ancestors_length: Option<FieldId>,
}

impl Tables {
    /// The derivations of one field.
    pub fn of(&self, id: FieldId) -> &FieldDerivation {
        &self.fields[usize::from(id.0)]
    }

    /// Resolves a field name by its [`key_hash`] (computed while it was scanned).
    #[inline]
    fn lookup_hashed(&self, name: &str, hash: u64) -> Option<FieldId> {
        match self.keys.get(name, hash) {
            Some(id) => Some(id),
            None => Schema::linux().lookup(name).map(|f| f.id),
        }
    }

    /// Resolves a field name as [`Schema::lookup`] does (legacy names included).
    fn lookup(&self, name: &str) -> Option<FieldId> {
        match self.names.get(name) {
            Some(id) => Some(*id),
            None => Schema::linux().lookup(name).map(|f| f.id),
        }
    }

    fn event_type(&self, name: &str) -> Option<&'static str> {
        self.event_types.iter().copied().find(|t| *t == name)
    }
}

/// Fields are tracked in a fixed bit set while an event is built.
const MAX_FIELDS: usize = 64 * 64;

/// The derivation tables of the Linux model, built on first use.
pub fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| build_tables(Schema::linux()))
}

fn build_tables(schema: &'static Schema) -> Tables {
    let id = |n: &str| schema.field(n).map(|f| f.id);
    let fields = schema
        .fields()
        .iter()
        .map(|f| {
            let name = f.name.as_str();
            let twin_of = |to: &str, rest: &str| {
                schema
                    .field(&format!("{to}{rest}"))
                    .filter(|t| t.event_type.is_none() || t.event_type.as_deref() == Some("exec"))
                    .map(|t| t.id)
            };
            let twin = match (name.strip_prefix("exec."), name.strip_prefix("process.")) {
                (Some(rest), _) => twin_of("process.", rest),
                (_, Some(rest)) => twin_of("exec.", rest),
                _ => None,
            };
            let parent = name
                .strip_prefix("process.ancestors.")
                .filter(|s| *s != "length")
                .and_then(|s| id(&format!("process.parent.{s}")));
            let argv = name.strip_suffix("argv").filter(|_| name.ends_with(".argv")).map(|prefix| ArgvFamily {
                args: schema.field(&format!("{prefix}args")).map(|d| (d.id, d.is_array)),
                flags: id(&format!("{prefix}args_flags")),
                options: id(&format!("{prefix}args_options")),
                nested: f.iterator.is_some(),
            });
            let name_field = name
                .strip_suffix("path")
                .filter(|_| name.ends_with(".file.path"))
                .and_then(|p| id(&format!("{p}name")));
            let length = schema.field(&format!("{name}.length")).map(|l| (l.id, l.is_array));
            FieldDerivation {
                twin,
                parent,
                argv,
                name: name_field,
                length,
                in_ancestors: f.iterator.as_deref() == Some("process.ancestors"),
            }
        })
        .collect();
    let mut names = FxHashMap::default();
    for f in schema.fields() {
        // A legacy spelling wins over an exact name, as in `Schema::lookup`.
        let target = match schema.legacy_rewrite(&f.name) {
            Some(modern) => schema.field(modern).map(|m| m.id),
            None => Some(f.id),
        };
        if let Some(t) = target {
            names.insert(f.name.as_str(), t);
        }
    }
    let keys = KeyTable::new(names.iter().map(|(k, v)| (*k, *v)));
    Tables {
        fields,
        names,
        keys,
        event_types: schema.event_types().into_iter().filter(|t| *t != "fim").collect(),
        timestamp: id("event.timestamp"),
        ancestors_length: id("process.ancestors.length"),
    }
}

/// Field names by hash, for names hashed while they are scanned.
struct KeyTable {
    /// `(hash, name, field)`; an empty name marks a free slot.
    slots: Vec<(u64, &'static str, FieldId)>,
    mask: usize,
}

impl KeyTable {
    fn new(names: impl Iterator<Item = (&'static str, FieldId)>) -> KeyTable {
        let names: Vec<(&'static str, FieldId)> = names.collect();
        let size = (names.len() * 2).next_power_of_two().max(16);
        let mut slots = vec![(0, "", FieldId(0)); size];
        for (name, id) in names {
            let h = key_hash(name.as_bytes());
            let mut i = (h >> 32) as usize & (size - 1);
            while !slots[i].1.is_empty() {
                i = (i + 1) & (size - 1);
            }
            slots[i] = (h, name, id);
        }
        KeyTable { slots, mask: size - 1 }
    }

    #[inline]
    fn get(&self, name: &str, hash: u64) -> Option<FieldId> {
        let mut i = (hash >> 32) as usize & self.mask;
        loop {
            let (h, n, id) = self.slots[i];
            if n.is_empty() {
                return None;
            }
            if h == hash && n == name {
                return Some(id);
            }
            i = (i + 1) & self.mask;
        }
    }
}

const KEY_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Adds one little-endian word of a key to its hash.
#[inline]
fn key_add(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(KEY_SEED)
}

/// The hash of a field name: its 8-byte little-endian words (the last one zero-padded),
/// then its length, as [`fast`] computes it while scanning the name.
fn key_hash(bytes: &[u8]) -> u64 {
    let mut h = 0;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = key_add(h, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = key_add(h, u64::from_le_bytes(w));
    }
    key_add(h, bytes.len() as u64)
}

// ---------------------------------------------------------------------------------------
// Buffers reused from one event to the next

/// Buffers of dropped events, per thread, bounded.
#[derive(Default)]
struct Pool {
    strings: Vec<String>,
    lists: Vec<Vec<String>>,
    ints: Vec<Vec<i64>>,
    parts: Vec<Parts>,
}

/// The vectors of one event.
/// Fills a pooled list, overwriting the strings it still holds.
struct ListFill {
    v: Vec<String>,
    n: usize,
}

impl ListFill {
    #[inline]
    fn push_str(&mut self, s: &str, pool: &mut Pool) {
        match self.v.get_mut(self.n) {
            Some(old) => {
                old.clear();
                old.push_str(s);
            }
            None => self.v.push(pool.string(s)),
        }
        self.n += 1;
    }

    fn push_owned(&mut self, s: String, pool: &mut Pool) {
        match self.v.get_mut(self.n) {
            Some(old) => pool.string_back(std::mem::replace(old, s)),
            None => self.v.push(s),
        }
        self.n += 1;
    }

    /// The list, without the strings left over from its last use.
    fn finish(mut self, pool: &mut Pool) -> Vec<String> {
        if self.v.len() > self.n {
            for s in self.v.drain(self.n..) {
                pool.string_back(s);
            }
        }
        self.v
    }
}

#[derive(Default)]
struct Parts {
    store: Vec<Stored>,
    lazy: Vec<Lazy>,
    entries: Vec<(FieldId, View)>,
    index: Vec<u32>,
}

const POOL_STRINGS: usize = 4096;
const POOL_VECS: usize = 512;
const POOL_PARTS: usize = 16;
/// Larger buffers are freed rather than kept.
const POOL_MAX_CAPACITY: usize = 4096;

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

impl Pool {
    /// Takes this thread's pool (an empty one when it is in use).
    fn take() -> Pool {
        POOL.try_with(|p| p.try_borrow_mut().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Gives the pool back to this thread.
    fn give_back(self) {
        let _ = POOL.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                if p.parts.is_empty() && p.strings.is_empty() {
                    *p = self;
                } else {
                    p.absorb(self);
                }
            }
        });
    }

    fn absorb(&mut self, other: Pool) {
        for s in other.strings {
            self.string_back(s);
        }
        for l in other.lists {
            self.list_back(l);
        }
        for p in other.parts {
            self.parts_back(p);
        }
    }

    #[inline]
    fn string(&mut self, text: &str) -> String {
        match self.strings.pop() {
            Some(mut s) => {
                s.push_str(text);
                s
            }
            None => text.to_owned(),
        }
    }

    /// A list to fill with [`ListFill`]: it may still hold the strings of a dropped event,
    /// whose buffers are then reused in place.
    #[inline]
    fn list(&mut self) -> ListFill {
        ListFill { v: self.lists.pop().unwrap_or_default(), n: 0 }
    }

    #[inline]
    fn ints(&mut self) -> Vec<i64> {
        self.ints.pop().unwrap_or_default()
    }

    fn parts(&mut self) -> Parts {
        self.parts.pop().unwrap_or_else(|| Parts {
            store: Vec::with_capacity(32),
            lazy: Vec::new(),
            entries: Vec::with_capacity(64),
            index: Vec::with_capacity(128),
        })
    }

    #[inline]
    fn string_back(&mut self, mut s: String) {
        if self.strings.len() < POOL_STRINGS && s.capacity() <= POOL_MAX_CAPACITY {
            s.clear();
            self.strings.push(s);
        }
    }

    /// Keeps a list with its strings (refilled in place by [`ListFill`]).
    fn list_back(&mut self, l: Vec<String>) {
        if self.lists.len() < POOL_VECS && l.capacity() <= POOL_MAX_CAPACITY {
            self.lists.push(l);
        }
    }

    fn stored_back(&mut self, s: Stored) {
        match s {
            Stored::Str(s) => self.string_back(s),
            Stored::Strs(l) => self.list_back(l),
            Stored::Ints(mut v) if self.ints.len() < POOL_VECS && v.capacity() <= POOL_MAX_CAPACITY => {
                v.clear();
                self.ints.push(v);
            }
            Stored::Nested(n) => {
                let Nested { flat, lists } = *n;
                self.list_back(flat);
                for l in lists {
                    self.list_back(l);
                }
            }
            _ => {}
        }
    }

    fn parts_back(&mut self, mut p: Parts) {
        for s in p.store.drain(..) {
            self.stored_back(s);
        }
        for l in p.lazy.drain(..) {
            if let Some(s) = l.value.into_inner() {
                self.stored_back(s);
            }
        }
        if self.parts.len() < POOL_PARTS {
            p.entries.clear();
            p.index.clear();
            self.parts.push(p);
        }
    }
}

impl Drop for JsonEvent {
    fn drop(&mut self) {
        let parts = Parts {
            store: std::mem::take(&mut self.store),
            lazy: std::mem::take(&mut self.lazy),
            entries: std::mem::take(&mut self.entries),
            index: std::mem::take(&mut self.index),
        };
        let _ = POOL.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                p.parts_back(parts);
            }
        });
    }
}

// ---------------------------------------------------------------------------------------
// Building an event

/// An event under construction: given values, then derivations.
struct Builder {
    pool: Pool,
    store: Vec<Stored>,
    lazy: Vec<Lazy>,
    entries: Vec<(FieldId, View)>,
    index: Vec<u32>,
    present: [u64; MAX_FIELDS / 64],
}

impl Builder {
    fn new() -> Builder {
        let mut pool = Pool::take();
        let Parts { store, lazy, entries, index } = pool.parts();
        Builder { pool, store, lazy, entries, index, present: [0; MAX_FIELDS / 64] }
    }

    #[inline]
    fn has(&self, id: FieldId) -> bool {
        let i = usize::from(id.0);
        if i < MAX_FIELDS {
            self.present[i / 64] & (1 << (i % 64)) != 0
        } else {
            self.entries.iter().any(|(k, _)| *k == id)
        }
    }

    #[inline]
    fn mark(&mut self, id: FieldId) {
        let i = usize::from(id.0);
        if i < MAX_FIELDS {
            self.present[i / 64] |= 1 << (i % 64);
        }
    }

    /// Sets a given field; `false` when it was already set (the value is replaced).
    fn set(&mut self, id: FieldId, v: Stored) -> bool {
        if self.has(id) {
            if let Some(e) = self.entries.iter().find(|(k, _)| *k == id) {
                let old = std::mem::replace(&mut self.store[usize::from(e.1.pos)], v);
                self.pool.stored_back(old);
            }
            return false;
        }
        self.push(id, v);
        true
    }

    #[inline]
    fn push(&mut self, id: FieldId, v: Stored) {
        let pos = self.store.len() as u16;
        self.store.push(v);
        self.entries.push((id, View { pos, mode: 0 }));
        self.mark(id);
    }

    fn set_default(&mut self, id: FieldId, v: Stored) {
        if !self.has(id) {
            self.push(id, v);
        }
    }

    #[inline]
    fn view_default(&mut self, id: FieldId, view: View) {
        if !self.has(id) {
            self.entries.push((id, view));
            self.mark(id);
        }
    }

    /// A field computed on first read; one computation is shared by every field with the
    /// same derivation of the same source (`exec.args` and its twin `process.args`).
    fn lazy_default(&mut self, id: FieldId, what: Derived, src: View) {
        if self.has(id) {
            return;
        }
        let pos = match self.lazy.iter().position(|l| l.what == what && l.src == src) {
            Some(p) => p,
            None => {
                self.lazy.push(Lazy { what, src, value: OnceLock::new() });
                self.lazy.len() - 1
            }
        };
        self.view_default(id, View { pos: pos as u16, mode: LAZY });
    }

    fn seen(&self, view: View) -> Seen<'_> {
        seen(&self.store, &self.lazy, view)
    }

    /// The element count of a view for `process.ancestors.length`, without computing a
    /// lazy value when its recipe tells.
    fn array_len(&self, view: View) -> usize {
        if view.mode & LAZY == 0 {
            return self.seen(view).array_len();
        }
        let Some(l) = self.lazy.get(usize::from(view.pos)) else { return 0 };
        if l.value.get().is_none() {
            let src = self.seen(l.src);
            match l.what {
                Derived::Args { array: false } => return 0,
                Derived::Args { array: true } | Derived::Flags { nested: true } | Derived::Options { nested: true } => {
                    return src.list_count().unwrap_or(0);
                }
                Derived::Basenames | Derived::Lengths => return src.array_len(),
                Derived::Flags { nested: false } | Derived::Options { nested: false } => {}
            }
        }
        self.seen(view).array_len()
    }

    fn derive(&mut self, event_type: &str, t: &Tables) {
        // exec: the event's process is the exec'd one.
        if event_type == "exec" {
            for i in 0..self.entries.len() {
                let (id, view) = self.entries[i];
                if let Some(twin) = t.of(id).twin {
                    self.view_default(twin, view);
                }
            }
        }
        // process.parent.* is ancestor 0 unless given.
        for i in 0..self.entries.len() {
            let (id, view) = self.entries[i];
            let Some(parent) = t.of(id).parent else { continue };
            if view.mode == 0 && !self.has(parent) && self.seen(view).array_len() > 0 {
                self.view_default(parent, View { pos: view.pos, mode: FIRST });
            }
        }
        // *.args* from *.argv.
        for i in 0..self.entries.len() {
            let (id, view) = self.entries[i];
            let Some(fam) = &t.of(id).argv else { continue };
            if self.seen(view).list_count().is_none() {
                continue;
            }
            if let Some((d, array)) = fam.args {
                self.lazy_default(d, Derived::Args { array }, view);
            }
            if let Some(d) = fam.flags {
                self.lazy_default(d, Derived::Flags { nested: fam.nested }, view);
            }
            if let Some(d) = fam.options {
                self.lazy_default(d, Derived::Options { nested: fam.nested }, view);
            }
        }
        // *.file.name from *.file.path.
        for i in 0..self.entries.len() {
            let (id, view) = self.entries[i];
            let Some(name) = t.of(id).name else { continue };
            if self.has(name) {
                continue;
            }
            match self.seen(view) {
                Seen::Str(_) if view.mode & (BASENAME | LAZY) == 0 => {
                    self.view_default(name, View { pos: view.pos, mode: view.mode | BASENAME });
                }
                Seen::Str(p) => {
                    let v = Stored::Str(basename(p).to_owned());
                    self.set_default(name, v);
                }
                Seen::Strs(_) => self.lazy_default(name, Derived::Basenames, view),
                _ => {}
            }
        }
        self.derive_lengths(t);
    }

    fn derive_lengths(&mut self, t: &Tables) {
        let mut ancestors = 0usize;
        for i in 0..self.entries.len() {
            let (id, view) = self.entries[i];
            let d = t.of(id);
            if d.in_ancestors {
                ancestors = ancestors.max(self.array_len(view));
            }
            let Some((len_field, is_array)) = d.length else { continue };
            if self.has(len_field) {
                continue;
            }
            match self.seen(view) {
                Seen::Str(s) => {
                    let n = s.len() as i64;
                    self.set_default(len_field, Stored::Int(n));
                }
                Seen::Strs(_) if is_array => self.lazy_default(len_field, Derived::Lengths, view),
                Seen::Strs(a) => {
                    let n = a.len() as i64;
                    self.set_default(len_field, Stored::Int(n));
                }
                _ => {}
            }
        }
        if ancestors > 0
            && let Some(f) = t.ancestors_length
        {
            self.set_default(f, Stored::Int(ancestors as i64));
        }
    }

    /// Derives, indexes, and hands the event its buffers (the builder is left empty).
    fn finish(&mut self, event_type: &'static str, timestamp: Option<i64>, t: &Tables) -> JsonEvent {
        if let (Some(ts), Some(f)) = (timestamp, t.timestamp) {
            self.set_default(f, Stored::Int(ts));
        }
        self.derive(event_type, t);
        debug_assert!(self.store.len() < MAX_POS && self.lazy.len() < MAX_POS);
        let size = (self.entries.len() * 2).next_power_of_two().max(8);
        let mut index = std::mem::take(&mut self.index);
        index.clear();
        index.resize(size, EMPTY);
        for (id, view) in &self.entries {
            let mut slot = slot_of(*id, size);
            while index[slot] != EMPTY {
                slot = (slot + 1) & (size - 1);
            }
            index[slot] = u32::from(id.0) << 16 | u32::from(view.pos) << 3 | u32::from(view.mode);
        }
        std::mem::take(&mut self.pool).give_back();
        JsonEvent {
            event_type,
            store: std::mem::take(&mut self.store),
            lazy: std::mem::take(&mut self.lazy),
            entries: std::mem::take(&mut self.entries),
            index,
            timestamp,
        }
    }

    /// Gives the buffers back when the fast path bails.
    fn abandon(&mut self) {
        let parts = Parts {
            store: std::mem::take(&mut self.store),
            lazy: std::mem::take(&mut self.lazy),
            entries: std::mem::take(&mut self.entries),
            index: std::mem::take(&mut self.index),
        };
        self.pool.parts_back(parts);
        std::mem::take(&mut self.pool).give_back();
    }
}

fn seen<'a>(store: &'a [Stored], lazy: &'a [Lazy], view: View) -> Seen<'a> {
    let pos = usize::from(view.pos);
    let s = if view.mode & LAZY != 0 {
        let Some(l) = lazy.get(pos) else { return Seen::None };
        l.value.get_or_init(|| compute(store, lazy, l.what, l.src))
    } else {
        let Some(s) = store.get(pos) else { return Seen::None };
        s
    };
    let first = view.mode & FIRST != 0;
    let seen = match (s, first) {
        (Stored::Bool(b), false) => Seen::Bool(*b),
        (Stored::Int(i), false) => Seen::Int(*i),
        (Stored::Str(s), false) => Seen::Str(s),
        (Stored::Ip(ip), false) => Seen::Ip(*ip),
        (Stored::Bools(v), false) => Seen::Bools(v),
        (Stored::Ints(v), false) => Seen::Ints(v),
        (Stored::Strs(v), false) => Seen::Strs(v),
        (Stored::Ips(v), false) => Seen::Ips(v),
        (Stored::Nested(n), false) => Seen::Nested(&n.flat, &n.lists),
        (Stored::Bools(v), true) => v.first().map_or(Seen::None, |b| Seen::Bool(*b)),
        (Stored::Ints(v), true) => v.first().map_or(Seen::None, |i| Seen::Int(*i)),
        (Stored::Strs(v), true) => v.first().map_or(Seen::None, |s| Seen::Str(s)),
        (Stored::Ips(v), true) => v.first().map_or(Seen::None, |i| Seen::Ip(*i)),
        (Stored::Nested(n), true) => n.lists.first().map_or(Seen::None, |l| Seen::Strs(l)),
        (_, true) => Seen::None,
    };
    match seen {
        Seen::Str(p) if view.mode & BASENAME != 0 => Seen::Str(basename(p)),
        other => other,
    }
}

/// Computes a lazy field from its source, as the sensor derives it.
fn compute(store: &[Stored], lazy: &[Lazy], what: Derived, src: View) -> Stored {
    let src = seen(store, lazy, src);
    let lists = src.lists().unwrap_or_default();
    let per = |f: &dyn Fn(&[String]) -> Vec<String>, nested_out: bool| -> Stored {
        if nested_out {
            nested(lists.iter().map(|l| f(l)).collect())
        } else if let [one] = lists.as_slice() {
            Stored::Strs(f(one))
        } else {
            Stored::Strs(lists.iter().flat_map(|l| f(l)).collect())
        }
    };
    match what {
        Derived::Args { array: true } => Stored::Strs(lists.iter().map(|l| crate::value::args::args(l)).collect()),
        Derived::Args { array: false } => match lists.as_slice() {
            [one] => Stored::Str(crate::value::args::args(one)),
            many => Stored::Str(many.iter().map(|l| crate::value::args::args(l)).collect()),
        },
        Derived::Flags { nested } => per(&|l| crate::value::args::args_flags(l), nested),
        Derived::Options { nested } => per(&|l| crate::value::args::args_options(l), nested),
        Derived::Basenames => match src {
            Seen::Strs(a) => Stored::Strs(a.iter().map(|p| basename(p).to_owned()).collect()),
            _ => Stored::Strs(Vec::new()),
        },
        Derived::Lengths => match src {
            Seen::Strs(a) => Stored::Ints(a.iter().map(|s| s.len() as i64).collect()),
            _ => Stored::Ints(Vec::new()),
        },
    }
}

impl std::str::FromStr for JsonEvent {
    type Err = JsonEventError;

    fn from_str(text: &str) -> Result<JsonEvent, JsonEventError> {
        JsonEvent::from_str(text)
    }
}

impl JsonEvent {
    /// Reads one event (also available as [`std::str::FromStr`], `text.parse()`).
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<JsonEvent, JsonEventError> {
        if let Some(ev) = fast::parse(text, tables()) {
            return Ok(ev);
        }
        let json: Json = serde_json::from_str(text).map_err(|e| JsonEventError(format!("invalid JSON: {e}")))?;
        JsonEvent::from_json(&json)
    }

    pub fn from_json(json: &Json) -> Result<JsonEvent, JsonEventError> {
        let schema = Schema::linux();
        let t = tables();
        let Json::Object(obj) = json else { return err("an event must be a JSON object") };
        let get = |key: &str| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v);
        let Some(Json::String(type_name)) = get("type") else {
            return err("the event has no `type` string");
        };
        let Some(event_type) = t.event_type(type_name) else {
            let mut msg = format!("unknown event type `{type_name}`");
            if let Some(s) = crate::suggest::closest(type_name, schema.event_types().into_iter()) {
                msg.push_str(&format!(" (did you mean `{s}`?)"));
            }
            return err(msg);
        };
        let timestamp = match get("timestamp") {
            None | Some(Json::Null) => None,
            Some(Json::Number(n)) => {
                Some(n.as_i64().ok_or_else(|| JsonEventError("`timestamp` must be an integer (ns)".into()))?)
            }
            Some(_) => return err("`timestamp` must be an integer (ns)"),
        };
        let mut given = Vec::new();
        match get("values") {
            None | Some(Json::Null) => {}
            Some(Json::Object(values)) => {
                for (name, v) in values {
                    let Some(def) = schema.lookup(name) else {
                        let mut msg = format!("unknown field `{name}`");
                        if let Some(s) = schema.suggest_field(name) {
                            msg.push_str(&format!(" (did you mean `{s}`?)"));
                        }
                        return err(msg);
                    };
                    if let Some(t) = &def.event_type
                        && t != event_type
                    {
                        return err(format!("field `{name}` belongs to `{t}` events, not `{event_type}`"));
                    }
                    given.push((def.id, convert(schema, def, v)?));
                }
            }
            Some(_) => return err("`values` must be an object"),
        }
        let mut b = Builder::new();
        for (id, v) in given {
            b.set(id, v);
        }
        Ok(b.finish(event_type, timestamp, t))
    }

    #[inline]
    fn get(&self, id: FieldId) -> Option<View> {
        let size = self.index.len();
        if size == 0 {
            return None;
        }
        let mut slot = slot_of(id, size);
        loop {
            let e = self.index[slot];
            if e == EMPTY {
                return None;
            }
            if (e >> 16) as u16 == id.0 {
                return Some(View { pos: ((e >> 3) & (MAX_POS as u32 - 1)) as u16, mode: (e & 7) as u8 });
            }
            slot = (slot + 1) & (size - 1);
        }
    }

    #[inline]
    fn seen(&self, view: View) -> Seen<'_> {
        seen(&self.store, &self.lazy, view)
    }

    /// The fields present, given or derived, in no particular order.
    pub fn field_ids(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.entries.iter().map(|(id, _)| *id)
    }
}

impl PartialEq for JsonEvent {
    fn eq(&self, other: &JsonEvent) -> bool {
        let fields = |e: &JsonEvent| {
            let mut v: Vec<(FieldId, View)> = e.entries.clone();
            v.sort_unstable_by_key(|(id, _)| *id);
            v
        };
        let (a, b) = (fields(self), fields(other));
        self.event_type == other.event_type
            && self.timestamp == other.timestamp
            && a.len() == b.len()
            && a.iter().zip(&b).all(|((ia, va), (ib, vb))| ia == ib && self.seen(*va) == other.seen(*vb))
    }
}

#[inline]
fn slot_of(id: FieldId, size: usize) -> usize {
    (u32::from(id.0).wrapping_mul(0x9E37_79B1) >> 16) as usize & (size - 1)
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

// ---------------------------------------------------------------------------------------
// The serde_json path: the reference conversion, and every error message.

fn convert(schema: &Schema, def: &FieldDef, v: &Json) -> Result<Stored, JsonEventError> {
    let name = &def.name;
    let per_element =
        def.iterator.is_some() && def.is_array && matches!(v, Json::Array(a) if a.iter().any(Json::is_array));
    if per_element {
        let Json::Array(items) = v else { unreachable_shape() };
        let mut lists = Vec::with_capacity(items.len());
        for item in items {
            let Json::Array(inner) = item else {
                return err(format!("field `{name}`: expected a list of lists"));
            };
            lists.push(inner.iter().map(|s| scalar_str(name, s)).collect::<Result<Vec<_>, _>>()?);
        }
        return Ok(self::nested(lists));
    }
    if def.is_array {
        let items: Vec<&Json> = match v {
            Json::Array(a) => a.iter().collect(),
            // A lone scalar for an array field is a one-element array.
            other => vec![other],
        };
        return Ok(match def.ty {
            ScalarType::Bool => Stored::Bools(items.iter().map(|j| scalar_bool(name, j)).collect::<Result<_, _>>()?),
            ScalarType::Int => {
                Stored::Ints(items.iter().map(|j| scalar_int(schema, name, j)).collect::<Result<_, _>>()?)
            }
            ScalarType::Str => Stored::Strs(items.iter().map(|j| scalar_str(name, j)).collect::<Result<_, _>>()?),
            ScalarType::Ip => Stored::Ips(items.iter().map(|j| scalar_ip(name, j)).collect::<Result<_, _>>()?),
        });
    }
    Ok(match def.ty {
        ScalarType::Bool => Stored::Bool(scalar_bool(name, v)?),
        ScalarType::Int => Stored::Int(scalar_int(schema, name, v)?),
        ScalarType::Str => Stored::Str(scalar_str(name, v)?),
        ScalarType::Ip => Stored::Ip(scalar_ip(name, v)?),
    })
}

fn unreachable_shape() -> ! {
    // `nested` is only true for JSON arrays.
    unreachable!("nested implies an array")
}

fn scalar_bool(name: &str, v: &Json) -> Result<bool, JsonEventError> {
    v.as_bool().ok_or_else(|| JsonEventError(format!("field `{name}`: expected a boolean, got {v}")))
}

fn scalar_str(name: &str, v: &Json) -> Result<String, JsonEventError> {
    v.as_str().map(str::to_owned).ok_or_else(|| JsonEventError(format!("field `{name}`: expected a string, got {v}")))
}

fn scalar_ip(name: &str, v: &Json) -> Result<IpNet, JsonEventError> {
    let Some(s) = v.as_str() else {
        return err(format!("field `{name}`: expected an IP or CIDR string, got {v}"));
    };
    parse_ip_value(s).ok_or_else(|| JsonEventError(format!("field `{name}`: invalid IP or CIDR `{s}`")))
}

fn parse_ip_value(s: &str) -> Option<IpNet> {
    let parsed = if s.contains('/') { crate::value::ip::parse_cidr(s) } else { crate::value::ip::parse_ip(s) };
    parsed.ok()
}

/// Integers, or constant names (`"O_CREAT"`, `["O_CREAT", "O_RDWR"]` OR-ed).
fn scalar_int(schema: &Schema, name: &str, v: &Json) -> Result<i64, JsonEventError> {
    match v {
        Json::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| u as i64))
            .ok_or_else(|| JsonEventError(format!("field `{name}`: expected an integer, got {v}"))),
        Json::String(c) => constant(schema, name, c),
        Json::Array(items) if items.iter().all(Json::is_string) => {
            let mut acc = 0;
            for c in items.iter().filter_map(Json::as_str) {
                acc |= constant(schema, name, c)?;
            }
            Ok(acc)
        }
        Json::Bool(b) => Ok(i64::from(*b)),
        _ => err(format!("field `{name}`: expected an integer or constant name, got {v}")),
    }
}

fn constant(schema: &Schema, name: &str, c: &str) -> Result<i64, JsonEventError> {
    constant_value(schema, c).ok_or_else(|| JsonEventError(format!("field `{name}`: `{c}` is not an integer constant")))
}

fn constant_value(schema: &Schema, c: &str) -> Option<i64> {
    match schema.constant(c).map(|k| &k.value) {
        Some(ConstValue::Int(i)) => Some(*i),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// The fast path

mod fast {
    //! A strict single-pass JSON reader specialised to the event format. It returns
    //! `None` ("bail") on anything it does not handle exactly like the `serde_json` path:
    //! every error, duplicate keys, values nested deeper than [`MAX_DEPTH`]. The caller
    //! then takes that path, which gives the result or the error message.

    use super::{Builder, JsonEvent, Pool, Stored, Tables, constant_value, nested, parse_ip_value};
    use crate::model::{FieldDef, ScalarType, Schema};
    use std::borrow::Cow;

    const MAX_DEPTH: usize = 64;

    struct Scan<'a> {
        text: &'a str,
        b: &'a [u8],
        i: usize,
    }

    /// One JSON number: an integer as the `serde_json` path reads it, or something else.
    enum Num {
        /// Fits `i64` (`as_i64`).
        Signed(i64),
        /// Above `i64::MAX`, fits `u64`.
        Unsigned(u64),
    }

    /// The field a key names (for tests): scanned and hashed as in an event.
    #[cfg(test)]
    pub(super) fn key_field(text: &str, t: &Tables) -> Option<crate::model::FieldId> {
        let mut s = Scan { text, b: text.as_bytes(), i: 0 };
        let (name, hash) = s.key()?;
        t.lookup_hashed(name, hash)
    }

    pub(super) fn parse(text: &str, t: &Tables) -> Option<JsonEvent> {
        let mut s = Scan { text, b: text.as_bytes(), i: 0 };
        let mut b = Builder::new();
        match s.event(t, &mut b) {
            Some((event_type, timestamp)) => Some(b.finish(event_type, timestamp, t)),
            None => {
                b.abandon();
                None
            }
        }
    }

    impl<'a> Scan<'a> {
        /// The top-level object: its type, its timestamp, and its values into `b`.
        fn event(&mut self, t: &Tables, b: &mut Builder) -> Option<(&'static str, Option<i64>)> {
            let schema = Schema::linux();
            let mut event_type: Option<&'static str> = None;
            let mut type_seen = false;
            let mut timestamp: Option<i64> = None;
            let mut timestamp_seen = false;
            let mut values_seen = false;
            // The event type of the event-specific fields given, checked once the event's
            // type is known (it may come last).
            let mut typed: Option<&'static str> = None;
            self.expect(b'{')?;
            if !self.eat(b'}') {
                loop {
                    let key = self.string()?;
                    self.expect(b':')?;
                    if key.eq_ignore_ascii_case("type") {
                        if std::mem::replace(&mut type_seen, true) {
                            return None;
                        }
                        event_type = Some(t.event_type(&self.string()?)?);
                    } else if key.eq_ignore_ascii_case("timestamp") {
                        if std::mem::replace(&mut timestamp_seen, true) {
                            return None;
                        }
                        if !self.literal(b"null") {
                            timestamp = match self.number()? {
                                Num::Signed(i) => Some(i),
                                Num::Unsigned(_) => return None,
                            };
                        }
                    } else if key.eq_ignore_ascii_case("values") {
                        if std::mem::replace(&mut values_seen, true) {
                            return None;
                        }
                        if !self.literal(b"null") {
                            self.values(schema, t, b, &mut typed)?;
                        }
                    } else {
                        self.skip(0)?;
                    }
                    if self.eat(b',') {
                        continue;
                    }
                    self.expect(b'}')?;
                    break;
                }
            }
            self.ws();
            if self.i != self.b.len() {
                return None;
            }
            let event_type = event_type?;
            if typed.is_some_and(|ft| ft != event_type) {
                return None;
            }
            Some((event_type, timestamp))
        }

        #[inline]
        fn ws(&mut self) {
            while let Some(&c) = self.b.get(self.i) {
                if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                    self.i += 1;
                } else {
                    break;
                }
            }
        }

        #[inline]
        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.b.get(self.i).copied()
        }

        #[inline]
        fn eat(&mut self, c: u8) -> bool {
            if self.peek() == Some(c) {
                self.i += 1;
                true
            } else {
                false
            }
        }

        #[inline]
        fn expect(&mut self, c: u8) -> Option<()> {
            self.eat(c).then_some(())
        }

        /// `true`, `false`, `null`: consumed when present.
        fn literal(&mut self, word: &[u8]) -> bool {
            self.ws();
            if self.b[self.i..].starts_with(word) {
                self.i += word.len();
                true
            } else {
                false
            }
        }

        fn bool(&mut self) -> Option<bool> {
            if self.literal(b"true") {
                Some(true)
            } else if self.literal(b"false") {
                Some(false)
            } else {
                None
            }
        }

        /// A string; borrowed unless it has escapes.
        fn string(&mut self) -> Option<Cow<'a, str>> {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return None;
            }
            self.i += 1;
            let start = self.i;
            let end = self.plain_run();
            if self.b.get(end) == Some(&b'"') {
                self.i = end + 1;
                return self.text.get(start..end).map(Cow::Borrowed);
            }
            let mut out = String::with_capacity(end - start + 16);
            out.push_str(self.text.get(start..end)?);
            self.i = end;
            loop {
                match self.b.get(self.i)? {
                    b'"' => {
                        self.i += 1;
                        return Some(Cow::Owned(out));
                    }
                    b'\\' => {
                        self.i += 1;
                        self.escape(&mut out)?;
                    }
                    _ => {
                        let run_start = self.i;
                        let run_end = self.plain_run();
                        if run_end == run_start {
                            // A control character.
                            return None;
                        }
                        out.push_str(self.text.get(run_start..run_end)?);
                        self.i = run_end;
                    }
                }
            }
        }

        /// A key without escapes, hashed as it is scanned ([`super::key_hash`]); `None`
        /// when it has escapes (or is no string): the caller reads it with [`Self::string`].
        #[inline]
        fn key(&mut self) -> Option<(&'a str, u64)> {
            const LO: u64 = 0x0101_0101_0101_0101;
            const HI: u64 = 0x8080_8080_8080_8080;
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return None;
            }
            let start = self.i + 1;
            let b = self.b;
            let mut i = start;
            let mut h = 0u64;
            loop {
                if let Some(chunk) = b.get(i..i + 8) {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(chunk);
                    let x = u64::from_le_bytes(w);
                    let quote = x ^ (LO * u64::from(b'"'));
                    let slash = x ^ (LO * u64::from(b'\\'));
                    let special = ((quote.wrapping_sub(LO) & !quote)
                        | (slash.wrapping_sub(LO) & !slash)
                        | (x.wrapping_sub(LO * 0x20) & !x))
                        & HI;
                    if special == 0 {
                        h = super::key_add(h, x);
                        i += 8;
                        continue;
                    }
                    let n = (special.trailing_zeros() / 8) as usize;
                    if b[i + n] != b'"' {
                        return None;
                    }
                    if n > 0 {
                        h = super::key_add(h, x & ((1u64 << (8 * n)) - 1));
                    }
                    i += n;
                } else {
                    let mut x = 0u64;
                    let mut n = 0;
                    loop {
                        let c = *b.get(i + n)?;
                        if c == b'"' {
                            break;
                        }
                        if c == b'\\' || c < 0x20 {
                            return None;
                        }
                        x |= u64::from(c) << (8 * n);
                        n += 1;
                    }
                    if n > 0 {
                        h = super::key_add(h, x);
                    }
                    i += n;
                }
                break;
            }
            let key = self.text.get(start..i)?;
            self.i = i + 1;
            Some((key, super::key_add(h, (i - start) as u64)))
        }

        /// The end of the run of bytes from `self.i` that need no attention inside a
        /// string (not `"`, `\` or a control character), eight bytes at a time.
        #[inline]
        fn plain_run(&self) -> usize {
            const LO: u64 = 0x0101_0101_0101_0101;
            const HI: u64 = 0x8080_8080_8080_8080;
            let b = self.b;
            let mut i = self.i;
            while let Some(chunk) = b.get(i..i + 8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                let x = u64::from_le_bytes(w);
                let quote = x ^ (LO * u64::from(b'"'));
                let slash = x ^ (LO * u64::from(b'\\'));
                // A byte is flagged when it is zero after the xor, or below 0x20; bytes
                // at or above 0x80 (UTF-8) are never flagged.
                let special = (quote.wrapping_sub(LO) & !quote)
                    | (slash.wrapping_sub(LO) & !slash)
                    | (x.wrapping_sub(LO * 0x20) & !x);
                let special = special & HI;
                if special != 0 {
                    // The lowest flagged byte is exact; later ones may be false positives.
                    return i + (special.trailing_zeros() / 8) as usize;
                }
                i += 8;
            }
            while let Some(&c) = b.get(i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                i += 1;
            }
            i
        }

        fn escape(&mut self, out: &mut String) -> Option<()> {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            let ch = match c {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hi = self.hex4()?;
                    let code = if (0xD800..0xDC00).contains(&hi) {
                        if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                            return None;
                        }
                        self.i += 2;
                        let lo = self.hex4()?;
                        if !(0xDC00..0xE000).contains(&lo) {
                            return None;
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    } else {
                        hi
                    };
                    char::from_u32(code)?
                }
                _ => return None,
            };
            out.push(ch);
            Some(())
        }

        fn hex4(&mut self) -> Option<u32> {
            let digits = self.b.get(self.i..self.i + 4)?;
            let mut v = 0u32;
            for d in digits {
                v = v * 16 + char::from(*d).to_digit(16)?;
            }
            self.i += 4;
            Some(v)
        }

        /// An integer in strict JSON syntax; `None` for fractions, exponents, overflow.
        fn number(&mut self) -> Option<Num> {
            self.ws();
            let neg = self.b.get(self.i) == Some(&b'-');
            if neg {
                self.i += 1;
            }
            let start = self.i;
            let mut mag: u64 = 0;
            // Up to 19 digits cannot overflow; longer numbers are checked.
            while let Some(&c) = self.b.get(self.i) {
                if !c.is_ascii_digit() {
                    break;
                }
                if self.i - start >= 19 {
                    mag = mag.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
                } else {
                    mag = mag * 10 + u64::from(c - b'0');
                }
                self.i += 1;
            }
            let len = self.i - start;
            if len == 0 || (len > 1 && self.b[start] == b'0') {
                return None;
            }
            if matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) {
                return None;
            }
            if neg {
                // serde_json reads `-0` as a float.
                if mag == 0 || mag > 1 << 63 {
                    return None;
                }
                Some(Num::Signed((mag as i64).wrapping_neg()))
            } else if mag > i64::MAX as u64 {
                Some(Num::Unsigned(mag))
            } else {
                Some(Num::Signed(mag as i64))
            }
        }

        /// Skips any JSON value, checking its syntax.
        fn skip(&mut self, depth: usize) -> Option<()> {
            if depth > MAX_DEPTH {
                return None;
            }
            match self.peek()? {
                b'"' => self.string().map(drop),
                b'{' => {
                    self.i += 1;
                    if self.eat(b'}') {
                        return Some(());
                    }
                    loop {
                        self.string()?;
                        self.expect(b':')?;
                        self.skip(depth + 1)?;
                        if self.eat(b',') {
                            continue;
                        }
                        return self.expect(b'}');
                    }
                }
                b'[' => {
                    self.i += 1;
                    if self.eat(b']') {
                        return Some(());
                    }
                    loop {
                        self.skip(depth + 1)?;
                        if self.eat(b',') {
                            continue;
                        }
                        return self.expect(b']');
                    }
                }
                b't' | b'f' => self.bool().map(drop),
                b'n' => self.literal(b"null").then_some(()),
                _ => self.any_number(),
            }
        }

        /// Any JSON number, fractions and exponents included.
        fn any_number(&mut self) -> Option<()> {
            let b = self.b;
            let digits = |i: &mut usize| {
                let s = *i;
                while b.get(*i).is_some_and(u8::is_ascii_digit) {
                    *i += 1;
                }
                *i > s
            };
            let mut i = self.i;
            if b.get(i) == Some(&b'-') {
                i += 1;
            }
            let int_start = i;
            if !digits(&mut i) || (i - int_start > 1 && b[int_start] == b'0') {
                return None;
            }
            if b.get(i) == Some(&b'.') {
                i += 1;
                if !digits(&mut i) {
                    return None;
                }
            }
            if matches!(b.get(i), Some(b'e' | b'E')) {
                i += 1;
                if matches!(b.get(i), Some(b'+' | b'-')) {
                    i += 1;
                }
                if !digits(&mut i) {
                    return None;
                }
            }
            self.i = i;
            Some(())
        }

        fn values(
            &mut self,
            schema: &'static Schema,
            t: &Tables,
            b: &mut Builder,
            typed: &mut Option<&'static str>,
        ) -> Option<()> {
            self.expect(b'{')?;
            if self.eat(b'}') {
                return Some(());
            }
            loop {
                let id = match self.key() {
                    Some((name, hash)) => t.lookup_hashed(name, hash)?,
                    None => t.lookup(&self.string()?)?,
                };
                self.expect(b':')?;
                let def = schema.field_by_id(id);
                if let Some(ft) = &def.event_type {
                    match typed {
                        Some(seen) if *seen != ft.as_str() => return None,
                        _ => *typed = Some(ft.as_str()),
                    }
                }
                let v = self.value(schema, def, &mut b.pool)?;
                if !b.set(def.id, v) {
                    // A duplicate (maybe a legacy and a modern spelling): the serde_json
                    // path decides which one wins.
                    return None;
                }
                if self.eat(b',') {
                    continue;
                }
                return self.expect(b'}');
            }
        }

        fn value(&mut self, schema: &Schema, def: &FieldDef, pool: &mut Pool) -> Option<Stored> {
            if !def.is_array {
                return Some(match def.ty {
                    ScalarType::Bool => Stored::Bool(self.bool()?),
                    ScalarType::Int => Stored::Int(self.int(schema)?),
                    ScalarType::Str => Stored::Str(self.owned(pool)?),
                    ScalarType::Ip => Stored::Ip(parse_ip_value(&self.string()?)?),
                });
            }
            if self.peek()? != b'[' {
                // A lone scalar for an array field is a one-element array.
                return Some(match def.ty {
                    ScalarType::Bool => Stored::Bools(vec![self.bool()?]),
                    ScalarType::Int => {
                        let mut v = pool.ints();
                        v.push(self.int(schema)?);
                        Stored::Ints(v)
                    }
                    ScalarType::Str => {
                        let mut v = pool.list();
                        self.fill(&mut v, pool)?;
                        Stored::Strs(v.finish(pool))
                    }
                    ScalarType::Ip => Stored::Ips(vec![parse_ip_value(&self.string()?)?]),
                });
            }
            self.i += 1;
            let per_element = def.iterator.is_some();
            if per_element && self.peek()? == b'[' {
                return self.nested(def, pool);
            }
            macro_rules! list {
                ($v:expr, $item:expr) => {{
                    let mut v = $v;
                    if !self.eat(b']') {
                        loop {
                            if per_element && self.peek()? == b'[' {
                                // Mixed scalars and lists: the serde_json path reports it.
                                return None;
                            }
                            v.push($item);
                            if self.eat(b',') {
                                continue;
                            }
                            self.expect(b']')?;
                            break;
                        }
                    }
                    v
                }};
            }
            Some(match def.ty {
                ScalarType::Bool => Stored::Bools(list!(Vec::new(), self.bool()?)),
                ScalarType::Int => Stored::Ints(list!(pool.ints(), self.int(schema)?)),
                ScalarType::Str => {
                    let mut v = pool.list();
                    if !self.eat(b']') {
                        loop {
                            if per_element && self.peek()? == b'[' {
                                return None;
                            }
                            self.fill(&mut v, pool)?;
                            if self.eat(b',') {
                                continue;
                            }
                            self.expect(b']')?;
                            break;
                        }
                    }
                    Stored::Strs(v.finish(pool))
                }
                ScalarType::Ip => Stored::Ips(list!(Vec::new(), parse_ip_value(&self.string()?)?)),
            })
        }

        /// A string value, in a buffer from the pool.
        #[inline]
        fn owned(&mut self, pool: &mut Pool) -> Option<String> {
            Some(match self.string()? {
                std::borrow::Cow::Borrowed(s) => pool.string(s),
                std::borrow::Cow::Owned(s) => s,
            })
        }

        /// The next string, into a list.
        #[inline]
        fn fill(&mut self, v: &mut super::ListFill, pool: &mut Pool) -> Option<()> {
            match self.string()? {
                std::borrow::Cow::Borrowed(s) => v.push_str(s, pool),
                std::borrow::Cow::Owned(s) => v.push_owned(s, pool),
            }
            Some(())
        }

        /// A per-element field given as a list of string lists; the opening `[` is read.
        fn nested(&mut self, def: &FieldDef, pool: &mut Pool) -> Option<Stored> {
            if def.ty != ScalarType::Str {
                return None;
            }
            let mut lists = Vec::new();
            loop {
                self.expect(b'[')?;
                let mut inner = pool.list();
                if !self.eat(b']') {
                    loop {
                        self.fill(&mut inner, pool)?;
                        if self.eat(b',') {
                            continue;
                        }
                        self.expect(b']')?;
                        break;
                    }
                }
                lists.push(inner.finish(pool));
                if self.eat(b',') {
                    continue;
                }
                self.expect(b']')?;
                break;
            }
            Some(nested(lists))
        }

        /// An int value: a number, a constant name, a list of constant names (OR-ed), a bool.
        fn int(&mut self, schema: &Schema) -> Option<i64> {
            match self.peek()? {
                b'"' => constant_value(schema, &self.string()?),
                b'[' => {
                    self.i += 1;
                    let mut acc = 0;
                    if !self.eat(b']') {
                        loop {
                            acc |= constant_value(schema, &self.string()?)?;
                            if self.eat(b',') {
                                continue;
                            }
                            self.expect(b']')?;
                            break;
                        }
                    }
                    Some(acc)
                }
                b't' | b'f' => self.bool().map(i64::from),
                _ => match self.number()? {
                    Num::Signed(i) => Some(i),
                    Num::Unsigned(u) => Some(u as i64),
                },
            }
        }
    }
}

impl Event for JsonEvent {
    fn event_type(&self) -> &str {
        self.event_type
    }

    #[inline]
    fn field(&self, id: FieldId) -> Value<'_> {
        let Some(view) = self.get(id) else { return Value::Missing };
        match self.seen(view) {
            Seen::None => Value::Missing,
            Seen::Bool(b) => Value::Bool(b),
            Seen::Int(i) => Value::Int(i),
            Seen::Str(s) => Value::Str(s),
            Seen::Ip(ip) => Value::Ip(ip),
            Seen::Bools(v) => Value::Bools(v),
            Seen::Ints(v) => Value::Ints(v),
            Seen::Strs(v) => Value::Strs(StrList::Owned(v)),
            Seen::Ips(v) => Value::Ips(v),
            Seen::Nested(flat, _) => Value::Strs(StrList::Owned(flat)),
        }
    }

    fn field_element(&self, id: FieldId, index: usize) -> Value<'_> {
        match self.get(id).map(|v| self.seen(v)) {
            Some(Seen::Nested(_, lists)) => lists.get(index).map_or(Value::Missing, |l| Value::Strs(StrList::Owned(l))),
            _ => element_of(self.field(id), index),
        }
    }

    fn timestamp_ns(&self) -> Option<i64> {
        self.timestamp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> FieldId {
        Schema::linux().field(name).unwrap_or_else(|| panic!("no field {name}")).id
    }

    fn ev(text: &str) -> JsonEvent {
        JsonEvent::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn show(e: &JsonEvent, name: &str) -> String {
        format!("{:?}", e.field(id(name)))
    }

    #[test]
    fn tables_link_twins_parents_families_names_and_lengths() {
        let t = tables();
        assert_eq!(t.of(id("exec.file.path")).twin, Some(id("process.file.path")));
        assert_eq!(t.of(id("process.file.path")).twin, Some(id("exec.file.path")));
        assert_eq!(t.of(id("open.file.path")).twin, None);
        assert_eq!(t.of(id("process.ancestors.file.name")).parent, Some(id("process.parent.file.name")));
        assert_eq!(t.of(id("process.ancestors.length")).parent, None);
        let fam = t.of(id("exec.argv")).argv.clone().unwrap();
        assert_eq!(fam.args, Some((id("exec.args"), false)));
        assert_eq!(fam.flags, Some(id("exec.args_flags")));
        assert_eq!(fam.options, Some(id("exec.args_options")));
        assert!(!fam.nested);
        assert!(t.of(id("process.ancestors.argv")).argv.as_ref().unwrap().nested);
        assert_eq!(t.of(id("exec.argv0")).argv, None);
        assert_eq!(t.of(id("open.file.path")).name, Some(id("open.file.name")));
        assert_eq!(t.of(id("open.file.path")).length, Some((id("open.file.path.length"), false)));
        assert_eq!(
            t.of(id("process.ancestors.file.name")).length,
            Some((id("process.ancestors.file.name.length"), true))
        );
        assert!(t.of(id("process.ancestors.pid")).in_ancestors);
        assert!(!t.of(id("process.ancestors.length")).in_ancestors);
        assert_eq!(t.lookup("open.filename"), Some(id("open.file.path")));
    }

    #[test]
    fn events_can_be_shared_between_threads() {
        fn is<T: Send + Sync>() {}
        is::<JsonEvent>();
    }

    #[test]
    fn dropped_events_lend_their_buffers_to_the_next() {
        let first = ev(
            r#"{"type":"open","values":{"open.file.path":"/etc/shadow","process.ancestors.file.path":["/a/b","/c"]}}"#,
        );
        drop(first);
        // Refilled buffers hold nothing of the previous event.
        let text = r#"{"type":"open","values":{"open.file.path":"/x","process.ancestors.file.path":["/y"]}}"#;
        let e = ev(text);
        assert_eq!(show(&e, "open.file.path"), r#"Str("/x")"#);
        assert_eq!(show(&e, "process.ancestors.file.path"), r#"Strs(Owned(["/y"]))"#);
        assert_eq!(show(&e, "process.ancestors.file.name"), r#"Strs(Owned(["y"]))"#);
        assert_eq!(e, JsonEvent::from_json(&serde_json::from_str(text).unwrap()).unwrap());
        let again = e.clone();
        drop(e);
        assert_eq!(show(&again, "open.file.name"), r#"Str("x")"#);
    }

    #[test]
    fn keys_hashed_while_scanned_find_their_fields() {
        let t = tables();
        for f in Schema::linux().fields() {
            let want = t.lookup(&f.name);
            // At the end of the text (byte by byte) and followed by more (word by word).
            assert_eq!(fast::key_field(&format!("\"{}\"", f.name), t), want, "{}", f.name);
            assert_eq!(fast::key_field(&format!("\"{}\": 1, \"x\": 2}}", f.name), t), want, "{}", f.name);
        }
        assert_eq!(fast::key_field(r#""open.filename": 1"#, t), Some(id("open.file.path")));
        assert_eq!(fast::key_field(r#""no.such.field": 1"#, t), None);
        assert_eq!(fast::key_field(r#""open.file\u002epath": 1"#, t), None);
    }

    #[test]
    fn exec_fields_are_the_process_fields() {
        let e = ev(
            r#"{"type":"exec","values":{"exec.file.path":"/usr/bin/nc","process.pid":7,"exec.argv":["-l","4444"]}}"#,
        );
        assert_eq!(show(&e, "process.file.path"), r#"Str("/usr/bin/nc")"#);
        assert_eq!(show(&e, "exec.pid"), "Int(7)");
        assert_eq!(show(&e, "process.file.name"), r#"Str("nc")"#);
        assert_eq!(show(&e, "exec.file.name"), r#"Str("nc")"#);
        assert_eq!(show(&e, "exec.file.path.length"), "Int(11)");
        assert_eq!(show(&e, "process.file.name.length"), "Int(2)");
        assert_eq!(show(&e, "process.args"), r#"Str("-l 4444")"#);
        assert_eq!(show(&e, "exec.args_flags"), r#"Strs(Owned(["l"]))"#);
        assert_eq!(show(&e, "exec.args_options"), r#"Strs(Owned(["l=4444"]))"#);
        // Not an exec event: no twins.
        let o = ev(r#"{"type":"open","values":{"process.file.path":"/bin/cat","open.file.path":"/etc/shadow"}}"#);
        assert_eq!(show(&o, "exec.file.path"), "Missing");
        assert_eq!(show(&o, "open.file.name"), r#"Str("shadow")"#);
    }

    #[test]
    fn parent_is_ancestor_zero_and_lengths_follow() {
        let e = ev(
            r#"{"type":"open","values":{"open.file.path":"/x","process.ancestors.file.path":["/usr/sbin/cron","/sbin/init"],"process.ancestors.pid":[10,1],"process.ancestors.argv":[["-f"],["--x=1","y"]]}}"#,
        );
        assert_eq!(show(&e, "process.parent.file.path"), r#"Str("/usr/sbin/cron")"#);
        assert_eq!(show(&e, "process.parent.file.name"), r#"Str("cron")"#);
        assert_eq!(show(&e, "process.parent.pid"), "Int(10)");
        assert_eq!(show(&e, "process.parent.argv"), r#"Strs(Owned(["-f"]))"#);
        assert_eq!(show(&e, "process.parent.args"), r#"Str("-f")"#);
        assert_eq!(show(&e, "process.ancestors.file.name"), r#"Strs(Owned(["cron", "init"]))"#);
        assert_eq!(show(&e, "process.ancestors.file.name.length"), "Ints([4, 4])");
        assert_eq!(show(&e, "process.ancestors.length"), "Int(2)");
        assert_eq!(show(&e, "process.ancestors.argv"), r#"Strs(Owned(["-f", "--x=1", "y"]))"#);
        assert_eq!(show(&e, "process.ancestors.args"), r#"Strs(Owned(["-f", "--x=1 y"]))"#);
        assert_eq!(format!("{:?}", e.field_element(id("process.ancestors.argv"), 1)), r#"Strs(Owned(["--x=1", "y"]))"#);
        assert_eq!(
            format!("{:?}", e.field_element(id("process.ancestors.args_options"), 1)),
            r#"Strs(Owned(["x=1"]))"#
        );
        assert_eq!(format!("{:?}", e.field_element(id("process.ancestors.file.name"), 1)), r#"Str("init")"#);
    }

    #[test]
    fn given_values_win_over_derived_ones() {
        let e = ev(
            r#"{"type":"exec","values":{"exec.file.path":"/a/b","exec.file.name":"given","process.file.path":"/c/d","exec.argv":["x"],"exec.args":"given args","process.parent.pid":3,"process.ancestors.pid":[9]}}"#,
        );
        assert_eq!(show(&e, "exec.file.name"), r#"Str("given")"#);
        assert_eq!(show(&e, "process.file.name"), r#"Str("given")"#);
        assert_eq!(show(&e, "process.file.path"), r#"Str("/c/d")"#);
        assert_eq!(show(&e, "exec.args"), r#"Str("given args")"#);
        assert_eq!(show(&e, "process.parent.pid"), "Int(3)");
    }

    #[test]
    fn timestamps_constants_and_ips() {
        let e = ev(
            r#"{"Type":"open","Values":{"open.flags":["O_CREAT","O_RDWR"],"open.file.path":"/tmp/a"},"timestamp":1700000000000000000}"#,
        );
        assert_eq!(e.timestamp_ns(), Some(1_700_000_000_000_000_000));
        assert_eq!(show(&e, "event.timestamp"), "Int(1700000000000000000)");
        assert_eq!(show(&e, "open.flags"), "Int(66)");
        let c = ev(r#"{"type":"connect","values":{"connect.addr.ip":"10.0.0.1","connect.addr.port":3333}}"#);
        assert_eq!(show(&c, "connect.addr.port"), "Int(3333)");
        assert!(matches!(c.field(id("connect.addr.ip")), Value::Ip(_)));
    }

    #[test]
    fn the_fast_path_agrees_with_the_serde_path() {
        let cases = [
            r#"{"type":"exec","values":{"exec.argv":["--donate-level","1","-o","stratum+tcp://x:3333"],"process.ancestors.file.path":["/usr/sbin/cron"]}}"#,
            r#"{"type":"open","values":{"open.file.path":"/etc/\u00e9t\"c\\x","process.ancestors.argv":[["a"],[]],"process.ancestors.uid":[0,1]},"timestamp":-5}"#,
            r#" { "values" : { "dns.question.name" : "Pool.Ethermine.ORG" } , "type" : "dns" , "extra" : [1.5e3, {"a": null}] } "#,
            r#"{"type":"connect","values":{"connect.addr.hostname":"a.b","connect.addr.port":18446744073709551615}}"#,
            r#"{"type":"exec","values":{}}"#,
            r#"{"type":"exec"}"#,
            r#"{"type":"open","values":{"open.flags":0,"open.file.mode":true},"timestamp":-9223372036854775808}"#,
            r#"{"type":"open","values":{"open.file.path":"/caf\u00e9/\ud83d\ude00\n\/"}}"#,
        ];
        for c in cases {
            let fast = fast::parse(c, tables()).unwrap_or_else(|| panic!("fast path bailed on {c}"));
            let slow = JsonEvent::from_json(&serde_json::from_str(c).unwrap()).unwrap();
            assert_eq!(fast, slow, "{c}");
        }
    }

    #[test]
    fn unusual_input_takes_the_serde_path() {
        for c in [
            r#"{"type":"open","values":{"open.file.path":"/a","open.filename":"/b"}}"#,
            r#"{"type":"open","Type":"open"}"#,
            r#"{"type":"open","values":{"open.flags":1.0}}"#,
            r#"{"type":"open","values":{"open.flags":01}}"#,
            r#"{"type":"open","values":{"open.flags":-0}}"#,
            r#"{"type":"open","values":{"open.file.path":null}}"#,
            r#"{"type":"open","values":{"exec.file.path":"/a"}}"#,
            r#"{"type":"open","values":{"open.file.path":"/a",}}"#,
            r#"{"type":"open"} x"#,
            r#"{"type":"nope"}"#,
            r#"{"type":"open","values":{"open.file.path":"\ud800"}}"#,
            r#"{"type":"open","values":{"process.ancestors.pid":[[1]]}}"#,
            r#"{"type":"open","values":{"process.ancestors.argv":["a",["b"]]}}"#,
        ] {
            assert!(fast::parse(c, tables()).is_none(), "{c}");
        }
        // The serde path keeps the last of two spellings in key order.
        let e = ev(r#"{"type":"open","values":{"open.filename":"/b","open.file.path":"/a"}}"#);
        assert_eq!(show(&e, "open.file.path"), r#"Str("/b")"#);
        let msg = JsonEvent::from_str(r#"{"type":"open","values":{"exec.file.path":"/a"}}"#).unwrap_err().0;
        assert_eq!(msg, "field `exec.file.path` belongs to `exec` events, not `open`");
        let msg = JsonEvent::from_str(r#"{"type":"opn"}"#).unwrap_err().0;
        assert!(msg.starts_with("unknown event type `opn`"), "{msg}");
        assert!(JsonEvent::from_str(r#"{"type":"open"} x"#).unwrap_err().0.starts_with("invalid JSON"));
    }
}
