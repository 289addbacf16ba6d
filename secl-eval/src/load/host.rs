//! The host that rule `filters:` and `agent_version:` are checked against (SPEC §14).

use crate::check::scope::scalar_ty;
use crate::check::{FieldInfo, FieldNamespace};
use crate::event::{Event, StrList, Value};
use crate::model::{ConstValue, FieldId, PathKind, host_fields};
use crate::value::semver::Version;

/// A description of the target host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// `linux` or `windows`.
    pub os: String,
    pub kernel: (i64, i64, i64),
    pub kernel_abi: i64,
    pub kernel_flavor: String,
    pub agent_version: Version,
    pub os_id: String,
    pub os_platform_id: String,
    pub os_version_id: String,
    pub envs: Vec<String>,
    pub origin: String,
    pub hostname: String,
    pub kernel_core_enabled: bool,
}

/// The newest agent version whose behaviour this crate reproduces.
pub const NEWEST_AGENT_VERSION: &str = "7.84.0";

impl Default for Host {
    fn default() -> Host {
        Host {
            os: "linux".into(),
            kernel: (6, 8, 0),
            kernel_abi: 0,
            kernel_flavor: String::new(),
            agent_version: Version::parse(NEWEST_AGENT_VERSION).unwrap_or_default(),
            os_id: String::new(),
            os_platform_id: String::new(),
            os_version_id: String::new(),
            envs: Vec::new(),
            origin: "ebpf".into(),
            hostname: String::new(),
            kernel_core_enabled: false,
        }
    }
}

/// Parses `6.8.0`, `6.8.0-45-generic`, `5.15` into (major, minor, patch).
pub fn parse_kernel_version(text: &str) -> Option<(i64, i64, i64)> {
    let core = text.split(|c: char| !(c.is_ascii_digit() || c == '.')).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<i64>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// The host model as a field namespace; only `true`/`false` are constants (SPEC §6).
pub struct HostNamespace;

impl FieldNamespace for HostNamespace {
    fn resolve(&self, name: &str) -> Option<FieldInfo> {
        let idx = host_fields().iter().position(|(n, _, _)| *n == name)?;
        Some(self.info(FieldId(idx as u16)))
    }

    fn info(&self, id: FieldId) -> FieldInfo {
        let (name, ty, is_array) = host_fields()[id.0 as usize];
        FieldInfo {
            id,
            name: name.to_owned(),
            ty: scalar_ty(ty, is_array),
            path_kind: PathKind::None,
            case_insensitive: false,
            is_extension: false,
            event_type: None,
            restricted_to: None,
            iterator: None,
            nested_array: false,
        }
    }

    fn is_iterable_prefix(&self, _: &str) -> bool {
        false
    }

    fn suggest(&self, name: &str) -> Option<String> {
        crate::suggest::closest(name, host_fields().iter().map(|(n, _, _)| *n)).map(str::to_owned)
    }

    fn constant(&self, name: &str) -> Option<ConstValue> {
        match name {
            "true" => Some(ConstValue::Bool(true)),
            "false" => Some(ConstValue::Bool(false)),
            _ => None,
        }
    }
}

impl Event for Host {
    fn event_type(&self) -> &str {
        "host"
    }

    fn field(&self, id: FieldId) -> Value<'_> {
        let Some((name, _, _)) = host_fields().get(id.0 as usize) else { return Value::Missing };
        let os = self.os_id.as_str();
        match *name {
            "os" => Value::Str(&self.os),
            "kernel.version.major" => Value::Int(self.kernel.0),
            "kernel.version.minor" => Value::Int(self.kernel.1),
            "kernel.version.patch" => Value::Int(self.kernel.2),
            "kernel.version.abi" => Value::Int(self.kernel_abi),
            "kernel.version.flavor" => Value::Str(&self.kernel_flavor),
            "os.id" => Value::Str(&self.os_id),
            "os.platform_id" => Value::Str(&self.os_platform_id),
            "os.version_id" => Value::Str(&self.os_version_id),
            "os.is_amazon_linux" => Value::Bool(os == "amzn"),
            "os.is_cos" => Value::Bool(os == "cos"),
            "os.is_debian" => Value::Bool(os == "debian"),
            "os.is_oracle" => Value::Bool(os == "ol"),
            "os.is_rhel" => Value::Bool(matches!(os, "rhel" | "centos")),
            "os.is_rhel7" => Value::Bool(matches!(os, "rhel" | "centos") && self.os_version_id.starts_with('7')),
            "os.is_rhel8" => Value::Bool(matches!(os, "rhel" | "centos") && self.os_version_id.starts_with('8')),
            "os.is_sles" => Value::Bool(os == "sles"),
            "os.is_sles12" => Value::Bool(os == "sles" && self.os_version_id.starts_with("12")),
            "os.is_sles15" => Value::Bool(os == "sles" && self.os_version_id.starts_with("15")),
            "envs" => Value::Strs(StrList::Owned(&self.envs)),
            "origin" => Value::Str(&self.origin),
            "hostname" => Value::Str(&self.hostname),
            "kernel.core.enabled" => Value::Bool(self.kernel_core_enabled),
            _ => Value::Missing,
        }
    }
}
