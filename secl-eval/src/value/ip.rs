//! IP addresses and networks (SPEC §4.4).
//!
//! A value is a network: a bare address is a /32 or /128. IPv4 addresses written in
//! IPv6 form (`::ffff:a.b.c.d`) are IPv4 here, which gives the reference's behaviour:
//! `1.2.3.4` and `::ffff:1.2.3.4` match each other, `::ffff:0:0/96` contains every
//! IPv4 address, and the families are otherwise separate.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address with a prefix length, host bits cleared. Cheap to copy and compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpNet {
    /// The address bits; an IPv4 address occupies the low 32 bits.
    bits: u128,
    prefix: u8,
    v4: bool,
}

impl IpNet {
    /// A network from an address and a prefix length in that address's family
    /// (`None` when the prefix is too long). Host bits are cleared.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<IpNet> {
        match addr {
            IpAddr::V4(a) => (prefix <= 32).then(|| IpNet::masked(u32::from(a).into(), prefix, true)),
            IpAddr::V6(a) => {
                if prefix > 128 {
                    return None;
                }
                // Mask first: whether the result is an IPv4-mapped address decides
                // its family, as with Go's `net.IPNet`.
                let masked = u128::from(a) & mask(prefix, 128);
                match Ipv6Addr::from(masked).to_ipv4_mapped() {
                    Some(v4) => Some(IpNet::masked(u32::from(v4).into(), prefix.saturating_sub(96), true)),
                    None => Some(IpNet { bits: masked, prefix, v4: false }),
                }
            }
        }
    }

    fn masked(bits: u128, prefix: u8, v4: bool) -> IpNet {
        let width = if v4 { 32 } else { 128 };
        IpNet { bits: bits & mask(prefix, width), prefix, v4 }
    }

    /// A single address (/32 or /128).
    pub fn from_addr(addr: IpAddr) -> IpNet {
        match addr {
            IpAddr::V4(a) => IpNet::masked(u32::from(a).into(), 32, true),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => IpNet::masked(u32::from(v4).into(), 32, true),
                None => IpNet { bits: u128::from(a), prefix: 128, v4: false },
            },
        }
    }

    /// The network's base address.
    pub fn addr(&self) -> IpAddr {
        if self.v4 { IpAddr::V4(Ipv4Addr::from(self.bits as u32)) } else { IpAddr::V6(Ipv6Addr::from(self.bits)) }
    }

    /// Prefix length in the network's own family.
    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    pub fn is_v4(&self) -> bool {
        self.v4
    }

    /// Whether this is a single address.
    pub fn is_host(&self) -> bool {
        self.prefix == if self.v4 { 32 } else { 128 }
    }

    /// Whether `other`'s base address lies in this network.
    pub fn contains_addr(&self, other: &IpNet) -> bool {
        let width = if self.v4 { 32 } else { 128 };
        self.v4 == other.v4 && (other.bits & mask(self.prefix, width)) == self.bits
    }

    /// Scalar matching (SPEC §4.4): either network contains the other's base address.
    pub fn scalar_match(&self, other: &IpNet) -> bool {
        scalar_match(self, other)
    }

    /// Whether `ip` lies in this network.
    pub fn contains_ip(&self, ip: IpAddr) -> bool {
        self.contains_addr(&IpNet::from_addr(ip))
    }
}

/// The zero value of an unresolved IP field: `0.0.0.0/32`.
impl Default for IpNet {
    fn default() -> IpNet {
        IpNet { bits: 0, prefix: 32, v4: true }
    }
}

impl From<IpAddr> for IpNet {
    fn from(addr: IpAddr) -> IpNet {
        IpNet::from_addr(addr)
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr(), self.prefix)
    }
}

/// The network mask of `prefix` leading ones in a `width`-bit address.
fn mask(prefix: u8, width: u32) -> u128 {
    let prefix = u32::from(prefix).min(width);
    if prefix == 0 {
        return 0;
    }
    let ones = u128::MAX << (128 - prefix);
    ones >> (128 - width)
}

/// Scalar IP matching: true when either network contains the other's base address.
pub fn scalar_match(a: &IpNet, b: &IpNet) -> bool {
    a.contains_addr(b) || b.contains_addr(a)
}

/// Parses an address literal (`1.2.3.4`, `::1`, upper-case hex accepted; octets with
/// leading zeros and zones rejected).
pub fn parse_ip(text: &str) -> Result<IpNet, String> {
    text.parse::<IpAddr>().map(IpNet::from_addr).map_err(|_| format!("invalid IP '{text}'"))
}

