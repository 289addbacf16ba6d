//! The tiny "host" model that rule and macro `filters:` are evaluated against (SPEC §14.1).

use super::ScalarType;

/// One host field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HostFieldDef {
    pub name: &'static str,
    pub ty: ScalarType,
    pub is_array: bool,
}

const HOST_FIELDS: [(&str, ScalarType, bool); 23] = [
    ("os", ScalarType::Str, false),
    ("kernel.version.major", ScalarType::Int, false),
    ("kernel.version.minor", ScalarType::Int, false),
    ("kernel.version.patch", ScalarType::Int, false),
    ("kernel.version.abi", ScalarType::Int, false),
    ("kernel.version.flavor", ScalarType::Str, false),
    ("os.id", ScalarType::Str, false),
    ("os.platform_id", ScalarType::Str, false),
    ("os.version_id", ScalarType::Str, false),
    ("os.is_amazon_linux", ScalarType::Bool, false),
    ("os.is_cos", ScalarType::Bool, false),
    ("os.is_debian", ScalarType::Bool, false),
    ("os.is_oracle", ScalarType::Bool, false),
    ("os.is_rhel", ScalarType::Bool, false),
    ("os.is_rhel7", ScalarType::Bool, false),
    ("os.is_rhel8", ScalarType::Bool, false),
    ("os.is_sles", ScalarType::Bool, false),
    ("os.is_sles12", ScalarType::Bool, false),
    ("os.is_sles15", ScalarType::Bool, false),
    ("envs", ScalarType::Str, true),
    ("origin", ScalarType::Str, false),
    ("hostname", ScalarType::Str, false),
    ("kernel.core.enabled", ScalarType::Bool, false),
];

/// Every host field as `(name, type, is_array)`.
pub fn host_fields() -> &'static [(&'static str, ScalarType, bool)] {
    &HOST_FIELDS
}

/// The host field of that name.
pub fn host_field(name: &str) -> Option<HostFieldDef> {
    HOST_FIELDS.iter().find(|(n, _, _)| *n == name).map(|&(name, ty, is_array)| HostFieldDef { name, ty, is_array })
}
