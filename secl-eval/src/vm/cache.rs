//! A per-evaluation field cache: each field the rules of a bucket read is asked of the
//! event at most once per evaluation, however many guards and predicates read it. An
//! embedder can therefore resolve fields lazily (walk a process cache for
//! `process.ancestors.*`, say) without caching them itself.

use crate::event::{Event, Value};
use crate::model::FieldId;
use std::cell::Cell;

/// Fields past this many per bucket are read directly.
pub const SLOTS: usize = 64;
pub const NO_SLOT: u8 = u8::MAX;

/// Which cache slot each field of a bucket uses (`NO_SLOT` for none), by field id.
#[derive(Clone, Debug, Default)]
pub struct SlotMap {
    slots: Vec<u8>,
}

impl SlotMap {
    /// Slots for `fields`, most used first.
    pub fn new(mut fields: Vec<(FieldId, usize)>) -> SlotMap {
        fields.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let size = fields.iter().map(|(f, _)| f.0 as usize + 1).max().unwrap_or(0);
        let mut slots = vec![NO_SLOT; size];
        for (i, (f, _)) in fields.iter().take(SLOTS).enumerate() {
            slots[f.0 as usize] = i as u8;
        }
        SlotMap { slots }
    }

    #[inline]
    fn slot(&self, id: FieldId) -> Option<usize> {
        match self.slots.get(id.0 as usize) {
            Some(&s) if s != NO_SLOT => Some(s as usize),
            _ => None,
        }
    }
}

/// An event seen through the cache.
pub struct Cached<'e, E: Event + ?Sized> {
    ev: &'e E,
    map: &'e SlotMap,
    values: [Cell<Option<Value<'e>>>; SLOTS],
}

impl<'e, E: Event + ?Sized> Cached<'e, E> {
    pub fn new(ev: &'e E, map: &'e SlotMap) -> Self {
        Cached { ev, map, values: [const { Cell::new(None) }; SLOTS] }
    }
}

impl<E: Event + ?Sized> Event for Cached<'_, E> {
    #[inline]
    fn event_type(&self) -> &str {
        self.ev.event_type()
    }

    #[inline]
    fn field(&self, id: FieldId) -> Value<'_> {
        let Some(slot) = self.map.slot(id) else { return self.ev.field(id) };
        let cell = &self.values[slot];
        if let Some(v) = cell.get() {
            return v;
        }
        let v = self.ev.field(id);
        cell.set(Some(v));
        v
    }

    fn field_element(&self, id: FieldId, index: usize) -> Value<'_> {
        self.ev.field_element(id, index)
    }

    fn timestamp_ns(&self) -> Option<i64> {
        self.ev.timestamp_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell as StdCell;

    struct Counting {
        reads: StdCell<usize>,
    }

    impl Event for Counting {
        fn event_type(&self) -> &str {
            "exec"
        }
        fn field(&self, id: FieldId) -> Value<'_> {
            self.reads.set(self.reads.get() + 1);
            Value::Int(id.0 as i64)
        }
    }

    #[test]
    fn each_cached_field_is_read_once() {
        let ev = Counting { reads: StdCell::new(0) };
        let map = SlotMap::new(vec![(FieldId(3), 5), (FieldId(7), 1)]);
        let c = Cached::new(&ev, &map);
        for _ in 0..4 {
            assert!(matches!(c.field(FieldId(3)), Value::Int(3)));
            assert!(matches!(c.field(FieldId(7)), Value::Int(7)));
        }
        assert_eq!(ev.reads.get(), 2);
        // A field without a slot is read every time.
        c.field(FieldId(9));
        c.field(FieldId(9));
        assert_eq!(ev.reads.get(), 4);
    }
}
