//! [`JsonEvent`]: an [`Event`] read from the fixture format
//! (`{"type": "exec", "values": {...}, "timestamp": ns}`), also Datadog's own
//! `runtime policy eval` event files (`{"Type", "Values"}`).
//!
//! Fields the sensor derives are derived here when absent, the way the agent does:
//! `*.args*` from `*.argv`, `*.file.name` from `*.file.path`, `.length` fields,
//! `process.parent.*` from ancestor 0, `process.*` from `exec.*` on exec events (the
//! exec'd process is the event's process), `process.ancestors.length`.
//!
//! Reading is built for replaying recorded streams, and a parsed event is compact:
//!
//! * An event is a few flat buffers, however many fields it has: every string byte in
//!   one text, list elements as [`Span`]s of it, array numbers in one vector, and one
//!   64-bit word per value (a number, or where the value lies). Nothing is allocated per
//!   value, and a dropped event's buffers go to a per-thread pool that the next event on
//!   the thread takes them from, so a stream of events allocates nothing once warm.
//! * Which fields an event derives, and how, depends only on its *shape*: its type,
//!   whether it has a timestamp, and its given fields in order with the kind of each
//!   value (and whether an array is empty). The derivations and the field index of a
//!   shape are worked out once ([`Plan`]) and replayed on every event of that shape; the
//!   index (field id → value word and kind) is shared by those events.
//! * [`JsonEvent::from_str`] scans the JSON text once and writes each value straight into
//!   those buffers, in its field's type, without an intermediate `serde_json::Value`.
//!   Anything unusual (an error, a duplicate key, a deep unknown value) falls back to the
//!   `serde_json` path, which owns the error messages: both give the same event or the
//!   same error.
//! * Derivations follow per-field tables computed once ([`tables`]): no field name is
//!   formatted per event.
//! * A derived field that is a view of a given one shares its bytes: the `process.*` twin
//!   of an `exec.*` field shares its value, `process.parent.*` is element 0 of the
//!   ancestors' list, and a basename (of a path, or of each path of a list) is a sub-span
//!   of the path. Fields that need new text or numbers (`*.args*`, per-element lengths)
//!   are computed together on the first read of any of them, into a small arena of their
//!   own (`exec.args` and its `process.args` twin share the result).

use crate::event::{Event, Span, StrList, Value, element_of};
use crate::fxhash::FxHashMap;
use crate::model::{ConstValue, FieldDef, FieldId, ScalarType, Schema};
use crate::value::ip::IpNet;
use serde_json::Value as Json;
use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, OnceLock};

// ---------------------------------------------------------------------------------------
// Storage

/// The arrays of an event's values (or of its lazily derived ones). Strings are spans of
/// the event's text.
#[derive(Clone, Debug, Default)]
struct Arena {
    /// List elements; a per-element list ([`Slot::Nested`]) also keeps here, after its
    /// items, one range of `spans` per element.
    spans: Vec<Span>,
    ints: Vec<i64>,
    /// Values few events have.
    more: Option<Box<More>>,
}

#[derive(Clone, Debug, Default)]
struct More {
    bools: Vec<bool>,
    ips: Vec<IpNet>,
}

/// One field's value, decoded: a scalar, or where its data lies. An event stores each
/// as one 64-bit word ([`encode`]) whose kind the index keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Bool(bool),
    Int(i64),
    /// Bytes of the text.
    Str(Span),
    /// An index into `ips`.
    Ip(u32),
    /// Ranges of `bools`, `ints`, `spans` and `ips`.
    Bools(Span),
    Ints(Span),
    Strs(Span),
    Ips(Span),
    /// A per-element array field (`process.ancestors.argv`): the range of `spans` holding
    /// each element's range of `spans`. The elements' items are contiguous.
    Nested(Span),
    /// A field computed on first read.
    Lazy(LazyRef),
    /// No value (a lazy value that could not be computed).
    Missing,
}

/// A lazily derived field: what it derives from which slot (of which kind), and where
/// its value lies in the lazy part. An event's lazy slots are its last `count` ones, in
/// `out` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LazyRef {
    what: Derived,
    src: u32,
    src_kind: u8,
    out: u32,
    count: u32,
}

const K_BOOL: u8 = 0;
const K_INT: u8 = 1;
const K_STR: u8 = 2;
const K_IP: u8 = 3;
const K_BOOLS: u8 = 4;
const K_INTS: u8 = 5;
const K_STRS: u8 = 6;
const K_IPS: u8 = 7;
const K_NESTED: u8 = 8;
const K_LAZY: u8 = 9;
const K_MISSING: u8 = 10;

#[inline]
fn span_word(s: Span) -> u64 {
    u64::from(s.start) | u64::from(s.len) << 32
}

#[inline]
fn word_span(w: u64) -> Span {
    Span { start: w as u32, len: (w >> 32) as u32 }
}

/// A lazy slot's word: 4 bits each of `what` and `src_kind`, then 12 bits each of `src`,
/// `out` and `count` (slots are fewer than [`MAX_SLOTS`]).
#[inline]
fn lazy_word(l: LazyRef) -> u64 {
    u64::from(l.what.code())
        | u64::from(l.src_kind) << 4
        | u64::from(l.src & 0xFFF) << 8
        | u64::from(l.out & 0xFFF) << 20
        | u64::from(l.count & 0xFFF) << 32
}

#[inline]
fn word_lazy(w: u64) -> LazyRef {
    LazyRef {
        what: Derived::from_code(w as u8 & 15),
        src_kind: (w >> 4) as u8 & 15,
        src: (w >> 8) as u32 & 0xFFF,
        out: (w >> 20) as u32 & 0xFFF,
        count: (w >> 32) as u32 & 0xFFF,
    }
}

/// A slot as a kind and a 64-bit word.
#[inline]
fn encode(slot: Slot) -> (u8, u64) {
    match slot {
        Slot::Bool(b) => (K_BOOL, u64::from(b)),
        Slot::Int(i) => (K_INT, i as u64),
        Slot::Str(s) => (K_STR, span_word(s)),
        Slot::Ip(i) => (K_IP, u64::from(i)),
        Slot::Bools(s) => (K_BOOLS, span_word(s)),
        Slot::Ints(s) => (K_INTS, span_word(s)),
        Slot::Strs(s) => (K_STRS, span_word(s)),
        Slot::Ips(s) => (K_IPS, span_word(s)),
        Slot::Nested(s) => (K_NESTED, span_word(s)),
        Slot::Lazy(l) => (K_LAZY, lazy_word(l)),
        Slot::Missing => (K_MISSING, 0),
    }
}

/// The slot a kind and a word stand for.
#[inline]
fn decode(kind: u8, w: u64) -> Slot {
    match kind {
        K_BOOL => Slot::Bool(w != 0),
        K_INT => Slot::Int(w as i64),
        K_STR => Slot::Str(word_span(w)),
        K_IP => Slot::Ip(w as u32),
        K_BOOLS => Slot::Bools(word_span(w)),
        K_INTS => Slot::Ints(word_span(w)),
        K_STRS => Slot::Strs(word_span(w)),
        K_IPS => Slot::Ips(word_span(w)),
        K_NESTED => Slot::Nested(word_span(w)),
        K_LAZY => Slot::Lazy(word_lazy(w)),
        _ => Slot::Missing,
    }
}

/// A field computed from another on its first read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Derived {
    /// `*.args` from `*.argv`: one string, or one per element (`array`).
    Args { array: bool },
    /// `*.args_flags`, per element when `nested`.
    Flags { nested: bool },
    /// `*.args_options`, per element when `nested`.
    Options { nested: bool },
    /// Per-element lengths of a list of strings (`process.ancestors.file.name.length`).
    Lengths,
}

impl Derived {
    fn code(self) -> u8 {
        match self {
            Derived::Args { array } => u8::from(array),
            Derived::Flags { nested } => 2 | u8::from(nested),
            Derived::Options { nested } => 4 | u8::from(nested),
            Derived::Lengths => 6,
        }
    }

    fn from_code(c: u8) -> Derived {
        match c {
            0 | 1 => Derived::Args { array: c == 1 },
            2 | 3 => Derived::Flags { nested: c == 3 },
            4 | 5 => Derived::Options { nested: c == 5 },
            _ => Derived::Lengths,
        }
    }
}

/// The values of the lazy fields of an event, all computed on the first read of one.
#[derive(Clone, Debug, Default)]
struct LazyPart {
    text: String,
    arena: Arena,
    /// Indexed by [`LazyRef::out`]; they read from `text` and `arena`.
    slots: Vec<Slot>,
}

/// An event parsed from JSON. Two events are equal when they have the same type,
/// timestamp and field values (however they are stored).
#[derive(Clone, Debug)]
pub struct JsonEvent {
    event_type: &'static str,
    /// Open-addressing index from field id to its value, shared by every event of the
    /// same shape ([`Plan`]): entries are `field << 16 | kind << 12 | slot` (`EMPTY` for
    /// a free entry), and a field read is one or two probes.
    index: Arc<[u32]>,
    /// Each slot's word (see [`encode`]): given values first, then derived ones.
    words: Vec<u64>,
    /// Every string of the values, back to back.
    text: String,
    arena: Arena,
    lazy: OnceLock<Box<LazyPart>>,
    timestamp: Option<i64>,
}

const EMPTY: u32 = u32::MAX;
/// Slots are numbered with 12 bits in the index (there are fewer fields).
const MAX_SLOTS: usize = 1 << 12;

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

/// Spans are 32-bit: an event holds less than 4 GiB of strings and elements.
fn too_large() -> JsonEventError {
    JsonEventError("the event is too large (4 GiB or more of values)".into())
}

/// The range `start..end` as a span.
#[inline]
fn range_from(start: usize, end: usize) -> Option<Span> {
    let s = u32::try_from(start).ok()?;
    let e = u32::try_from(end).ok()?;
    Some(Span { start: s, len: e.checked_sub(s)? })
}

/// Appends a string to a text being built; its span (`None` past 4 GiB).
#[inline]
fn push_bytes(text: &mut Vec<u8>, s: &[u8]) -> Option<Span> {
    let start = text.len();
    text.extend_from_slice(s);
    range_from(start, text.len())
}

/// Appends a string to a lazy part's text; its span.
#[inline]
fn push_string(text: &mut String, s: &str) -> Option<Span> {
    let start = text.len();
    text.push_str(s);
    range_from(start, text.len())
}

/// Appends `src[start..end]`, the contents of a string of the JSON text (followed there
/// by its closing quote). A short run is copied as a fixed 16-byte window then cut back,
/// which spares a variable-length copy.
#[inline(always)]
fn push_run(text: &mut Vec<u8>, src: &[u8], start: usize, end: usize) -> Option<Span> {
    let at = text.len();
    let len = end.checked_sub(start)?;
    match src.get(start..start + 16) {
        Some(window) if len < 16 => {
            text.extend_from_slice(window);
            text.truncate(at + len);
        }
        _ => text.extend_from_slice(src.get(start..end)?),
    }
    range_from(at, at + len)
}

/// The basename of a path held in `text` at `s` (`rsplit('/')`'s first piece).
#[inline]
fn basename_span(text: &[u8], s: Span) -> Span {
    let bytes = text.get(s.range()).unwrap_or_default();
    match bytes.iter().rposition(|&b| b == b'/') {
        Some(p) => Span { start: s.start + p as u32 + 1, len: s.len - p as u32 - 1 },
        None => s,
    }
}

/// How many argument lists an `argv` value has: one, or one per element.
fn list_count(slot: Slot) -> Option<usize> {
    match slot {
        Slot::Strs(_) => Some(1),
        Slot::Nested(b) => Some(b.len as usize),
        _ => None,
    }
}

impl Arena {
    fn clear(&mut self) {
        self.spans.clear();
        self.ints.clear();
        if let Some(m) = &mut self.more {
            m.bools.clear();
            m.ips.clear();
        }
    }

    fn bytes(&self) -> usize {
        self.spans.capacity() * size_of::<Span>()
            + self.ints.capacity() * 8
            + self.more.as_ref().map_or(0, |m| m.bools.capacity() + m.ips.capacity() * size_of::<IpNet>())
    }

    fn more(&mut self) -> &mut More {
        self.more.get_or_insert_with(Box::default)
    }

    fn bools(&self) -> &[bool] {
        self.more.as_ref().map_or(&[], |m| &m.bools)
    }

    fn ips(&self) -> &[IpNet] {
        self.more.as_ref().map_or(&[], |m| &m.ips)
    }

    /// Appends a list element.
    #[inline]
    fn push_span(&mut self, s: Span) {
        self.spans.push(s);
    }

    /// The range of `spans` pushed since `start`.
    #[inline]
    fn spans_from(&self, start: usize) -> Option<Span> {
        range_from(start, self.spans.len())
    }

    /// Appends an IP; its index.
    fn push_ip(&mut self, ip: IpNet) -> Option<u32> {
        let ips = &mut self.more().ips;
        ips.push(ip);
        u32::try_from(ips.len() - 1).ok()
    }

