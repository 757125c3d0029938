//! Any bytes fed to the JSON Lines import: it never panics, and a file it accepts exports to text that
//! imports again to the same log and state, losing nothing the file said (CONTRACT §2 and §5: a version 1
//! line comes back as version 2, an order with its unit price).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewind_domain::{encode_jsonl, ImportCheck};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let mut check = ImportCheck::new(data.to_vec());
    while !check.is_done() {
        if check.advance(1000).is_err() {
            return;
        }
    }
    let Ok((log, state)) = check.finish() else { return };
    assert_eq!(state.seq(), log.len(), "the state is after every imported event");

    let text = encode_jsonl(&log);
    let (back, back_state) = match ImportCheck::new(text.clone().into_bytes()).finish() {
        Ok(imported) => imported,
        Err(e) => panic!("the export of an accepted import is refused: {e}\n{text}"),
    };
    assert_eq!(encode_jsonl(&back), text, "export → import → export changed the text");
    assert_eq!(back_state.listing(back.names()), state.listing(log.names()), "export → import changed the state");

    // Nothing lost: each exported line holds exactly the JSON value of the line it came from, upcast.
    let source = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let source = source.strip_suffix(b"\n").unwrap_or(source);
    let lines: Vec<&[u8]> = source.split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    let exported: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), exported.len(), "one exported line per imported line");
    for (n, (line, out)) in lines.iter().zip(&exported).enumerate() {
        let (Ok(mut a), Ok(b)) = (serde_json::from_slice::<Value>(line), serde_json::from_str::<Value>(out)) else {
            panic!("line {} was accepted but is not plain JSON, or its export is not", n + 1);
        };
        upcast(&mut a);
        assert_eq!(a, b, "line {} changed on export", n + 1);
    }
});

/// A version 1 line as version 2 says it: `"v":2`, and an order with its unit price (total / qty).
fn upcast(line: &mut Value) {
    if line["v"] != 1 {
        return;
    }
    line["v"] = Value::from(2);
    if line["type"] == "OrderPlaced" {
        if let (Some(total), Some(qty)) = (line["total"].as_u64(), line["qty"].as_u64()) {
            line["price"] = Value::from(total / qty.max(1));
        }
    }
}
