//! The kernel maps shared with the C side: `#[repr(C)]` keys and values, their sizes and
//! the map table. `include/secl_kfilters.h` is generated from these definitions
//! ([`crate::header::c_header`]) and a test keeps the two identical; the const
//! assertions below pin sizes and offsets on the Rust side, `_Static_assert`s in the
//! header pin them on the C side.
//!
//! Kernel decision for an event of type `t` (see the header for the C view):
//! 1. `policy = secl_kf_policy[t]`; `NOT_HOOKED`: the probe is not attached.
//! 2. A discarder entry for the event's path (or an ancestor directory) with the current
//!    generation drops the event.
//! 3. `ACCEPT_ALL` sends it. `APPROVE`: `candidates = policy.guards`; for each slot
//!    `s < policy.slot_count`, `candidates &= lookup(s) | policy.free[s]`, where
//!    `lookup` reads the slot's key from the event and returns the guards whose
//!    constraint on that slot accepts it; the event is sent when `candidates != 0`.

use serde::{Deserialize, Serialize};
use std::mem::{offset_of, size_of};

/// Bumped on any change of the structures below.
pub const LAYOUT_VERSION: u32 = 1;
/// Event type ids are `1..=MAX_EVENT_TYPES`.
pub const MAX_EVENT_TYPES: usize = 128;
/// Keys (field + key kind) per event type.
pub const MAX_SLOTS: usize = 8;
/// Guards per event type (bits of a `u64`).
pub const MAX_GUARDS: usize = 64;
/// Bytes of a string key, terminating NUL included (longer strings are cut to
/// `STR_LEN - 1` bytes by the kernel and by the compiler alike).
pub const STR_LEN: usize = 256;
/// Range entries per (event type, slot).
pub const MAX_RANGES: usize = 16;
/// Default bound of the discarder LRU.
pub const DISCARDER_LRU_SIZE: u32 = 16384;

pub const MODE_NOT_HOOKED: u32 = 0;
pub const MODE_ACCEPT_ALL: u32 = 1;
pub const MODE_APPROVE: u32 = 2;

/// Slot key kinds, as `secl_kf_slot.kind`.
pub const KEY_BASENAME: u8 = 1;
pub const KEY_PATH: u8 = 2;
pub const KEY_STR: u8 = 3;
pub const KEY_STR_REV: u8 = 4;
pub const KEY_FOLDED: u8 = 5;
pub const KEY_FOLDED_REV: u8 = 6;
pub const KEY_INT: u8 = 7;
pub const KEY_FLAGS: u8 = 8;
pub const KEY_RANGES: u8 = 9;
pub const KEY_CIDR: u8 = 10;

/// Per event type: mode, guards and, per slot, the guards that do not constrain it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventPolicy {
    pub mode: u32,
    pub slot_count: u32,
    pub guards: u64,
    pub free: [u64; MAX_SLOTS],
}

/// How the probe reads one slot of an event type (`secl_kf_slots`, indexed by
/// `event_type * MAX_SLOTS + slot`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SlotDesc {
    /// Index of the field in the model (`secl-eval` field ids).
    pub field_id: u16,
    /// A `KEY_*` kind.
    pub kind: u8,
    pub _pad: u8,
}

/// A string LPM key: `prefixlen` counts bits from `event_type` on, so the 4 header bytes
/// are always fully matched; an exact entry also covers the terminating NUL.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StrKey {
    pub prefixlen: u32,
    pub event_type: u16,
    pub slot: u8,
    pub _pad: u8,
    pub data: [u8; STR_LEN],
}

/// Guards approved by an entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardMask {
    pub guards: u64,
}

/// An exact integer key.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IntKey {
    pub event_type: u16,
    pub slot: u8,
    pub _pad: [u8; 5],
    pub value: i64,
}

/// A guard's flag mask: `value & mask != 0`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlagKey {
    pub event_type: u16,
    pub slot: u8,
    pub guard: u8,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlagValue {
    pub mask: u64,
}

/// Range entry `index` of a slot.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RangeKey {
    pub event_type: u16,
    pub slot: u8,
    pub index: u8,
    pub _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RangeValue {
    pub lo: i64,
    pub hi: i64,
    pub guards: u64,
}

/// An address LPM key: `prefixlen` counts bits from `event_type` on (32 header bits
/// plus the network prefix); IPv4 addresses take the first 4 bytes of `addr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CidrKey {
    pub prefixlen: u32,
    pub event_type: u16,
    pub slot: u8,
    /// 4 or 6.
    pub family: u8,
    pub addr: [u8; 16],
}

/// A discarder: an exact path, or (`is_dir`) every path strictly below a directory.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiscarderKey {
    pub event_type: u16,
    pub slot: u8,
    pub is_dir: u8,
    pub path: [u8; STR_LEN],
}

/// A discarder is live while its generation equals `secl_kf_config.generation`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiscarderValue {
    pub generation: u32,
    pub _pad: u32,
}

/// Global settings (array map, one entry).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalConfig {
    pub layout_version: u32,
    /// Bumped on every rule-set reload: older discarders stop applying.
    pub generation: u32,
}