    /// The value a slot holds, its strings read from `text`.
    #[inline]
    fn value<'a>(&'a self, text: &'a str, slot: Slot) -> Value<'a> {
        let v = match slot {
            Slot::Bool(b) => Some(Value::Bool(b)),
            Slot::Int(i) => Some(Value::Int(i)),
            Slot::Str(s) => text.get(s.range()).map(Value::Str),
            Slot::Ip(i) => self.ips().get(i as usize).map(|ip| Value::Ip(*ip)),
            Slot::Bools(r) => self.bools().get(r.range()).map(Value::Bools),
            Slot::Ints(r) => self.ints.get(r.range()).map(Value::Ints),
            Slot::Strs(r) => self.list(text, r).map(Value::Strs),
            Slot::Ips(r) => self.ips().get(r.range()).map(Value::Ips),
            Slot::Nested(b) => self.flat(b).and_then(|r| self.list(text, r)).map(Value::Strs),
            Slot::Lazy(_) | Slot::Missing => None,
        };
        v.unwrap_or(Value::Missing)
    }

    /// The strings of a range of `spans`.
    #[inline]
    fn list<'a>(&'a self, text: &'a str, r: Span) -> Option<StrList<'a>> {
        Some(StrList::Packed { text, spans: self.spans.get(r.range())? })
    }

    /// Each element's range of `spans` of a per-element list.
    fn bounds(&self, b: Span) -> &[Span] {
        self.spans.get(b.range()).unwrap_or_default()
    }

    /// Every item of a per-element list (from the first element's to the last's).
    fn flat(&self, b: Span) -> Option<Span> {
        match self.bounds(b) {
            [] => Some(Span::default()),
            [one] => Some(*one),
            [first, .., last] => {
                Some(Span { start: first.start, len: (last.start + last.len).checked_sub(first.start)? })
            }
        }
    }

    /// Element `index` of a per-element list: its own list.
    fn nested_element<'a>(&'a self, text: &'a str, slot: Slot, index: usize) -> Option<Value<'a>> {
        let Slot::Nested(b) = slot else { return None };
        let r = self.bounds(b).get(index)?;
        self.list(text, *r).map(Value::Strs)
    }

    /// Element 0 of an array, as a field of its own (`process.parent.*`); `None` for an
    /// empty array or a scalar.
    fn first(&self, slot: Slot) -> Option<Slot> {
        let first = |r: Span| (r.len > 0).then_some(r.start as usize);
        match slot {
            Slot::Bools(r) => self.bools().get(first(r)?).map(|b| Slot::Bool(*b)),
            Slot::Ints(r) => self.ints.get(first(r)?).map(|i| Slot::Int(*i)),
            Slot::Strs(r) => self.spans.get(first(r)?).map(|s| Slot::Str(*s)),
            Slot::Ips(r) => first(r).map(|i| Slot::Ip(i as u32)),
            Slot::Nested(b) => self.bounds(b).first().map(|r| Slot::Strs(*r)),
            _ => None,
        }
    }

    /// Element count of an array (for `process.ancestors.length`), 0 for scalars.
    fn array_len(slot: Slot) -> usize {
        match slot {
            Slot::Bools(r) | Slot::Ints(r) | Slot::Strs(r) | Slot::Ips(r) | Slot::Nested(r) => r.len as usize,
            _ => 0,
        }
    }

    /// The argument lists of an `argv` value (ranges of `spans`): one, or one per element.
    fn arg_lists(&self, slot: Slot) -> Vec<Span> {
        match slot {
            Slot::Strs(r) => vec![r],
            Slot::Nested(b) => self.bounds(b).to_vec(),
            _ => Vec::new(),
        }
    }

    /// The strings of a range of `spans`, borrowed.
    fn strs<'a>(&self, text: &'a str, r: Span) -> Vec<&'a str> {
        self.spans.get(r.range()).unwrap_or_default().iter().filter_map(|s| text.get(s.range())).collect()
    }

    /// The emptiness bits of a given value, part of its event's shape: bit 0 for a
    /// non-empty array, bit 1 for a per-element list whose first element is non-empty.
    #[inline]
    fn emptiness(&self, slot: Slot) -> u32 {
        match slot {
            Slot::Bools(r) | Slot::Ints(r) | Slot::Strs(r) | Slot::Ips(r) => u32::from(r.len > 0),
            Slot::Nested(b) => {
                let first = self.bounds(b).first().is_some_and(|r| r.len > 0);
                u32::from(b.len > 0) | u32::from(first) << 1
            }
            _ => 0,
        }
    }
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
    /// What the parser and the derivations need of each field, compactly.
    info: Vec<Info>,
    names: FxHashMap<&'static str, FieldId>,
    keys: KeyTable,
    /// Event types with their `Info::etype`, by name.
    event_types: FxHashMap<&'static str, (&'static str, u8)>,
    timestamp: Option<FieldId>,
    ancestors_length: Option<FieldId>,
}

/// A field's value shape, its event type and which derivations it takes part in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Info {
    ty: u8,
    /// `ARRAY`, `PER_ELEMENT`.
    shape: u8,
    /// 0 for a common field, else its event type's number (1 + its position among the
    /// event types of the model's fields, in model order; see `Tables::event_types`).
    etype: u8,
    /// `TWIN`, `PARENT`, …: the derivations this field is the source of.
    derives: u8,
}

const TY_BOOL: u8 = 0;
const TY_INT: u8 = 1;
const TY_STR: u8 = 2;
const TY_IP: u8 = 3;
const ARRAY: u8 = 1;
/// An array field with one value per element of an iterable (`process.ancestors.*`).
const PER_ELEMENT: u8 = 2;

const TWIN: u8 = 1;
const PARENT: u8 = 2;
const ARGV: u8 = 4;
const NAME: u8 = 8;
const LENGTH: u8 = 16;
const IN_ANCESTORS: u8 = 32;

impl Tables {
    /// The derivations of one field.
    pub fn of(&self, id: FieldId) -> &FieldDerivation {
        &self.fields[usize::from(id.0)]
    }

    /// Resolves a field name by its [`key_hash`] (computed while it was scanned).
    #[inline]
    fn lookup_hashed(&self, name: &str, hash: u64) -> Option<(FieldId, Info)> {
        match self.keys.get(name.as_bytes(), hash) {
            Some(found) => Some(found),
            None => self.lookup(name).map(|id| (id, self.info(id))),
        }
    }

    #[inline]
    fn info(&self, id: FieldId) -> Info {
        self.info.get(usize::from(id.0)).copied().unwrap_or_default()
    }

    /// Resolves a field name as [`Schema::lookup`] does (legacy names included).
    fn lookup(&self, name: &str) -> Option<FieldId> {
        match self.names.get(name) {
            Some(id) => Some(*id),
            None => Schema::linux().lookup(name).map(|f| f.id),
        }
    }

    /// An event type by name, with its `Info::etype`.
    #[inline]
    fn event_type(&self, name: &str) -> Option<(&'static str, u8)> {
        self.event_types.get(name).copied()
    }
}

/// The derivation tables of the Linux model, built on first use.
pub fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| build_tables(Schema::linux()))
}

fn build_tables(schema: &'static Schema) -> Tables {
    let id = |n: &str| schema.field(n).map(|f| f.id);
    // Names are put together in one buffer (this runs for every field of the model).
    let mut buf = String::new();
    let mut field = |parts: &[&str]| {
        buf.clear();
        parts.iter().for_each(|p| buf.push_str(p));
        schema.field(&buf)
    };
    let mut fields: Vec<FieldDerivation> = schema
        .fields()
        .iter()
        .map(|f| {
            let name = f.name.as_str();
            let mut twin_of = |to: &str, rest: &str| {
                field(&[to, rest])
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
                .and_then(|s| field(&["process.parent.", s]))
                .map(|f| f.id);
            let argv = name.strip_suffix("argv").filter(|_| name.ends_with(".argv")).map(|prefix| ArgvFamily {
                args: field(&[prefix, "args"]).map(|d| (d.id, d.is_array)),
                flags: field(&[prefix, "args_flags"]).map(|d| d.id),
                options: field(&[prefix, "args_options"]).map(|d| d.id),
                nested: f.iterator.is_some(),
            });
            let name_field = name
                .strip_suffix("path")
                .filter(|_| name.ends_with(".file.path"))
                .and_then(|p| field(&[p, "name"]))
                .map(|f| f.id);
            FieldDerivation {
                twin,
                parent,
                argv,
                name: name_field,
                length: None,
                in_ancestors: f.iterator.as_deref() == Some("process.ancestors"),
            }
        })
        .collect();
    // `X.length` for `X`.
    for l in schema.fields() {
        if let Some(base) = l.name.strip_suffix(".length").and_then(id)
            && let Some(d) = fields.get_mut(usize::from(base.0))
        {
            d.length = Some((l.id, l.is_array));
        }
    }
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
    let mut field_event_types: Vec<&'static str> = Vec::new();
    for f in schema.fields() {
        if let Some(t) = f.event_type.as_deref()
            && !field_event_types.contains(&t)
        {
            field_event_types.push(t);
        }
    }
    assert!(field_event_types.len() < 255, "too many event types for `Info::etype`");
    assert!(schema.fields().len() <= MAX_SLOTS, "too many fields for 12-bit slot numbers");
    let info = schema
        .fields()
        .iter()
        .zip(&fields)
        .map(|(f, d): (&FieldDef, &FieldDerivation)| {
            let flag = |on: bool, bit: u8| if on { bit } else { 0 };
            Info {
                ty: match f.ty {
                    ScalarType::Bool => TY_BOOL,
                    ScalarType::Int => TY_INT,
                    ScalarType::Str => TY_STR,
                    ScalarType::Ip => TY_IP,
                },
                shape: flag(f.is_array, ARRAY) | flag(f.is_array && f.iterator.is_some(), PER_ELEMENT),
                etype: f
                    .event_type
                    .as_deref()
                    .and_then(|t| field_event_types.iter().position(|x| *x == t))
                    .map_or(0, |p| p as u8 + 1),
                derives: flag(d.twin.is_some(), TWIN)
                    | flag(d.parent.is_some(), PARENT)
                    | flag(d.argv.is_some(), ARGV)
                    | flag(d.name.is_some(), NAME)
                    | flag(d.length.is_some(), LENGTH)
                    | flag(d.in_ancestors, IN_ANCESTORS),
            }
        })
        .collect::<Vec<Info>>();
    let keys = KeyTable::new(names.iter().map(|(k, v)| (*k, *v, info[usize::from(v.0)])));
    let etype = |t: &str| field_event_types.iter().position(|x| *x == t).map_or(0, |p| p as u8 + 1);
    Tables {
        fields,
        info,
        names,
        keys,
        event_types: schema.event_types().into_iter().filter(|t| *t != "fim").map(|t| (t, (t, etype(t)))).collect(),
        timestamp: id("event.timestamp"),
        ancestors_length: id("process.ancestors.length"),
    }
}

/// Field names by hash, for names hashed while they are scanned.
struct KeyTable {
    /// `(hash, name, field, its info)`; an empty name marks a free slot.
    slots: Vec<(u64, &'static str, FieldId, Info)>,
    mask: usize,
}

impl KeyTable {
    fn new(names: impl Iterator<Item = (&'static str, FieldId, Info)>) -> KeyTable {
        let names: Vec<(&'static str, FieldId, Info)> = names.collect();
        let size = (names.len() * 2).next_power_of_two().max(16);
        let mut slots = vec![(0, "", FieldId(0), Info::default()); size];
        for (name, id, info) in names {
            let h = key_hash(name.as_bytes());
            let mut i = (h >> 32) as usize & (size - 1);
            while !slots[i].1.is_empty() {
                i = (i + 1) & (size - 1);
            }
            slots[i] = (h, name, id, info);
        }
        KeyTable { slots, mask: size - 1 }
    }

    #[inline]
    fn get(&self, name: &[u8], hash: u64) -> Option<(FieldId, Info)> {
        let (_, id, info) = self.entry(self.position(name, hash)?)?;
        Some((id, info))
    }

    /// Where a name is in the table.
    #[inline]
    fn position(&self, name: &[u8], hash: u64) -> Option<u32> {
        let mut i = (hash >> 32) as usize & self.mask;
        loop {
            let (h, n, _, _) = self.slots.get(i)?;
            if n.is_empty() {
                return None;
            }
            if *h == hash && same_bytes(n.as_bytes(), name) {
                return u32::try_from(i).ok();
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The name, field and info at a position.
    #[inline]
    fn entry(&self, pos: u32) -> Option<(&'static str, FieldId, Info)> {
        let (_, n, id, info) = *self.slots.get(pos as usize)?;
        Some((n, id, info))
    }
}

/// Byte equality of short strings, eight bytes at a time (a `memcmp` call costs more
/// than the comparison of a field name).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word(s: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        if let Some(c) = s.get(at..at + 8) {
            w.copy_from_slice(c);
        }
        u64::from_le_bytes(w)
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    // The last eight bytes (overlapping the previous word).
    word(a, n - 8) == word(b, n - 8)
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

/// Per thread: buffers of dropped events, the builder's scratch space, and the plans of
/// the event shapes seen.
#[derive(Default)]
struct Pool {
    texts: Vec<Vec<u8>>,
    spans: Vec<Vec<Span>>,
    words: Vec<Vec<u64>>,
    ints: Vec<Vec<i64>>,
    // Boxes, as events hold them: the allocation is what is reused.
    #[allow(clippy::vec_box)]
    more: Vec<Box<More>>,
    #[allow(clippy::vec_box)]
    lazy: Vec<Box<LazyPart>>,
    /// The shape key and each slot's kind of the event being built.
    key: Vec<u32>,
    kinds: Vec<u8>,
    /// Plans by the hash of their shape key.
    plans: FxHashMap<u64, Arc<Plan>>,
    /// Key prediction: for each field (by id + 1; 0 for the start of `values`), the key
    /// table position of the key that followed it last time, or `NO_KEY`.
    next_key: Vec<u32>,
}

const NO_KEY: u32 = u32::MAX;

/// Buffers of each sort kept.
const POOL_BUFFERS: usize = 16;
/// Buffers larger than this (in bytes) are freed rather than kept.
const POOL_MAX_BYTES: usize = 1 << 16;
/// Shapes remembered per thread; past that the cache starts over.
const MAX_PLANS: usize = 256;

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// Runs `f` with this thread's pool (with an empty one when it is in use).
#[inline]
fn with_pool<R>(f: impl FnOnce(&mut Pool) -> R) -> R {
    let mut f = Some(f);
    let mut out = None;
    let _ = POOL.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut()
            && let Some(f) = f.take()
        {
            out = Some(f(&mut p));
        }
    });
    match (out, f) {
        (Some(r), _) => r,
        (None, Some(f)) => f(&mut Pool::default()),
        (None, None) => unreachable!("`f` ran and gave its result"),
    }
}

/// A buffer from `stack`, or a new one of that capacity.
#[inline]
fn reuse<T>(stack: &mut Vec<Vec<T>>, capacity: usize) -> Vec<T> {
    stack.pop().unwrap_or_else(|| Vec::with_capacity(capacity))
}

/// Keeps a buffer on `stack` (emptied), unless the stack is full or the buffer large.
#[inline]
fn keep<T>(stack: &mut Vec<Vec<T>>, mut v: Vec<T>) {
    if stack.len() < POOL_BUFFERS && v.capacity() > 0 && v.capacity() * size_of::<T>() <= POOL_MAX_BYTES {
        v.clear();
        stack.push(v);
    }
}

impl Pool {
    /// Keeps an event's buffers.
    #[inline]
    fn recycle(&mut self, text: Vec<u8>, arena: Arena, words: Vec<u64>) {
        keep(&mut self.texts, text);
        keep(&mut self.spans, arena.spans);
        keep(&mut self.words, words);
        if arena.ints.capacity() > 0 {
            keep(&mut self.ints, arena.ints);
        }
        if let Some(mut m) = arena.more
            && self.more.len() < POOL_BUFFERS
            && m.bools.capacity() + m.ips.capacity() * size_of::<IpNet>() <= POOL_MAX_BYTES
        {
            m.bools.clear();
            m.ips.clear();
            self.more.push(m);
        }
    }

    fn lazy_back(&mut self, mut l: Box<LazyPart>) {
        if self.lazy.len() < POOL_BUFFERS && l.text.capacity() + l.arena.bytes() <= POOL_MAX_BYTES {
            l.text.clear();
            l.arena.clear();
            l.slots.clear();
            self.lazy.push(l);
        }
    }
}

impl Drop for JsonEvent {
    fn drop(&mut self) {
        let _ = POOL.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                let text = std::mem::take(&mut self.text).into_bytes();
                p.recycle(text, std::mem::take(&mut self.arena), std::mem::take(&mut self.words));
                if let Some(l) = self.lazy.take() {
                    p.lazy_back(l);
                }
            }
        });
    }
}

// ---------------------------------------------------------------------------------------
// Plans: the derivations and the index of one event shape

/// What every event of one shape (event type, timestamp or not, and the given fields in
/// order with their kinds and whether their arrays are empty) derives, and its index.
/// Derivations depend on nothing else, so they are worked out once per shape and
/// replayed: each [`Op`] computes one derived slot from the event's data, and the lazy
/// slots (the last ones) are the same words for every event of the shape.
#[derive(Debug)]
struct Plan {
    key: Box<[u32]>,
    /// The given fields repeat one (a legacy and a modern spelling): the fast path leaves
    /// such an event to the `serde_json` path, which decides which one wins.
    duplicate: bool,
    /// See [`JsonEvent::index`].
    index: Arc<[u32]>,
    /// One per derived slot, in slot order after the given ones.
    ops: Box<[Op]>,
    /// The words of the lazy slots, which come last.
    lazies: Box<[u64]>,
    /// The arrays whose lengths give `process.ancestors.length`.
    ancestors: Box<[Src]>,
    /// The plan depends on more than the shape: it is used for its event only.
    cacheable: bool,
}

/// A value read by a derivation: a slot of a kind, or a lazy field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Src {
    Slot(u32, u8),
    Lazy(LazyRef),
}

