//! Commands decided by the server (`POST /api/command`): one decider per copy takes them in arrival order and
//! stores each group in one checked write. Checked against the stream itself, replayed with the domain: it
//! is gapless, each acknowledged command's event is stored once at the seq it was answered with and is what
//! the command becomes on the log before it, and each refusal is the domain's own on the log it names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

mod common;

use common::redis::{RedisCluster, RedisProcess};
use common::ServerProcess;
use rewind_domain::{push_jsonl_line, Command, Log, State};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the server answered a command, in the end (after retries of the same key).
#[derive(Clone, Debug)]
enum Answer {
    Stored { seq: u64, before: bool },
    Refused { message: String, head: u64 },
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    /// Requests that got no answer at all (their copy was gone), counted across clients.
    unanswered: Arc<AtomicU64>,
}

impl Client {
    fn new() -> Self {
        Self::counting(Arc::default())
    }

    fn counting(unanswered: Arc<AtomicU64>) -> Self {
        Self { http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(), unanswered }
    }

    /// One request: the status and the JSON body, or `None` when no answer came (the copy is gone).
    async fn send(&self, base: &str, key: &str, command: &Command) -> Option<(u16, serde_json::Value)> {
        let (status, text) = self.post(base, serde_json::json!({ "key": key, "command": command }).to_string()).await?;
        Some((status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)))
    }

    /// `POST /api/command` with `body` as it is: the status and the body's text.
    async fn post(&self, base: &str, body: String) -> Option<(u16, String)> {
        let response =
            self.http.post(format!("{base}/api/command")).header("content-type", "application/json").body(body).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.ok()?))
    }

    /// Sends until the answer is final (stored, or refused by a rule), to copy after copy as a page would
    /// when one stops answering, always with the same key.
    async fn decide(&self, bases: &[String], key: &str, command: &Command) -> Answer {
        for attempt in 0..200 {
            let base = &bases[attempt % bases.len()];
            match self.send(base, key, command).await {
                Some((200, body)) => {
                    return Answer::Stored {
                        seq: body["seq"].as_u64().unwrap(),
                        before: body["stored_before"].as_bool().unwrap_or(false),
                    }
                }
                Some((422, body)) => {
                    return Answer::Refused {
                        message: body["message"].as_str().unwrap().to_owned(),
                        head: body["head"].as_u64().unwrap(),
                    }
                }
                Some((429 | 503, _)) => tokio::time::sleep(Duration::from_millis(20)).await,
                None => {
                    self.unanswered.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Some((status, body)) => panic!("{command:?} answered {status}: {body}"),
            }
        }
        panic!("{command:?} (key {key}) was never answered for good");
    }
}

/// A shop's stream as stored: each entry's seq, event line and command key.
async fn stream(conn: &mut impl redis::aio::ConnectionLike, shop: &str) -> Vec<(u64, String, Option<String>)> {
    let key = format!("rewind:{{{shop}}}:events");
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE").arg(key).arg("-").arg("+").query_async(conn).await.unwrap();
    reply
        .ids
        .into_iter()
        .map(|entry| {
            let seq = entry.id.strip_suffix("-0").unwrap().parse().unwrap();
            (seq, entry.get::<String>("event").unwrap(), entry.get::<String>("key"))
        })
        .collect()
}

fn key(client: usize, n: u64) -> String {
    format!("client-{client:03}-command-{n:06}")
}

/// Where shop `shop`'s API is on the server at `base`.
fn api_of(base: &str, shop: &str) -> String {
    if shop == "main" {
        base.to_owned()
    } else {
        format!("{base}/shop/{shop}")
    }
}