const _: () = {
    assert!(size_of::<EventPolicy>() == 80);
    assert!(offset_of!(EventPolicy, guards) == 8);
    assert!(offset_of!(EventPolicy, free) == 16);
    assert!(size_of::<SlotDesc>() == 4);
    assert!(size_of::<StrKey>() == 8 + STR_LEN);
    assert!(offset_of!(StrKey, event_type) == 4);
    assert!(offset_of!(StrKey, data) == 8);
    assert!(size_of::<GuardMask>() == 8);
    assert!(size_of::<IntKey>() == 16);
    assert!(offset_of!(IntKey, value) == 8);
    assert!(size_of::<FlagKey>() == 8);
    assert!(size_of::<FlagValue>() == 8);
    assert!(size_of::<RangeKey>() == 8);
    assert!(size_of::<RangeValue>() == 24);
    assert!(size_of::<CidrKey>() == 24);
    assert!(offset_of!(CidrKey, addr) == 8);
    assert!(size_of::<DiscarderKey>() == 4 + STR_LEN);
    assert!(offset_of!(DiscarderKey, path) == 4);
    assert!(size_of::<DiscarderValue>() == 8);
    assert!(size_of::<GlobalConfig>() == 8);
};

/// One kernel map of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MapSpec {
    pub name: String,
    /// `array`, `hash`, `lru_hash` or `lpm_trie`.
    #[serde(rename = "type")]
    pub kind: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// `BPF_F_NO_PREALLOC` (1) for LPM tries.
    pub flags: u32,
    /// The C struct names of key and value.
    pub key: String,
    pub value: String,
}

/// Every map of the layout; `discarder_lru` sizes the discarder map.
pub fn maps(discarder_lru: u32) -> Vec<MapSpec> {
    let spec = |name: &str, kind: &str, key: (&str, usize), value: (&str, usize), max: usize, flags: u32| MapSpec {
        name: name.into(),
        kind: kind.into(),
        key_size: key.1 as u32,
        value_size: value.1 as u32,
        max_entries: max as u32,
        flags,
        key: key.0.into(),
        value: value.0.into(),
    };
    vec![
        spec("secl_kf_config", "array", ("u32", 4), ("struct secl_kf_config", size_of::<GlobalConfig>()), 1, 0),
        spec(
            "secl_kf_policy",
            "array",
            ("u32", 4),
            ("struct secl_kf_policy", size_of::<EventPolicy>()),
            MAX_EVENT_TYPES + 1,
            0,
        ),
        spec(
            "secl_kf_slots",
            "array",
            ("u32", 4),
            ("struct secl_kf_slot", size_of::<SlotDesc>()),
            (MAX_EVENT_TYPES + 1) * MAX_SLOTS,
            0,
        ),
        spec(
            "secl_kf_str",
            "lpm_trie",
            ("struct secl_kf_str_key", size_of::<StrKey>()),
            ("struct secl_kf_guards", size_of::<GuardMask>()),
            65536,
            1,
        ),
        spec(
            "secl_kf_int",
            "hash",
            ("struct secl_kf_int_key", size_of::<IntKey>()),
            ("struct secl_kf_guards", size_of::<GuardMask>()),
            16384,
            0,
        ),
        spec(
            "secl_kf_flags",
            "hash",
            ("struct secl_kf_flag_key", size_of::<FlagKey>()),
            ("struct secl_kf_flag_value", size_of::<FlagValue>()),
            MAX_EVENT_TYPES * MAX_SLOTS,
            0,
        ),
        spec(
            "secl_kf_ranges",
            "hash",
            ("struct secl_kf_range_key", size_of::<RangeKey>()),
            ("struct secl_kf_range_value", size_of::<RangeValue>()),
            MAX_EVENT_TYPES * MAX_SLOTS * MAX_RANGES,
            0,
        ),
        spec(
            "secl_kf_cidr",
            "lpm_trie",
            ("struct secl_kf_cidr_key", size_of::<CidrKey>()),
            ("struct secl_kf_guards", size_of::<GuardMask>()),
            16384,
            1,
        ),
        spec(
            "secl_kf_discarders",
            "lru_hash",
            ("struct secl_kf_discarder_key", size_of::<DiscarderKey>()),
            ("struct secl_kf_discarder_value", size_of::<DiscarderValue>()),
            discarder_lru as usize,
            0,
        ),
    ]
}

/// Bytes of a string as a kernel key: cut to `STR_LEN - 1` bytes.
pub fn key_bytes(s: &[u8]) -> &[u8] {
    &s[..s.len().min(STR_LEN - 1)]
}

/// A string LPM key for `text`; exact keys include the NUL.
pub fn str_key(event_type: u16, slot: u8, text: &[u8], exact: bool) -> StrKey {
    let t = key_bytes(text);
    let mut data = [0u8; STR_LEN];
    data[..t.len()].copy_from_slice(t);
    // A cut string is a prefix of what it stood for.
    let exact = exact && t.len() == text.len();
    let bytes = t.len() + usize::from(exact);
    StrKey { prefixlen: (32 + 8 * bytes) as u32, event_type, slot, _pad: 0, data }
}