/// How a derived slot is computed from the event's other slots (whose kinds the plan
/// knows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `event.timestamp` from the event's timestamp.
    Timestamp,
    /// Element 0 of an array of that kind (`process.parent.*` from `process.ancestors.*`).
    First(u32, u8),
    /// The basename of a path (`Str`), a sub-span of it.
    Basename(u32),
    /// The basename of each path of a list (`Strs`).
    Basenames(u32),
    /// The byte length of a string (`Str`), the element count of a list (`Strs`).
    Len(u32),
    /// `process.ancestors.length`: the longest of the `Plan::ancestors` arrays.
    AncestorsLen,
}

impl Op {
    /// The kind of the slot it makes.
    fn kind(self) -> u8 {
        match self {
            Op::Timestamp | Op::Len(_) | Op::AncestorsLen => K_INT,
            Op::First(_, k) => match k {
                K_BOOLS => K_BOOL,
                K_INTS => K_INT,
                K_STRS => K_STR,
                K_IPS => K_IP,
                K_NESTED => K_STRS,
                _ => K_MISSING,
            },
            Op::Basename(_) => K_STR,
            Op::Basenames(_) => K_STRS,
        }
    }
}

/// A field present in a shape being planned.
#[derive(Clone, Copy, Debug)]
struct Entry {
    id: FieldId,
    /// [`Info::derives`] of the field.
    derives: u8,
    /// Its slot; lazy ones are numbered from `LAZY` while planning.
    slot: u32,
}

/// Lazy slots' numbers while a plan is worked out (they get their places last).
const LAZY: u32 = 1 << 20;

/// Works out a [`Plan`] on one event of its shape.
struct Planner {
    entries: Vec<Entry>,
    present: Vec<u64>,
    ops: Vec<Op>,
    /// The lazy fields (`out` is the position; `count` is set at the end).
    lazy: Vec<LazyRef>,
    ancestors: Vec<Src>,
    /// The union of the entries' `derives`: which derivation passes have work.
    derives: u8,
    cacheable: bool,
}

impl Planner {
    #[inline]
    fn has(&self, id: FieldId) -> bool {
        let i = usize::from(id.0);
        match self.present.get(i / 64) {
            Some(w) => w & (1 << (i % 64)) != 0,
            None => self.entries.iter().any(|e| e.id == id),
        }
    }

    /// A slot of the event being planned.
    fn slot(&self, b: &Builder<'_>, pos: u32) -> Slot {
        match pos.checked_sub(LAZY) {
            Some(k) => self.lazy.get(k as usize).map_or(Slot::Missing, |l| Slot::Lazy(*l)),
            None => decode(b.kind(pos), b.word(pos)),
        }
    }

    /// Adds a field reading slot `slot` (which it may share with others).
    fn add_entry(&mut self, id: FieldId, slot: u32, t: &Tables) {
        let i = usize::from(id.0);
        if let Some(w) = self.present.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
        let derives = t.info(id).derives;
        self.derives |= derives;
        self.entries.push(Entry { id, derives, slot });
    }

    /// Adds a field with a derived slot, shared with the fields derived the same way from
    /// the same slot (`exec.file.name` and its twin's `process.file.name`).
    fn add(&mut self, b: &mut Builder<'_>, id: FieldId, op: Op, ts: Option<i64>, t: &Tables) {
        let given = b.words.len() - self.ops.len();
        if let Some(k) = self.ops.iter().position(|o| *o == op) {
            self.add_entry(id, (given + k) as u32, t);
            return;
        }
        let w = b.eval(op, ts, &self.ancestors);
        b.words.push(w);
        b.kinds.push(op.kind());
        self.ops.push(op);
        self.add_entry(id, (b.words.len() - 1) as u32, t);
    }

    fn add_default(&mut self, b: &mut Builder<'_>, id: FieldId, op: Op, ts: Option<i64>, t: &Tables) {
        if !self.has(id) {
            self.add(b, id, op, ts, t);
        }
    }

    /// A field computed on first read; one computation is shared by every field with the
    /// same derivation of the same slot (`exec.args` and its twin `process.args`).
    fn lazy_default(&mut self, b: &Builder<'_>, id: FieldId, what: Derived, src: u32, t: &Tables) {
        if self.has(id) {
            return;
        }
        let k = match self.lazy.iter().position(|l| l.what == what && l.src == src) {
            Some(k) => k,
            None => {
                let out = self.lazy.len() as u32;
                self.lazy.push(LazyRef { what, src, src_kind: b.kind(src), out, count: 0 });
                self.lazy.len() - 1
            }
        };
        self.add_entry(id, LAZY + k as u32, t);
    }

