//! Crashes: a server copy or Redis killed in the middle of a stream of appends loses no acknowledged event,
//! and appends go on once it is back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

mod common;

use common::client::{top_up, Api, Attempt, Mirror};
use common::redis::RedisProcess;
use common::ServerProcess;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Acknowledged appends: (seq, amount). Every attempt has an amount of its own, so an event stored without
/// an acknowledgement (the answer was lost in the crash) is never mistaken for an acknowledged one.
type Acked = Arc<Mutex<Vec<(u64, u64)>>>;

/// Appends top-ups for `user` one after another until `stop`, recording every acknowledgement.
fn spawn_writer(api: Api, user: &'static str, acked: Acked, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut page = Mirror::default();
        let mut failures = 0;
        for amount in 1.. {
            if stop.load(Ordering::Relaxed) {
                return failures;
            }
            match page.try_append(&api, &top_up(user, amount)).await {
                Attempt::Stored(seq) => acked.lock().unwrap().push((seq, amount)),
                Attempt::Stale => {}
                Attempt::Failed(_) => {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let _ = page.sync(&api).await;
                }
            }
        }
        failures
    })
}

async fn wait_for_acks(acked: &Acked, at_least: usize, within: Duration) {
    let deadline = Instant::now() + within;
    while acked.lock().unwrap().len() < at_least {
        assert!(Instant::now() < deadline, "fewer than {at_least} appends acknowledged within {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn assert_all_acked_stored(redis: &RedisProcess, user: &str, acked: &Acked) {
    let stream = redis.stream().await;
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    for (seq, amount) in acked {
        let (id, line) = &stream[seq as usize - 1];
        assert_eq!(id, &format!("{seq}-0"));
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!((event["user"].as_str(), event["amount"].as_u64()), (Some(user), Some(amount)), "event {seq}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_acknowledged_append() {
    let redis = RedisProcess::start();
    let mut server = ServerProcess::start(&redis.url(), &[]).await;
    let (acked, stop) = (Acked::default(), Arc::new(AtomicBool::new(false)));
    let writer = spawn_writer(server.api(), "w", acked.clone(), stop.clone());
    wait_for_acks(&acked, 100, Duration::from_secs(30)).await;

    server.kill();
    let before = acked.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.restart().await;
    wait_for_acks(&acked, before + 100, Duration::from_secs(30)).await;
    stop.store(true, Ordering::Relaxed);
    let failures = writer.await.unwrap();

    assert!(failures > 0, "the writer noticed the crash");
    assert_all_acked_stored(&redis, "w", &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_redis_loses_no_acknowledged_append() {
    let mut redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &[]).await;
    let (acked, stop) = (Acked::default(), Arc::new(AtomicBool::new(false)));
    let writer = spawn_writer(server.api(), "w", acked.clone(), stop.clone());
    wait_for_acks(&acked, 100, Duration::from_secs(30)).await;

    redis.kill();
    // An append whose answer was already on its way may still be acknowledged; after that, nothing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = acked.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(acked.lock().unwrap().len(), before, "nothing is acknowledged while Redis is down");
    // Longer than the connection's own retries (which hide a shorter outage from the writer altogether).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(acked.lock().unwrap().len(), before, "nothing is acknowledged while Redis is down");
    redis.restart();
    // The same server copy, still running, reconnects by itself.
    wait_for_acks(&acked, before + 100, Duration::from_secs(30)).await;
    stop.store(true, Ordering::Relaxed);
    let failures = writer.await.unwrap();

    assert!(failures > 0, "the writer noticed the outage");
    assert_all_acked_stored(&redis, "w", &acked).await;
}
