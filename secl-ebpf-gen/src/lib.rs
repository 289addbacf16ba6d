//! SECL rules compiled to in-kernel filters (SPEC §15): which events the kernel may drop
//! before they reach user space, without ever dropping one that some rule could match.
//!
//! * [`capabilities`]: what the kernel side can filter on, per profile.
//! * [`approvers`]: the reference's approver algorithm and event-type selection, and
//!   per-rule guards proven sound for the `secl` profile.
//! * [`plan`] / [`layout`] / [`header`]: the plan as data, the `#[repr(C)]` maps shared
//!   with the C side through `include/secl_kfilters.h`.
//! * [`simulator`]: the kernel side in user space, `would_send(event)`.
//! * [`discarders`]: negative entries learned from evaluated events.
//!
//! ```no_run
//! # fn demo(loaded: secl_eval::load::Loaded) {
//! use secl_ebpf_gen::{Profile, compile};
//! let plan = compile(&loaded.rules, Profile::Secl);
//! let sim = secl_ebpf_gen::simulator::Simulator::new(&plan);
//! # }
//! ```

pub mod approvers;
pub mod capabilities;
pub mod discarders;
pub mod header;
pub mod keys;
pub mod layout;
pub mod plan;
pub mod simulator;

pub use approvers::{Analysis, Mode, analyze};
pub use capabilities::Profile;
pub use plan::Plan;
pub use simulator::Simulator;

/// Approvers and plan for compiled rules.
pub fn compile(rules: &[secl_eval::rule::Rule], profile: Profile) -> Plan {
    Plan::build(&analyze(rules, profile))
}