    /// Derives the sensor's fields. Each pass visits the fields present when it starts,
    /// in order, and a field already present is never replaced.
    fn derive(&mut self, b: &mut Builder<'_>, exec: bool, ts: Option<i64>, t: &Tables) {
        // exec: the event's process is the exec'd one.
        if exec && self.derives & TWIN != 0 {
            for i in 0..self.entries.len() {
                let e = self.entries[i];
                if e.derives & TWIN != 0
                    && let Some(twin) = t.of(e.id).twin
                    && !self.has(twin)
                {
                    self.add_entry(twin, e.slot, t);
                }
            }
        }
        // process.parent.* is ancestor 0 unless given.
        if self.derives & PARENT != 0 {
            for i in 0..self.entries.len() {
                let e = self.entries[i];
                if e.derives & PARENT == 0 {
                    continue;
                }
                let Some(parent) = t.of(e.id).parent else { continue };
                let slot = self.slot(b, e.slot);
                if !self.has(parent) && b.arena.first(slot).is_some() {
                    self.add(b, parent, Op::First(e.slot, encode(slot).0), ts, t);
                }
            }
        }
        // *.args* from *.argv.
        if self.derives & ARGV != 0 {
            for i in 0..self.entries.len() {
                let e = self.entries[i];
                if e.derives & ARGV == 0 {
                    continue;
                }
                let Some(fam) = &t.of(e.id).argv else { continue };
                if list_count(self.slot(b, e.slot)).is_none() {
                    continue;
                }
                if let Some((d, array)) = fam.args {
                    self.lazy_default(b, d, Derived::Args { array }, e.slot, t);
                }
                if let Some(d) = fam.flags {
                    self.lazy_default(b, d, Derived::Flags { nested: fam.nested }, e.slot, t);
                }
                if let Some(d) = fam.options {
                    self.lazy_default(b, d, Derived::Options { nested: fam.nested }, e.slot, t);
                }
            }
        }
        // *.file.name from *.file.path: the basename is a sub-span of the path.
        if self.derives & NAME != 0 {
            for i in 0..self.entries.len() {
                let e = self.entries[i];
                if e.derives & NAME == 0 {
                    continue;
                }
                let Some(name) = t.of(e.id).name else { continue };
                if self.has(name) {
                    continue;
                }
                match self.slot(b, e.slot) {
                    Slot::Str(_) => self.add(b, name, Op::Basename(e.slot), ts, t),
                    Slot::Strs(_) => self.add(b, name, Op::Basenames(e.slot), ts, t),
                    _ => {}
                }
            }
        }
        // .length fields, process.ancestors.length.
        if self.derives & (LENGTH | IN_ANCESTORS) != 0 {
            for i in 0..self.entries.len() {
                let e = self.entries[i];
                let slot = self.slot(b, e.slot);
                let src = match slot {
                    Slot::Lazy(l) => Src::Lazy(l),
                    s => Src::Slot(e.slot, encode(s).0),
                };
                if e.derives & IN_ANCESTORS != 0 && !self.ancestors.contains(&src) {
                    self.ancestors.push(src);
                }
                if e.derives & LENGTH == 0 {
                    continue;
                }
                let Some((len_field, is_array)) = t.of(e.id).length else { continue };
                if self.has(len_field) {
                    continue;
                }
                // (No lazily derived field has a `.length`: see the tables test.)
                match slot {
                    Slot::Str(_) => self.add(b, len_field, Op::Len(e.slot), ts, t),
                    Slot::Strs(_) if is_array => self.lazy_default(b, len_field, Derived::Lengths, e.slot, t),
                    Slot::Strs(_) => self.add(b, len_field, Op::Len(e.slot), ts, t),
                    _ => {}
                }
            }
            let (longest, exact) = b.longest(&self.ancestors);
            self.cacheable &= exact;
            if longest > 0
                && let Some(f) = t.ancestors_length
            {
                self.add_default(b, f, Op::AncestorsLen, ts, t);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Building an event

/// An event under construction: given values, then derivations.
struct Builder<'p> {
    pool: &'p mut Pool,
    /// The strings' bytes (valid UTF-8 pieces of the JSON text, or unescaped strings).
    text: Vec<u8>,
    arena: Arena,
    words: Vec<u64>,
    /// The shape: per given field `id << 16 | kind << 8 | emptiness bits`.
    key: Vec<u32>,
    /// Each slot's kind, while a plan is worked out.
    kinds: Vec<u8>,
    /// The buffers are new, not from the pool.
    fresh: bool,
}

impl<'p> Builder<'p> {
    /// A builder for a JSON text of `len` bytes.
    #[inline]
    fn new(pool: &'p mut Pool, len: usize) -> Builder<'p> {
        // Values are typically a third of the text.
        let fresh = pool.texts.is_empty();
        let text = reuse(&mut pool.texts, len / 3 + 16);
        // (The rarer buffers only when some are at hand.)
        let arena = Arena {
            spans: reuse(&mut pool.spans, 16),
            ints: pool.ints.pop().unwrap_or_default(),
            more: pool.more.pop(),
        };
        let words = reuse(&mut pool.words, 32);
        let key = std::mem::take(&mut pool.key);
        let kinds = std::mem::take(&mut pool.kinds);
        if pool.next_key.is_empty() {
            pool.next_key = vec![NO_KEY; Schema::linux().fields().len() + 1];
        }
        Builder { pool, text, arena, words, key, kinds, fresh }
    }

    /// A given value, in the order of the JSON. (Its kind is in the key.)
    #[inline]
    fn given(&mut self, id: FieldId, slot: Slot) {
        let (k, w) = encode(slot);
        self.words.push(w);
        self.key.push(u32::from(id.0) << 16 | u32::from(k) << 8 | self.arena.emptiness(slot));
    }

    /// A given value as its kind and word, with its emptiness bits (see [`Self::given`]).
    #[inline(always)]
    fn given_word(&mut self, id: FieldId, kind: u8, word: u64, emptiness: u32) {
        self.words.push(word);
        self.key.push(u32::from(id.0) << 16 | u32::from(kind) << 8 | emptiness);
    }

    /// Replaces a given value (the `serde_json` path: the later of two spellings wins).
    fn replace(&mut self, pos: usize, slot: Slot) {
        let (k, w) = encode(slot);
        let e = self.arena.emptiness(slot);
        if let (Some(word), Some(key)) = (self.words.get_mut(pos), self.key.get_mut(pos)) {
            *word = w;
            *key = (*key & 0xFFFF_0000) | u32::from(k) << 8 | e;
        }
    }

    #[inline]
    fn word(&self, pos: u32) -> u64 {
        self.words.get(pos as usize).copied().unwrap_or_default()
    }

    #[inline]
    fn kind(&self, pos: u32) -> u8 {
        self.kinds.get(pos as usize).copied().unwrap_or(K_MISSING)
    }

    /// Computes a derived slot's word (of kind `op.kind()`).
    #[inline(always)]
    fn eval(&mut self, op: Op, ts: Option<i64>, ancestors: &[Src]) -> u64 {
        match op {
            Op::Timestamp => ts.unwrap_or_default() as u64,
            Op::First(s, kind) => {
                // (The plan has this op only for a non-empty array.)
                let first = word_span(self.word(s)).start as usize;
                match kind {
                    // A span of the text; for a per-element list, element 0's range.
                    K_STRS | K_NESTED => self.arena.spans.get(first).map_or(0, |s| span_word(*s)),
                    K_INTS => self.arena.ints.get(first).map_or(0, |i| *i as u64),
                    K_BOOLS => self.arena.bools().get(first).map_or(0, |b| u64::from(*b)),
                    _ => first as u64,
                }
            }
            Op::Basename(s) => span_word(basename_span(&self.text, word_span(self.word(s)))),
            Op::Basenames(s) => {
                let r = word_span(self.word(s));
                let start = self.arena.spans.len();
                for k in r.range() {
                    let p = self.arena.spans.get(k).copied().unwrap_or_default();
                    let b = basename_span(&self.text, p);
                    self.arena.push_span(b);
                }
                self.arena.spans_from(start).map_or(0, span_word)
            }
            Op::Len(s) => self.word(s) >> 32,
            Op::AncestorsLen => self.longest(ancestors).0 as u64,
        }
    }

    /// The longest array among these slots, without computing a lazy value when its
    /// recipe tells; and whether the shape alone decides whether it is 0.
    fn longest(&self, arrays: &[Src]) -> (usize, bool) {
        let mut exact = true;
        let mut longest = 0;
        for a in arrays {
            let slot = match *a {
                Src::Slot(s, kind) => decode(kind, self.word(s)),
                Src::Lazy(l) => Slot::Lazy(l),
            };
            let n = match slot {
                Slot::Lazy(l) => {
                    let src = decode(l.src_kind, self.word(l.src));
                    match l.what {
                        Derived::Args { array: false } => 0,
                        Derived::Args { array: true }
                        | Derived::Flags { nested: true }
                        | Derived::Options { nested: true } => list_count(src).unwrap_or(0),
                        Derived::Lengths => Arena::array_len(src),
                        // Never under `process.ancestors` (their argv is per element):
                        // counted, and the plan is not reused.
                        Derived::Flags { nested: false } | Derived::Options { nested: false } => {
                            exact = false;
                            let text = std::str::from_utf8(&self.text).unwrap_or_default();
                            let flags = matches!(l.what, Derived::Flags { .. });
                            self.arena
                                .arg_lists(src)
                                .iter()
                                .map(|list| {
                                    let argv = self.arena.strs(text, *list);
                                    if flags {
                                        crate::value::args::args_flags_borrowed(&argv).len()
                                    } else {
                                        crate::value::args::args_options(&argv).len()
                                    }
                                })
                                .sum()
                        }
                    }
                }
                other => Arena::array_len(other),
            };
            longest = longest.max(n);
        }
        (longest, exact)
    }

    /// Derives and indexes (through the plan of the event's shape), and hands the event
    /// its buffers. `None` when the given fields repeat one; the builder is then left
    /// for [`Builder::abandon`].
    fn finish(mut self, event_type: &'static str, etype: u8, timestamp: Option<i64>, t: &Tables) -> Option<JsonEvent> {
        let exec = event_type == "exec";
        self.key.push(u32::from(etype) << 8 | u32::from(exec) << 1 | u32::from(timestamp.is_some()));
        let hash = self.key.iter().fold(0, |h, w| key_add(h, u64::from(*w)));
        let plan = match self.pool.plans.get(&hash) {
            Some(p) if *p.key == *self.key => Arc::clone(p),
            _ => {
                let p = Arc::new(self.plan(exec, timestamp, t));
                if p.cacheable {
                    if self.pool.plans.len() >= MAX_PLANS {
                        self.pool.plans.clear();
                    }
                    self.pool.plans.insert(hash, Arc::clone(&p));
                }
                p
            }
        };
        if plan.duplicate {
            self.abandon();
            return None;
        }
        for op in &plan.ops {
            let w = self.eval(*op, timestamp, &plan.ancestors);
            self.words.push(w);
        }
        self.words.extend_from_slice(&plan.lazies);
        if self.fresh {
            // An event kept in memory keeps its buffers: no spare room. (Buffers from
            // the pool keep theirs for the events to come.)
            self.text.shrink_to_fit();
            self.arena.spans.shrink_to_fit();
            self.words.shrink_to_fit();
        }
        let text = std::mem::take(&mut self.text);
        let Ok(text) = String::from_utf8(text) else {
            // Never: the text is pieces of a `str` and strings unescaped into it.
            self.abandon();
            return None;
        };
        let event = JsonEvent {
            event_type,
            index: Arc::clone(&plan.index),
            words: std::mem::take(&mut self.words),
            text,
            arena: std::mem::take(&mut self.arena),
            lazy: OnceLock::new(),
            timestamp,
        };
        self.release_scratch();
        Some(event)
    }

    /// Works out the plan of this event's shape (leaving the event as it was).
    fn plan(&mut self, exec: bool, ts: Option<i64>, t: &Tables) -> Plan {
        let given = self.words.len();
        let spans = self.arena.spans.len();
        self.kinds.clear();
        self.kinds.extend(self.key[..given].iter().map(|k| (k >> 8) as u8 & 15));
        let mut p = Planner {
            entries: Vec::with_capacity(given * 2),
            present: vec![0; Schema::linux().fields().len().div_ceil(64)],
            ops: Vec::new(),
            lazy: Vec::new(),
            ancestors: Vec::new(),
            derives: 0,
            cacheable: true,
        };
        let mut duplicate = false;
        for (pos, k) in self.key[..given].iter().enumerate() {
            let id = FieldId((k >> 16) as u16);
            duplicate |= p.has(id);
            p.add_entry(id, pos as u32, t);
        }
        if !duplicate {
            if let (Some(_), Some(f)) = (ts, t.timestamp) {
                p.add_default(self, f, Op::Timestamp, ts, t);
            }
            p.derive(self, exec, ts, t);
        }
        // The lazy slots go last.
        let first_lazy = self.words.len() as u32;
        let count = p.lazy.len() as u32;
        let fits = self.words.len() + p.lazy.len() <= MAX_SLOTS;
        let lazy_ref = |l: LazyRef| LazyRef { count, ..l };
        let size = (p.entries.len() * 4).next_power_of_two().max(16);
        let mut index = vec![EMPTY; size];
        for e in &p.entries {
            let (slot, kind) = match e.slot.checked_sub(LAZY) {
                Some(k) => (first_lazy + k, K_LAZY),
                None => (e.slot, self.kind(e.slot)),
            };
            let mut i = slot_of(e.id, size - 1);
            while index[i] != EMPTY {
                i = (i + 1) & (size - 1);
            }
            index[i] = u32::from(e.id.0) << 16 | u32::from(kind) << 12 | (slot & 0xFFF);
        }
        let ancestors = p
            .ancestors
            .iter()
            .map(|a| match *a {
                Src::Lazy(l) => Src::Lazy(lazy_ref(l)),
                s => s,
            })
            .collect();
        self.words.truncate(given);
        self.kinds.clear();
        self.arena.spans.truncate(spans);
        Plan {
            key: self.key.clone().into_boxed_slice(),
            duplicate: duplicate || !fits,
            index: index.into(),
            ops: p.ops.into_boxed_slice(),
            lazies: p.lazy.iter().map(|l| lazy_word(lazy_ref(*l))).collect(),
            ancestors,
            cacheable: p.cacheable,
        }
    }

    /// Gives the scratch space back to the pool.
    #[inline]
    fn release_scratch(&mut self) {
        self.key.clear();
        self.pool.key = std::mem::take(&mut self.key);
        self.pool.kinds = std::mem::take(&mut self.kinds);
    }

    /// Gives the buffers back when the event is not built (the fast path bails, or an
    /// error).
    fn abandon(mut self) {
        let text = std::mem::take(&mut self.text);
        let arena = std::mem::take(&mut self.arena);
        let words = std::mem::take(&mut self.words);
        self.pool.recycle(text, arena, words);
        self.release_scratch();
    }
}

// ---------------------------------------------------------------------------------------
// Lazily derived fields

impl JsonEvent {
    /// The lazy fields' values, computed on first use (`count` of them: see [`LazyRef`]).
    fn lazy_part(&self, count: u32) -> &LazyPart {
        self.lazy.get_or_init(|| self.compute_lazy(count as usize))
    }

    /// Gives the buffers of the lazy fields (`args`, `args_flags`, … computed together on
    /// the first read of one) back to this thread's pool now, for the next event whose
    /// lazy fields this thread computes; they are computed again if read again.
    ///
    /// A dropped event gives its lazy fields to the pool of the thread that drops it.
    /// When events are parsed and dropped on one thread but evaluated on another (as in a
    /// pipelined replay), the evaluating thread computes the lazy fields and should call
    /// this once it is done with each event: otherwise its pool stays empty (a new part
    /// per event) while the other thread's fills up with parts it never uses.
    pub fn recycle_lazy(&mut self) {
        if let Some(l) = self.lazy.take() {
            with_pool(|p| p.lazy_back(l));
        }
    }

    /// Computes every lazy field, as the sensor derives it.
    #[inline(never)]
    fn compute_lazy(&self, count: usize) -> Box<LazyPart> {
        let pooled = POOL.try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.lazy.pop())).ok().flatten();
        let fresh = pooled.is_none();
        let mut part = pooled.unwrap_or_default();
        let lazies = self.words.get(self.words.len().saturating_sub(count)..).unwrap_or_default();
        let src = |l: LazyRef| decode(l.src_kind, self.words.get(l.src as usize).copied().unwrap_or_default());
        if fresh {
            // Room for the usual case (the arguments of argv, a few flags and options).
            let (mut bytes, mut items) = (0, 0);
            for w in lazies {
                if let Some(r) = self.arena.flat_of(src(word_lazy(*w))) {
                    let spans = self.arena.spans.get(r.range()).unwrap_or_default();
                    bytes += spans.iter().map(|s| s.len as usize + 1).sum::<usize>();
                    items += spans.len() + 1;
                }
            }
            part.text.reserve(bytes + bytes / 2);
            part.arena.spans.reserve(items);
            part.slots.reserve_exact(lazies.len());
        }
        for w in lazies {
            let l = word_lazy(*w);
            let LazyPart { text, arena, .. } = &mut *part;
            let value = compute(&self.text, &self.arena, text, arena, l.what, src(l)).unwrap_or(Slot::Missing);
            part.slots.push(value);
        }
        if fresh {
            // An event kept in memory keeps this: no spare room. (A pooled part keeps
            // its room for the events to come.)
            part.text.shrink_to_fit();
            part.arena.spans.shrink_to_fit();
            part.arena.ints.shrink_to_fit();
        }
        part
    }
}

impl Arena {
    /// Every string of a list or per-element list.
    fn flat_of(&self, slot: Slot) -> Option<Span> {
        match slot {
            Slot::Strs(r) => Some(r),
            Slot::Nested(b) => self.flat(b),
            _ => None,
        }
    }
}

/// Calls `f` with the strings of a range of `spans`, as a slice (on the stack when short).
fn with_strs<R>(text: &str, a: &Arena, r: Span, f: impl FnOnce(&[&str]) -> R) -> R {
    let spans = a.spans.get(r.range()).unwrap_or_default();
    let mut short = [""; 32];
    if spans.len() <= short.len() {
        let mut n = 0;
        for s in spans {
            if let (Some(v), Some(slot)) = (text.get(s.range()), short.get_mut(n)) {
                *slot = v;
                n += 1;
            }
        }
        f(short.get(..n).unwrap_or_default())
    } else {
        f(&a.strs(text, r))
    }
}

/// Computes a lazy field from `src` (read in `text` and `a`) into `out_text` and `out`;
/// `None` past 4 GiB.
fn compute(text: &str, a: &Arena, out_text: &mut String, out: &mut Arena, what: Derived, src: Slot) -> Option<Slot> {
    use crate::value::args;
    // The argument lists: one, or one per element.
    let one;
    let lists: &[Span] = match src {
        Slot::Strs(r) => {
            one = [r];
            &one
        }
        Slot::Nested(b) => a.bounds(b),
        _ => &[],
    };
    Some(match what {
        Derived::Args { array } => {
            // The arguments joined with single spaces (`value::args::args`).
            let joined = |out_text: &mut String, l: Span| {
                let items = a.spans.get(l.range()).unwrap_or_default();
                for (i, s) in items.iter().filter_map(|s| text.get(s.range())).enumerate() {
                    if i > 0 {
                        out_text.push(' ');
                    }
                    out_text.push_str(s);
                }
            };
            if array {
                let start = out.spans.len();
                for l in lists {
                    let at = out_text.len();
                    joined(out_text, *l);
                    let s = range_from(at, out_text.len())?;
                    out.push_span(s);
                }
                Slot::Strs(out.spans_from(start)?)
            } else {
                // One list: its arguments; several: each list's, concatenated.
                let start = out_text.len();
                for l in lists {
                    joined(out_text, *l);
                }
                Slot::Str(range_from(start, out_text.len())?)
            }
        }
        Derived::Flags { nested } | Derived::Options { nested } => {
            let flags = matches!(what, Derived::Flags { .. });
            let at = out.spans.len();
            // Each element's range of items, kept aside until every item is in.
            let mut bounds: Vec<Span> = Vec::new();
            for l in lists {
                let start = out.spans.len();
                with_strs(text, a, *l, |argv| -> Option<()> {
                    if flags {
                        for f in args::args_flags_borrowed(argv) {
                            let s = push_string(out_text, f)?;
                            out.push_span(s);
                        }
                    } else {
                        for o in args::args_options(argv) {
                            let s = push_string(out_text, &o)?;
                            out.push_span(s);
                        }
                    }
                    Some(())
                })?;
                if nested {
                    bounds.push(out.spans_from(start)?);
                }
            }
            if nested {
                let b = out.spans.len();
                out.spans.extend(bounds);
                Slot::Nested(out.spans_from(b)?)
            } else {
                Slot::Strs(out.spans_from(at)?)
            }
        }
        Derived::Lengths => {
            let start = out.ints.len();
            if let Slot::Strs(r) = src {
                out.ints.extend(a.spans.get(r.range()).unwrap_or_default().iter().map(|s| i64::from(s.len)));
            }
            Slot::Ints(range_from(start, out.ints.len())?)
        }
    })
}

// ---------------------------------------------------------------------------------------
// Reading

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
        let Some((event_type, etype)) = t.event_type(type_name) else {
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
        with_pool(|pool| {
            let mut b = Builder::new(pool, 0);
            let given = match get("values") {
                None | Some(Json::Null) => Ok(()),
                Some(Json::Object(values)) => given_values(schema, values, event_type, &mut b),
                Some(_) => err("`values` must be an object"),
            };
            match given {
                // (The given fields are distinct: `finish` only fails past 4 GiB.)
                Ok(()) => b.finish(event_type, etype, timestamp, t).ok_or_else(too_large),
                Err(e) => {
                    b.abandon();
                    Err(e)
                }
            }
        })
    }

    /// The kind and word of a field's slot.
    #[inline(always)]
    fn find(&self, id: FieldId) -> Option<(u8, u64)> {
        let mask = self.index.len().wrapping_sub(1);
        let mut pos = slot_of(id, mask);
        loop {
            let e = *self.index.get(pos)?;
            if e == EMPTY {
                return None;
            }
            if (e >> 16) as u16 == id.0 {
                return Some(((e >> 12) as u8 & 15, *self.words.get((e & 0xFFF) as usize)?));
            }
            pos = (pos + 1) & mask;
        }
    }

    /// The slot of a field.
    #[inline]
    fn slot(&self, id: FieldId) -> Option<Slot> {
        self.find(id).map(|(kind, w)| decode(kind, w))
    }

    /// A slot's value, from the lazy part for a lazy slot.
    #[inline(never)]
    fn value(&self, slot: Slot) -> Value<'_> {
        match slot {
            Slot::Lazy(l) => self.lazy_value(l),
            s => self.arena.value(&self.text, s),
        }
    }

