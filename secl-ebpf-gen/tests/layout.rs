//! The C header matches the Rust layout, compiles, and asserts the same sizes and
//! offsets; plans survive serialisation.

mod common;

use secl_ebpf_gen::header::c_header;
use secl_ebpf_gen::layout::{self, LAYOUT_VERSION, STR_LEN};
use secl_ebpf_gen::plan::KernelMaps;
use secl_ebpf_gen::{Plan, Profile, compile};
use std::path::Path;

fn header_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include/secl_kfilters.h")
}

#[test]
fn header_is_generated_from_the_layout() {
    let want = c_header();
    if std::env::var_os("SECL_REGEN_HEADER").is_some() {
        std::fs::write(header_path(), &want).unwrap();
    }
    let have = std::fs::read_to_string(header_path()).unwrap_or_default();
    assert!(
        have == want,
        "include/secl_kfilters.h is stale: run `SECL_REGEN_HEADER=1 cargo test -p secl-ebpf-gen --test layout`"
    );
    assert!(want.contains(&format!("#define SECL_KF_LAYOUT_VERSION {LAYOUT_VERSION}")));
    assert!(want.contains(&format!("_Static_assert(sizeof(struct secl_kf_str_key) == {}", 8 + STR_LEN)));
}

#[test]
fn header_compiles_with_its_static_asserts() {
    let cc =
        ["cc", "gcc", "clang"].into_iter().find(|c| std::process::Command::new(c).arg("--version").output().is_ok());
    let Some(cc) = cc else {
        eprintln!("skipping: no C compiler");
        return;
    };
    let dir = std::env::temp_dir().join(format!("secl-kf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("check.c");
    std::fs::write(&src, format!("#include \"{}\"\nint main(void) {{ return 0; }}\n", header_path().display()))
        .unwrap();
    let out = std::process::Command::new(cc)
        .args(["-std=c11", "-Wall", "-Werror", "-fsyntax-only"])
        .arg(&src)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn plans_round_trip() {
    let loaded = common::policy_text(
        r#"
rules:
  - id: a
    expression: open.file.path in ["/etc/shadow", ~"/etc/cron.d/*"] && open.flags & O_CREAT > 0
  - id: b
    expression: connect.addr.ip in [10.0.0.0/8] && connect.addr.port == 22
"#,
    );
    for profile in [Profile::Secl, Profile::Datadog] {
        let plan = compile(&loaded.rules, profile);
        let back = Plan::from_json(&plan.to_json()).unwrap();
        assert_eq!(back, plan);
        assert_eq!(plan.maps, layout::maps(layout::DISCARDER_LRU_SIZE));
    }
    let plan = compile(&loaded.rules, Profile::Secl);
    let maps = KernelMaps::lower(&plan);
    let open_plan = &plan.event_types["open"];
    let open = open_plan.id;
    let slot =
        open_plan.slots.iter().position(|s| s.field == "open.file.path" && s.key.name() == "path").unwrap() as u8;
    // The prefix entry's guards reach longer entries through the LPM lookup.
    assert_ne!(maps.lookup_str(open, slot, b"/etc/cron.d/x"), 0);
    assert_ne!(maps.lookup_str(open, slot, b"/etc/shadow"), 0);
    assert_eq!(maps.lookup_str(open, slot, b"/etc/shadow2"), 0);
    assert_eq!(plan.event_types["exec"].mode, secl_ebpf_gen::Mode::NotHooked);
}

#[test]
fn long_strings_are_cut_to_prefixes() {
    let long = "x".repeat(400);
    let k = layout::str_key(1, 0, long.as_bytes(), true);
    assert_eq!(k.prefixlen as usize, 32 + 8 * (STR_LEN - 1));
    let k = layout::str_key(1, 0, b"abc", true);
    assert_eq!(k.prefixlen, 32 + 8 * 4);
}
