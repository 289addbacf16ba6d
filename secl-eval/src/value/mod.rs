//! Pure value primitives used by the compiler and the evaluator. Every function here
//! is total: any input gives a value or an error, never a panic.

pub mod args;
pub mod domain;
pub mod duration;
pub mod glob;
pub mod ip;
pub mod path;
pub mod pattern;
pub mod semver;

pub use args::{args, args_flags, args_options};
pub use domain::root_domain;
pub use duration::{parse_go_duration, parse_yaml_duration};
pub use glob::Glob;
pub use ip::{IpNet, parse_cidr, parse_ip, parse_ip_or_cidr, scalar_match};
pub use path::validate_path_value;
pub use pattern::{Pattern, eq_fold};
pub use semver::{Constraint, Version};
