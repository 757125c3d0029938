//! The shared log tried as a stranger would try it, with raw HTTP against the real binary and a real Redis:
//! who may write (origin, host, key), how much one request may make the server do, what a refusal leaves
//! behind, which Redis the server runs on, and which log it serves when the stream changes under it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

mod common;

use common::client::{now_ms, top_up, Api, Mirror, Reply};
use common::redis::{RedisProcess, DURABLE, STREAM_KEY};
use common::{ServerProcess, SERVER};
use rewind_domain::{encode_frames, generate_log, push_frame};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null) }
}

/// One top-up of `user` decided on the server's log as it is, as frames, with the query to send it.
async fn one_top_up(api: &Api, user: &str) -> (String, Vec<u8>) {
    let mut page = Mirror::default();
    page.sync(api).await.unwrap();
    let version = page.version();
    let (_, _, frames) = page.decide(&top_up(user, 7));
    (format!("epoch={}&after={}", version.epoch, version.head), frames)
}

/// A version 2 chunk (the format every reader still takes) of one top-up of the first of `users`, listing
/// all of them: names no event uses.
fn junk_names_chunk(first_seq: u64, users: &[String]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    let mut bytes = vec![2];
    for header in [first_seq, 1, now_ms(), users.len() as u64] {
        varint(&mut bytes, header);
    }
    for user in users {
        varint(&mut bytes, user.len() as u64);
        bytes.extend_from_slice(user.as_bytes());
    }
    bytes.extend([0, 0, 0, 0, 5]); // no items; a top-up (tag 0), time delta 0, user 0, amount 5
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_other_origins_and_other_names_change_nothing() {
    let redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &["--allow-origin", "http://localhost:5173"]).await;
    let (query, frames) = one_top_up(&server.api(), "mallory").await;
    let url = format!("{}/api/append?{query}", server.base());

    // What a page of another origin sends with fetch(url, {method: 'POST', mode: 'no-cors', body}).
    let cross = http().post(&url).header("origin", "http://evil.example").header("content-type", "text/plain");
    let answer = reply(cross.body(frames.clone()).send().await.unwrap()).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(answer.message().contains("evil.example"), "{answer:?}");
    // The same with the right content type, and with no Origin but a browser's "cross-site".
    let cross = http().post(&url).header("origin", "http://evil.example").header("content-type", "application/octet-stream");
    assert_eq!(reply(cross.body(frames.clone()).send().await.unwrap()).await.status, 403);
    let cross = http().post(&url).header("sec-fetch-site", "cross-site").header("content-type", "application/octet-stream");
    assert_eq!(reply(cross.body(frames.clone()).send().await.unwrap()).await.status, 403);
    // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1.
    let rebound = http()
        .post(&url)
        .header("host", format!("evil.example:{}", server.port()))
        .header("origin", format!("http://evil.example:{}", server.port()))
        .header("content-type", "application/octet-stream");
    assert_eq!(reply(rebound.body(frames.clone()).send().await.unwrap()).await.status, 403);
    let rebound_read = http().get(format!("{}/api/version", server.base())).header("host", "evil.example");
    assert_eq!(reply(rebound_read.send().await.unwrap()).await.status, 403);
    // The shop's own page, but a body that is not said to be frames.
    let own = http().post(&url).header("origin", server.base()).header("content-type", "text/plain");
    assert_eq!(reply(own.body(frames.clone()).send().await.unwrap()).await.status, 415);
    assert_eq!(redis.stream_len().await, 0, "no refusal stored anything");

    // A WebSocket from another origin is refused; from the shop's own or an allowed one it opens.
    let ws = |origin: &str| {
        let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://127.0.0.1:{}/api/feed",
            server.port()
        ))
        .unwrap();
        request.headers_mut().insert("origin", origin.parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };
    match ws("http://evil.example").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("a foreign origin's WebSocket was not refused: {:?}", other.map(|(_, r)| r.status())),
    }
    assert!(ws(&server.base()).await.is_ok());
    assert!(ws("http://localhost:5173").await.is_ok());

    // The allowed origin and the own one write.
    let allowed = http().post(&url).header("origin", "http://localhost:5173").header("content-type", "application/octet-stream");
    assert_eq!(reply(allowed.body(frames).send().await.unwrap()).await.status, 200);
    assert_eq!(redis.stream_len().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_access_key_nothing_of_the_api_answers_without_it() {
    let redis = RedisProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    let key = "k3y-0f-th3-sh0p-0123456789";
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let key_arg = key_file.to_str().unwrap();
    let server = ServerProcess::start_with_key(&redis.url(), key, &["--access-key-file", key_arg]).await;
    let base = server.base();

    let answer = reply(http().get(format!("{base}/api/version")).send().await.unwrap()).await;
    assert_eq!((answer.status, answer.body["access_key"].as_str()), (401, Some("required")), "{answer:?}");
    let wrong = http().get(format!("{base}/api/events?after=0")).header("x-rewind-key", "k3y-0f-th3-sh0p-0123456788");
    let answer = reply(wrong.send().await.unwrap()).await;
    assert_eq!((answer.status, answer.body["access_key"].as_str()), (401, Some("wrong")));
    let no_key = http().post(format!("{base}/api/append?epoch=1&after=0")).header("content-type", "application/octet-stream");
    assert_eq!(reply(no_key.body(vec![0u8; 8]).send().await.unwrap()).await.status, 401);
    // The app's files are public: they show the sign-in form.
    assert_eq!(http().get(format!("{base}/")).send().await.unwrap().status(), 200);

    // The sign-in form: a wrong key is refused; the right one sets an HttpOnly, SameSite=Strict cookie.
    let sign_in = |key: &str| {
        http()
            .post(format!("{base}/api/session"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("key={key}"))
            .send()
    };
    assert_eq!(sign_in("k3y-0f-th3-sh0p-0123456788").await.unwrap().status(), 401);
    let signed = sign_in(key).await.unwrap();
    assert_eq!(signed.status(), 204);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with(&format!("rewind_key={key};")), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let with_cookie = http().get(format!("{base}/api/version")).header("cookie", format!("rewind_key={key}"));
    assert_eq!(with_cookie.send().await.unwrap().status(), 200);

    // A client with the key appends as a page does.
    let api = Api::with_key(&base, key);
    let mut page = Mirror::default();
    page.sync(&api).await.unwrap();
    page.append(&api, &top_up("alice", 5)).await;
    assert_eq!(redis.stream_len().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listening_beyond_loopback_without_a_key_refuses_to_start() {
    let redis = RedisProcess::start();
    let dist = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(SERVER)
        .args(["--redis", &redis.url(), "--listen", "0.0.0.0:0", "--dist"])
        .arg(dist.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("--access-key-file") && said.contains("loopback"), "{said}");
    // Behind a proxy of a public name, a loopback address is as public as that name.
    let output = std::process::Command::new(SERVER)
        .args(["--redis", &redis.url(), "--listen", "127.0.0.1:0", "--allow-origin", "https://shop.example", "--dist"])
        .arg(dist.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("shop.example") && said.contains("--access-key-file"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_can_make_the_server_do_only_so_much() {
    let redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &[]).await;
    let api = server.api();
    let epoch = api.version().await.unwrap().epoch;
    let query = format!("epoch={epoch}&after=0");

    // 40,001 valid events: more than the producer's largest batch.
    let (big, _) = generate_log(5, 40_001).unwrap();
    let body = encode_frames(big.names(), 1, big.events(), big.timestamps());
    let answer = api.post_append(&query, body).await.unwrap();
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(answer.message().contains("40000"), "{answer:?}");
    // A million top-ups (4 MB): refused on its count, without Redis ever seeing it.
    let (million, _) = generate_log(6, 1_000_000).unwrap();
    let body = encode_frames(million.names(), 1, million.events(), million.timestamps());
    let started = Instant::now();
    // Refused on its declared length before it is read: the server may close the connection while the
    // client is still sending, and the client sees that instead of the answer.
    let refused = api.post_append(&query, body).await.map(|reply| reply.status);
    assert!(matches!(refused, Ok(400 | 413) | Err(_)), "{refused:?}");
    println!("a million events refused ({refused:?}) in {:?}", started.elapsed());
    // A chunk of zero events, an empty body, and 40,001 empty frames.
    let mut empty_chunk = Vec::new();
    push_frame(&mut empty_chunk, &rewind_domain::encode_chunk(big.names(), 1, &[], &[]));
    assert_eq!(api.post_append(&query, empty_chunk).await.unwrap().status, 400);
    assert_eq!(api.post_append(&query, Vec::new()).await.unwrap().status, 400);
    assert_eq!(api.post_append(&query, vec![0u8; 4 * 40_001]).await.unwrap().status, 400);
    // A body past the limit is cut off before it is all read.
    let huge = vec![0u8; rewind_server::BODY_LIMIT + 1];
    let refused = api.post_append(&query, huge).await.map(|reply| reply.status);
    assert!(matches!(refused, Ok(413) | Err(_)), "{refused:?}");
    // Reads are paged.
    assert_eq!(http().get(format!("{}/api/events?after=0&limit=100001", server.base())).send().await.unwrap().status(), 400);
    assert_eq!(redis.stream_len().await, 0, "no refusal stored anything");

    // The largest allowed append goes through whole.
    let body = encode_frames(big.names(), 1, &big.events()[..40_000], &big.timestamps()[..40_000]);
    let answer = api.post_append(&query, body).await.unwrap();
    assert_eq!((answer.status, answer.body["head"].as_u64()), (200, Some(40_000)), "{answer:?}");
    let (_, last, _) = api.events_page("after=0").await.unwrap();
    assert_eq!(last, 10_000, "a read without a limit sends the default page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_appends_leave_the_servers_memory_and_reads_as_they_found_them() {
    let redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &[]).await;
    let api = server.api();
    rewind_server_produce(&redis, 20_000);
    let version = api.version().await.unwrap();
    let read_all = || async {
        let started = Instant::now();
        api.events(0).await.unwrap();
        started.elapsed()
    };
    // 80 chunks that list 2,000 names each (160,000 in all), each with one event that uses one of them.
    let junk = |round: usize| {
        let mut body = Vec::new();
        for c in 0..80 {
            let users: Vec<String> = (0..2_000).map(|u| format!("junk{round}x{c}x{u}")).collect();
            push_frame(&mut body, &junk_names_chunk(version.head + 1 + c as u64, &users));
        }
        body
    };
    let wrong_epoch = format!("epoch={}&after={}", version.epoch + 1, version.head);
    let right = format!("epoch={}&after={}", version.epoch, version.head);
    // A first round warms the allocator up (its buffers stay with the process), then ten more must not grow.
    assert_eq!(api.post_append(&wrong_epoch, junk(0)).await.unwrap().status, 409);
    assert_eq!(api.post_append(&right, junk(1)).await.unwrap().status, 400);
    let read_before = read_all().await;
    let memory_before = server.rss_kib();
    for round in 2..12 {
        let query = if round % 2 == 0 { &wrong_epoch } else { &right };
        let answer = api.post_append(query, junk(round)).await.unwrap();
        assert!(answer.status == 409 || answer.status == 400, "{answer:?}");
        if answer.status == 400 {
            assert!(answer.message().contains("none of its events uses"), "{answer:?}");
        }
    }
    let memory_after = server.rss_kib();
    let read_after = read_all().await;
    println!("memory {memory_before} -> {memory_after} KiB; full read {read_before:?} -> {read_after:?}");
    assert!(memory_after < memory_before + 8 * 1024, "ten refusals grew the server by {} KiB", memory_after - memory_before);
    assert!(read_after < read_before * 2 + Duration::from_millis(50), "reads slowed: {read_before:?} -> {read_after:?}");
    assert_eq!(redis.stream_len().await, 20_000);
}

fn rewind_server_produce(redis: &RedisProcess, count: u64) {
    let status = std::process::Command::new(SERVER)
        .args(["produce", "--redis", &redis.url(), "--count", &count.to_string(), "--batch", "20000"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_and_half_sent_connections_do_not_keep_a_page_out() {
    let redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &[]).await;
    let mut held = Vec::new();
    for n in 0..2_000 {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port())).unwrap();
        if n % 2 == 0 {
            stream.write_all(b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
        }
        held.push(stream);
    }
    let started = Instant::now();
    let answer = http().get(format!("{}/api/version", server.base())).timeout(Duration::from_secs(1)).send().await;
    assert_eq!(answer.map(|r| r.status().as_u16()).ok(), Some(200));
    let page = http().get(format!("{}/", server.base())).timeout(Duration::from_secs(1)).send().await;
    assert_eq!(page.map(|r| r.status().as_u16()).ok(), Some(200));
    println!("with 2,000 idle connections, a page and its version in {:?}", started.elapsed());
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_runs_only_on_a_redis_that_keeps_what_it_acknowledges() {
    for (settings, named) in [
        (vec!["--appendonly", "no"], "appendonly"),
        (vec!["--appendonly", "yes", "--appendfsync", "everysec"], "appendfsync"),
        (vec!["--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "allkeys-lru"], "maxmemory-policy"),
    ] {
        let redis = RedisProcess::start_with(&settings);
        let dist = tempfile::tempdir().unwrap();
        let output = std::process::Command::new(SERVER)
            .args(["--redis", &redis.url(), "--listen", "127.0.0.1:0", "--dist"])
            .arg(dist.path())
            .output()
            .unwrap();
        assert!(!output.status.success(), "started on {settings:?}");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains(named), "{said}");
    }

    // A Redis that comes back without its append-only file: appends are refused, naming the setting.
    let mut redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &[]).await;
    let api = server.api();
    let mut page = Mirror::default();
    page.sync(&api).await.unwrap();
    page.append(&api, &top_up("alice", 5)).await;
    // Redis comes back without its append-only file (and so without the log it held).
    redis.restart_with(&["--appendonly", "no"]);
    let try_append = |user: &'static str| {
        let api = api.clone();
        async move {
            let mut page = Mirror::default();
            page.sync(&api).await.ok()?;
            let version = page.version();
            let (_, _, frames) = page.decide(&top_up(user, 7));
            api.post_append(&format!("epoch={}&after={}", version.epoch, version.head), frames).await.ok()
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = try_append("bob").await;
        assert_ne!(answer.as_ref().map(|a| a.status), Some(200), "an append was taken on a Redis without appendonly");
        if answer.as_ref().is_some_and(|a| a.status == 503 && a.message().contains("appendonly")) {
            break;
        }
        assert!(Instant::now() < deadline, "no refusal that names appendonly: {answer:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    redis.restart_with(&DURABLE);
    let deadline = Instant::now() + Duration::from_secs(20);
    while try_append("carol").await.map(|a| a.status) != Some(200) {
        assert!(Instant::now() < deadline, "appends not taken again once Redis is durable");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_regrown_under_the_same_epoch_is_served_as_the_new_log_by_every_copy() {
    let redis = RedisProcess::start();
    let copies = [ServerProcess::start(&redis.url(), &[]).await, ServerProcess::start(&redis.url(), &[]).await];
    let (a, b) = (copies[0].api(), copies[1].api());
    let mut page = Mirror::default();
    page.sync(&a).await.unwrap();
    for amount in 1..=5 {
        page.append(&a, &top_up("old", amount)).await;
    }
    let (_, old_chain) = chain_of(&b, 5).await;
    assert_eq!(b.events(0).await.unwrap().0.head, 5);

    // What a restore from an older backup, or a failover, does: the stream goes and grows again past the
    // old head, with other events, under the same epoch.
    let _: () = redis::cmd("DEL").arg(STREAM_KEY).query_async(&mut redis.connection().await).await.unwrap();
    let mut other = Mirror::default();
    other.sync(&a).await.unwrap();
    for amount in 1..=8 {
        other.append(&a, &top_up("new", amount)).await;
    }

    // Copy b had cached the old five: it serves the new eight, as copy a does, never a mix.
    let from_a = a.events(0).await.unwrap();
    let from_b = b.events(0).await.unwrap();
    assert_eq!(from_a, from_b);
    let mut seen = Mirror::default();
    seen.sync(&b).await.unwrap();
    assert_eq!(seen.log.len(), 8);
    assert!(seen.log.names().user("old").is_none());
    // A page that cached the old log up to event 5 is told that the log was replaced.
    let stale = http().get(format!("{}/api/events?after=5&chain={old_chain}", b.base())).send().await.unwrap();
    let answer = reply(stale).await;
    assert_eq!(answer.status, 409, "{answer:?}");
    assert!(answer.message().contains("replaced"), "{answer:?}");
    let (_, new_chain) = chain_of(&b, 5).await;
    assert_ne!(old_chain, new_chain);
    let fresh = http().get(format!("{}/api/events?after=5&chain={new_chain}", b.base())).send().await.unwrap();
    assert_eq!(fresh.status(), 200);
}

/// The chain of the log up to `seq`, as a page of events up to it names it.
async fn chain_of(api: &Api, seq: u64) -> (u64, String) {
    let response = http().get(format!("{}/api/events?after=0&limit={seq}", api.base())).send().await.unwrap();
    let chain = response.headers()["x-rewind-chain"].to_str().unwrap().to_owned();
    (seq, chain)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_last_entry_is_reported_as_damage_not_as_an_endless_redis_refusal() {
    let redis = RedisProcess::start();
    let server = ServerProcess::start(&redis.url(), &[]).await;
    let api = server.api();
    let mut page = Mirror::default();
    page.sync(&api).await.unwrap();
    for amount in 1..=3 {
        page.append(&api, &top_up("alice", amount)).await;
    }
    let _: u64 = redis::cmd("XDEL").arg(STREAM_KEY).arg("3-0").query_async(&mut redis.connection().await).await.unwrap();
    let version = reply(http().get(format!("{}/api/version", server.base())).send().await.unwrap()).await;
    assert_eq!(version.status, 500, "{version:?}");
    assert!(version.message().contains("deleted"), "{version:?}");
    let answer = api.post_append("epoch=1&after=2", vec![0, 0, 0, 0]).await.unwrap();
    assert_ne!(answer.status, 200);
    assert_eq!(redis.stream_len().await, 2, "nothing is added after a deleted entry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_sent_again_after_a_lost_answer_is_stored_once() {
    let redis = RedisProcess::start();
    let mut server = ServerProcess::start(&redis.url(), &[]).await;
    let api = server.api();
    let epoch = api.version().await.unwrap().epoch;
    // A big append (an import's), so that the kill lands while Redis is storing it.
    let (history, _) = generate_log(9, 40_000).unwrap();
    let body = encode_frames(history.names(), 1, history.events(), history.timestamps());
    let query = format!("epoch={epoch}&after=0&key=import-0123456789abcdef");
    let first = tokio::spawn({
        let (api, query, body) = (api.clone(), query.clone(), body.clone());
        async move { api.post_append(&query, body).await }
    });
    tokio::time::sleep(Duration::from_millis(60)).await;
    server.kill();
    let lost = first.await.unwrap();
    println!("the first answer: {:?}", lost.as_ref().map(|r| r.status));
    server.restart().await;
    // The page does not know whether it was stored: it sends the very same request again, then once more.
    let mut stored_before = 0;
    for _ in 0..2 {
        let answer = api.post_append(&query, body.clone()).await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.body["head"].as_u64(), Some(40_000));
        stored_before += u64::from(answer.body["stored_before"].as_bool() == Some(true));
    }
    assert!(stored_before >= 1, "the last try found the command stored before");
    assert_eq!(redis.stream_len().await, 40_000, "stored exactly once");

    // A decided-again command of the same key, on the log as it is now, is not stored a second time either.
    let mut page = Mirror::default();
    page.sync(&api).await.unwrap();
    let (_, _, frames) = page.decide(&top_up("alice", 1));
    let again = api.post_append(&format!("epoch={epoch}&after=40000&key=import-0123456789abcdef"), frames).await.unwrap();
    assert_eq!((again.status, again.body["stored_before"].as_bool()), (200, Some(true)), "{again:?}");
    assert_eq!(redis.stream_len().await, 40_000);
}