    /// A lazily derived field's value (the usual kinds inline).
    #[inline(never)]
    fn lazy_value(&self, l: LazyRef) -> Value<'_> {
        let part = self.lazy_part(l.count);
        match part.slots.get(l.out as usize) {
            Some(Slot::Str(s)) => part.text.get(s.range()).map_or(Value::Missing, Value::Str),
            Some(Slot::Strs(r)) => match part.arena.spans.get(r.range()) {
                Some(spans) => Value::Strs(StrList::Packed { text: &part.text, spans }),
                None => Value::Missing,
            },
            Some(s) => part.arena.value(&part.text, *s),
            None => Value::Missing,
        }
    }

    /// Element `index` of a per-element list field (`process.ancestors.argv`): the
    /// element's own list; `None` when the field is not one.
    fn nested_element(&self, slot: Slot, index: usize) -> Option<Value<'_>> {
        match slot {
            Slot::Nested(_) => Some(self.arena.nested_element(&self.text, slot, index).unwrap_or(Value::Missing)),
            Slot::Lazy(LazyRef { out, count, .. }) => {
                let l = self.lazy_part(count);
                let s = *l.slots.get(out as usize)?;
                matches!(s, Slot::Nested(_))
                    .then(|| l.arena.nested_element(&l.text, s, index).unwrap_or(Value::Missing))
            }
            _ => None,
        }
    }

    /// Whether a field holds one list per element, and how many.
    fn nested_len(&self, id: FieldId) -> Option<usize> {
        let slot = match self.slot(id)? {
            Slot::Lazy(LazyRef { out, count, .. }) => *self.lazy_part(count).slots.get(out as usize)?,
            s => s,
        };
        match slot {
            Slot::Nested(b) => Some(b.len as usize),
            _ => None,
        }
    }

    /// The fields present, given or derived, in no particular order.
    pub fn field_ids(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.index.iter().filter(|e| **e != EMPTY).map(|e| FieldId((e >> 16) as u16))
    }
}

impl PartialEq for JsonEvent {
    fn eq(&self, other: &JsonEvent) -> bool {
        let fields = |e: &JsonEvent| {
            let mut v: Vec<FieldId> = e.field_ids().collect();
            v.sort_unstable();
            v
        };
        let (a, b) = (fields(self), fields(other));
        self.event_type == other.event_type
            && self.timestamp == other.timestamp
            && a == b
            && a.iter().all(|id| {
                let n = self.nested_len(*id);
                same_value(self.field(*id), other.field(*id))
                    && n == other.nested_len(*id)
                    && (0..n.unwrap_or(0)).all(|i| same_value(self.field_element(*id, i), other.field_element(*id, i)))
            })
    }
}

fn same_value(a: Value<'_>, b: Value<'_>) -> bool {
    match (a, b) {
        (Value::Missing, Value::Missing) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Ip(x), Value::Ip(y)) => x == y,
        (Value::Bools(x), Value::Bools(y)) => x == y,
        (Value::Ints(x), Value::Ints(y)) => x == y,
        (Value::Strs(x), Value::Strs(y)) => x.len() == y.len() && x.iter().eq(y.iter()),
        (Value::Ips(x), Value::Ips(y)) => x == y,
        _ => false,
    }
}

/// Where a field's entry is looked for first in an index of `mask + 1` entries.
#[inline(always)]
fn slot_of(id: FieldId, mask: usize) -> usize {
    (u32::from(id.0).wrapping_mul(0x9E37_79B1) >> 16) as usize & mask
}

impl Event for JsonEvent {
    fn event_type(&self) -> &str {
        self.event_type
    }

    #[inline(always)]
    fn field(&self, id: FieldId) -> Value<'_> {
        let Some((kind, w)) = self.find(id) else { return Value::Missing };
        // The usual kinds here; the others (and lazy fields) out of line.
        match kind {
            K_STR => self.text.get(word_span(w).range()).map_or(Value::Missing, Value::Str),
            K_INT => Value::Int(w as i64),
            K_STRS => match self.arena.spans.get(word_span(w).range()) {
                Some(spans) => Value::Strs(StrList::Packed { text: &self.text, spans }),
                None => Value::Missing,
            },
            K_BOOL => Value::Bool(w != 0),
            K_LAZY => self.lazy_value(word_lazy(w)),
            _ => self.value(decode(kind, w)),
        }
    }

    fn field_element(&self, id: FieldId, index: usize) -> Value<'_> {
        let Some(slot) = self.slot(id) else { return Value::Missing };
        match self.nested_element(slot, index) {
            Some(v) => v,
            None => element_of(self.value(slot), index),
        }
    }

    fn timestamp_ns(&self) -> Option<i64> {
        self.timestamp
    }
}

// ---------------------------------------------------------------------------------------
// The serde_json path: the reference conversion, and every error message.

/// The `values` object: each field converted into the builder, in key order (a later
/// spelling of a field replaces an earlier one, in its place).
fn given_values(
    schema: &Schema,
    values: &serde_json::Map<String, Json>,
    event_type: &str,
    b: &mut Builder<'_>,
) -> Result<(), JsonEventError> {
    let mut given: Vec<FieldId> = Vec::with_capacity(values.len());
    let mut seen = vec![0u64; schema.fields().len().div_ceil(64)];
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
        let slot = convert(schema, def, v, &mut b.text, &mut b.arena)?;
        let (word, bit) = (usize::from(def.id.0) / 64, 1u64 << (def.id.0 % 64));
        let again = seen.get(word).is_some_and(|w| w & bit != 0);
        match again.then(|| given.iter().position(|id| *id == def.id)).flatten() {
            Some(pos) => b.replace(pos, slot),
            None => {
                if let Some(w) = seen.get_mut(word) {
                    *w |= bit;
                }
                given.push(def.id);
                b.given(def.id, slot);
            }
        }
    }
    Ok(())
}

fn convert(
    schema: &Schema,
    def: &FieldDef,
    v: &Json,
    text: &mut Vec<u8>,
    a: &mut Arena,
) -> Result<Slot, JsonEventError> {
    let name = &def.name;
    let per_element =
        def.iterator.is_some() && def.is_array && matches!(v, Json::Array(a) if a.iter().any(Json::is_array));
    if per_element {
        let Json::Array(items) = v else { unreachable_shape() };
        let mut bounds = Vec::with_capacity(items.len());
        for item in items {
            let Json::Array(inner) = item else {
                return err(format!("field `{name}`: expected a list of lists"));
            };
            let start = a.spans.len();
            for s in inner {
                let span = push_bytes(text, scalar_str(name, s)?.as_bytes()).ok_or_else(too_large)?;
                a.push_span(span);
            }
            bounds.push(a.spans_from(start).ok_or_else(too_large)?);
        }
        let at = a.spans.len();
        a.spans.extend(bounds);
        return Ok(Slot::Nested(a.spans_from(at).ok_or_else(too_large)?));
    }
    if def.is_array {
        let items: Vec<&Json> = match v {
            Json::Array(a) => a.iter().collect(),
            // A lone scalar for an array field is a one-element array.
            other => vec![other],
        };
        return Ok(match def.ty {
            ScalarType::Bool => {
                let bools = &mut a.more().bools;
                let start = bools.len();
                for j in items {
                    bools.push(scalar_bool(name, j)?);
                }
                Slot::Bools(range_from(start, bools.len()).ok_or_else(too_large)?)
            }
            ScalarType::Int => {
                let start = a.ints.len();
                for j in items {
                    a.ints.push(scalar_int(schema, name, j)?);
                }
                Slot::Ints(range_from(start, a.ints.len()).ok_or_else(too_large)?)
            }
            ScalarType::Str => {
                let start = a.spans.len();
                for j in items {
                    let span = push_bytes(text, scalar_str(name, j)?.as_bytes()).ok_or_else(too_large)?;
                    a.push_span(span);
                }
                Slot::Strs(a.spans_from(start).ok_or_else(too_large)?)
            }
            ScalarType::Ip => {
                let ips = &mut a.more().ips;
                let start = ips.len();
                for j in items {
                    ips.push(scalar_ip(name, j)?);
                }
                Slot::Ips(range_from(start, ips.len()).ok_or_else(too_large)?)
            }
        });
    }
    Ok(match def.ty {
        ScalarType::Bool => Slot::Bool(scalar_bool(name, v)?),
        ScalarType::Int => Slot::Int(scalar_int(schema, name, v)?),
        ScalarType::Str => Slot::Str(push_bytes(text, scalar_str(name, v)?.as_bytes()).ok_or_else(too_large)?),
        ScalarType::Ip => Slot::Ip(a.push_ip(scalar_ip(name, v)?).ok_or_else(too_large)?),
    })
}

