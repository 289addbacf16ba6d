//! The embedding interface: what an event must offer the engine.
//!
//! An embedder implements [`Event`] over its own event struct (a kernel event decoded
//! from a ring buffer, a JSON fixture, …). The engine asks for fields by [`FieldId`],
//! compiled once per rule set, and borrows what it gets: no copy of the event is forced.

use crate::model::FieldId;
use crate::value::ip::IpNet;

/// A borrowed field value. `Missing` reads as the zero value of the field's type
/// (SPEC §11.1: `""`, `0`, `false`, empty array).
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    Missing,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    Ip(IpNet),
    Bools(&'a [bool]),
    Ints(&'a [i64]),
    Strs(StrList<'a>),
    Ips(&'a [IpNet]),
}

/// A borrowed list of strings in whichever shape the embedder stores it.
///
/// Its `Debug` form is the list of its strings, whatever the shape.
#[derive(Clone, Copy)]
pub enum StrList<'a> {
    Owned(&'a [String]),
    Borrowed(&'a [&'a str]),
    /// Strings packed back to back in one text, each a [`Span`] of it (an element whose
    /// span is not a range of `text` on character boundaries reads as missing).
    Packed {
        text: &'a str,
        spans: &'a [Span],
    },
}

/// A run of `len` items from `start`: bytes of a packed text, or elements of an array.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub len: u32,
}

impl Span {
    #[inline]
    pub fn range(self) -> std::ops::Range<usize> {
        let start = self.start as usize;
        start..start + self.len as usize
    }
}

impl<'a> StrList<'a> {
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            StrList::Owned(v) => v.len(),
            StrList::Borrowed(v) => v.len(),
            StrList::Packed { spans, .. } => spans.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match *self {
            StrList::Owned(v) => v.get(i).map(String::as_str),
            StrList::Borrowed(v) => v.get(i).copied(),
            StrList::Packed { text, spans } => spans.get(i).and_then(|s| text.get(s.range())),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        let this = *self;
        (0..this.len()).filter_map(move |i| this.get(i))
    }
}

impl std::fmt::Debug for StrList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An event the engine can evaluate rules on.
pub trait Event {
    /// The event type name (`exec`, `open`, …) selecting the rule bucket.
    fn event_type(&self) -> &str;

    /// The value of a field. Called at most once per field and evaluation by the VM,
    /// which caches it; implementations may resolve lazily.
    fn field(&self, id: FieldId) -> Value<'_>;

    /// Element `index` of an array field, read through an iterator register or an index
    /// (`process.ancestors[A].file.name`, `exec.argv[1]`). Per-element array fields
    /// (`process.ancestors.argv`) return the element's whole array; an embedder storing
    /// those nested overrides this. `Missing` when out of range.
    fn field_element(&self, id: FieldId, index: usize) -> Value<'_> {
        element_of(self.field(id), index)
    }

    /// The event time in ns since the epoch, used as "now" for duration comparisons.
    /// `None` means the wall clock, read once per evaluation (SPEC §7).
    fn timestamp_ns(&self) -> Option<i64> {
        None
    }
}

/// Element `index` of an array value; `Missing` when out of range or not an array.
pub fn element_of(v: Value<'_>, index: usize) -> Value<'_> {
    match v {
        Value::Bools(a) => a.get(index).map_or(Value::Missing, |b| Value::Bool(*b)),
        Value::Ints(a) => a.get(index).map_or(Value::Missing, |i| Value::Int(*i)),
        Value::Strs(a) => a.get(index).map_or(Value::Missing, Value::Str),
        Value::Ips(a) => a.get(index).map_or(Value::Missing, |i| Value::Ip(*i)),
        _ => Value::Missing,
    }
}
