//! Any bytes as a stored snapshot: decoding never panics, a decoded state keeps the contract's ranges, and
//! re-encoding it decodes to the same shop and re-encodes to the same bytes.
//!
//! Each input is tried as it is and with its last 4 bytes replaced by the right CRC-32, so the fuzzer reaches
//! the parser behind the checksum.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rewind_domain::{decode_snapshot, encode_snapshot, MAX};

fuzz_target!(|data: &[u8]| rewind_fuzz::as_is_and_with_checksum(data, check));

fn check(bytes: &[u8]) {
    let Ok((names, state)) = decode_snapshot(bytes) else { return };
    assert!(state.seq() <= MAX);
    for (_, balance) in state.users() {
        assert!(balance.0 <= MAX, "a balance above MAX");
    }
    for (_, price, stock) in state.items() {
        assert!((1..=MAX).contains(&price.0) && stock.0 <= MAX, "a price or stock out of range");
    }
    let listing = state.listing(&names);

    let again = encode_snapshot(&state, &names);
    let (names2, state2) = match decode_snapshot(&again) {
        Ok(decoded) => decoded,
        Err(e) => panic!("a re-encoded snapshot is refused: {e}"),
    };
    assert_eq!(state2.listing(&names2), listing, "snapshot → decode → encode → decode changed the shop");
    assert_eq!(encode_snapshot(&state2, &names2), again, "re-encoding is not stable");
}
