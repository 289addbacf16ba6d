use secl_eval::model::{ConstValue, FieldId, ITERABLE_PREFIXES, PathKind, ScalarType, Schema, host_field, host_fields};
use std::path::Path;

fn s() -> &'static Schema {
    Schema::linux()
}

#[test]
fn embedded_copy_matches_shared_model() {
    let shared = Path::new("/work/shared/model");
    if !shared.is_dir() {
        println!("skipping: {} not present", shared.display());
        return;
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("model");
    for name in ["fields.tsv", "constants.tsv"] {
        let a = std::fs::read(shared.join(name)).unwrap();
        let b = std::fs::read(local.join(name)).unwrap();
        assert!(a == b, "secl-eval/model/{name} differs from the shared model");
    }
}

#[test]
fn counts_and_ids() {
    assert_eq!(s().fields().len(), 2350);
    for (i, f) in s().fields().iter().enumerate() {
        assert_eq!(f.id, FieldId(i as u16));
        assert_eq!(s().field_by_id(f.id).name, f.name);
        assert_eq!(s().field(&f.name).unwrap().id, f.id);
    }
}

#[test]
fn field_attributes() {
    let f = s().field("open.file.path").unwrap();
    assert_eq!(f.event_type.as_deref(), Some("open"));
    assert_eq!((f.ty, f.is_array, f.path_kind), (ScalarType::Str, false, PathKind::Path));
    assert_eq!(s().field("open.file.name").unwrap().path_kind, PathKind::Basename);
    assert_eq!(s().field("open.syscall.path").unwrap().path_kind, PathKind::SyscallPath);
    assert_eq!(s().field("open.flags").unwrap().constants.as_deref(), Some("Open flags"));

    let f = s().field("process.pid").unwrap();
    assert_eq!(f.event_type, None);
    assert_eq!(f.ty, ScalarType::Int);

    let f = s().field("exec.argv").unwrap();
    assert!(f.is_array);
    let f = s().field("dns.response.ips").unwrap();
    assert_eq!((f.ty, f.is_array), (ScalarType::Ip, true));
    assert_eq!(s().field("fim.write.file.path").unwrap().event_type.as_deref(), Some("fim"));
}

#[test]
fn restricted_network_fields() {
    let mut n = 0;
    for f in s().fields() {
        if f.name.starts_with("network.") {
            n += 1;
            assert_eq!(
                f.restricted_to.as_deref(),
                Some(&["dns".to_string(), "imds".into(), "packet".into()][..]),
                "{}",
                f.name
            );
            assert_eq!(f.event_type, None);
        } else {
            assert_eq!(f.restricted_to, None, "{}", f.name);
        }
    }
    assert_eq!(n, 13);
}

#[test]
fn case_insensitive_and_extension_fields() {
    let ci: Vec<&str> = s().fields().iter().filter(|f| f.case_insensitive).map(|f| f.name.as_str()).collect();
    let mut ci = ci;
    ci.sort();
    assert_eq!(ci, ["dns.question.name", "dns.question.name.root_domain", "dns.response.cnames"]);
    assert_eq!(ci.len(), 3);
    let ext: Vec<&str> = s().fields().iter().filter(|f| f.is_extension).map(|f| f.name.as_str()).collect();
    // 46 real fields (SPEC §5.6) plus the fim pseudo field.
    assert_eq!(ext.len(), 47);
    assert!(ext.contains(&"open.file.extension"));
    assert!(ext.contains(&"rename.file.destination.extension"));
    assert!(ext.contains(&"process.ancestors.interpreter.file.extension"));
}

#[test]
fn iterators() {
    for p in ITERABLE_PREFIXES {
        assert!(s().is_iterable_prefix(p));
        let len = s().field(&format!("{p}.length")).unwrap();
        assert_eq!(len.iterator, None);
        assert_eq!(len.ty, ScalarType::Int);
        assert!(!len.is_array);
    }
    assert!(!s().is_iterable_prefix("process"));
    assert!(!s().is_iterable_prefix("process.ancestors.file"));
    let f = s().field("process.ancestors.file.name").unwrap();
    assert_eq!(f.iterator.as_deref(), Some("process.ancestors"));
    assert!(f.is_array);
    let f = s().field("ptrace.tracee.ancestors.file.name").unwrap();
    assert_eq!(f.iterator.as_deref(), Some("ptrace.tracee.ancestors"));
    let f = s().field("network_flow_monitor.flows.destination.ip").unwrap();
    assert_eq!(f.iterator.as_deref(), Some("network_flow_monitor.flows"));
    assert_eq!(s().field("ptrace.tracee.file.name").unwrap().iterator, None);
    assert_eq!(s().field("process.file.name").unwrap().iterator, None);
    // Every iterator field evaluates as an array.
    for f in s().fields() {
        if f.iterator.is_some() {
            assert!(f.is_array, "{}", f.name);
        }
    }
}

#[test]
fn timestamps() {
    assert!(s().field("event.timestamp").unwrap().is_timestamp);
    assert!(s().field("process.created_at").unwrap().is_timestamp);
    assert!(s().field("exec.file.modification_time").unwrap().is_timestamp);
    assert!(!s().field("process.pid").unwrap().is_timestamp);
}

#[test]
fn legacy_names() {
    assert_eq!(s().legacy_rewrite("exec.filename"), Some("exec.file.path"));
    assert_eq!(s().legacy_rewrite("exec.file.path"), None);
    assert_eq!(s().lookup("exec.filename").unwrap().name, "exec.file.path");
    assert_eq!(s().lookup("process.ancestors.name").unwrap().name, "process.ancestors.comm");
    assert_eq!(s().lookup("async").unwrap().name, "event.async");
    assert_eq!(s().lookup("rename.new.filename").unwrap().name, "rename.file.destination.path");
    // Listed in the model table too, but the rewrite wins (SPEC §17).
    assert!(s().field("container.created_at").is_some());
    assert_eq!(s().lookup("container.created_at").unwrap().name, "process.container.created_at");
    assert_eq!(s().lookup("cgroup.file.inode").unwrap().name, "process.cgroup.file.inode");
    // The reference keeps this legacy name, but its target is gone from the model.
    assert_eq!(s().legacy_rewrite("exec.overlay_numlower"), Some("exec.file.overlay_numlower"));
    assert!(s().lookup("exec.overlay_numlower").is_none());
    assert!(s().lookup("open.file.pth").is_none());
    assert_eq!(s().lookup("open.file.path").unwrap().name, "open.file.path");
}

#[test]
fn constants() {
    let c = s().constant("O_RDWR").unwrap();
    assert_eq!(c.value, ConstValue::Int(2));
    assert_eq!(c.set, "Open flags");
    assert_eq!(s().constant("CAP_SYS_ADMIN").unwrap().value, ConstValue::Int(1 << 21));
    assert_eq!(s().constant("EACCES").unwrap().value, ConstValue::Int(-13));
    assert_eq!(s().constant("EILSEQ").unwrap().value, ConstValue::Int(-84));
    assert_eq!(s().constant("AUDIT_AUID_UNSET").unwrap().value, ConstValue::Int(4294967295));
    assert_eq!(s().constant("true").unwrap().value, ConstValue::Bool(true));
    assert_eq!(s().constant("false").unwrap().value, ConstValue::Bool(false));
    assert_eq!(s().constant("CWS_MAP_NAMES").unwrap().value, ConstValue::StrArray(vec![]));
    // Later rows win.
    assert_eq!(s().constant("NONE").unwrap().set, "LinkageType");
    assert_eq!(s().constant("unknown").unwrap().set, "UserSessionTypes");
    assert_eq!(s().constant("BPF_MAP_LOOKUP_ELEM").unwrap().set, "BPF helper functions");
    assert_eq!(s().constant("BPF_CGROUP_INET_INGRESS").unwrap().value, ConstValue::Int(1));
    assert_eq!(s().constant("ssh").unwrap().value, ConstValue::Int(2));
    assert!(s().constant("O_NOPE").is_none());
    assert_eq!(s().constants().len(), 1337);
}

#[test]
fn event_types() {
    let t = s().event_types();
    assert!(t.windows(2).all(|w| w[0] < w[1]));
    assert!(!t.contains(&"common"));
    for e in ["open", "exec", "fim", "dns", "packet", "imds", "network_flow_monitor"] {
        assert!(t.contains(&e), "{e}");
    }
    assert_eq!(t.len(), 43);
}

#[test]
fn suggestions() {
    assert_eq!(s().suggest_field("process.file.nam"), Some("process.file.name"));
    assert_eq!(s().suggest_field("open.file.pth"), Some("open.file.path"));
    assert_eq!(s().suggest_field("exec.file.pathname"), Some("exec.file.path"));
    assert_eq!(s().suggest_field("exec.filenme"), Some("exec.file.path"));
    assert_eq!(s().suggest_field("Open.File.Path"), Some("open.file.path"));
    assert_eq!(s().suggest_field("completely.unrelated.thing"), None);
    assert_eq!(s().suggest_field(""), None);
    assert_eq!(s().suggest_constant("O_RDWRR"), Some("O_RDWR"));
    assert_eq!(s().suggest_constant("SIGKIL"), Some("SIGKILL"));
    assert_eq!(s().suggest_constant("o_creat"), Some("O_CREAT"));
    assert_eq!(s().suggest_constant("ZZZZZZZZZZZZZZ"), None);
}

#[test]
fn host_model() {
    assert_eq!(host_fields().len(), 23);
    assert!(host_field("envs").unwrap().is_array);
    assert_eq!(host_field("kernel.version.major").unwrap().ty, ScalarType::Int);
    assert_eq!(host_field("os.is_cos").unwrap().ty, ScalarType::Bool);
    assert_eq!(host_field("os").unwrap().ty, ScalarType::Str);
    assert!(host_field("process.pid").is_none());
}

#[test]
fn schema_from_bad_tables() {
    assert!(Schema::from_tsv("", "").is_err());
    let hdr_f = "event_type\tfield\ttype\tis_array\tpath_kind\tconstants\tdescription\n";
    let hdr_c = "name\tvalue\tset\tnote\n";
    assert!(Schema::from_tsv(&format!("{hdr_f}open\tx\tfloat\t0\t\t\t\n"), hdr_c).is_err());
    assert!(Schema::from_tsv(&format!("{hdr_f}open\tx\tint\t0\t\t\n"), hdr_c).is_err());
    assert!(Schema::from_tsv(hdr_f, &format!("{hdr_c}A\tx\ts\t\n")).is_err());
    let ok = Schema::from_tsv(&format!("{hdr_f}open\tx\tint\t0\t\t\t\n"), &format!("{hdr_c}A\t1\ts\t\nA\t2\tt\t\n"))
        .unwrap();
    assert_eq!(ok.constant("A").unwrap().value, ConstValue::Int(2));
    assert_eq!(ok.event_types(), ["open"]);
}