/// Parses a CIDR literal (`10.0.0.0/8`, `fe80::/10`); host bits are cleared.
pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let err = || format!("invalid CIDR '{text}'");
    let (addr, len) = text.split_once('/').ok_or_else(err)?;
    let addr: IpAddr = addr.parse().map_err(|_| err())?;
    // Go reads the length as plain decimal digits (leading zeros allowed, no sign).
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let len: u8 = len.parse().map_err(|_| err())?;
    IpNet::new(addr, len).ok_or_else(err)
}

/// Parses either form: with a `/` a CIDR, otherwise an address.
pub fn parse_ip_or_cidr(text: &str) -> Result<IpNet, String> {
    if text.contains('/') { parse_cidr(text) } else { parse_ip(text) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpNet {
        parse_ip(s).unwrap()
    }
    fn cidr(s: &str) -> IpNet {
        parse_cidr(s).unwrap()
    }

    #[test]
    fn scalar_matching() {
        assert!(scalar_match(&ip("10.1.2.3"), &cidr("10.0.0.0/8")));
        assert!(scalar_match(&cidr("10.0.0.0/8"), &ip("10.1.2.3")));
        assert!(!scalar_match(&ip("11.1.2.3"), &cidr("10.0.0.0/8")));
        assert!(scalar_match(&ip("::1"), &ip("::1")));
        assert!(scalar_match(&ip("fe80::1"), &cidr("fe80::/10")));
    }

    #[test]
    fn v4_mapped() {
        assert!(scalar_match(&ip("1.2.3.4"), &ip("::ffff:1.2.3.4")));
        assert!(scalar_match(&ip("::ffff:1.2.3.4"), &ip("1.2.3.4")));
        assert!(cidr("::ffff:0:0/96").contains_addr(&ip("1.2.3.4")));
        assert!(cidr("::ffff:1.2.3.0/120").contains_addr(&ip("1.2.3.200")));
        assert!(!cidr("::ffff:1.2.3.0/120").contains_addr(&ip("1.2.4.1")));
        assert!(!cidr("0.0.0.0/0").contains_addr(&ip("::1")));
        assert!(!cidr("::/0").contains_addr(&ip("1.2.3.4")));
        assert!(cidr("::/0").contains_addr(&ip("::1")));
        assert!(cidr("0.0.0.0/0").contains_addr(&ip("1.2.3.4")));
        // Masked below the mapping marker: a plain IPv6 network.
        assert!(!cidr("::ffff:0:0/80").is_v4());
    }

    #[test]
    fn host_bits_masked() {
        assert_eq!(cidr("10.1.2.3/8"), cidr("10.0.0.0/8"));
        assert_eq!(cidr("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert_eq!(cidr("fe80::1/10").to_string(), "fe80::/10");
        assert!(cidr("10.1.2.3/8").contains_addr(&ip("10.200.0.1")));
    }

    #[test]
    fn parse_errors() {
        assert_eq!(parse_ip("010.001.002.003").unwrap_err(), "invalid IP '010.001.002.003'");
        assert_eq!(parse_ip("300.1.1.1").unwrap_err(), "invalid IP '300.1.1.1'");
        assert_eq!(parse_cidr("1.2.3.4/33").unwrap_err(), "invalid CIDR '1.2.3.4/33'");
        assert!(parse_cidr("::/129").is_err());
        assert!(parse_cidr("1.2.3.4/").is_err());
        assert!(parse_cidr("1.2.3.4/+8").is_err());
        assert!(parse_cidr("1.2.3.4").is_err());
        assert!(parse_ip("fe80::1%eth0").is_err());
        assert_eq!(parse_cidr("1.2.3.4/08").unwrap(), cidr("1.2.3.4/8"));
        assert_eq!(ip("FE80::ABCD"), ip("fe80::abcd"));
        assert!(parse_ip("").is_err());
    }

    #[test]
    fn accessors() {
        let n = cidr("192.168.0.0/16");
        assert!(n.is_v4() && !n.is_host());
        assert_eq!(n.prefix_len(), 16);
        assert_eq!(n.addr(), "192.168.0.0".parse::<IpAddr>().unwrap());
        assert!(ip("::1").is_host());
        assert!(n.contains_ip("192.168.7.7".parse().unwrap()));
        assert_eq!(parse_ip_or_cidr("10.0.0.0/8").unwrap(), cidr("10.0.0.0/8"));
        assert_eq!(ip("::ffff:1.2.3.4").to_string(), "1.2.3.4/32");
    }
}
