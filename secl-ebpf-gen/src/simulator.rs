//! A user-space model of the kernel side: reads an event's keys the way the probe does
//! and probes the lowered maps ([`KernelMaps`]). The law it is tested against: if any
//! rule of the rule set matches an event, [`Simulator::would_send`] is `true`.

use crate::approvers::Mode;
use crate::capabilities::Key;
use crate::discarders::{self, DiscarderCache};
use crate::keys::basename;
use crate::plan::{KernelMaps, Plan};
use secl_eval::event::{Event, Value};
use secl_eval::model::FieldId;
use secl_eval::ruleset::RuleSet;
use std::collections::HashMap;

struct Slot {
    field: FieldId,
    key: Key,
    is_array: bool,
}

struct EventType {
    id: u16,
    mode: Mode,
    slots: Vec<Slot>,
}

/// The kernel filter of a plan.
pub struct Simulator {
    maps: KernelMaps,
    types: HashMap<String, EventType>,
}

/// Why an event was or was not sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Sent,
    NotHooked,
    DroppedByApprovers,
    DroppedByDiscarder,
}

impl Simulator {
    pub fn new(plan: &Plan) -> Simulator {
        let maps = KernelMaps::lower(plan);
        let types = plan
            .event_types
            .iter()
            .map(|(t, et)| {
                let schema = secl_eval::model::Schema::linux();
                let slots = et
                    .slots
                    .iter()
                    .map(|s| {
                        let field = FieldId(s.field_id);
                        Slot { field, key: s.key, is_array: schema.field_by_id(field).is_array }
                    })
                    .collect();
                (t.clone(), EventType { id: et.id, mode: et.mode, slots })
            })
            .collect();
        Simulator { maps, types }
    }

    pub fn maps(&self) -> &KernelMaps {
        &self.maps
    }

    /// Whether the kernel sends the event to user space (approvers only).
    pub fn would_send(&self, ev: &dyn Event) -> bool {
        self.verdict(ev, None) == Verdict::Sent
    }

    /// The kernel's decision, discarders included when a cache is given.
    pub fn verdict(&self, ev: &dyn Event, discarders: Option<&DiscarderCache>) -> Verdict {
        let Some(t) = self.types.get(ev.event_type()) else {
            // An event type the plan does not know: nothing filters it.
            return Verdict::Sent;
        };
        match t.mode {
            Mode::NotHooked => return Verdict::NotHooked,
            Mode::AcceptAll | Mode::Approve => {}
        }
        if let Some(cache) = discarders
            && cache.discards(ev)
        {
            return Verdict::DroppedByDiscarder;
        }
        if t.mode == Mode::AcceptAll {
            return Verdict::Sent;
        }
        let Some(policy) = self.maps.policy.get(&t.id) else { return Verdict::Sent };
        let mut candidates = policy.guards;
        for (s, slot) in t.slots.iter().enumerate() {
            let hit = self.lookup(t.id, s as u8, slot, ev);
            candidates &= hit | policy.free[s];
            if candidates == 0 {
                return Verdict::DroppedByApprovers;
            }
        }
        Verdict::Sent
    }

    fn lookup(&self, et: u16, s: u8, slot: &Slot, ev: &dyn Event) -> u64 {
        let v = ev.field(slot.field);
        match slot.key {
            k if k.is_string() => {
                let text: &str = match v {
                    Value::Missing if slot.is_array => return 0,
                    Value::Missing => "",
                    Value::Str(s) => s,
                    // A list (host names of an address): any element approves.
                    Value::Strs(list) => {
                        return list.iter().fold(0, |m, e| m | self.lookup_text(et, s, k, e));
                    }
                    _ => return u64::MAX,
                };
                self.lookup_text(et, s, k, text)
            }
            _ => self.lookup_scalar(et, s, slot, v),
        }
    }

