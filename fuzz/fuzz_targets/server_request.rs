//! Any bytes as a request to the sync server: the query (up to the first newline) and the body (the rest)
//! parse without a panic and within the server's bounds; a body that parses is decoded strictly, as an
//! append's is, into name tables that already hold names, and a refusal leaves the tables as they were.
//!
//! The body is tried as frames as it is, and as one frame around the rest with its checksum made right, so
//! the fuzzer reaches the chunk decoder behind it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewind_domain::{decode_chunk_strict, push_frame, Names};
use rewind_server::request::{AppendBody, AppendQuery, EventsQuery, MAX_APPEND_EVENTS, MAX_READ_EVENTS};

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(0);
    let (query, body) = data.split_at(split);
    let body = body.strip_prefix(b"\n").unwrap_or(body);
    let query = String::from_utf8_lossy(query);
    if let Ok(events) = EventsQuery::parse(Some(&query)) {
        assert!((1..=MAX_READ_EVENTS).contains(&events.limit));
    }
    let after = AppendQuery::parse(Some(&query)).map_or(0, |q| q.decided_on.head);
    check_body(body, after);
    rewind_fuzz::as_is_and_with_checksum(body, |chunk| {
        let mut framed = Vec::with_capacity(chunk.len() + 4);
        push_frame(&mut framed, chunk);
        check_body(&framed, after);
    });
});

fn check_body(body: &[u8], after: u64) {
    let Ok(parsed) = AppendBody::parse(body, after) else { return };
    assert!((1..=MAX_APPEND_EVENTS).contains(&parsed.events));
    assert!(!parsed.chunks.is_empty());
    let mut names = Names::new();
    names.intern_user("alice");
    names.intern_item("apple");
    let before = names.checkpoint();
    let (mut events, mut timestamps) = (Vec::new(), Vec::new());
    let decoded = parsed.chunks.iter().try_for_each(|chunk| {
        decode_chunk_strict(chunk, &mut names, &mut events, &mut timestamps).map(|_| ())
    });
    if decoded.is_ok() {
        assert_eq!(events.len(), parsed.events, "the frames' headers counted the events decoded");
    }
    names.roll_back(before);
    assert_eq!((names.user_count(), names.item_count()), (1, 1), "a roll-back left names behind");
    assert_eq!(names.user("alice").map(|u| u.0), Some(0));
}
