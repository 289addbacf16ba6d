//! Cross-checks and totality properties of the value primitives.

use proptest::prelude::*;
use secl_eval::value::{
    Constraint, Glob, Pattern, Version, args, args_flags, args_options, parse_cidr, parse_go_duration, parse_ip,
    parse_yaml_duration, root_domain, validate_path_value,
};

/// Textbook backtracking glob with `*` as the only wildcard.
fn naive(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| naive(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && naive(rest, &s[1..]),
    }
}

fn no_double_star(mut p: String) -> String {
    while p.contains("**") {
        p = p.replace("**", "*");
    }
    p
}

fn pattern_text() -> impl Strategy<Value = String> {
    "[ab/*]{0,8}".prop_map(no_double_star)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn pattern_equals_backtracking(p in pattern_text(), s in "[ab/]{0,10}") {
        let pat = Pattern::new(&p, false).unwrap();
        prop_assert_eq!(pat.matches(&s), naive(p.as_bytes(), s.as_bytes()), "{} vs {}", p, s);
    }

    #[test]
    fn pattern_case_insensitive_equals_lowered(p in "[aBé/*]{0,8}".prop_map(no_double_star), s in "[AbÉ/]{0,10}") {
        let pat = Pattern::new(&p, true).unwrap();
        let expected = naive(p.to_lowercase().as_bytes(), s.to_lowercase().as_bytes());
        prop_assert_eq!(pat.matches(&s), expected);
    }

    #[test]
    fn pattern_never_panics(p in ".{0,12}", s in ".{0,12}", ci in any::<bool>()) {
        if let Ok(pat) = Pattern::new(&p, ci) {
            let _ = pat.matches(&s);
            prop_assert!(s.starts_with(pat.literal_prefix()) || ci || !pat.matches(&s));
        }
    }

    #[test]
    fn glob_never_panics(p in "[a/*é.]{0,12}", s in "[a/é.]{0,12}", d in "[a/é]{0,6}", ci in any::<bool>()) {
        if let Ok(g) = Glob::new(&p, ci) {
            let _ = g.matches(&s);
            let _ = g.could_match_under(&d);
        }
    }

    #[test]
    fn glob_matches_elementwise(p in "(/|[ab])[ab/*]{0,9}".prop_map(no_double_star), s in "[ab/]{0,10}") {
        let g = Glob::new(&p, false).unwrap();
        let ge: Vec<&str> = p.split('/').collect();
        let pe: Vec<&str> = s.split('/').collect();
        let el = |j: usize| naive(ge[j].as_bytes(), pe[j].as_bytes());
        let simple = !s.is_empty() && ge.len() == pe.len() && (0..pe.len()).all(el);
        // The reference accepts a trailing empty element early for a `*` element.
        let n = pe.len();
        let early = !s.is_empty() && pe[n - 1].is_empty() && n <= ge.len() && ge[n - 1] == "*"
            && (0..n - 1).all(el);
        prop_assert_eq!(g.matches(&s), simple || early, "{} vs {}", p, s);
    }

    #[test]
    fn could_match_under_is_sound(p in "[ab/*]{1,10}", d in "/[ab/]{0,5}", x in "[ab/]{1,5}") {
        let Ok(g) = Glob::new(&p, false) else { return Ok(()) };
        let path = if d.ends_with('/') { format!("{d}{x}") } else { format!("{d}/{x}") };
        if g.matches(&path) {
            prop_assert!(g.could_match_under(&d), "{} matches {} but not under {}", p, path, d);
        }
    }

    #[test]
    fn args_never_panic(argv in proptest::collection::vec("[-=a é_]{0,5}", 0..6)) {
        let joined = args(&argv);
        prop_assert_eq!(joined.len(), argv.iter().map(String::len).sum::<usize>() + argv.len().saturating_sub(1));
        for f in args_flags(&argv) {
            prop_assert!(!f.is_empty());
        }
        for o in args_options(&argv) {
            prop_assert!(!o.is_empty());
        }
    }

    #[test]
    fn parsers_never_panic(s in ".{0,24}") {
        let _ = parse_ip(&s);
        let _ = parse_cidr(&s);
        let _ = parse_go_duration(&s);
        let _ = parse_yaml_duration(&s);
        let _ = validate_path_value(&s);
        let _ = Version::parse(&s);
        if let Ok(c) = Constraint::parse(&s) {
            let _ = c.matches(&Version::parse("7.70.0").unwrap());
        }
        prop_assert!(s.ends_with(root_domain(&s)) || s.strip_suffix('.').is_some_and(|t| t.ends_with(root_domain(&s))));
    }

    #[test]
    fn constraint_syntax_never_panics(s in "[ <>=!~^vxX*0-9.,|-]{0,16}") {
        if let Ok(c) = Constraint::parse(&s) {
            let _ = c.matches(&Version::parse("7.70.0").unwrap());
        }
    }

    #[test]
    fn durations_roundtrip(h in 0u64..1000, m in 0u64..60, ms in 0u64..1000) {
        let text = format!("{h}h{m}m{ms}ms");
        let ns = ((h * 3600 + m * 60) * 1_000_000_000 + ms * 1_000_000) as i64;
        prop_assert_eq!(parse_go_duration(&text), Ok(ns));
    }
}

#[test]
fn cidr_containment_agrees_with_std() {
    for (net, ip, inside) in [
        ("10.0.0.0/8", "10.255.255.255", true),
        ("10.0.0.0/8", "11.0.0.0", false),
        ("192.168.1.0/24", "::ffff:192.168.1.7", true),
        ("::ffff:0:0/96", "8.8.8.8", true),
        ("2001:db8::/32", "2001:db8:ffff::1", true),
        ("2001:db8::/32", "2001:db9::1", false),
    ] {
        let n = parse_cidr(net).unwrap();
        assert_eq!(n.contains_ip(ip.parse().unwrap()), inside, "{net} {ip}");
    }
}
