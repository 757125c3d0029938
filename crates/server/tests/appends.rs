//! Appends through the server copies: concurrent writers keep the stream gapless and unique, and every
//! refusal leaves the stream as it was.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

mod common;

use common::client::{top_up, Api, Mirror, Reply};
use common::redis::RedisProcess;
use common::ServerProcess;
use rewind_domain::{
    decode_frames, encode_frames, generate_log, push_jsonl_line, Command, Event, Log, Money, Qty, State,
};
use std::collections::{BTreeMap, BTreeSet};

const CLIENTS: u64 = 4;
const APPENDS: u64 = 250;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_keep_a_thousand_concurrent_appends_gapless_and_unique() {
    let redis = RedisProcess::start();
    let copies = [ServerProcess::start(&redis.url(), &[]).await, ServerProcess::start(&redis.url(), &[]).await];
    let writers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let api = copies[(c % 2) as usize].api();
            tokio::spawn(async move {
                let mut page = Mirror::default();
                page.sync(&api).await.unwrap();
                let user = format!("c{c}");
                let mut acked = Vec::new();
                for amount in 1..=APPENDS {
                    acked.push((page.append(&api, &top_up(&user, amount)).await, amount));
                }
                (user, acked)
            })
        })
        .collect();
    let mut acked = Vec::new();
    for writer in writers {
        acked.push(writer.await.unwrap());
    }

    let stream = redis.stream().await;
    assert_eq!(stream.len() as u64, CLIENTS * APPENDS);
    let (mut log, mut live) = (Log::new(), State::new());
    for (ix, (id, line)) in stream.iter().enumerate() {
        assert_eq!(id, &format!("{}-0", ix + 1), "entry ids are the seqs, gapless");
        push_jsonl_line(&mut log, &mut live, line.as_bytes()).unwrap();
    }
    let mut amounts: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for event in log.events() {
        let Event::ToppedUp { user, amount } = *event else { panic!("only top-ups were sent, found {event:?}") };
        amounts.entry(log.names().user_name(user)).or_default().push(amount.0);
    }
    let mut seqs = BTreeSet::new();
    for (user, acks) in &acked {
        let mut stored = amounts[user.as_str()].clone();
        stored.sort_unstable();
        assert_eq!(stored, (1..=APPENDS).collect::<Vec<_>>(), "{user}'s amounts, each exactly once");
        assert_eq!(acks.len() as u64, APPENDS);
        for &(seq, amount) in acks {
            assert!(seqs.insert(seq), "seq {seq} was acknowledged twice");
            let expected = Event::ToppedUp { user: log.names().user(user).unwrap(), amount: Money(amount) };
            assert_eq!(log.get(seq).unwrap().event, expected, "the acknowledged seq holds the event");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_store_nothing_and_say_why() {
    let redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &[]).await;
    let api = server.api();
    let mut page = Mirror::default();
    page.sync(&api).await.unwrap();
    page.append(&api, &top_up("alice", 100)).await;
    page.append(&api, &Command::AddItem { item: "apple".into(), price: 30, qty: 10 }).await;
    let order = page.append(&api, &Command::Order { user: "alice".into(), item: "apple".into(), qty: 2 }).await;
    page.append(&api, &Command::Refund { order }).await;
    let stored = redis.stream_len().await;
    assert_eq!(stored, 4);

    // What the page itself would say to the two commands refused below.
    let too_dear = page.log.decide(&page.live, &Command::Order { user: "alice".into(), item: "apple".into(), qty: 5 });
    let again = page.log.decide(&page.live, &Command::Refund { order });
    let version = page.version();
    let query = format!("epoch={}&after={}", version.epoch, version.head);
    let alice = page.log.names().user("alice").unwrap();
    let apple = page.log.names().item("apple").unwrap();
    let frames_at =
        |first_seq: u64, event: Event| encode_frames(page.log.names(), first_seq, &[event], &[1_763_800_000_000]);
    let next = version.head + 1;
    let refused = |reply: &Reply, status: u16, what: &str| {
        assert_eq!(reply.status, status, "{what}: {reply:?}");
        assert!(!reply.message().is_empty(), "{what}: the answer says why");
    };

    // An order alice cannot pay: the page's own words.
    let greedy = Event::OrderPlaced { user: alice, item: apple, qty: Qty(5), price: Money(30), total: Money(150) };
    let reply = api.post_append(&query, frames_at(next, greedy)).await.unwrap();
    refused(&reply, 422, "too little money");
    assert_eq!(reply.message(), too_dear.unwrap_err().to_string());

    // The order was refunded already.
    let refund = Event::Refunded { order, user: alice, item: apple, qty: Qty(2), total: Money(60) };
    let reply = api.post_append(&query, frames_at(next, refund)).await.unwrap();
    refused(&reply, 422, "refunded twice");
    assert_eq!(reply.message(), again.unwrap_err().to_string());

    let fine = Event::ToppedUp { user: alice, amount: Money(5) };
    // Decided on a log that has moved on since.
    let reply = api
        .post_append(&format!("epoch={}&after={}", version.epoch, version.head - 1), frames_at(version.head, fine))
        .await
        .unwrap();
    refused(&reply, 409, "stale after");
    assert_eq!((reply.body["epoch"].as_u64(), reply.body["head"].as_u64()), (Some(version.epoch), Some(version.head)));
    // Decided on another log.
    let reply = api
        .post_append(&format!("epoch={}&after={}", version.epoch + 1, version.head), frames_at(next, fine))
        .await
        .unwrap();
    refused(&reply, 409, "wrong epoch");
    assert_eq!(reply.body["epoch"].as_u64(), Some(version.epoch));

    refused(&api.post_append(&query, b"these are not frames".to_vec()).await.unwrap(), 400, "not frames");
    refused(&api.post_append(&query, Vec::new()).await.unwrap(), 400, "empty body");
    let mut damaged = frames_at(next, fine);
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    refused(&api.post_append(&query, damaged).await.unwrap(), 400, "damaged chunk");
    refused(&api.post_append(&query, frames_at(next + 1, fine)).await.unwrap(), 400, "gap in seq");
    let mut two = frames_at(next, fine);
    two.extend(frames_at(next + 2, fine));
    refused(&api.post_append(&query, two).await.unwrap(), 400, "gap between chunks");
    for bad_query in ["", "epoch=1", &format!("after={}", version.head), &format!("epoch=x&after={}", version.head)] {
        refused(
            &api.post_append(bad_query, frames_at(next, fine)).await.unwrap(),
            400,
            &format!("query {bad_query:?}"),
        );
    }
    assert_eq!(redis.stream_len().await, stored, "no refusal stored anything");

    // And the log still takes a good append.
    assert_eq!(api.post_append(&query, frames_at(next, fine)).await.unwrap().status, 200);
    assert_eq!(redis.stream_len().await, stored + 1);
    assert_eq!(Api::new(server.base()).version().await.unwrap().head, stored + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_sized_append_is_stored_whole_and_read_back_alike() {
    let redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &[]).await;
    let api = server.api();
    let epoch = api.version().await.unwrap().epoch;
    let (history, _) = generate_log(3, 40_000).unwrap();
    let body = encode_frames(history.names(), 1, history.events(), history.timestamps());
    let reply = api.post_append(&format!("epoch={epoch}&after=0"), body).await.unwrap();
    assert_eq!((reply.status, reply.body["head"].as_u64()), (200, Some(40_000)), "{reply:?}");
    assert_eq!(redis.stream_len().await, 40_000);

    let (version, frames) = api.events(0).await.unwrap();
    assert_eq!(version.head, 40_000);
    let (mut log, mut live) = (Log::new(), State::new());
    for chunk in decode_frames(&frames).unwrap() {
        log.extend_from_chunk(&mut live, chunk).unwrap();
    }
    assert_eq!(log.timestamps(), history.timestamps());
    assert_eq!(live.listing(log.names()), history.replay().unwrap().listing(history.names()));
}
