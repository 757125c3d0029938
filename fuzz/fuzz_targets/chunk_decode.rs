//! Any bytes as a stored chunk: decoding never panics, a refused chunk adds nothing, and what a log keeps
//! from a chunk is a valid history that re-encodes (binary and JSON Lines) to the same events.
//!
//! Each input is tried as it is and with its last 4 bytes replaced by the right CRC-32, so the fuzzer reaches
//! the parser behind the checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewind_domain::{decode_chunk, encode_chunk, encode_jsonl, ImportCheck, Log, Names, State};

fuzz_target!(|data: &[u8]| rewind_fuzz::as_is_and_with_checksum(data, check));

fn check(bytes: &[u8]) {
    let (mut names, mut events, mut timestamps) = (Names::new(), Vec::new(), Vec::new());
    match decode_chunk(bytes, &mut names, &mut events, &mut timestamps) {
        Ok(info) => {
            assert_eq!(info.count, events.len() as u64, "the chunk's count is the events decoded");
            assert_eq!(events.len(), timestamps.len());
        }
        Err(_) => assert!(events.is_empty() && timestamps.is_empty(), "a refused chunk added events"),
    }

    let (mut log, mut live) = (Log::new(), State::new());
    let result = log.extend_from_chunk(&mut live, bytes);
    assert_eq!(live.seq(), log.len(), "the live state is after every kept event");
    let replayed = match log.replay() {
        Ok(state) => state,
        Err(e) => panic!("a log kept an event that breaks a rule: {e}"),
    };
    assert_eq!(replayed.listing(log.names()), live.listing(log.names()), "replay differs from the live state");
    if result.is_err() || log.is_empty() {
        return;
    }

    let again = encode_chunk(log.names(), 1, log.events(), log.timestamps());
    let (mut back, mut back_live) = (Log::new(), State::new());
    if let Err(e) = back.extend_from_chunk(&mut back_live, &again) {
        panic!("a re-encoded chunk is refused: {e}");
    }
    let text = encode_jsonl(&log);
    assert_eq!(encode_jsonl(&back), text, "chunk → decode → encode → decode changed the events");
    // A stored log always exports to a file that imports.
    match ImportCheck::new(text.clone().into_bytes()).finish() {
        Ok((imported, state)) => {
            assert_eq!(encode_jsonl(&imported), text);
            assert_eq!(state.listing(imported.names()), live.listing(log.names()));
        }
        Err(e) => panic!("the export of a stored chunk is refused on import: {e}\n{text}"),
    }
}
