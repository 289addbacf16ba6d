//! Go duration strings (`time.ParseDuration`) for YAML `ttl`/`every` values and for
//! duration literals, with Go's error texts.

const MAX: u64 = 1 << 63;

fn unit_ns(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Go's `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, e.g. `10m`, `1h30m`,
/// `1.5h`, `250ms`. Returns nanoseconds.
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(text));
    let mut s = text.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &d in &s[..digits] {
            if v > MAX / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(d - b'0');
            if v > MAX {
                return Err(invalid());
            }
        }
        s = &s[digits..];
        let pre = digits > 0;
        let (mut frac, mut scale, mut post) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let n = s.iter().take_while(|b| b.is_ascii_digit()).count();
            let mut overflow = false;
            for &d in &s[..n] {
                // Digits past what fits are ignored, as in Go.
                if overflow || frac > (MAX - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let y = frac * 10 + u64::from(d - b'0');
                if y > MAX {
                    overflow = true;
                    continue;
                }
                frac = y;
                scale *= 10.0;
            }
            s = &s[n..];
            post = n > 0;
        }
        if !pre && !post {
            return Err(invalid());
        }
        let ulen = s.iter().take_while(|&&b| b != b'.' && !b.is_ascii_digit()).count();
        if ulen == 0 {
            return Err(format!("time: missing unit in duration {}", quote(text)));
        }
        let unit_bytes = &s[..ulen];
        s = &s[ulen..];
        let unit_str = String::from_utf8_lossy(unit_bytes);
        let Some(unit) = unit_ns(&unit_str) else {
            return Err(format!("time: unknown unit {} in duration {}", quote_bytes(unit_bytes), quote(text)));
        };
        if v > MAX / unit {
            return Err(invalid());
        }
        v *= unit;
        if frac > 0 {
            // Go converts through float64 to stay nanosecond-accurate for hours.
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > MAX {
                return Err(invalid());
            }
        }
        total += v;
        if total > MAX {
            return Err(invalid());
        }
    }
    if neg {
        // -(1 << 63) is representable.
        return Ok((total as i64).wrapping_neg());
    }
    if total > MAX - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

/// A YAML duration: a plain integer is nanoseconds, anything else a Go duration string.
pub fn parse_yaml_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().enumerate().all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-' && t.len() > 1)) {
        return t.parse::<i64>().map_err(|e| format!("invalid duration {t:?}: {e}"));
    }
    parse_go_duration(t)
}

fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

/// Go's `time.quote`: printable ASCII as is (with `"` and `\` escaped), every other
/// byte as `\xNN`.
fn quote_bytes(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        if (b' '..0x80).contains(&b) {
            if b == b'"' || b == b'\\' {
                out.push('\\');
            }
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("10m"), Ok(600 * S));
        assert_eq!(parse_go_duration("1h30m"), Ok(5400 * S));
        assert_eq!(parse_go_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_go_duration("1.5h"), Ok(5400 * S));
        assert_eq!(parse_go_duration("30s"), Ok(30 * S));
        assert_eq!(parse_go_duration("1ns"), Ok(1));
        assert_eq!(parse_go_duration("2us"), Ok(2000));
        assert_eq!(parse_go_duration("2µs"), Ok(2000));
        assert_eq!(parse_go_duration("2μs"), Ok(2000));
        assert_eq!(parse_go_duration(".5s"), Ok(S / 2));
        assert_eq!(parse_go_duration("1.s"), Ok(S));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("-1m"), Ok(-60 * S));
        assert_eq!(parse_go_duration("+1m"), Ok(60 * S));
        assert_eq!(parse_go_duration("1h1m1s1ms1us1ns"), Ok(3661 * S + 1_001_001));
        assert_eq!(parse_go_duration("2562047h47m16.854775807s"), Ok(i64::MAX));
        assert_eq!(parse_go_duration("-2562047h47m16.854775808s"), Ok(i64::MIN));
    }

    #[test]
    fn go_errors() {
        assert_eq!(parse_go_duration("5hs").unwrap_err(), r#"time: unknown unit "hs" in duration "5hs""#);
        assert_eq!(parse_go_duration("10").unwrap_err(), r#"time: missing unit in duration "10""#);
        assert_eq!(parse_go_duration("").unwrap_err(), r#"time: invalid duration """#);
        assert_eq!(parse_go_duration("-").unwrap_err(), r#"time: invalid duration "-""#);
        assert_eq!(parse_go_duration(".s").unwrap_err(), r#"time: invalid duration ".s""#);
        assert_eq!(parse_go_duration("s").unwrap_err(), r#"time: invalid duration "s""#);
        assert_eq!(parse_go_duration("3000000h").unwrap_err(), r#"time: invalid duration "3000000h""#);
        assert_eq!(parse_go_duration("1é").unwrap_err(), r#"time: unknown unit "\xc3\xa9" in duration "1\xc3\xa9""#);
        assert!(parse_go_duration("2562047h47m16.854775808s").is_err());
        assert!(parse_go_duration("99999999999999999999ns").is_err());
    }

    #[test]
    fn yaml() {
        assert_eq!(parse_yaml_duration("600000000000"), Ok(600 * S));
        assert_eq!(parse_yaml_duration("10m"), Ok(600 * S));
        assert_eq!(parse_yaml_duration("0"), Ok(0));
        assert!(parse_yaml_duration("99999999999999999999").is_err());
    }
}