    fn lookup_text(&self, et: u16, s: u8, k: Key, text: &str) -> u64 {
        {
            {
                let bytes: Vec<u8> = match k {
                    Key::Basename => basename(text).as_bytes().to_vec(),
                    Key::Path | Key::Str => text.as_bytes().to_vec(),
                    Key::StrRev => text.bytes().rev().collect(),
                    Key::Folded | Key::FoldedRev => {
                        if !text.is_ascii() {
                            return u64::MAX;
                        }
                        let l = text.to_ascii_lowercase().into_bytes();
                        if k == Key::FoldedRev { l.into_iter().rev().collect() } else { l }
                    }
                    _ => return u64::MAX,
                };
                self.maps.lookup_str(et, s, &bytes)
            }
        }
    }

    fn lookup_scalar(&self, et: u16, s: u8, slot: &Slot, v: Value<'_>) -> u64 {
        match slot.key {
            Key::Int | Key::InetFamily | Key::Flags | Key::Ranges => {
                let x = match v {
                    Value::Missing => 0,
                    Value::Int(i) => i,
                    Value::Bool(b) => i64::from(b),
                    _ => return u64::MAX,
                };
                match slot.key {
                    Key::Flags => {
                        let mut m = 0;
                        for (k, f) in &self.maps.flags {
                            if k.event_type == et && k.slot == s && (x as u64) & f.mask != 0 {
                                m |= 1u64 << k.guard;
                            }
                        }
                        m
                    }
                    Key::Ranges => {
                        let mut m = 0;
                        for (k, r) in &self.maps.ranges {
                            if k.event_type == et && k.slot == s && r.lo <= x && x <= r.hi {
                                m |= r.guards;
                            }
                        }
                        m
                    }
                    _ => {
                        let k = crate::layout::IntKey { event_type: et, slot: s, _pad: [0; 5], value: x };
                        self.maps.ints.get(&k).map_or(0, |g| g.guards)
                    }
                }
            }
            Key::Cidr => match v {
                Value::Missing => self.maps.lookup_cidr(et, s, &Default::default()),
                Value::Ip(ip) if ip.is_host() => self.maps.lookup_cidr(et, s, &ip),
                _ => u64::MAX,
            },
            _ => u64::MAX,
        }
    }
}

/// Counts of a simulated stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StreamStats {
    pub events: u64,
    pub sent: u64,
    pub dropped: u64,
    pub dropped_by_approvers: u64,
    pub dropped_by_discarders: u64,
    pub not_hooked: u64,
    /// Events some rule matches that the kernel would have dropped: must be 0.
    pub missed_matches: u64,
    /// Events some rule matches.
    pub matched: u64,
    pub discarders_learned: u64,
}

impl StreamStats {
    pub fn drop_share(&self) -> f64 {
        if self.events == 0 { 0.0 } else { self.dropped as f64 / self.events as f64 }
    }
}

/// Runs a stream through the kernel model, learning discarders from the events it sends
/// (when `discarders` is true), and checks every event against the rule set.
pub fn simulate<'a, E: Event + 'a>(
    sim: &Simulator,
    rs: &RuleSet,
    events: impl IntoIterator<Item = &'a E>,
    use_discarders: bool,
) -> StreamStats {
    let mut st = rs.new_state();
    let mut cache = DiscarderCache::new(crate::layout::DISCARDER_LRU_SIZE as usize);
    let mut out = StreamStats::default();
    for ev in events {
        out.events += 1;
        let verdict = sim.verdict(ev, use_discarders.then_some(&cache));
        let matched = !rs.evaluate(ev, &mut st).matched.is_empty();
        out.matched += u64::from(matched);
        match verdict {
            Verdict::Sent => {
                out.sent += 1;
                if use_discarders {
                    for d in discarders::compute(rs, ev) {
                        if cache.insert(d) {
                            out.discarders_learned += 1;
                        }
                    }
                }
            }
            v => {
                out.dropped += 1;
                match v {
                    Verdict::DroppedByApprovers => out.dropped_by_approvers += 1,
                    Verdict::DroppedByDiscarder => out.dropped_by_discarders += 1,
                    _ => out.not_hooked += 1,
                }
                out.missed_matches += u64::from(matched);
            }
        }
    }
    out
}
