//! Registrable domains (eTLD+1) for `*.root_domain` fields, by the public suffix list
//! (ICANN and private sections, as Go's `x/net/publicsuffix` uses), via the `psl` crate.

/// The registrable domain of `host`: `www.a.co.uk` -> `a.co.uk`. A trailing dot is
/// ignored. A name that has no registrable part (a bare suffix such as `com` or
/// `co.uk`, `localhost`, the empty string) is returned unchanged.
pub fn root_domain(host: &str) -> &str {
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    if trimmed.is_empty() {
        return host;
    }
    match psl::domain(trimmed.as_bytes()) {
        // The registrable domain is always a suffix of the input.
        Some(d) => &trimmed[trimmed.len() - d.as_bytes().len()..],
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable() {
        assert_eq!(root_domain("www.a.co.uk"), "a.co.uk");
        assert_eq!(root_domain("a.co.uk"), "a.co.uk");
        assert_eq!(root_domain("example.com"), "example.com");
        assert_eq!(root_domain("deep.sub.example.com"), "example.com");
        assert_eq!(root_domain("x.y.github.io"), "y.github.io");
        assert_eq!(root_domain("WWW.Example.COM"), "Example.COM");
        assert_eq!(root_domain("www.example.com."), "example.com");
        assert_eq!(root_domain("a.b.unknowntld"), "b.unknowntld");
    }

    #[test]
    fn not_registrable() {
        assert_eq!(root_domain("com"), "com");
        assert_eq!(root_domain("co.uk"), "co.uk");
        assert_eq!(root_domain("localhost"), "localhost");
        assert_eq!(root_domain(""), "");
        assert_eq!(root_domain("."), ".");
        assert_eq!(root_domain(".."), "..");
    }
}
