//! Any bytes fed to the JSON Lines import: it never panics, and a file it accepts exports to text that
//! imports again to the same log and state, losing nothing the file said (CONTRACT §2).
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

    // Nothing lost: each exported line holds exactly the JSON value of the line it came from.
    let source = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let source = source.strip_suffix(b"\n").unwrap_or(source);
    let lines: Vec<&[u8]> = source.split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    let exported: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), exported.len(), "one exported line per imported line");
    for (n, (line, out)) in lines.iter().zip(&exported).enumerate() {
        let (Ok(a), Ok(b)) = (serde_json::from_slice::<Value>(line), serde_json::from_str::<Value>(out)) else {
            panic!("line {} was accepted but is not plain JSON, or its export is not", n + 1);
        };
        assert_eq!(a, b, "line {} changed on export", n + 1);
    }
});
