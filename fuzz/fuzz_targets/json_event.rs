//! `JsonEvent::from_str` on arbitrary UTF-8; on success every field of the Linux model is
//! read back through the `Event` trait (whole value and element 0/1), as the VM would.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secl_eval::event::Event;
use secl_eval::json_event::JsonEvent;
use secl_eval::model::Schema;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let ev = match JsonEvent::from_str(text) {
        Ok(ev) => ev,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = ev.event_type();
    let _ = ev.timestamp_ns();
    for f in Schema::linux().fields() {
        let id = f.id;
        let _ = ev.field(id);
        let _ = ev.field_element(id, 0);
        let _ = ev.field_element(id, 1);
    }
});
