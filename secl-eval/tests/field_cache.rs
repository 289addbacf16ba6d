//! With the field cache on, verdicts are unchanged and each field is read at most once
//! per evaluation.

use secl_eval::event::{Event, Value};
use secl_eval::json_event::JsonEvent;
use secl_eval::load::{Host, load};
use secl_eval::model::FieldId;
use secl_eval::ruleset::RuleSet;
use secl_syntax::SourceFile;
use secl_syntax::policy::parse_policy;
use std::cell::RefCell;
use std::collections::HashMap;

struct Counting {
    inner: JsonEvent,
    reads: RefCell<HashMap<FieldId, usize>>,
}

impl Event for Counting {
    fn event_type(&self) -> &str {
        self.inner.event_type()
    }
    fn field(&self, id: FieldId) -> Value<'_> {
        *self.reads.borrow_mut().entry(id).or_default() += 1;
        self.inner.field(id)
    }
}

#[test]
fn cached_fields_are_read_once_and_verdicts_do_not_change() {
    let text = r#"
rules:
  - id: a
    expression: exec.file.name in ["nc", "ncat"] && exec.file.path != "/bin/nc"
  - id: b
    expression: exec.file.name == "nc" && process.ancestors.file.name == "cron"
  - id: c
    expression: exec.file.name != "ls" && exec.file.path =~ "/usr/bin/*"
  - id: d
    expression: exec.file.name != exec.comm
"#;
    let (p, _) = parse_policy(SourceFile::new("p", text), false);
    let mut rs = RuleSet::new(load(&[p.unwrap()], &Host::default()));
    let ev = || Counting {
        inner: JsonEvent::from_str(
            r#"{"type":"exec","values":{"exec.file.path":"/usr/bin/nc","process.ancestors.file.name":["sh","cron"]}}"#,
        )
        .unwrap(),
        reads: RefCell::new(HashMap::new()),
    };
    let plain = ev();
    let mut st = rs.new_state();
    let want: Vec<u32> = rs.evaluate(&plain, &mut st).matched.to_vec();
    assert_eq!(want.len(), 4);
    assert!(plain.reads.borrow().values().any(|n| *n > 1), "without the cache some field is read twice");
    rs.set_field_cache(true);
    let cached = ev();
    let mut st = rs.new_state();
    assert_eq!(rs.evaluate(&cached, &mut st).matched, &want[..]);
    assert!(cached.reads.borrow().values().all(|n| *n == 1), "{:?}", cached.reads.borrow());
}
