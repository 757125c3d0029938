//! The feed: a page's WebSocket hears of every new head, whichever copy stored the events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

mod common;

use common::client::{top_up, Mirror, Version};
use common::redis::RedisProcess;
use common::ServerProcess;
use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next version the feed tells, waiting at most `within`.
async fn next_version(socket: &mut Socket, within: Duration) -> Version {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, socket.next()).await.expect("the feed said nothing in time");
        match message.expect("the feed is open").unwrap() {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("the feed sent {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_tells_of_an_append_through_another_copy_within_a_second() {
    let redis = RedisProcess::start();
    let (listening, writing) =
        (ServerProcess::start(&redis.url(), &[]).await, ServerProcess::start(&redis.url(), &[]).await);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/api/feed", listening.port())).await.unwrap();
    let opened = next_version(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(opened.head, 0, "the feed starts with the version");

    let api = writing.api();
    let mut page = Mirror::default();
    page.sync(&api).await.unwrap();
    for expected in 1..=3 {
        page.append(&api, &top_up("alice", 10)).await;
        let acknowledged = Instant::now();
        let mut heard = next_version(&mut socket, Duration::from_secs(1)).await;
        while heard.head < expected {
            heard = next_version(&mut socket, Duration::from_secs(1).saturating_sub(acknowledged.elapsed())).await;
        }
        assert_eq!(heard, Version { epoch: opened.epoch, head: expected });
    }

    socket.send(Message::Ping(b"still there?".to_vec().into())).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(1), socket.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(answer, Message::Pong(b"still there?".to_vec().into()));
    socket.close(None).await.unwrap();
}

/// The next close the feed sends, waiting at most `within`; versions and pings before it are skipped.
async fn next_close(socket: &mut Socket, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let message = tokio::time::timeout(left, socket.next()).await.expect("the feed did not close in time");
        match message {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.reason.to_string()).unwrap_or_default(),
            Some(Ok(_)) => {}
            other => panic!("the feed ended without a close: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_down_the_feed_closes_its_sockets_and_opens_again_when_it_is_back() {
    let mut redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &[]).await;
    let url = format!("ws://127.0.0.1:{}/api/feed", server.port());
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    next_version(&mut socket, Duration::from_secs(5)).await;

    redis.kill();
    let reason = next_close(&mut socket, Duration::from_secs(10)).await;
    assert!(reason.contains("Redis"), "{reason}");
    // A page that opens the feed meanwhile is told at once.
    let (mut again, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert!(next_close(&mut again, Duration::from_secs(2)).await.contains("Redis"));

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        match tokio::time::timeout(Duration::from_secs(2), socket.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => break,
            _ => assert!(Instant::now() < deadline, "the feed did not open again once Redis was back"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