#[tokio::test]
async fn a_command_is_decided_stored_once_and_refused_in_the_pages_words() {
    let redis = RedisProcess::start();
    let copy = ServerProcess::start(&redis.url(), &[]).await;
    let client = Client::new();
    let base = copy.base();
    let top_up = Command::TopUp { user: "ann".into(), amount: 500 };

    let (status, body) = client.send(&base, &key(0, 1), &top_up).await.unwrap();
    assert_eq!((status, body["seq"].as_u64(), body["head"].as_u64()), (200, Some(1), Some(1)), "{body}");
    assert_eq!(body.get("stored_before"), None);

    // The same key again (an answer that was lost): nothing more is stored, the answer says where it is.
    let (status, body) = client.send(&base, &key(0, 1), &top_up).await.unwrap();
    assert_eq!((status, body["seq"].as_u64(), body["stored_before"].as_bool()), (200, Some(1), Some(true)), "{body}");

    let order = Command::Order { user: "ann".into(), item: "tea".into(), qty: 1 };
    let (status, body) = client.send(&base, &key(0, 2), &order).await.unwrap();
    assert_eq!(status, 422);
    assert_eq!(body["message"], "there is no item tea; add it to the warehouse first", "{body}");
    assert_eq!(body["head"], 1, "refused on the log at event 1: {body}");

    for (body, says) in [
        (r#"{"key":"short","command":{"kind":"TopUp","user":"ann","amount":1}}"#, "key must be 16 to 64"),
        (r#"{"key":"client-000-command-000009","command":{"kind":"Steal","user":"ann"}}"#, "a command is JSON"),
        (r#"{"key":"client-000-command-000009","command":{"kind":"TopUp","user":"ann","amount":-5}}"#, "a command is JSON"),
        ("not json", "a command is JSON"),
    ] {
        let (status, text) = client.post(&base, body.to_owned()).await.unwrap();
        assert_eq!(status, 400, "{body}");
        assert!(text.contains(says), "{body} answered {text}");
    }
    // A body past 4 KiB is refused before it is read, and stores nothing.
    let big = format!(r#"{{"key":"client-000-command-000010","command":{{"kind":"TopUp","user":"ann","amount":1}},"pad":"{}"}}"#, "x".repeat(5_000));
    let (status, text) = client.post(&base, big).await.unwrap();
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("a command's body is at most 4 KiB"), "{text}");
    let stored = stream(&mut redis.connection().await, "main").await;
    assert_eq!(stored.len(), 1, "only the top-up is stored: {stored:?}");
    assert_eq!(stored[0].2.as_deref(), Some(key(0, 1).as_str()), "the entry carries its command's key");
}

#[tokio::test]
async fn commands_kept_offline_are_decided_together_in_their_order_and_once() {
    let redis = RedisProcess::start();
    let copy = ServerProcess::start(&redis.url(), &[]).await;
    let http = reqwest::Client::new();
    let post = |body: String| {
        let http = http.clone();
        let url = format!("{}/api/commands", copy.base());
        async move {
            let response = http.post(url).header("content-type", "application/json").body(body).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let commands = [
        Command::AddItem { item: "apple".into(), price: 30, qty: 1 },
        Command::TopUp { user: "ann".into(), amount: 100 },
        Command::Order { user: "ann".into(), item: "apple".into(), qty: 1 },
        // No apple is left: refused on the log after the three before it.
        Command::Order { user: "ann".into(), item: "apple".into(), qty: 1 },
        // A refund starts a group of its own, decided on the log it names: the order at 3.
        Command::Refund { order: 3 },
        Command::Order { user: "ann".into(), item: "apple".into(), qty: 1 },
    ];
    let body = |keys: &str| {
        let list: Vec<serde_json::Value> = commands
            .iter()
            .enumerate()
            .map(|(i, c)| serde_json::json!({ "key": format!("{keys}-command-{i:06}"), "command": c }))
            .collect();
        serde_json::json!({ "commands": list }).to_string()
    };
    let (status, text) = post(body("offline-till-one")).await;
    assert_eq!(status, 200, "{text}");
    let answered: serde_json::Value = serde_json::from_str(&text).unwrap();
    let outcomes = answered["outcomes"].as_array().unwrap();
    let seqs: Vec<Option<u64>> = outcomes.iter().map(|o| o["seq"].as_u64()).collect();
    assert_eq!(seqs, vec![Some(1), Some(2), Some(3), None, Some(4), Some(5)], "{text}");
    assert_eq!(outcomes[3]["outcome"], "refused");
    assert_eq!(outcomes[3]["message"], "apple has 0 in stock, the order wants 1", "{text}");
    assert_eq!(outcomes[3]["head"], 3, "refused on the log after the three before it: {text}");

    // Meanwhile another till adds apples: the refused order would now go through, after the ones made
    // after it.
    let more = serde_json::json!({ "commands": [{ "key": "another-till-command-000001", "command": Command::AddItem { item: "apple".into(), price: 30, qty: 5 } }] });
    assert_eq!(post(more.to_string()).await.0, 200);

    // Sent again (the answer was lost): every stored one is answered where it is, nothing is stored twice, and
    // the refused one stays refused: a command made after it is stored, so it is not decided again out of order.
    let (status, text) = post(body("offline-till-one")).await;
    assert_eq!(status, 200, "{text}");
    let again: serde_json::Value = serde_json::from_str(&text).unwrap();
    for i in [0, 1, 2, 4, 5] {
        assert_eq!(again["outcomes"][i]["stored_before"], true, "{text}");
        assert_eq!(again["outcomes"][i]["seq"], answered["outcomes"][i]["seq"], "{text}");
    }
    assert_eq!(again["outcomes"][3]["outcome"], "refused", "{text}");
    assert!(again["outcomes"][3]["message"].as_str().unwrap().contains("not decided again out of order"), "{text}");
    let stored = stream(&mut redis.connection().await, "main").await;
    let keys: Vec<Option<String>> = stored.iter().map(|(_, _, k)| k.clone()).collect();
    let mut expected: Vec<Option<String>> = [0, 1, 2, 4, 5].iter().map(|i| Some(format!("offline-till-one-command-{i:06}"))).collect();
    expected.push(Some("another-till-command-000001".into()));
    assert_eq!(keys, expected, "in the order they were made, once each");

    // Too many at once, or none, or a bad key: refused whole, nothing stored.
    let many: Vec<serde_json::Value> = (0..65)
        .map(|i| serde_json::json!({ "key": format!("offline-till-two-command-{i:06}"), "command": commands[1] }))
        .collect();
    for (body, says) in [
        (serde_json::json!({ "commands": many }).to_string(), "send 1 to 64 commands at a time, not 65"),
        (r#"{"commands":[]}"#.to_owned(), "not 0"),
        (r#"{"commands":[{"key":"short","command":{"kind":"TopUp","user":"ann","amount":1}}]}"#.to_owned(), "key must be 16 to 64"),
    ] {
        let (status, text) = post(body).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(says), "{text}");
    }
    assert_eq!(stream(&mut redis.connection().await, "main").await.len(), 6);
}

/// A small generator of commands over a few contended items, the same for every run of a seed.
struct Shopper {
    state: u64,
    user: String,
    orders: Vec<u64>,
}

impl Shopper {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11
    }

    fn command(&mut self, n: u64) -> Command {
        let item = format!("item{}", self.next() % 4);
        if n == 0 {
            return Command::TopUp { user: self.user.clone(), amount: 10_000 };
        }
        let pick = self.next();
        match self.next() % 20 {
            0..=9 => Command::Order { user: self.user.clone(), item, qty: 1 + self.next() % 3 },
            10..=12 => Command::AddItem { item, price: 100 + self.next() % 3, qty: 1 + self.next() % 4 },
            13..=14 => Command::TopUp { user: self.user.clone(), amount: 1 + self.next() % 500 },
            15..=16 => Command::Withdraw { user: self.user.clone(), amount: 1 + self.next() % 800 },
            17 => Command::WriteOff { item, qty: 1 },
            _ => match self.orders.get((pick as usize).checked_rem(self.orders.len()).unwrap_or(0)).copied() {
                Some(order) => Command::Refund { order },
                None => Command::SetPrice { item, price: 90 + self.next() % 20 },
            },
        }
    }
}

/// What one run of many clients produced: every command with its key and final answer, and the longest a
/// command waited for its answer.
struct Run {
    decided: Vec<(String, Command, Answer)>,
    longest: Duration,
    /// Requests that got no answer (a copy killed under them) and were sent again.
    unanswered: u64,
}

/// `clients` clients send commands to shop `shop` for `seconds`, spread over the copies at `bases` (each
/// client to its own copy first, to the next when one stops answering); `during` runs meanwhile (a copy
/// killed, …). Users and keys carry the shop's name, so that a shop's stream shows whose events it holds.
async fn run(shop: &str, bases: Vec<String>, clients: usize, seconds: u64, during: impl std::future::Future<Output = ()>) -> Run {
    let bases: Vec<String> = bases.iter().map(|base| api_of(base, shop)).collect();
    let until = Instant::now() + Duration::from_secs(seconds);
    let longest = Arc::new(AtomicU64::new(0));
    let unanswered: Arc<AtomicU64> = Arc::default();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let mut order: Vec<String> = bases.clone();
            order.rotate_left(c % bases.len());
            let longest = Arc::clone(&longest);
            let shop = shop.to_owned();
            let unanswered = Arc::clone(&unanswered);
            tokio::spawn(async move {
                let client = Client::counting(unanswered);
                let user = format!("{shop}-u{c}");
                let mut shopper = Shopper { state: 0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1), user, orders: Vec::new() };
                let mut decided = Vec::new();
                let mut n = 0;
                while Instant::now() < until {
                    let command = shopper.command(n);
                    let key = format!("{shop}-{}", key(c, n));
                    let started = Instant::now();
                    let answer = client.decide(&order, &key, &command).await;
                    longest.fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                    if let (Command::Order { .. }, Answer::Stored { seq, .. }) = (&command, &answer) {
                        shopper.orders.push(*seq);
                    }
                    decided.push((key, command, answer));
                    n += 1;
                }
                decided
            })
        })
        .collect();
    during.await;
    let mut decided = Vec::new();
    for task in tasks {
        decided.extend(task.await.unwrap());
    }
    Run {
        decided,
        longest: Duration::from_micros(longest.load(Ordering::Relaxed)),
        unanswered: unanswered.load(Ordering::Relaxed),
    }
}

/// Everything that must hold of a run against the stream of shop `shop` it left.
async fn check(conn: &mut impl redis::aio::ConnectionLike, shop: &str, run: &Run) {
    let stored = stream(conn, shop).await;
    assert!(!stored.is_empty());
    let mut at_key: HashMap<&str, u64> = HashMap::new();
    for (ix, (seq, _, key)) in stored.iter().enumerate() {
        assert_eq!(*seq, ix as u64 + 1, "the stream is gapless");
        let key = key.as_deref().expect("every event of a command carries its key");
        assert!(key.starts_with(&format!("{shop}-")), "shop {shop} holds only its own commands, not {key}");
        assert!(at_key.insert(key, *seq).is_none(), "command {key} is stored twice");
    }
    // Replayed with the domain, each acknowledged command is exactly the event stored at its seq, decided
    // on the log before it; each refusal is the domain's own on the log it names.
    let mut checks: BTreeMap<u64, Vec<&(String, Command, Answer)>> = BTreeMap::new();
    let (mut acknowledged, mut refused, mut again) = (0, 0, 0);
    for decided @ (key, _, answer) in &run.decided {
        match answer {
            Answer::Stored { seq, before } => {
                assert_eq!(at_key.get(key.as_str()), Some(seq), "acknowledged command {key} is stored at its seq");
                checks.entry(seq - 1).or_default().push(decided);
                acknowledged += 1;
                again += u64::from(*before);
            }
            Answer::Refused { head, .. } => {
                assert_eq!(at_key.get(key.as_str()), None, "refused command {key} is not stored");
                checks.entry(*head).or_default().push(decided);
                refused += 1;
            }
        }
    }
    let (mut log, mut live) = (Log::new(), State::default());
    let mut lines = stored.iter();
    for (&at, decided) in &checks {
        while log.len() < at {
            let (_, line, _) = lines.next().unwrap();
            push_jsonl_line(&mut log, &mut live, line.as_bytes()).unwrap();
        }
        for (key, command, answer) in decided {
            let names = log.names().checkpoint();
            let decision = log.decide(&live, command);
            log.names_mut().roll_back(names);
            match answer {
                Answer::Stored { seq, .. } => {
                    let (_, line, _) = &stored[(*seq - 1) as usize];
                    let mut next = log.clone();
                    let mut after = live.clone();
                    push_jsonl_line(&mut next, &mut after, line.as_bytes()).unwrap();
                    assert_eq!(decision.as_ref().ok(), next.events().last(), "{key}: {command:?} is the event at {seq}");
                }
                Answer::Refused { message, .. } => {
                    assert_eq!(decision.err().map(|r| r.to_string()).as_deref(), Some(message.as_str()), "{key}: {command:?} at {at}");
                }
            }
        }
    }
    println!(
        "shop {shop}: {} events stored; {acknowledged} commands acknowledged ({again} of them by a request sent again), {refused} refused; longest wait {:?}",
        stored.len(),
        run.longest
    );
    assert!(acknowledged > 0 && refused > 0, "the run holds both outcomes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_copies_and_sixty_four_clients_decide_contended_commands_exactly_once() {
    let redis = RedisProcess::start();
    let copies = [ServerProcess::start(&redis.url(), &[]).await, ServerProcess::start(&redis.url(), &[]).await];
    let bases: Vec<String> = copies.iter().map(ServerProcess::base).collect();
    let run = run("main", bases, 64, 10, async {}).await;
    check(&mut redis.connection().await, "main", &run).await;
    assert!(run.longest < Duration::from_secs(1), "no command waits a second: the longest waited {:?}", run.longest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_killed_mid_batch_loses_nothing_acknowledged_and_stores_nothing_twice() {
    let redis = RedisProcess::start();
    let mut doomed = ServerProcess::start(&redis.url(), &[]).await;
    let survivor = ServerProcess::start(&redis.url(), &[]).await;
    let bases = vec![doomed.base(), survivor.base()];
    let stream_len = || redis.stream_len();
    let kill = async {
        // Once the copies are busy, the doomed one is killed (SIGKILL) with batches in flight; its clients
        // send their commands again, same keys, to the survivor.
        let deadline = Instant::now() + Duration::from_secs(30);
        while stream_len().await < 300 {
            assert!(Instant::now() < deadline, "the copies stored fewer than 300 events in 30 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        doomed.kill();
    };
    let run = run("main", bases, 16, 4, kill).await;
    check(&mut redis.connection().await, "main", &run).await;
    assert!(run.unanswered > 0, "commands in flight to the killed copy were sent again to the survivor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_shops_on_a_three_master_cluster_each_stay_gapless_and_exactly_once_on_their_own_nodes() {
    let cluster = RedisCluster::start(3);
    // One node named: the server finds the cluster from it.
    let copy = ServerProcess::start(&cluster.urls()[0], &[]).await;
    let shops: Vec<String> = (0..8).map(|n| format!("shop{n}")).collect();
    let runs = futures_util::future::join_all(shops.iter().map(|shop| run(shop, vec![copy.base()], 4, 5, async {}))).await;
    let mut conn = cluster.connection().await;
    for (shop, run) in shops.iter().zip(&runs) {
        check(&mut conn, shop, run).await;
    }
    // Where the keys are: every key of a shop on one node (its hash tag's), and the shops on all three.
    let mut node_of_shop: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for (node, keys) in cluster.keys_by_node("rewind:*") {
        for key in keys {
            let tag = key.split_once('{').and_then(|(_, rest)| rest.split_once('}')).map(|(tag, _)| tag.to_owned()).unwrap();
            node_of_shop.entry(tag).or_default().insert(node);
        }
    }
    for shop in &shops {
        assert_eq!(node_of_shop.get(shop).map(BTreeSet::len), Some(1), "all of {shop}'s keys on one node: {node_of_shop:?}");
    }
    let nodes: BTreeSet<u16> = node_of_shop.values().flatten().copied().collect();
    assert_eq!(nodes.len(), 3, "the eight shops live on all three masters: {node_of_shop:?}");
}
