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