fn unreachable_shape() -> ! {
    // `nested` is only true for JSON arrays.
    unreachable!("nested implies an array")
}

fn scalar_bool(name: &str, v: &Json) -> Result<bool, JsonEventError> {
    v.as_bool().ok_or_else(|| JsonEventError(format!("field `{name}`: expected a boolean, got {v}")))
}

fn scalar_str<'a>(name: &str, v: &'a Json) -> Result<&'a str, JsonEventError> {
    v.as_str().ok_or_else(|| JsonEventError(format!("field `{name}`: expected a string, got {v}")))
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

// ---------------------------------------------------------------------------------------
// The fast path

mod fast {
    //! A strict single-pass JSON reader specialised to the event format. It returns
    //! `None` ("bail") on anything it does not handle exactly like the `serde_json` path:
    //! every error, duplicate keys, values nested deeper than [`MAX_DEPTH`]. The caller
    //! then takes that path, which gives the result or the error message.
    //!
    //! The scanning functions take the text's bytes and a position and return the
    //! position after what they read, so that the position lives in a register.

    use super::{
        ARRAY, Arena, Builder, Info, JsonEvent, NO_KEY, PER_ELEMENT, Slot, TY_BOOL, TY_INT, TY_IP, TY_STR, Tables,
        constant_value, parse_ip_value, push_run, range_from, with_pool,
    };
    use crate::event::Span;
    use crate::model::{FieldId, Schema};
    use std::borrow::Cow;

