//! The kernel filter plan: plain data, serialised by `secl compile --kfilters`, and its
//! lowering to the map entries of [`crate::layout`].

use crate::approvers::{Analysis, Guard, Mode};
use crate::capabilities::{Key, Profile, discarder_fields};
use crate::keys::Entries;
use crate::layout::{self, *};
use secl_eval::model::Schema;
use secl_eval::value::ip::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The serialised plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always `secl-kfilters`.
    pub format: String,
    pub layout_version: u32,
    pub profile: Profile,
    pub maps: Vec<MapSpec>,
    pub event_types: BTreeMap<String, EventTypePlan>,
    pub discarders: DiscarderPlan,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventTypePlan {
    /// The kernel's event type id (see [`event_type_id`]).
    pub id: u16,
    pub mode: Mode,
    /// Keys the guards read, by slot index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<SlotPlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guards: Vec<Guard>,
    /// Approver values per field, as in `secl check --kfilters`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub approvers: BTreeMap<String, Vec<serde_json::Value>>,
    /// Rules forcing `accept-all`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub culprits: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlotPlan {
    pub field: String,
    pub field_id: u16,
    pub key: Key,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiscarderPlan {
    pub lru_size: u32,
    /// Discarder-capable fields of hooked event types.
    pub fields: BTreeMap<String, Vec<String>>,
}

/// The kernel id of every event type: its 1-based rank among the model's event types
/// (without the `fim` pseudo type).
pub fn event_type_ids() -> Vec<(&'static str, u16)> {
    Schema::linux().event_types().into_iter().filter(|t| *t != "fim").zip(1u16..).collect()
}

pub fn event_type_id(t: &str) -> Option<u16> {
    event_type_ids().into_iter().find(|(n, _)| *n == t).map(|(_, id)| id)
}

pub fn key_kind(k: Key) -> u8 {
    match k {
        Key::Basename => KEY_BASENAME,
        Key::Path => KEY_PATH,
        Key::Str => KEY_STR,
        Key::StrRev => KEY_STR_REV,
        Key::Folded => KEY_FOLDED,
        Key::FoldedRev => KEY_FOLDED_REV,
        Key::Int | Key::InetFamily => KEY_INT,
        Key::Flags => KEY_FLAGS,
        Key::Ranges => KEY_RANGES,
        Key::Cidr => KEY_CIDR,
    }
}

impl Plan {
    /// The plan of an analysis.
    pub fn build(analysis: &Analysis) -> Plan {
        let schema = Schema::linux();
        let mut event_types = BTreeMap::new();
        let mut discarders = BTreeMap::new();
        for (t, id) in event_type_ids() {
            let Some(f) = analysis.event_types.get(t) else { continue };
            let mut guards = f.guards.clone();
            let mut slots: Vec<SlotPlan> = Vec::new();
            for g in &mut guards {
                // Past `MAX_SLOTS` keys a constraint is dropped: the guard gets weaker.
                g.constraints.retain(|c| {
                    if slots.iter().any(|s| s.field == c.field && s.key == c.key) {
                        return true;
                    }
                    if slots.len() == MAX_SLOTS {
                        return false;
                    }
                    let Some(def) = schema.field(&c.field) else { return false };
                    slots.push(SlotPlan { field: c.field.clone(), field_id: def.id.0, key: c.key });
                    true
                });
            }
            let approvers = f
                .approvers
                .iter()
                .map(|(field, vals)| {
                    (field.clone(), vals.iter().map(|a| serde_json::to_value(&a.value).unwrap_or_default()).collect())
                })
                .collect();
            if f.mode != Mode::NotHooked {
                let d = discarder_fields(t);
                if !d.is_empty() {
                    discarders.insert(t.to_owned(), d);
                }
            }
            event_types.insert(
                t.to_owned(),
                EventTypePlan {
                    id,
                    mode: f.mode,
                    slots,
                    guards,
                    approvers,
                    culprits: f.culprits.iter().map(|c| c.rule.clone()).collect(),
                },
            );
        }
        Plan {
            format: "secl-kfilters".into(),
            layout_version: LAYOUT_VERSION,
            profile: analysis.profile,
            maps: layout::maps(DISCARDER_LRU_SIZE),
            event_types,
            discarders: DiscarderPlan { lru_size: DISCARDER_LRU_SIZE, fields: discarders },
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Plan, String> {
        let plan: Plan = serde_json::from_str(text).map_err(|e| format!("invalid plan: {e}"))?;
        if plan.format != "secl-kfilters" || plan.layout_version != LAYOUT_VERSION {
            return Err(format!("unsupported plan: {} layout {}", plan.format, plan.layout_version));
        }
        Ok(plan)
    }
}

/// The content of every map, as the loader would write it.
#[derive(Clone, Debug, Default)]
pub struct KernelMaps {
    pub config: GlobalConfig,
    pub policy: BTreeMap<u16, EventPolicy>,
    pub slots: BTreeMap<(u16, u8), SlotDesc>,
    /// LPM entries; each value already includes the guards of its shorter prefixes, so
    /// that the longest match answers for all matching entries.
    pub strs: Vec<(StrKey, GuardMask)>,
    pub ints: HashMap<IntKey, GuardMask>,
    pub flags: HashMap<FlagKey, FlagValue>,
    pub ranges: HashMap<RangeKey, RangeValue>,
    pub cidrs: Vec<(CidrKey, GuardMask)>,
}

impl KernelMaps {
    pub fn lower(plan: &Plan) -> KernelMaps {
        let mut m =
            KernelMaps { config: GlobalConfig { layout_version: LAYOUT_VERSION, generation: 1 }, ..Default::default() };
        for et in plan.event_types.values() {
            let mut policy = EventPolicy {
                mode: match et.mode {
                    Mode::NotHooked => MODE_NOT_HOOKED,
                    Mode::AcceptAll => MODE_ACCEPT_ALL,
                    Mode::Approve => MODE_APPROVE,
                },
                slot_count: et.slots.len() as u32,
                ..Default::default()
            };
            for (s, slot) in et.slots.iter().enumerate() {
                m.slots
                    .insert((et.id, s as u8), SlotDesc { field_id: slot.field_id, kind: key_kind(slot.key), _pad: 0 });
            }
            if et.mode == Mode::Approve {
                let n = et.guards.len().min(MAX_GUARDS);
                policy.guards = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                for s in 0..et.slots.len() {
                    policy.free[s] = policy.guards;
                }
                for (g, guard) in et.guards.iter().take(MAX_GUARDS).enumerate() {
                    let bit = 1u64 << g;
                    for c in &guard.constraints {
                        let Some(s) = et.slots.iter().position(|sl| sl.field == c.field && sl.key == c.key) else {
                            continue;
                        };
                        policy.free[s] &= !bit;
                        m.add(et.id, s as u8, g as u8, bit, c.key, &c.entries);
                    }
                }
            }
            m.policy.insert(et.id, policy);
        }
        propagate(&mut m.strs, |k| (k.event_type, k.slot), |k| &k.data[..], |k| k.prefixlen - 32);
        propagate(
            &mut m.cidrs,
            |k| (k.event_type, u8::from(k.family == 6) << 7 | k.slot),
            |k| &k.addr[..],
            |k| k.prefixlen - 32,
        );
        m
    }

    fn add(&mut self, et: u16, slot: u8, guard: u8, bit: u64, key: Key, entries: &Entries) {
        match entries {
            Entries::Strings(v) => {
                for e in v {
                    let k = str_key(et, slot, e.text.as_bytes(), !e.prefix);
                    match self.strs.iter_mut().find(|(o, _)| *o == k) {
                        Some((_, g)) => g.guards |= bit,
                        None => self.strs.push((k, GuardMask { guards: bit })),
                    }
                }
            }
            Entries::Ints(v) => {
                for i in v {
                    let k = IntKey { event_type: et, slot, _pad: [0; 5], value: *i };
                    self.ints.entry(k).or_default().guards |= bit;
                }
            }
            Entries::Mask(mask) => {
                let k = FlagKey { event_type: et, slot, guard, _pad: 0 };
                self.flags.entry(k).or_default().mask |= *mask;
            }
            Entries::Ranges(v) => {
                for &(lo, hi) in v {
                    let used = self.ranges.keys().filter(|k| k.event_type == et && k.slot == slot).count();
                    let same = self
                        .ranges
                        .iter_mut()
                        .find(|(k, r)| k.event_type == et && k.slot == slot && r.lo == lo && r.hi == hi);
                    if let Some((_, r)) = same {
                        r.guards |= bit;
                    } else if used < MAX_RANGES {
                        let k = RangeKey { event_type: et, slot, index: used as u8, _pad: 0 };
                        self.ranges.insert(k, RangeValue { lo, hi, guards: bit });
                    } else {
                        // Full: widen the last entry to cover this one too.
                        let k = RangeKey { event_type: et, slot, index: (MAX_RANGES - 1) as u8, _pad: 0 };
                        if let Some(r) = self.ranges.get_mut(&k) {
                            r.lo = r.lo.min(lo);
                            r.hi = r.hi.max(hi);
                            r.guards |= bit;
                        }
                    }
                }
            }
            Entries::Cidrs(_) => {
                for net in entries.nets() {
                    let k = cidr_key(et, slot, &net);
                    match self.cidrs.iter_mut().find(|(o, _)| *o == k) {
                        Some((_, g)) => g.guards |= bit,
                        None => self.cidrs.push((k, GuardMask { guards: bit })),
                    }
                }
            }
        }
        let _ = key;
    }

    /// Longest-prefix match in the string map.
    pub fn lookup_str(&self, et: u16, slot: u8, text: &[u8]) -> u64 {
        let q = str_key(et, slot, text, true);
        longest(
            &self.strs,
            |k| k.event_type == et && k.slot == slot,
            &q.data,
            (q.prefixlen - 32) as usize,
            |k| (&k.data[..], (k.prefixlen - 32) as usize),
        )
    }

    pub fn lookup_cidr(&self, et: u16, slot: u8, ip: &IpNet) -> u64 {
        let q = cidr_key(et, slot, ip);
        longest(
            &self.cidrs,
            |k| k.event_type == et && k.slot == slot && k.family == q.family,
            &q.addr,
            (q.prefixlen - 32) as usize,
            |k| (&k.addr[..], (k.prefixlen - 32) as usize),
        )
    }
}

pub fn cidr_key(et: u16, slot: u8, net: &IpNet) -> CidrKey {
    let mut addr = [0u8; 16];
    let family = match net.addr() {
        std::net::IpAddr::V4(a) => {
            addr[..4].copy_from_slice(&a.octets());
            4
        }
        std::net::IpAddr::V6(a) => {
            addr.copy_from_slice(&a.octets());
            6
        }
    };
    CidrKey { prefixlen: 32 + u32::from(net.prefix_len()), event_type: et, slot, family, addr }
}

/// Whether the first `bits` bits of `a` and `b` agree.
fn bits_eq(a: &[u8], b: &[u8], bits: usize) -> bool {
    let full = bits / 8;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0
}

fn longest<K>(
    entries: &[(K, GuardMask)],
    same: impl Fn(&K) -> bool,
    data: &[u8],
    bits: usize,
    view: impl Fn(&K) -> (&[u8], usize),
) -> u64 {
    let mut best: Option<(usize, u64)> = None;
    for (k, g) in entries {
        if !same(k) {
            continue;
        }
        let (d, n) = view(k);
        if n <= bits && bits_eq(d, data, n) && best.is_none_or(|(b, _)| n > b) {
            best = Some((n, g.guards));
        }
    }
    best.map_or(0, |(_, g)| g)
}

/// Adds to each LPM entry the guards of the entries that are its prefixes.
fn propagate<K: Clone>(
    entries: &mut [(K, GuardMask)],
    group: impl Fn(&K) -> (u16, u8),
    data: impl Fn(&K) -> &[u8],
    bits: impl Fn(&K) -> u32,
) {
    let snapshot: Vec<(K, GuardMask)> = entries.to_vec();
    for (k, g) in entries.iter_mut() {
        for (p, pg) in &snapshot {
            let (pb, kb) = (bits(p) as usize, bits(k) as usize);
            if group(p) == group(k) && pb < kb && bits_eq(data(p), data(k), pb) {
                g.guards |= pg.guards;
            }
        }
    }
}
