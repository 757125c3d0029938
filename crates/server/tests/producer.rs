//! The producer fills the shared log with valid events through the checked append, and a server copy
//! snapshots the state once the log has grown enough.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

mod common;

use common::redis::RedisProcess;
use common::{ServerProcess, SERVER};
use rewind_domain::{decode_snapshot, encode_snapshot, push_jsonl_line, Log, State};
use rewind_server::redis_log::Chain;
use rewind_server::{RedisLog, SnapshotAnswer};
use std::process::Output;
use std::time::{Duration, Instant};

async fn produce(redis: &RedisProcess, count: u64, seed: u64) -> Output {
    let url = redis.url();
    let args = ["produce", "--redis", &url, "--count", &count.to_string(), "--seed", &seed.to_string()];
    let mut command = tokio::process::Command::new(SERVER);
    command.args(args);
    command.output().await.expect("cannot run rewind-server produce")
}

async fn replay_stream(redis: &RedisProcess) -> Log {
    let (mut log, mut live) = (Log::new(), State::new());
    for (id, line) in redis.stream().await {
        push_jsonl_line(&mut log, &mut live, line.as_bytes()).unwrap_or_else(|e| panic!("entry {id} is refused: {e}"));
        assert_eq!(id, format!("{}-0", log.len()));
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_producer_appends_valid_events_and_a_snapshot_follows() {
    let redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &["--snapshot-every", "1000", "--snapshot-secs", "3600"]).await;
    let api = server.api();
    assert_eq!(api.snapshot().await.unwrap(), None, "no snapshot of an empty log");

    let output = produce(&redis, 5_000, 1).await;
    assert!(output.status.success(), "produce failed: {}", String::from_utf8_lossy(&output.stderr));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("appended 5000 events") && said.contains("event 5000"), "it says what it did: {said}");
    let log = replay_stream(&redis).await;
    assert_eq!(log.len(), 5_000);

    let deadline = Instant::now() + Duration::from_secs(10);
    let (seq, bytes) = loop {
        if let Some(snapshot) = api.snapshot().await.unwrap() {
            break snapshot;
        }
        assert!(Instant::now() < deadline, "no snapshot within 10 s of passing --snapshot-every");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!((1_000..=5_000).contains(&seq), "the snapshot is at {seq}");
    let (names, state) = decode_snapshot(&bytes).unwrap();
    assert_eq!(state.seq(), seq);
    assert_eq!(state.listing(&names), log.replay_prefix(seq).unwrap().listing(log.names()));

    // What the snapshot script answers is told apart, not taken for "stored" (issue 26).
    let epoch = api.version().await.unwrap().epoch;
    let chains: Vec<Chain> = redis
        .stream()
        .await
        .iter()
        .scan(Chain::default(), |chain, (_, line)| {
            *chain = chain.next(line.as_bytes());
            Some(*chain)
        })
        .collect();
    let chain_at = |seq: u64| chains[seq as usize - 1];
    let direct = RedisLog::connect(&redis.url()).await.unwrap();
    let older = seq - 1;
    assert_eq!(
        direct.write_snapshot(epoch, older, chain_at(older), b"older").await.unwrap(),
        SnapshotAnswer::AlreadyKept { seq },
        "a newer snapshot is kept"
    );
    assert_eq!(
        direct.write_snapshot(epoch + 1, 5_000, chain_at(5_000), b"of another log").await.unwrap(),
        SnapshotAnswer::Refused { asked: 5_000, kept: seq },
        "another epoch is refused"
    );
    assert_eq!(
        direct.write_snapshot(epoch, 5_000, Chain::default().next(b"another event"), b"of another log").await.unwrap(),
        SnapshotAnswer::Refused { asked: 5_000, kept: seq },
        "another chain at 5,000 is refused"
    );
    assert_eq!(
        direct.write_snapshot(epoch, 5_001, chain_at(5_000), b"past the head").await.unwrap(),
        SnapshotAnswer::Refused { asked: 5_001, kept: seq },
        "a snapshot past the head is refused"
    );
    assert_eq!(api.snapshot().await.unwrap().map(|(s, _)| s), Some(seq), "the refusals changed nothing");
    if seq < 5_000 {
        assert_eq!(
            direct.write_snapshot(epoch, 5_000, chain_at(5_000), &encode_snapshot(&log.replay_prefix(5_000).unwrap(), log.names())).await.unwrap(),
            SnapshotAnswer::Stored { seq: 5_000 }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_racing_each_other_decide_again_and_keep_the_log_valid() {
    let redis = RedisProcess::start();
    let (a, b) = tokio::join!(produce(&redis, 3_000, 7), produce(&redis, 3_000, 8));
    for output in [a, b] {
        assert!(output.status.success(), "produce failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    assert_eq!(replay_stream(&redis).await.len(), 6_000);
}