    const MAX_DEPTH: usize = 64;

    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;

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
        let (end, hash) = key_at(text.as_bytes(), 0)?;
        t.lookup_hashed(text.get(1..end)?, hash).map(|(id, _)| id)
    }

    pub(super) fn parse(text: &str, t: &Tables) -> Option<JsonEvent> {
        with_pool(|pool| {
            let mut s = Scan { text, b: text.as_bytes(), i: 0 };
            let mut b = Builder::new(pool, text.len());
            match s.event(t, &mut b) {
                // A duplicate field (maybe a legacy and a modern spelling) shows in the
                // plan: the serde_json path decides which one wins.
                Some((ty, etype, ts)) => b.finish(ty, etype, ts, t),
                None => {
                    b.abandon();
                    None
                }
            }
        })
    }

    /// The position of the first byte from `i` that is not JSON whitespace.
    #[inline(always)]
    fn skip_ws(b: &[u8], mut i: usize) -> usize {
        while let Some(&c) = b.get(i) {
            if c > b' ' || !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            i += 1;
        }
        i
    }

    /// [`skip_ws`] for the usual case of one space (after `:` or `,`).
    #[inline(always)]
    fn after_space(b: &[u8], mut i: usize) -> usize {
        if b.get(i) == Some(&b' ') {
            i += 1;
        }
        if b.get(i).is_some_and(|c| *c > b' ') { i } else { skip_ws(b, i) }
    }

    /// The bytes of a little-endian word flagged when they are `"`, `\` or a control
    /// character (the lowest flag is exact; bytes at or above 0x80 are never flagged).
    #[inline(always)]
    fn specials(x: u64) -> u64 {
        let quote = x ^ (LO * u64::from(b'"'));
        let slash = x ^ (LO * u64::from(b'\\'));
        ((quote.wrapping_sub(LO) & !quote) | (slash.wrapping_sub(LO) & !slash) | (x.wrapping_sub(LO * 0x20) & !x)) & HI
    }

    #[inline(always)]
    fn word_at(b: &[u8], i: usize) -> Option<u64> {
        let chunk = b.get(i..i + 8)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        Some(u64::from_le_bytes(w))
    }

    /// The end of the run of bytes from `i` that need no attention inside a string (not
    /// `"`, `\` or a control character), eight bytes at a time.
    #[inline(always)]
    fn plain_run(b: &[u8], mut i: usize) -> usize {
        while let Some(x) = word_at(b, i) {
            let special = specials(x);
            if special != 0 {
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

    /// A key without escapes at `i` (its opening quote), hashed as it is scanned
    /// ([`super::key_hash`]): the position of its closing quote and the hash. `None` when
    /// it has escapes (or is no string): the caller reads it as a string.
    #[inline(always)]
    fn key_at(b: &[u8], i: usize) -> Option<(usize, u64)> {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let start = i + 1;
        let mut i = start;
        let mut h = 0u64;
        loop {
            if let Some(x) = word_at(b, i) {
                let special = specials(x);
                if special == 0 {
                    h = super::key_add(h, x);
                    i += 8;
                    continue;
                }
                let n = (special.trailing_zeros() / 8) as usize;
                if b.get(i + n) != Some(&b'"') {
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
        Some((i, super::key_add(h, (i - start) as u64)))
    }

    /// A string at `i` (its opening quote) into the text: its span there and the
    /// position after it.
    #[inline(always)]
    fn str_at(b: &[u8], src: &str, i: usize, text: &mut Vec<u8>) -> Option<(Span, usize)> {
        let start = i + 1;
        let end = plain_run(b, start);
        if b.get(end) == Some(&b'"') {
            Some((push_run(text, b, start, end)?, end + 1))
        } else {
            escaped_at(b, src, start, end, text)
        }
    }

    /// The rest of [`str_at`] for a string with escapes (or an error), from `end`.
    #[inline(never)]
    fn escaped_at(b: &[u8], src: &str, start: usize, end: usize, text: &mut Vec<u8>) -> Option<(Span, usize)> {
        let out = text.len();
        text.extend_from_slice(b.get(start..end)?);
        let mut s = Scan { text: src, b, i: end };
        let mut ch = [0u8; 4];
        loop {
            match s.b.get(s.i)? {
                b'"' => return Some((range_from(out, text.len())?, s.i + 1)),
                b'\\' => {
                    s.i += 1;
                    let c = s.escape()?;
                    text.extend_from_slice(c.encode_utf8(&mut ch).as_bytes());
                }
                _ => {
                    let run_end = plain_run(b, s.i);
                    if run_end == s.i {
                        // A control character.
                        return None;
                    }
                    text.extend_from_slice(b.get(s.i..run_end)?);
                    s.i = run_end;
                }
            }
        }
    }

    const POW10: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

    /// The leading decimal digits (up to eight) of a little-endian word: their value and
    /// how many there are.
    #[inline(always)]
    fn digits8(x: u64) -> (u64, usize) {
        // Each byte minus '0': digits are 0..=9. A borrow only starts at a byte below
        // '0', which ends the digits; what follows it is not looked at.
        let t = x.wrapping_sub(LO * u64::from(b'0'));
        // Flag bytes above 9 (`t + 0x76` reaches 0x80) or at or above 0x80.
        let flags = (t.wrapping_add(LO * 0x76) | t) & HI;
        let n = (flags.trailing_zeros() / 8) as usize;
        if n == 0 {
            return (0, 0);
        }
        // The n digits as the last ones of eight (the first digit is the lowest byte):
        // leading zeros before them.
        let mut v = t << (8 * (8 - n));
        v = (v.wrapping_mul(10) + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v.wrapping_mul(100) + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v.wrapping_mul(10_000) + (v >> 32)) & 0x0000_0000_FFFF_FFFF;
        (v, n)
    }

    /// An integer in strict JSON syntax at `i`, and the position after it; `None` for
    /// fractions, exponents, overflow.
    #[inline(always)]
    fn number_at(b: &[u8], mut i: usize) -> Option<(Num, usize)> {
        let neg = b.get(i) == Some(&b'-');
        if neg {
            i += 1;
        }
        let start = i;
        let mut mag: u64 = 0;
        // Eight digits at a time while eight bytes remain, then one at a time.
        while let Some(x) = word_at(b, i) {
            let (v, n) = digits8(x);
            mag = mag.wrapping_mul(POW10[n]).wrapping_add(v);
            i += n;
            if n < 8 {
                break;
            }
        }
        while let Some(&c) = b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            mag = mag.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        let len = i - start;
        // Up to 19 digits cannot overflow; longer numbers are checked.
        if len > 19 {
            mag = 0;
            for &c in b.get(start..i)? {
                mag = mag.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
            }
        }
        if len == 0 || (len > 1 && b.get(start) == Some(&b'0')) {
            return None;
        }
        if matches!(b.get(i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        let n = if neg {
            // serde_json reads `-0` as a float.
            if mag == 0 || mag > 1 << 63 {
                return None;
            }
            Num::Signed((mag as i64).wrapping_neg())
        } else if mag > i64::MAX as u64 {
            Num::Unsigned(mag)
        } else {
            Num::Signed(mag as i64)
        };
        Some((n, i))
    }

    struct Scan<'a> {
        text: &'a str,
        b: &'a [u8],
        i: usize,
    }

    impl<'a> Scan<'a> {
        /// The top-level object: its type, its timestamp, and its values into `b`.
        fn event(&mut self, t: &Tables, b: &mut Builder<'_>) -> Option<(&'static str, u8, Option<i64>)> {
            let schema = Schema::linux();
            let mut event_type: Option<(&'static str, u8)> = None;
            let mut type_seen = false;
            let mut timestamp: Option<i64> = None;
            let mut timestamp_seen = false;
            let mut values_seen = false;
            // The event type of the event-specific fields given (`Info::etype`), checked
            // once the event's type is known (it may come last).
            let mut typed = 0u8;
            self.expect(b'{')?;
            if !self.eat(b'}') {
                loop {
                    self.ws();
                    // The usual spellings first, then any (`Type`, escapes).
                    let rest = self.b.get(self.i..).unwrap_or_default();
                    let key: Cow<'_, str> = if rest.starts_with(b"\"type\"") {
                        self.i += 6;
                        Cow::Borrowed("type")
                    } else if rest.starts_with(b"\"values\"") {
                        self.i += 8;
                        Cow::Borrowed("values")
                    } else {
                        self.string()?
                    };
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
            let (event_type, etype) = event_type?;
            if typed != 0 && typed != etype {
                return None;
            }
            Some((event_type, etype, timestamp))
        }

        #[inline(always)]
        fn ws(&mut self) {
            self.i = skip_ws(self.b, self.i);
        }

        #[inline(always)]
        fn peek(&mut self) -> Option<u8> {
            self.ws();
            self.b.get(self.i).copied()
        }

        #[inline(always)]
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
            if self.b.get(self.i..).is_some_and(|rest| rest.starts_with(word)) {
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
            let end = plain_run(self.b, start);
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
                        out.push(self.escape()?);
                    }
                    _ => {
                        let run_start = self.i;
                        let run_end = plain_run(self.b, run_start);
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

        /// A string value into the text.
        #[inline]
        fn str_into(&mut self, text: &mut Vec<u8>) -> Option<Span> {
            self.ws();
            if self.b.get(self.i) != Some(&b'"') {
                return None;
            }
            let (s, i) = str_at(self.b, self.text, self.i, text)?;
            self.i = i;
            Some(s)
        }

        /// The character an escape stands for (after its `\`).
        fn escape(&mut self) -> Option<char> {
            let c = *self.b.get(self.i)?;
            self.i += 1;
            Some(match c {
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
            })
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
            let (n, i) = number_at(self.b, self.i)?;
            self.i = i;
            Some(n)
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
            if !digits(&mut i) || (i - int_start > 1 && b.get(int_start) == Some(&b'0')) {
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

        /// The `values` object, each value into the builder. The usual shapes (a string,
        /// a number, a list of strings) are read inline; the others by [`Self::value`].
        fn values(&mut self, schema: &'static Schema, t: &Tables, b: &mut Builder<'_>, typed: &mut u8) -> Option<()> {
            let bytes = self.b;
            let src = self.text;
            let mut i = skip_ws(bytes, self.i);
            if bytes.get(i) != Some(&b'{') {
                return None;
            }
            i = skip_ws(bytes, i + 1);
            if bytes.get(i) == Some(&b'}') {
                self.i = i + 1;
                return Some(());
            }
            // The previous key's field (+ 1), for key prediction.
            let mut prev = 0usize;
            loop {
                let guess = b.pool.next_key.get(prev).copied().unwrap_or(NO_KEY);
                let (id, info) = match predicted(bytes, i, t, guess) {
                    Some((id, info, end)) => {
                        i = end;
                        (id, info)
                    }
                    None => match key_at(bytes, i) {
                        Some((end, hash)) => {
                            let name = bytes.get(i + 1..end)?;
                            let found = match t.keys.position(name, hash) {
                                Some(pos) => {
                                    if let Some(g) = b.pool.next_key.get_mut(prev) {
                                        *g = pos;
                                    }
                                    let (_, id, info) = t.keys.entry(pos)?;
                                    (id, info)
                                }
                                None => t.lookup_hashed(src.get(i + 1..end)?, hash)?,
                            };
                            i = end + 1;
                            found
                        }
                        None => {
                            self.i = i;
                            let name = self.string()?;
                            i = self.i;
                            let id = t.lookup(&name)?;
                            (id, t.info(id))
                        }
                    },
                };
                prev = usize::from(id.0) + 1;
                // `": "` is the usual separator.
                if bytes.get(i) != Some(&b':') {
                    i = skip_ws(bytes, i);
                    if bytes.get(i) != Some(&b':') {
                        return None;
                    }
                }
                i = after_space(bytes, i + 1);
                if info.etype != 0 {
                    if *typed == 0 {
                        *typed = info.etype;
                    } else if *typed != info.etype {
                        return None;
                    }
                }
                let c = *bytes.get(i)?;
                if info.shape == 0 && info.ty == TY_STR && c == b'"' {
                    let (s, j) = str_at(bytes, src, i, &mut b.text)?;
                    i = j;
                    b.given_word(id, super::K_STR, super::span_word(s), 0);
                } else if info.shape == 0 && info.ty == TY_INT && (c.is_ascii_digit() || c == b'-') {
                    let (n, j) = number_at(bytes, i)?;
                    i = j;
                    let v = match n {
                        Num::Signed(v) => v,
                        Num::Unsigned(u) => u as i64,
                    };
                    b.given_word(id, super::K_INT, v as u64, 0);
                } else if info.shape & ARRAY != 0
                    && info.ty == TY_STR
                    && c == b'['
                    && !(info.shape & PER_ELEMENT != 0 && bytes.get(skip_ws(bytes, i + 1)) == Some(&b'['))
                {
                    let (r, j) = str_list_at(bytes, src, i + 1, b)?;
                    i = j;
                    b.given_word(id, super::K_STRS, super::span_word(r), u32::from(r.len > 0));
                } else {
                    self.i = i;
                    let v = self.value(schema, info, &mut b.text, &mut b.arena)?;
                    i = self.i;
                    b.given(id, v);
                }
                if !matches!(bytes.get(i), Some(b',' | b'}')) {
                    i = skip_ws(bytes, i);
                }
                match bytes.get(i) {
                    Some(b',') => i = after_space(bytes, i + 1),
                    Some(b'}') => {
                        self.i = i + 1;
                        return Some(());
                    }
                    _ => return None,
                }
            }
        }

        /// A value of a field of this shape, into the text and the arena.
        fn value(&mut self, schema: &Schema, info: Info, text: &mut Vec<u8>, a: &mut Arena) -> Option<Slot> {
            if info.shape & ARRAY == 0 {
                return Some(match info.ty {
                    TY_BOOL => Slot::Bool(self.bool()?),
                    TY_INT => Slot::Int(self.int(schema)?),
                    TY_STR => Slot::Str(self.str_into(text)?),
                    _ => Slot::Ip(a.push_ip(parse_ip_value(&self.string()?)?)?),
                });
            }
            if self.peek()? != b'[' {
                // A lone scalar for an array field is a one-element array.
                return Some(match info.ty {
                    TY_BOOL => {
                        let v = self.bool()?;
                        let bools = &mut a.more().bools;
                        bools.push(v);
                        Slot::Bools(range_from(bools.len() - 1, bools.len())?)
                    }
                    TY_INT => {
                        a.ints.push(self.int(schema)?);
                        Slot::Ints(range_from(a.ints.len() - 1, a.ints.len())?)
                    }
                    TY_STR => {
                        let s = self.str_into(text)?;
                        a.push_span(s);
                        Slot::Strs(a.spans_from(a.spans.len() - 1)?)
                    }
                    _ => {
                        let i = a.push_ip(parse_ip_value(&self.string()?)?)?;
                        Slot::Ips(Span { start: i, len: 1 })
                    }
                });
            }
            self.i += 1;
            let per_element = info.shape & PER_ELEMENT != 0;
            if per_element && self.peek()? == b'[' {
                return self.nested(info, text, a);
            }
            macro_rules! list {
                ($v:expr, $item:expr) => {{
                    let start = $v.len();
                    if !self.eat(b']') {
                        loop {
                            if per_element && self.peek()? == b'[' {
                                // Mixed scalars and lists: the serde_json path reports it.
                                return None;
                            }
                            let item = $item;
                            $v.push(item);
                            if self.eat(b',') {
                                continue;
                            }
                            self.expect(b']')?;
                            break;
                        }
                    }
                    range_from(start, $v.len())?
                }};
            }
            Some(match info.ty {
                TY_BOOL => Slot::Bools(list!(a.more().bools, self.bool()?)),
                TY_INT => Slot::Ints(list!(a.ints, self.int(schema)?)),
                TY_STR => Slot::Strs(list!(a.spans, self.str_into(text)?)),
                TY_IP => Slot::Ips(list!(a.more().ips, parse_ip_value(&self.string()?)?)),
                _ => return None,
            })
        }

        /// A per-element field given as a list of string lists; the opening `[` is read.
        fn nested(&mut self, info: Info, text: &mut Vec<u8>, a: &mut Arena) -> Option<Slot> {
            if info.ty != TY_STR {
                return None;
            }
            // Each element's range, kept aside until every item is in.
            let mut bounds: Vec<Span> = Vec::new();
            loop {
                self.expect(b'[')?;
                let start = a.spans.len();
                if !self.eat(b']') {
                    loop {
                        let s = self.str_into(text)?;
                        a.push_span(s);
                        if self.eat(b',') {
                            continue;
                        }
                        self.expect(b']')?;
                        break;
                    }
                }
                bounds.push(a.spans_from(start)?);
                if self.eat(b',') {
                    continue;
                }
                self.expect(b']')?;
                break;
            }
            let at = a.spans.len();
            a.spans.extend(bounds);
            Some(Slot::Nested(a.spans_from(at)?))
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

    /// The key at `i` when it is the one `guess` (a key table position) names: its field,
    /// info, and the position after its closing quote.
    #[inline(always)]
    fn predicted(b: &[u8], i: usize, t: &Tables, guess: u32) -> Option<(FieldId, Info, usize)> {
        let (name, id, info) = t.keys.entry(guess)?;
        let end = i + 1 + name.len();
        let hit = b.get(i) == Some(&b'"')
            && b.get(end) == Some(&b'"')
            && b.get(i + 1..end).is_some_and(|k| super::same_bytes(k, name.as_bytes()));
        hit.then_some((id, info, end + 1))
    }

    /// A list of strings (not per element), after its `[`: its range of spans and the
    /// position after its `]`.
    #[inline]
    fn str_list_at(b: &[u8], src: &str, i: usize, builder: &mut Builder<'_>) -> Option<(Span, usize)> {
        let start = builder.arena.spans.len();
        let mut i = skip_ws(b, i);
        if b.get(i) == Some(&b']') {
            return Some((builder.arena.spans_from(start)?, i + 1));
        }
        loop {
            // (An element that is a list, in a per-element field, is an error here.)
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let (s, j) = str_at(b, src, i, &mut builder.text)?;
            builder.arena.push_span(s);
            i = j;
            if !matches!(b.get(i), Some(b',' | b']')) {
                i = skip_ws(b, i);
            }
            match b.get(i) {
                Some(b',') => i = after_space(b, i + 1),
                Some(b']') => return Some((builder.arena.spans_from(start)?, i + 1)),
                _ => return None,
            }
        }
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
        assert_eq!(show(&e, "process.ancestors.file.path"), r#"Strs(["/y"])"#);
        assert_eq!(show(&e, "process.ancestors.file.name"), r#"Strs(["y"])"#);
        assert_eq!(e, JsonEvent::from_json(&serde_json::from_str(text).unwrap()).unwrap());
        let again = e.clone();
        drop(e);
        assert_eq!(show(&again, "open.file.name"), r#"Str("x")"#);
    }

    /// Lazy parts in this thread's pool.
    fn pooled_lazy_parts() -> usize {
        POOL.with(|p| p.borrow().lazy.len())
    }

    /// Events made and dropped on one thread, their lazy fields computed on another (a
    /// pipelined replay): the evaluating thread gives each part back to its own pool
    /// ([`JsonEvent::recycle_lazy`]) and computes the next event's fields in it, so a
    /// part is made once, not once per event. (Dropped without that, on the parsing
    /// thread, the part went to the parser's pool, which never computes one.)
    #[test]
    fn lazy_parts_stay_with_the_thread_that_computes_them() {
        let (to_parser, parser_rx) = std::sync::mpsc::channel::<JsonEvent>();
        let (to_eval, parsed) = std::sync::mpsc::channel::<JsonEvent>();
        let parser = std::thread::spawn(move || {
            let argv = ["-o", "stratum+tcp://pool:3333", "--donate-level=1", "-v"];
            for i in 0..20 {
                let text = format!(
                    r#"{{"type":"exec","values":{{"exec.file.path":"/opt/xmrig{i}","exec.argv":["{}"]}}}}"#,
                    argv[..1 + i % argv.len()].join("\",\"")
                );
                to_eval.send(ev(&text)).unwrap();
                // The evaluated event comes back here to be dropped.
                drop(parser_rx.recv().unwrap());
            }
            pooled_lazy_parts()
        });
        let mut parts = Vec::new();
        for i in 0..20 {
            let mut e = parsed.recv().unwrap();
            let args = ["-o", "stratum+tcp://pool:3333", "--donate-level=1", "-v"][..1 + i % 4].join(" ");
            assert_eq!(show(&e, "exec.args"), format!("Str({args:?})"), "event {i}");
            assert_eq!(show(&e, "exec.file.name"), format!("Str(\"xmrig{i}\")"));
            let part: *const LazyPart = &**e.lazy.get().expect("computed");
            if !parts.contains(&part) {
                parts.push(part);
            }
            e.recycle_lazy();
            assert_eq!(pooled_lazy_parts(), 1, "event {i}");
            // Read again, the fields are computed again (from the pooled part).
            if i == 0 {
                assert_eq!(show(&e, "exec.args_flags"), r#"Strs(["o"])"#);
                assert_eq!(pooled_lazy_parts(), 0);
                e.recycle_lazy();
            }
            to_parser.send(e).unwrap();
        }
        assert_eq!(parts.len(), 1, "one part, reused by every event");
        assert_eq!(parser.join().unwrap(), 0, "the parser's pool holds no part");
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
        assert_eq!(show(&e, "exec.args_flags"), r#"Strs(["l"])"#);
        assert_eq!(show(&e, "exec.args_options"), r#"Strs(["l=4444"])"#);
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
        assert_eq!(show(&e, "process.parent.argv"), r#"Strs(["-f"])"#);
        assert_eq!(show(&e, "process.parent.args"), r#"Str("-f")"#);
        assert_eq!(show(&e, "process.ancestors.file.name"), r#"Strs(["cron", "init"])"#);
        assert_eq!(show(&e, "process.ancestors.file.name.length"), "Ints([4, 4])");
        assert_eq!(show(&e, "process.ancestors.length"), "Int(2)");
        assert_eq!(show(&e, "process.ancestors.argv"), r#"Strs(["-f", "--x=1", "y"])"#);
        assert_eq!(show(&e, "process.ancestors.args"), r#"Strs(["-f", "--x=1 y"])"#);
        assert_eq!(format!("{:?}", e.field_element(id("process.ancestors.argv"), 1)), r#"Strs(["--x=1", "y"])"#);
        assert_eq!(format!("{:?}", e.field_element(id("process.ancestors.args_options"), 1)), r#"Strs(["x=1"])"#);
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

    /// Every field of the model reads the same on the fast path as on the serde path
    /// (element by element for arrays), and the fast path took the event.
    fn check_fast(text: &str) -> JsonEvent {
        let fast = fast::parse(text, tables()).unwrap_or_else(|| panic!("fast path bailed on {text}"));
        let slow = JsonEvent::from_json(&serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(fast, slow, "{text}");
        for f in Schema::linux().fields() {
            assert_eq!(format!("{:?}", fast.field(f.id)), format!("{:?}", slow.field(f.id)), "{} in {text}", f.name);
            for i in 0..3 {
                let (a, b) = (fast.field_element(f.id, i), slow.field_element(f.id, i));
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{}[{i}] in {text}", f.name);
            }
        }
        fast
    }

    #[test]
    fn strings_with_escapes_unicode_and_every_length_are_stored_exactly() {
        // Around the 16-byte copy window, at the very end of the text, escaped, unicode.
        for n in [0, 1, 7, 8, 15, 16, 17, 31, 64] {
            let path = "p".repeat(n);
            let e = check_fast(&format!(r#"{{"type":"open","values":{{"open.file.path":"{path}"}}}}"#));
            assert_eq!(show(&e, "open.file.path"), format!("Str({path:?})"));
            // The value last, right before the end of the text.
            let e = check_fast(&format!(r#"{{"type":"open","values":{{"process.argv":["{path}"]}}}}"#));
            assert_eq!(show(&e, "process.argv"), format!("Strs([{path:?}])"));
        }
        let e = check_fast(
            r#"{"type":"open","values":{"open.file.path":"/a\"b\\c\/d\n\u00e9\ud83d\ude00","process.file.path":"/usr/bin/café😀","process.argv":["é","\u0041\t",""]}}"#,
        );
        assert_eq!(show(&e, "open.file.path"), r#"Str("/a\"b\\c/d\né😀")"#);
        assert_eq!(show(&e, "open.file.name"), r#"Str("d\né😀")"#);
        assert_eq!(show(&e, "process.file.name"), r#"Str("café😀")"#);
        assert_eq!(show(&e, "process.file.name.length"), "Int(9)");
        assert_eq!(show(&e, "process.argv"), r#"Strs(["é", "A\t", ""])"#);
        assert_eq!(show(&e, "process.args"), r#"Str("é A\t ")"#);
    }

    #[test]
    fn empty_lists_and_lone_scalars() {
        // No ancestor: no parent, no `process.ancestors.length`; empty argv: empty args.
        let e = check_fast(
            r#"{"type":"exec","values":{"process.ancestors.file.path":[],"exec.argv":[],"process.ancestors.pid":[]}}"#,
        );
        assert_eq!(show(&e, "process.parent.file.path"), "Missing");
        assert_eq!(show(&e, "process.ancestors.length"), "Missing");
        assert_eq!(show(&e, "process.ancestors.file.name"), "Strs([])");
        assert_eq!(show(&e, "process.ancestors.file.name.length"), "Ints([])");
        assert_eq!(show(&e, "exec.args"), r#"Str("")"#);
        assert_eq!(show(&e, "process.args_flags"), "Strs([])");
        assert_eq!(format!("{:?}", e.field_element(id("process.ancestors.file.path"), 0)), "Missing");
        // A lone scalar for an array field is a one-element array.
        let e = check_fast(
            r#"{"type":"exec","values":{"exec.argv":"-v","process.ancestors.pid":4,"process.ancestors.file.path":"/sbin/init"}}"#,
        );
        assert_eq!(show(&e, "exec.argv"), r#"Strs(["-v"])"#);
        assert_eq!(show(&e, "process.parent.pid"), "Int(4)");
        assert_eq!(show(&e, "process.parent.file.name"), r#"Str("init")"#);
        assert_eq!(show(&e, "process.ancestors.length"), "Int(1)");
        // Booleans and IP addresses, alone and in lists (the rarer buffers).
        check_fast(
            r#"{"type":"connect","values":{"connect.addr.ip":"10.0.0.1","connect.addr.is_public":true,"connect.addr.hostname":["a","b"]}}"#,
        );
        check_fast(r#"{"type":"dns","values":{"network.destination.ip":"::1","network.source.ip":"10.0.0.0/8"}}"#);
    }

    #[test]
    fn per_ancestor_argv_keeps_each_list() {
        let e = check_fast(
            r#"{"type":"open","values":{"process.ancestors.argv":[["-a","--b=c"],[],["x","-o","out"]],"process.ancestors.file.path":["/bin/sh","/x","/sbin/init"]}}"#,
        );
        assert_eq!(show(&e, "process.ancestors.argv"), r#"Strs(["-a", "--b=c", "x", "-o", "out"])"#);
        let el = |name: &str, i: usize| format!("{:?}", e.field_element(id(name), i));
        assert_eq!(el("process.ancestors.argv", 0), r#"Strs(["-a", "--b=c"])"#);
        assert_eq!(el("process.ancestors.argv", 1), "Strs([])");
        assert_eq!(el("process.ancestors.argv", 2), r#"Strs(["x", "-o", "out"])"#);
        assert_eq!(el("process.ancestors.argv", 3), "Missing");
        assert_eq!(show(&e, "process.parent.argv"), r#"Strs(["-a", "--b=c"])"#);
        assert_eq!(show(&e, "process.parent.args"), r#"Str("-a --b=c")"#);
        assert_eq!(show(&e, "process.parent.args_options"), r#"Strs(["b=c"])"#);
        assert_eq!(show(&e, "process.ancestors.args"), r#"Strs(["-a --b=c", "", "x -o out"])"#);
        assert_eq!(show(&e, "process.ancestors.args_flags"), r#"Strs(["a", "o"])"#);
        assert_eq!(el("process.ancestors.args_options", 0), r#"Strs(["b=c"])"#);
        assert_eq!(el("process.ancestors.args_options", 1), "Strs([])");
        assert_eq!(el("process.ancestors.args_options", 2), r#"Strs(["o=out"])"#);
        assert_eq!(show(&e, "process.ancestors.length"), "Int(3)");
        // The first element empty, or no element at all.
        check_fast(r#"{"type":"open","values":{"process.ancestors.argv":[[],["y"]]}}"#);
        check_fast(r#"{"type":"open","values":{"process.ancestors.argv":[]}}"#);
    }

    #[test]
    fn integers_of_every_width() {
        for n in [
            "0",
            "7",
            "12345678",
            "123456789",
            "4294967295",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "-1",
            "-12345678901",
            "-9223372036854775808",
        ] {
            for text in [
                format!(r#"{{"type":"open","values":{{"open.flags":{n}}}}}"#),
                format!(r#"{{"type":"open","values":{{"open.flags":{n},"open.file.mode":1}}}}"#),
                format!(r#"{{"type":"open","timestamp":{n}}}"#),
            ] {
                if n == "9223372036854775808" || n == "18446744073709551615" {
                    // Past `i64`: a field reads it wrapped; a timestamp must fit.
                    if text.contains("timestamp") {
                        assert!(fast::parse(&text, tables()).is_none(), "{text}");
                        continue;
                    }
                }
                check_fast(&text);
            }
        }
        let e = check_fast(r#"{"type":"open","values":{"open.flags":18446744073709551615,"open.retval":-42}}"#);
        assert_eq!(show(&e, "open.flags"), "Int(-1)");
        assert_eq!(show(&e, "open.retval"), "Int(-42)");
        for bad in ["01", "-0", "1.0", "1e3", "-", "123456789012345678901"] {
            assert!(fast::parse(&format!(r#"{{"type":"open","values":{{"open.flags":{bad}}}}}"#), tables()).is_none());
        }
    }

    #[test]
    fn events_of_one_shape_share_their_plan_not_their_values() {
        let a = check_fast(
            r#"{"type":"exec","values":{"exec.file.path":"/usr/bin/nc","exec.argv":["-l","4444"],"process.ancestors.file.path":["/bin/bash","/sbin/init"]}}"#,
        );
        let b = check_fast(
            r#"{"type":"exec","values":{"exec.file.path":"/opt/x/xmrig","exec.argv":["--donate-level","1"],"process.ancestors.file.path":["/usr/sbin/cron"]}}"#,
        );
        assert!(Arc::ptr_eq(&a.index, &b.index));
        assert_eq!(show(&a, "process.file.name"), r#"Str("nc")"#);
        assert_eq!(show(&b, "process.file.name"), r#"Str("xmrig")"#);
        assert_eq!(show(&b, "exec.args_flags"), r#"Strs(["donate-level"])"#);
        assert_eq!(show(&a, "process.ancestors.length"), "Int(2)");
        assert_eq!(show(&b, "process.ancestors.length"), "Int(1)");
        // The same keys with an empty list are another shape (no parent).
        let c = check_fast(
            r#"{"type":"exec","values":{"exec.file.path":"/a","exec.argv":["x"],"process.ancestors.file.path":[]}}"#,
        );
        assert!(!Arc::ptr_eq(&a.index, &c.index));
        assert_eq!(show(&c, "process.parent.file.path"), "Missing");
        // Another order of the same keys, or another type: other shapes.
        let d = check_fast(
            r#"{"type":"exec","values":{"exec.argv":["x"],"exec.file.path":"/a","process.ancestors.file.path":["/b"]}}"#,
        );
        assert!(!Arc::ptr_eq(&a.index, &d.index));
        check_fast(r#"{"type":"open","values":{"process.file.path":"/a","process.argv":["x"]}}"#);
    }

    #[test]
    fn keys_in_any_order_and_spelling_are_found() {
        // Key prediction learns one order, then meets others and near misses.
        for text in [
            r#"{"type":"open","values":{"process.pid":1,"process.ppid":2,"open.file.path":"/a"}}"#,
            r#"{"type":"open","values":{"process.ppid":2,"process.pid":1,"open.file.path":"/a"}}"#,
            r#"{"type":"open","values":{"process.pid":1,"process.ppid":2,"open.filename":"/a"}}"#,
            r#"{"type":"open","values":{"process.pid":1,"process.ppid":2,"open.file.path":"/a"}}"#,
            r#"{"type":"open","values":{"process.pid":1,"process.ppid" : 2 , "open.file.path"  :"/a" }}"#,
            r#"{"Type":"open","Values":{"process.pid":1}}"#,
        ] {
            check_fast(text);
        }
        // A key that extends a predicted one, or an escaped spelling of it.
        let pid = r#"{"type":"open","values":{"process.pid":1}}"#;
        check_fast(pid);
        assert!(JsonEvent::from_str(r#"{"type":"open","values":{"process.pidx":1}}"#).is_err());
        let e = ev(r#"{"type":"open","values":{"process\u002epid":1}}"#);
        assert_eq!(show(&e, "process.pid"), "Int(1)");
        check_fast(pid);
    }

    #[test]
    fn pool_reuse_after_a_big_event_then_a_small_one() {
        let big = format!(
            r#"{{"type":"exec","values":{{"exec.file.path":"{}","exec.argv":[{}],"exec.envs":["A=1","B=2"],"process.ancestors.file.path":["/a/b","/c/d","/e/f"],"process.ancestors.argv":[["-x"],["--y=z"]],"process.ancestors.pid":[3,2,1],"exec.pid":99}}}}"#,
            "/very/long/path/".repeat(40),
            (0..200).map(|i| format!(r#""-a{i}""#)).collect::<Vec<_>>().join(",")
        );
        let e = check_fast(&big);
        // Lazy fields computed, then buffers given back.
        assert!(show(&e, "exec.args").starts_with(r#"Str("-a0 -a1"#));
        assert_eq!(show(&e, "process.ancestors.file.path.length"), "Ints([4, 4, 4])");
        drop(e);
        // A small event of another shape, then of the big one's shape, on the pooled
        // buffers: nothing of the big event shows.
        let small =
            check_fast(r#"{"type":"open","values":{"open.file.path":"/x","process.ancestors.file.path":["/y"]}}"#);
        // open.file.{path,name}(.length), and per ancestor and parent file.{path,name}
        // (.length), process.ancestors.length.
        assert_eq!(small.field_ids().count(), 13);
        assert_eq!(show(&small, "process.ancestors.file.name"), r#"Strs(["y"])"#);
        assert_eq!(show(&small, "exec.args"), "Missing");
        drop(small);
        let again = check_fast(
            r#"{"type":"exec","values":{"exec.file.path":"/b","exec.argv":["q"],"exec.envs":[],"process.ancestors.file.path":["/z"],"process.ancestors.argv":[[]],"process.ancestors.pid":[7],"exec.pid":1}}"#,
        );
        assert_eq!(show(&again, "exec.args"), r#"Str("q")"#);
        assert_eq!(show(&again, "process.ancestors.file.path.length"), "Ints([2])");
        assert_eq!(show(&again, "process.parent.argv"), "Strs([])");
        // A clone outlives its original.
        let copy = again.clone();
        drop(again);
        assert_eq!(show(&copy, "exec.args"), r#"Str("q")"#);
    }

    #[test]
    fn events_are_compact() {
        assert!(size_of::<JsonEvent>() <= 168, "{}", size_of::<JsonEvent>());
        // On a new thread: new buffers, cut to size.
        std::thread::spawn(|| {
            let e = check_fast(
                r#"{"type":"exec","values":{"exec.file.path":"/usr/bin/nc","exec.argv":["-l","4444"],"exec.pid":7,"process.ancestors.file.path":["/bin/sh","/sbin/init"]}}"#,
            );
            assert_eq!(e.text, "/usr/bin/nc-l4444/bin/sh/sbin/init");
            assert_eq!(e.text.capacity(), e.text.len());
            assert_eq!(e.words.capacity(), e.words.len());
            assert_eq!(e.arena.spans.capacity(), e.arena.spans.len());
            // One word per value, shared by twins; basenames are spans of the paths.
            assert!(e.words.len() + 9 <= e.field_ids().count(), "{} words, {} fields", e.words.len(), e.field_ids().count());
            assert_eq!(e.arena.spans.len(), 2 + 2 + 2);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn no_lazily_derived_field_has_a_length_and_per_ancestor_families_are_nested() {
        // The plans rely on both (`Planner::derive`, `Builder::longest`).
        let t = tables();
        for f in Schema::linux().fields() {
            let Some(fam) = &t.of(f.id).argv else { continue };
            for d in [fam.args.map(|a| a.0), fam.flags, fam.options].into_iter().flatten() {
                assert_eq!(t.of(d).length, None, "{}", Schema::linux().field_by_id(d).name);
                if t.of(d).in_ancestors {
                    assert!(fam.nested, "{}", f.name);
                }
            }
        }
    }

    #[test]
    fn packed_lists_read_like_the_others() {
        let text = "abcdef";
        let spans = [Span { start: 0, len: 2 }, Span { start: 2, len: 0 }, Span { start: 3, len: 3 }];
        let l = StrList::Packed { text, spans: &spans };
        assert_eq!(l.len(), 3);
        assert_eq!(l.get(0), Some("ab"));
        assert_eq!(l.get(1), Some(""));
        assert_eq!(l.get(2), Some("def"));
        assert_eq!(l.get(3), None);
        assert_eq!(l.iter().collect::<Vec<_>>(), ["ab", "", "def"]);
        assert_eq!(format!("{l:?}"), r#"["ab", "", "def"]"#);
        let owned = [String::from("ab")];
        assert_eq!(format!("{:?}", StrList::Owned(&owned)), format!("{:?}", StrList::Borrowed(&["ab"])));
        // A span off the text (or off a character boundary) reads as missing.
        let bad = [Span { start: 5, len: 9 }];
        assert_eq!(StrList::Packed { text, spans: &bad }.get(0), None);
        let bad = [Span { start: 1, len: 1 }];
        assert_eq!(StrList::Packed { text: "é", spans: &bad }.get(0), None);
    }
}
