//! The JSON Lines format of CONTRACT §2 and §5: what import accepts (versions 1 and 2, upcast), what export
//! writes (version 2), and the first error with its line number.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use rewind_domain::{encode_jsonl, ImportCheck};

const GOOD: &str = r#"{"v":1,"seq":1,"ts":1763800001000,"type":"ToppedUp","user":"alice","amount":500}
{"v":1,"seq":2,"ts":1763800002000,"type":"ItemAdded","item":"apple","price":30,"qty":10}
{"v":1,"seq":3,"ts":1763800003000,"type":"OrderPlaced","user":"alice","item":"apple","qty":2,"total":60}
"#;

/// The same log as written by this release: version 2, orders with their unit price.
const GOOD_V2: &str = r#"{"v":2,"seq":1,"ts":1763800001000,"type":"ToppedUp","user":"alice","amount":500}
{"v":2,"seq":2,"ts":1763800002000,"type":"ItemAdded","item":"apple","price":30,"qty":10}
{"v":2,"seq":3,"ts":1763800003000,"type":"OrderPlaced","user":"alice","item":"apple","qty":2,"price":30,"total":60}
"#;

fn import(text: &str) -> Result<String, String> {
    ImportCheck::new(text.as_bytes().to_vec())
        .finish()
        .map(|(log, _)| encode_jsonl(&log))
        .map_err(|e| e.to_string())
}

/// The contract's example with line `n` (1-based) replaced.
fn with_line(n: usize, line: &str) -> String {
    GOOD.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == n { line.to_owned() } else { l.to_owned() } + "\n")
        .collect()
}

macro_rules! case {
    ($name:ident $body:block) => {
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        fn $name() $body
    };
}

case!(the_contract_example_is_upcast_and_a_v2_export_round_trips_exactly {
    assert_eq!(import(GOOD).as_deref(), Ok(GOOD_V2));
    assert_eq!(import(GOOD_V2).as_deref(), Ok(GOOD_V2));
});

case!(final_newline_bom_and_crlf_are_accepted {
    assert_eq!(import(GOOD.trim_end()).as_deref(), Ok(GOOD_V2));
    assert_eq!(import(&format!("\u{feff}{GOOD}")).as_deref(), Ok(GOOD_V2));
    assert_eq!(import(&GOOD.replace('\n', "\r\n")).as_deref(), Ok(GOOD_V2));
});

case!(the_state_after_import_is_the_replayed_state {
    let (log, state) = ImportCheck::new(GOOD.as_bytes().to_vec()).finish().unwrap();
    let listing = state.listing(log.names());
    assert_eq!(listing.seq, 3);
    assert_eq!(listing.users, vec![("alice".to_owned(), 440)]);
    assert_eq!(listing.items, vec![("apple".to_owned(), 30, 8)]);
});

fn first_error(text: &str) -> String {
    import(text).expect_err("the file must be refused")
}

case!(an_empty_file_is_an_error {
    assert_eq!(first_error(""), "the file is empty: it holds no events");
    assert_eq!(first_error("\u{feff}"), "the file is empty: it holds no events");
    assert_eq!(first_error("\n"), "line 1: blank line; every line must hold one event");
});

case!(a_blank_line_is_an_error_except_the_final_newline {
    let text = GOOD.replacen('\n', "\n\n", 1);
    assert_eq!(first_error(&text), "line 2: blank line; every line must hold one event");
    assert_eq!(first_error(&format!("{GOOD}\n")), "line 4: blank line; every line must hold one event");
});

