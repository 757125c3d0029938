//! Many shops behind one server: each shop is its own log (its stream, epoch and keys under its own hash tag),
//! at `/shop/NAME/` with its API at `/shop/NAME/api`; `/` is shop `main`. A shop is created by its first
//! event, not by a read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

mod common;

use common::redis::RedisProcess;
use common::{ServerProcess, SERVER};
use rewind_domain::{push_jsonl_line, Log, State};

async fn keys(redis: &RedisProcess, pattern: &str) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query_async(&mut redis.connection().await).await.unwrap();
    keys.sort();
    keys
}

async fn stream_of(redis: &RedisProcess, shop: &str) -> Log {
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE")
        .arg(format!("rewind:{{{shop}}}:events"))
        .arg("-")
        .arg("+")
        .query_async(&mut redis.connection().await)
        .await
        .unwrap();
    let (mut log, mut live) = (Log::new(), State::new());
    for entry in reply.ids {
        push_jsonl_line(&mut log, &mut live, entry.get::<String>("event").unwrap().as_bytes()).unwrap();
    }
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_shop_is_its_own_log_created_by_its_first_event() {
    let redis = RedisProcess::start();
    let copy = ServerProcess::start(&redis.url(), &[]).await;
    let http = reqwest::Client::new();
    let base = copy.base();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let response = http.get(path).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };

    // A shop nobody wrote to reads as an empty log of no name, and reading it leaves nothing in Redis.
    let (status, body) = get(format!("{base}/shop/north/api/version")).await;
    assert_eq!(status, 200, "{body}");
    let version: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((version["epoch"].as_u64(), version["head"].as_u64()), (Some(0), Some(0)), "{body}");
    assert_eq!(keys(&redis, "rewind:{north}:*").await, Vec::<String>::new(), "a read creates no shop");

    let command = |shop: &str, key: &str, user: &str| {
        let http = http.clone();
        let url = if shop == "main" { format!("{base}/api/command") } else { format!("{base}/shop/{shop}/api/command") };
        let body = format!(r#"{{"key":"{key}","command":{{"kind":"TopUp","user":"{user}","amount":100}}}}"#);
        async move {
            let response = http.post(url).header("content-type", "application/json").body(body).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    for (shop, user) in [("north", "nora"), ("south", "sam"), ("main", "mia"), ("north", "ned")] {
        let (status, body) = command(shop, &format!("key-of-{user}-0000000000"), user).await;
        assert_eq!(status, 200, "{shop}: {body}");
    }
    // The same key in another shop is another command.
    let (status, body) = command("south", "key-of-nora-0000000000", "nora").await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("stored_before"), "{body}");

    let users = |log: &Log| -> Vec<String> { (0..log.names().user_count()).map(|u| log.names().user_name(rewind_domain::UserId(u as u32)).to_owned()).collect() };
    assert_eq!(users(&stream_of(&redis, "north").await), ["nora", "ned"]);
    assert_eq!(users(&stream_of(&redis, "south").await), ["sam", "nora"]);
    assert_eq!(users(&stream_of(&redis, "main").await), ["mia"]);
    let north_keys = keys(&redis, "rewind:{north}:*").await;
    assert!(north_keys.contains(&"rewind:{north}:epoch".to_owned()) && north_keys.contains(&"rewind:{north}:events".to_owned()), "{north_keys:?}");

    let (status, body) = get(format!("{base}/shop/north/api/version")).await;
    let version: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200);
    assert_eq!(version["head"], 2, "{body}");
    assert_ne!(version["epoch"], 0, "the first event named the shop's log: {body}");

    // Seen from outside: per shop, what was decided and how, the groups and their commits, Redis's round trips.
    let order = r#"{"key":"key-of-a-refused-order","command":{"kind":"PlaceOrder","user":"nora","item":"tea","qty":1}}"#;
    let refused = http.post(format!("{base}/shop/north/api/command")).header("content-type", "application/json").body(order).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    let (status, metrics) = get(format!("{base}/metrics")).await;
    assert_eq!(status, 200);
    for line in [
        r#"rewind_commands_total{shop="north",kind="TopUp",outcome="stored"} 2"#,
        r#"rewind_commands_total{shop="north",kind="PlaceOrder",outcome="refused"} 1"#,
        r#"rewind_commands_total{shop="south",kind="TopUp",outcome="stored"} 2"#,
        r#"rewind_group_commit_commands_count{shop="north"} 2"#,
        r#"rewind_decider_waiting{shop="north"} 0"#,
        r#"rewind_open_pages{shop="north"} 0"#,
        r#"rewind_redis_errors_total{shop="north"} 0"#,
        "rewind_shops_open 3",
    ] {
        assert!(metrics.lines().any(|l| l == line), "/metrics has {line}:\n{metrics}");
    }
    assert!(metrics.contains(r#"rewind_group_commit_seconds_bucket{le="#), "{metrics}");
    let requests = metrics.lines().find(|l| l.starts_with(r#"rewind_redis_requests_total{shop="north"}"#)).unwrap();
    assert!(requests.rsplit(' ').next().unwrap().parse::<u64>().unwrap() > 2, "{requests}");

    // A shop's page is the app; a name that is no shop's is refused with the rules.
    let (status, body) = get(format!("{base}/shop/north/")).await;
    assert_eq!(status, 200);
    assert!(body.contains("<title>Rewind</title>"), "{body}");
    let (status, body) = get(format!("{base}/shop/no.such/api/version")).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("1 to 32 of A-Z a-z 0-9 _ -"), "{body}");

    // A command the rules refuse creates no shop either.
    let order = r#"{"key":"key-of-a-first-order-01","command":{"kind":"PlaceOrder","user":"wes","item":"tea","qty":1}}"#;
    let refused = http.post(format!("{base}/shop/west/api/command")).header("content-type", "application/json").body(order).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 422);
    assert_eq!(keys(&redis, "rewind:{west}:*").await, Vec::<String>::new(), "a refusal leaves nothing in Redis");
    let (_, body) = get(format!("{base}/shop/west/api/version")).await;
    assert!(body.starts_with(r#"{"epoch":0,"head":0"#), "{body}");

    // The producer fills the shop it is told.
    let url = redis.url();
    let output = tokio::process::Command::new(SERVER)
        .args(["produce", "--redis", &url, "--count", "300", "--shop", "south"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("appended 300 events to shop south"));
    assert_eq!(stream_of(&redis, "south").await.len(), 302);
    assert_eq!(stream_of(&redis, "north").await.len(), 2);
    let output = tokio::process::Command::new(SERVER)
        .args(["produce", "--redis", &url, "--count", "1", "--shop", "no{tag}"])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("a shop's name is 1 to 32"), "{}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test]
async fn every_shop_is_behind_the_servers_access_key_and_origin_check() {
    let redis = RedisProcess::start();
    let key = "a-key-of-sixteen-or-more";
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    let copy = ServerProcess::start_with_key(&redis.url(), key, &["--access-key-file", key_file.to_str().unwrap()]).await;
    let http = reqwest::Client::new();
    let base = copy.base();
    let answer = http.get(format!("{base}/shop/north/api/version")).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 401, "no key, no shop");
    let answer = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 401, "no key, no metrics");
    let answer = http.get(format!("{base}/shop/north/api/version")).header("x-rewind-key", key).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let answer = http
        .post(format!("{base}/shop/north/api/command"))
        .header("x-rewind-key", key)
        .header("origin", "http://elsewhere.example")
        .header("content-type", "application/json")
        .body(r#"{"key":"key-of-a-stranger-0001","command":{"kind":"TopUp","user":"eve","amount":1}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403, "a page of another origin changes no shop");
    assert_eq!(keys(&redis, "rewind:{north}:*").await, Vec::<String>::new());
}