case!(a_domain_rule_broken_in_a_line_names_the_line_and_the_rule {
    let line3 = r#"{"v":1,"seq":3,"ts":1763800003000,"type":"OrderPlaced","user":"alice","item":"apple","qty":20,"total":600}"#;
    assert_eq!(first_error(&with_line(3, line3)), "line 3: OrderPlaced: apple has 10 in stock, the order wants 20");
    let poor = with_line(1, r#"{"v":1,"seq":1,"ts":1763800001000,"type":"ToppedUp","user":"alice","amount":40}"#);
    assert_eq!(first_error(&poor), "line 3: OrderPlaced: alice has 40, the order costs 60");
});

case!(a_wrong_recorded_total_is_an_error {
    let line3 = r#"{"v":1,"seq":3,"ts":1763800003000,"type":"OrderPlaced","user":"alice","item":"apple","qty":2,"total":50}"#;
    assert_eq!(first_error(&with_line(3, line3)), "line 3: OrderPlaced: the recorded total is 50, but 2 at 30 costs 60");
});

case!(seq_must_be_gapless_from_one {
    let line2 = r#"{"v":1,"seq":3,"ts":1763800002000,"type":"ItemAdded","item":"apple","price":30,"qty":10}"#;
    assert_eq!(first_error(&with_line(2, line2)), "line 2: seq is 3, expected 2");
});

case!(numbers_must_be_plain_integers {
    for bad in ["500.0", "5e2", "-500", "\"500\"", "null", "18446744073709551616"] {
        let line = format!(r#"{{"v":1,"seq":1,"ts":1763800001000,"type":"ToppedUp","user":"alice","amount":{bad}}}"#);
        let err = first_error(&with_line(1, &line));
        assert!(err.starts_with("line 1: invalid "), "{bad}: {err}");
    }
});

case!(fields_must_be_exactly_those_of_the_type {
    let extra = r#"{"v":1,"seq":1,"ts":1,"type":"ToppedUp","user":"alice","amount":500,"qty":1}"#;
    assert_eq!(first_error(&with_line(1, extra)), r#"line 1: ToppedUp has no field "qty""#);
    let unknown = r#"{"v":1,"seq":1,"ts":1,"type":"ToppedUp","user":"alice","amount":500,"note":"hi"}"#;
    assert!(first_error(&with_line(1, unknown)).starts_with("line 1: unknown field `note`"));
    let missing = r#"{"v":1,"seq":1,"ts":1,"type":"ToppedUp","user":"alice"}"#;
    assert_eq!(first_error(&with_line(1, missing)), r#"line 1: ToppedUp needs the field "amount""#);
    let twice = r#"{"v":1,"seq":1,"ts":1,"type":"ToppedUp","user":"alice","amount":5,"amount":6}"#;
    assert!(first_error(&with_line(1, twice)).starts_with("line 1: duplicate field `amount`"));
    let no_ts = r#"{"v":1,"seq":1,"type":"ToppedUp","user":"alice","amount":5}"#;
    assert!(first_error(&with_line(1, no_ts)).starts_with("line 1: missing field `ts`"));
});

case!(version_type_and_ids_are_checked {
    let v3 = r#"{"v":3,"seq":1,"ts":1,"type":"ToppedUp","user":"alice","amount":5}"#;
    assert_eq!(first_error(&with_line(1, v3)), "line 1: unknown format version v=3; this reads versions 1 and 2");
    let kind = r#"{"v":2,"seq":1,"ts":1,"type":"Returned","user":"alice","amount":5}"#;
    assert!(first_error(&with_line(1, kind)).starts_with("line 1: unknown event type \"Returned\""));
    let v2_only = r#"{"v":1,"seq":1,"ts":1,"type":"Withdrawn","user":"alice","amount":5}"#;
    assert_eq!(first_error(&with_line(1, v2_only)), "line 1: Withdrawn is a version 2 event: write it with \"v\":2");
    let id = r#"{"v":1,"seq":1,"ts":1,"type":"ToppedUp","user":"al ice","amount":5}"#;
    assert!(first_error(&with_line(1, id)).starts_with("line 1: ToppedUp: user id \"al ice\" contains ' '"));
});

case!(broken_json_names_the_line_and_column {
    let err = first_error(&with_line(2, r#"{"v":1,"seq":2,"#));
    assert!(err.starts_with("line 2: EOF while parsing"), "{err}");
    let err = first_error("not json");
    assert!(err.starts_with("line 1: expected"), "{err}");
});

case!(incremental_checking_reports_progress {
    let mut check = ImportCheck::new(GOOD.as_bytes().to_vec());
    let p = check.advance(2).unwrap();
    assert_eq!(p.events, 2);
    assert!(p.bytes_done < p.bytes_total);
    assert_eq!(check.advance(10).unwrap().bytes_done, GOOD.len());
    assert!(check.is_done());
});

case!(an_export_in_pieces_joins_to_the_whole_log {
    let (log, _) = ImportCheck::new(GOOD.as_bytes().to_vec()).finish().unwrap();
    let pieces: Vec<String> = rewind_domain::encode_jsonl_pieces(&log, 2).collect();
    assert_eq!(pieces.len(), 2);
    assert_eq!(pieces.concat(), GOOD_V2);
    assert_eq!(rewind_domain::encode_jsonl_pieces(&rewind_domain::Log::new(), 2).count(), 0);
});

// ---- CONTRACT §5: version 2 and upcasting ----

/// Every v2 event type, as export writes it.
const ALL_V2: &str = r#"{"v":2,"seq":1,"ts":1,"type":"ToppedUp","user":"alice","amount":500}
{"v":2,"seq":2,"ts":2,"type":"ItemAdded","item":"apple","price":30,"qty":10}
{"v":2,"seq":3,"ts":3,"type":"OrderPlaced","user":"alice","item":"apple","qty":2,"price":30,"total":60}
{"v":2,"seq":4,"ts":4,"type":"Refunded","order":3,"user":"alice","item":"apple","qty":2,"total":60}
{"v":2,"seq":5,"ts":5,"type":"Withdrawn","user":"alice","amount":100}
{"v":2,"seq":6,"ts":6,"type":"WrittenOff","item":"apple","qty":3}
{"v":2,"seq":7,"ts":7,"type":"PriceSet","item":"apple","price":45}
"#;

case!(every_v2_event_round_trips_and_folds {
    assert_eq!(import(ALL_V2).as_deref(), Ok(ALL_V2));
    let (log, state) = ImportCheck::new(ALL_V2.as_bytes().to_vec()).finish().unwrap();
    let listing = state.listing(log.names());
    assert_eq!(listing.users, vec![("alice".to_owned(), 400)]);
    assert_eq!(listing.items, vec![("apple".to_owned(), 45, 7)]);
});

case!(v1_and_v2_lines_mix_and_v1_orders_get_their_unit_price {
    let mixed = "{\"v\":1,\"seq\":1,\"ts\":1,\"type\":\"ToppedUp\",\"user\":\"alice\",\"amount\":500}\n\
                 {\"v\":2,\"seq\":2,\"ts\":2,\"type\":\"ItemAdded\",\"item\":\"apple\",\"price\":30,\"qty\":10}\n\
                 {\"v\":1,\"seq\":3,\"ts\":3,\"type\":\"OrderPlaced\",\"user\":\"alice\",\"item\":\"apple\",\"qty\":2,\"total\":60}\n\
                 {\"v\":2,\"seq\":4,\"ts\":4,\"type\":\"Refunded\",\"order\":3,\"user\":\"alice\",\"item\":\"apple\",\"qty\":2,\"total\":60}\n";
    let out = import(mixed).unwrap();
    assert!(out.contains(r#""type":"OrderPlaced","user":"alice","item":"apple","qty":2,"price":30,"total":60}"#), "{out}");
    assert!(out.lines().all(|l| l.starts_with(r#"{"v":2,"#)));
});

case!(a_v1_order_whose_total_is_no_multiple_of_its_qty_is_an_error_with_its_line {
    let uneven = r#"{"v":1,"seq":3,"ts":1763800003000,"type":"OrderPlaced","user":"alice","item":"apple","qty":2,"total":61}"#;
    assert_eq!(first_error(&with_line(3, uneven)), "line 3: OrderPlaced: a version 1 order's total 61 is not a multiple of its qty 2");
});

case!(v2_lines_hold_exactly_their_fields {
    let no_price = r#"{"v":2,"seq":3,"ts":1,"type":"OrderPlaced","user":"alice","item":"apple","qty":2,"total":60}"#;
    assert_eq!(first_error(&with_line(3, no_price)), "line 3: OrderPlaced needs the field \"price\"");
    let wrong_price = r#"{"v":2,"seq":3,"ts":1,"type":"OrderPlaced","user":"alice","item":"apple","qty":2,"price":31,"total":60}"#;
    assert_eq!(first_error(&with_line(3, wrong_price)), "line 3: OrderPlaced: the order records a price of 31, but apple costs 30");
    let repriced = r#"{"v":2,"seq":3,"ts":1,"type":"OrderPlaced","user":"alice","item":"apple","qty":2,"price":31,"total":62}"#;
    assert_eq!(first_error(&with_line(3, repriced)), "line 3: OrderPlaced: the recorded total is 62, but 2 at 30 costs 60");
    let extra = r#"{"v":2,"seq":3,"ts":1,"type":"WrittenOff","item":"apple","qty":2,"price":30}"#;
    assert_eq!(first_error(&with_line(3, extra)), "line 3: WrittenOff has no field \"price\"");
});

case!(an_imported_refund_is_checked_against_its_order {
    let twice = format!("{ALL_V2}{}\n", r#"{"v":2,"seq":8,"ts":8,"type":"Refunded","order":3,"user":"alice","item":"apple","qty":2,"total":60}"#);
    assert_eq!(first_error(&twice), "line 8: Refunded: order #3 was already refunded (#4)");
    let not_order = format!("{GOOD}{}\n", r#"{"v":2,"seq":4,"ts":4,"type":"Refunded","order":2,"user":"alice","item":"apple","qty":2,"total":60}"#);
    assert_eq!(first_error(&not_order), "line 4: Refunded: event #2 is not an order, so it cannot be refunded");
});

/// What the first release exported and stored (kept as test data): it opens in this one, upcast.
const V1_LOG: &str = include_str!("data/v1-log.jsonl");
const V1_CHUNK: &str = include_str!("data/v1-chunk.hex");
const V1_SNAPSHOT: &str = include_str!("data/v1-snapshot.hex");

fn unhex(text: &str) -> Vec<u8> {
    let t = text.trim();
    (0..t.len() / 2).map(|i| u8::from_str_radix(&t[i * 2..i * 2 + 2], 16).unwrap()).collect()
}

case!(a_chunk_and_a_snapshot_stored_by_the_first_release_open_upcast {
    let (from_file, state) = ImportCheck::new(V1_LOG.as_bytes().to_vec()).finish().unwrap();
    let (mut log, mut live) = (rewind_domain::Log::new(), rewind_domain::State::new());
    assert_eq!(log.extend_from_chunk(&mut live, &unhex(V1_CHUNK)).unwrap(), 6);
    assert_eq!(encode_jsonl(&log), encode_jsonl(&from_file));
    assert!(encode_jsonl(&log).contains(r#""qty":3,"price":25,"total":75}"#));
    let (names, snap) = rewind_domain::decode_snapshot(&unhex(V1_SNAPSHOT)).unwrap();
    assert_eq!(snap.listing(&names), state.listing(from_file.names()));
    assert_eq!(live.listing(log.names()), state.listing(from_file.names()));
});
