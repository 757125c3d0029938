//! The session against real IndexedDB in headless Chromium: one queue, one write policy, and recovery from
//! damaged storage, tested without the page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise
#![cfg(target_arch = "wasm32")]

use futures::future::join_all;
use rewind::session::{Confirm, Outboxing, Population, Replacement, Session, SessionError};
use rewind_domain::{decide, generate_log, Command, Log, Rejection, State};
use rewind_store::{
    encode_chunks, Changed, CommandKey, EncodedChunk, EntryState, Expected, LogVersion, Outbox, PageLog, PageStore, Store, StoreError,
};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen_test::*;

#[path = "../crates/store/tests/support/fake_server.rs"]
mod fake_server;
use fake_server::FakeServer;

wasm_bindgen_test_configure!(run_in_browser);

/// Opens a page's log as the page does: what may be a sync server is opened by `open_shared`.
async fn open_page(name: &str) -> PageStore {
    match Store::open_for_page(name).await {
        PageLog::Local(store) => PageStore::Ready(store),
        PageLog::MaybeSyncServer(sighting) => Store::open_shared(name, sighting).await,
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", (js_sys::Math::random() * 1e12) as u64)
}

/// Answers every question with `answer` and remembers the questions.
fn answering(answer: bool) -> (Confirm, Rc<RefCell<Vec<String>>>) {
    let asked = Rc::new(RefCell::new(Vec::new()));
    let log = asked.clone();
    let confirm: Confirm = Rc::new(move |q: &str| {
        log.borrow_mut().push(q.to_owned());
        answer
    });
    (confirm, asked)
}

/// A session over the IndexedDB store `name`, loaded. Without a tab channel: tests decide when to sync.
async fn session(name: &str, confirm: Confirm) -> (Rc<Session>, Result<(), SessionError>) {
    let store = Store::open(name).await;
    let s = Session::new(store, None, confirm, |_| {});
    let loaded = s.load().await.map(|_| ());
    (s, loaded)
}

fn top_up(user: &str, amount: u64) -> Command {
    Command::TopUp { user: user.into(), amount }
}

fn balances(s: &Session) -> Vec<(String, u64)> {
    let book = s.book().unwrap();
    book.live.listing(book.log.names()).users
}

#[wasm_bindgen_test]
async fn commands_asked_at_once_are_all_stored_in_the_order_they_were_asked() {
    let (s, loaded) = session(&unique("order"), answering(true).0).await;
    loaded.unwrap();
    let asked = (1..=20).map(|i| s.submit(top_up("alice", i)));
    let seqs: Vec<u64> = join_all(asked).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>());
    let amounts: Vec<String> = s.book().unwrap().log.events().iter().map(|e| format!("{e:?}")).collect();
    assert!(amounts[0].contains("amount: Money(1)") && amounts[19].contains("amount: Money(20)"), "{amounts:?}");
    assert_eq!(s.store().head().await.unwrap(), 20);
}

#[wasm_bindgen_test]
async fn a_command_waits_behind_a_long_write_instead_of_being_refused() {
    let (s, loaded) = session(&unique("wait"), answering(true).0).await;
    loaded.unwrap();
    let generating = s.generate(50_000, Population::default());
    let clicked = s.submit(top_up("zed", 7));
    let (generated, clicked) = futures::join!(generating, clicked);
    assert_eq!(generated.unwrap(), 50_000);
    assert_eq!(clicked.unwrap(), 50_001, "the click waited its turn and was stored after");
    assert_eq!(s.store().head().await.unwrap(), 50_001);
}

#[wasm_bindgen_test]
async fn generated_events_are_spread_over_the_people_asked_for_and_never_stamped_in_the_future() {
    let (s, loaded) = session(&unique("people"), answering(true).0).await;
    loaded.unwrap();
    let before = js_sys::Date::now() as u64;
    assert_eq!(s.generate(3_000, Population { users: 7, items: 2 }).await.unwrap(), 3_000);
    let after = js_sys::Date::now() as u64;
    let book = s.book().unwrap();
    let listing = book.live.listing(book.log.names());
    assert!(listing.users.len() <= 7 && listing.users.len() >= 5, "{:?}", listing.users);
    assert!(listing.items.len() <= 2, "{:?}", listing.items);
    let stamps = book.log.timestamps();
    assert!(stamps.iter().all(|ts| (before..=after).contains(ts)), "stamped between {before} and {after}");
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "time never runs backwards in the log");
}

#[wasm_bindgen_test]
async fn a_stale_command_is_decided_again_on_the_state_another_tab_left() {
    let name = unique("redecide");
    let (a, loaded) = session(&name, answering(true).0).await;
    loaded.unwrap();
    a.submit(Command::AddItem { item: "apple".into(), price: 30, qty: 1 }).await.unwrap();
    a.submit(top_up("ann", 100)).await.unwrap();
    a.submit(top_up("ben", 100)).await.unwrap();
    let (b, loaded) = session(&name, answering(true).0).await;
    loaded.unwrap();

    // Both tabs want the last apple. B's view is stale when it decides; after the conflict it reads A's
    // order and decides again, and now the shop's rules refuse it.
    a.submit(Command::Order { user: "ann".into(), item: "apple".into(), qty: 1 }).await.unwrap();
    let refused = b.submit(Command::Order { user: "ben".into(), item: "apple".into(), qty: 1 }).await;
    assert!(matches!(refused, Err(SessionError::Rejected(Rejection::OutOfStock { .. }))), "{refused:?}");
    assert_eq!(b.book().unwrap().head(), 4, "B caught up with A's order");
    assert_eq!(balances(&b), vec![("ann".into(), 70), ("ben".into(), 100)]);

    // Writers in both tabs at once: every command stored once, none lost, both copies agree.
    let from_a = join_all((0..25).map(|_| a.submit(top_up("ann", 1))));
    let from_b = join_all((0..25).map(|_| b.submit(top_up("ben", 1))));
    let (ra, rb) = futures::join!(from_a, from_b);
    assert!(ra.iter().chain(rb.iter()).all(Result::is_ok), "{ra:?} {rb:?}");
    a.sync(rewind_store::LogChange::Appended).await.unwrap();
    b.sync(rewind_store::LogChange::Appended).await.unwrap();
    assert_eq!(a.store().head().await.unwrap(), 54);
    assert_eq!(balances(&a), vec![("ann".into(), 95), ("ben".into(), 125)]);
    assert_eq!(balances(&a), balances(&b));
}

#[wasm_bindgen_test]
async fn an_import_asks_again_with_the_new_count_when_another_tab_appended_meanwhile() {
    let name = unique("import");
    let (confirm, asked) = answering(true);
    let (a, loaded) = session(&name, confirm).await;
    loaded.unwrap();
    for i in 1..=3 {
        a.submit(top_up("ann", i)).await.unwrap();
    }
    let (b, loaded) = session(&name, answering(true).0).await;
    loaded.unwrap();
    // B appends while A checks its file; A has not heard of it yet.
    b.submit(top_up("ben", 5)).await.unwrap();

    let (file, file_live) = generate_log(4, 1_000).unwrap();
    let outcome = a.import(file.clone(), file_live.clone(), "shop.jsonl").await.unwrap();
    assert_eq!(outcome, Replacement::Done(1_000));
    let questions = asked.borrow().clone();
    assert_eq!(questions.len(), 2, "{questions:?}");
    assert!(questions[0].contains("log of 3 events"), "{questions:?}");
    assert!(questions[1].contains("log of 4 events"), "asked again, counting B's event: {questions:?}");

    // Declined when asked again: nothing changes, B's event stays.
    let (confirm, asked) = {
        let asked = Rc::new(RefCell::new(0));
        let n = asked.clone();
        let confirm: Confirm = Rc::new(move |_: &str| {
            *n.borrow_mut() += 1;
            *n.borrow() == 1
        });
        (confirm, asked)
    };
    let (c, loaded) = session(&name, confirm).await;
    loaded.unwrap();
    b.sync(rewind_store::LogChange::Replaced).await.unwrap();
    b.submit(top_up("ben", 5)).await.unwrap();
    assert_eq!(c.import(file, file_live, "again.jsonl").await.unwrap(), Replacement::Declined);
    assert_eq!(*asked.borrow(), 2);
    assert_eq!(c.store().head().await.unwrap(), 1_001, "B's event was not erased");
}

#[wasm_bindgen_test]
async fn an_import_leaves_a_snapshot_at_its_head_so_a_reload_replays_nothing() {
    let name = unique("import-snapshot");
    let (s, loaded) = session(&name, answering(true).0).await;
    loaded.unwrap();
    let (file, file_live) = generate_log(30, 25_000).unwrap();
    assert_eq!(s.import(file, file_live.clone(), "big.jsonl").await.unwrap(), Replacement::Done(25_000));
    // At once, as a reload right after the import would: no background write to wait for.
    let restored = Store::open(&name).await.restore().await.unwrap();
    assert_eq!((restored.snapshot_seq, restored.tail), (25_000, 0), "the reload starts from the import's snapshot");
    assert_eq!(restored.live, file_live);
}

/// Stores a generated log of `n` events in IndexedDB `name`, then changes one stored value by script.
async fn damaged_store(name: &str, n: u64, damage_js: &str) {
    let store = Store::open(name).await;
    let (log, _) = generate_log(5, n).unwrap();
    store
        .replace(Expected::Version(LogVersion::default()), &encode_chunks(log.names(), 1, log.events(), log.timestamps()))
        .await
        .unwrap();
    let promise = js_sys::eval(&format!(
        r#"new Promise((ok, fail) => {{
            const r = indexedDB.open("{name}");
            r.onsuccess = () => {{
                const tx = r.result.transaction(["chunks", "meta"], "readwrite");
                const chunks = tx.objectStore("chunks"), meta = tx.objectStore("meta");
                {damage_js};
                tx.oncomplete = () => {{ r.result.close(); ok(); }};
                tx.onerror = () => fail(tx.error);
            }};
        }})"#
    ))
    .unwrap();
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise)).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_damaged_record_leaves_a_true_prefix_and_the_user_can_keep_it_and_carry_on() {
    let name = unique("damaged");
    damaged_store(&name, 6_000, "chunks.put('not bytes', 2001)").await;
    let (confirm, asked) = answering(true);
    let (s, loaded) = session(&name, confirm).await;
    let Err(SessionError::Damaged { intact: 2_000, problem }) = loaded else { panic!("{loaded:?}") };
    assert!(matches!(problem, StoreError::DamagedRecord { from: 2_001, to: 4_000, .. }), "{problem:?}");
    assert_eq!(s.book().unwrap().log.len(), 2_000, "only the true prefix is shown");
    assert_eq!(s.book().unwrap().head(), 2_000);

    // Nothing is added to a damaged log; the message says what to do.
    let refused = s.submit(top_up("ann", 1)).await.unwrap_err();
    assert!(refused.to_string().contains("export the intact events"), "{refused}");
    assert!(matches!(s.generate(1, Population::default()).await, Err(SessionError::Damaged { .. })));

    assert_eq!(s.keep_intact().await.unwrap(), Replacement::Done(2_000));
    assert!(asked.borrow()[0].contains("Keep the 2000 intact events"), "{:?}", asked.borrow());
    assert_eq!(s.submit(top_up("ann", 1)).await.unwrap(), 2_001);
    let (reopened, loaded) = session(&name, answering(true).0).await;
    loaded.unwrap();
    assert_eq!(reopened.book().unwrap().head(), 2_001);
}

#[wasm_bindgen_test]
async fn a_head_past_the_records_stops_generate_at_once_and_import_or_clear_recover() {
    let name = unique("past");
    damaged_store(&name, 3_000, "meta.put(3500, 'head')").await;
    let (s, loaded) = session(&name, answering(true).0).await;
    assert!(
        matches!(loaded, Err(SessionError::Damaged { intact: 3_000, problem: StoreError::Missing { from: 3_001, to: 3_500 } })),
        "{loaded:?}"
    );
    assert!(matches!(s.generate(1, Population::default()).await, Err(SessionError::Damaged { .. })), "no endless retry");
    let (file, live) = generate_log(6, 10).unwrap();
    assert_eq!(s.import(file, live, "fix.jsonl").await.unwrap(), Replacement::Done(10));
    assert_eq!(s.submit(top_up("ann", 1)).await.unwrap(), 11);
}

#[wasm_bindgen_test]
async fn a_damaged_index_opens_with_what_can_be_read_and_can_be_cleared() {
    let name = unique("index");
    damaged_store(&name, 3_000, "meta.put({ not: 'a number' }, 'head')").await;
    let (s, loaded) = session(&name, answering(true).0).await;
    let Err(SessionError::Damaged { intact, problem: StoreError::DamagedIndex(_) }) = loaded else { panic!("{loaded:?}") };
    assert_eq!(intact, 3_000);
    assert!(s.submit(top_up("ann", 1)).await.is_err());
    assert_eq!(s.clear().await.unwrap(), Replacement::Done(0));
    assert_eq!(s.submit(top_up("ann", 1)).await.unwrap(), 1);
}

#[wasm_bindgen_test]
async fn keeping_the_intact_events_never_erases_an_import_another_tab_made_meanwhile() {
    let name = unique("keep-race");
    damaged_store(&name, 6_000, "chunks.put('not bytes', 2001)").await;
    let (a, loaded) = session(&name, answering(true).0).await;
    assert!(matches!(loaded, Err(SessionError::Damaged { intact: 2_000, .. })), "{loaded:?}");
    let (b, _) = session(&name, answering(true).0).await;
    let (file, live) = generate_log(9, 1_000).unwrap();
    assert_eq!(b.import(file, live, "fix.jsonl").await.unwrap(), Replacement::Done(1_000));

    // A has not heard of B's import yet: its "keep" finds the log replaced, reads it, and drops the request.
    assert_eq!(a.keep_intact().await.unwrap(), Replacement::Declined);
    assert_eq!(a.store().head().await.unwrap(), 1_000);
    assert_eq!(a.book().unwrap().head(), 1_000);
    assert!(a.book().unwrap().problem.is_none());
}




/// Records what the session reports, as text.
fn recording() -> (impl Fn(rewind::session::Update) + 'static, Rc<RefCell<Vec<String>>>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = seen.clone();
    (move |u: rewind::session::Update| log.borrow_mut().push(format!("{u:?}")), seen)
}

#[wasm_bindgen_test]
async fn a_command_whose_answer_was_lost_is_sent_again_with_the_same_key_and_stored_once() {
    let server = FakeServer::start();
    let (seeded, _) = generate_log(5, 2).unwrap();
    server.seed(&encode_chunks(seeded.names(), 1, seeded.events(), seeded.timestamps()));
    let PageStore::Ready(store) = open_page(&unique("lost")).await else { panic!("asked for a key") };
    let (notify, seen) = recording();
    let s = Session::new(store, None, answering(true).0, notify);
    s.set_outboxing(Outboxing::here());
    s.load().await.unwrap();
    assert_eq!(s.book().unwrap().head(), 2);

    // On a shared log the server decides: it stores the command, and the connection drops before its answer.
    server.plan("/api/command", "'lose'");
    assert_eq!(s.submit(top_up("zed", 7)).await, Ok(3));
    assert_eq!(server.text("fake.head()"), "3", "stored once");
    let sent = server.text("fake.calls.filter(c => c.path === '/api/command').map(c => c.type + ' ' + new TextDecoder().decode(c.body)).join('; ')");
    let tries: Vec<&str> = sent.split("; ").collect();
    assert_eq!(tries.len(), 2, "{sent}");
    assert_eq!(tries[0], tries[1], "the same request, key and all");
    assert!(tries[0].starts_with("application/json ") && tries[0].contains(r#""kind":"TopUp""#), "{sent}");
    assert_eq!(balances(&s).iter().find(|(u, _)| u == "zed"), Some(&("zed".to_owned(), 7)), "read back from the server");
    let checking: Vec<String> = seen.borrow().iter().filter(|u| u.starts_with("Checking")).cloned().collect();
    assert_eq!(checking, vec!["Checking(true)", "Checking(false)"]);

    // Another page writes first: the server decides on its log as it is, and the page reads both events.
    let (mut other, mut other_live) = (Log::new(), State::new());
    let event = decide(&other_live, other.names_mut(), &(), &top_up("ann", 1)).unwrap();
    other.push(&mut other_live, 4, event).unwrap();
    let chunks: Vec<EncodedChunk> = encode_chunks(other.names(), 4, other.events(), other.timestamps());
    server.seed(&chunks);
    assert_eq!(s.submit(top_up("zed", 1)).await, Ok(5));
    assert_eq!(server.text("fake.calls.filter(c => c.path === '/api/command').length"), "3", "sent once");
    assert_eq!(server.text("fake.head()"), "5");
    assert_eq!(s.book().unwrap().head(), 5);
    assert_eq!(balances(&s).iter().find(|(u, _)| u == "ann"), Some(&("ann".to_owned(), 1)));

    // The answer is lost, and the server is too busy for the resend (it stored the first): the page keeps
    // asking with the same key, and the command is stored once, not refused.
    server.plan("/api/command", "'lose'");
    server.plan("/api/command", "call => json(429, { message: 'this server copy has 8192 commands waiting for the shop already' })");
    assert_eq!(s.submit(top_up("zed", 2)).await, Ok(6));
    assert_eq!(server.text("fake.calls.filter(c => c.path === '/api/command').length"), "6", "lost, busy, then stored before");
    assert_eq!((server.text("fake.head()"), s.book().unwrap().head()), ("6".to_owned(), 6));
    assert_eq!(balances(&s).iter().find(|(u, _)| u == "zed"), Some(&("zed".to_owned(), 10)), "7 + 1 + 2, once each");

    // The server refuses: the page shows the domain's own refusal, and nothing is stored or shown.
    let order = Command::Order { user: "zed".into(), item: "nothing".into(), qty: 1 };
    assert_eq!(s.submit(order).await, Err(SessionError::Rejected(Rejection::UnknownItem { item: "nothing".into() })));
    assert_eq!(server.text("fake.calls.filter(c => c.path === '/api/command').length"), "7", "the server decided it");
    assert_eq!((server.text("fake.head()"), s.book().unwrap().head()), ("6".to_owned(), 6));
}

/// Waits (up to 30 s, as the outbox's retries back off) until `done` holds.
/// The amounts `pick` finds in the events of the log shown, in its order.
fn amounts_of(s: &Session, pick: impl Fn(&rewind_domain::Event) -> Option<u64>) -> Vec<u64> {
    s.book().unwrap().log.events().iter().filter_map(pick).collect()
}

/// How many commands each request to `/api/commands` carried, in the order they came, comma-separated.
fn command_groups(server: &FakeServer) -> String {
    server.text("fake.calls.filter(c => c.path === '/api/commands').map(c => JSON.parse(new TextDecoder().decode(c.body)).commands.length).join(',')")
}

async fn until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        rewind_store::clock::sleep(100).await;
    }
    panic!("waited 30 s for {what}");
}

async fn outbox_entries(s: &Session) -> Vec<rewind_store::OutboxEntry> {
    s.store().outbox().unwrap().list().await.unwrap().entries
}

#[wasm_bindgen_test]
async fn commands_made_while_the_server_is_away_wait_in_the_outbox_uncounted_and_are_stored_once_in_order_when_it_is_back() {
    let server = FakeServer::start();
    let PageStore::Ready(store) = open_page(&unique("away")).await else { panic!("asked for a key") };
    let s = Session::new(store, None, answering(true).0, |_| {});
    s.set_outboxing(Outboxing::here());
    s.load().await.unwrap();

    s.submit(Command::AddItem { item: "apple".into(), price: 30, qty: 10 }).await.unwrap();
    s.submit(top_up("zed", 1_000)).await.unwrap();

    // Made offline, in an order that matters: each order pays the price set just before it.
    server.text("fake.down = true");
    let made = vec![
        Command::SetPrice { item: "apple".into(), price: 50 },
        Command::Order { user: "zed".into(), item: "apple".into(), qty: 1 },
        Command::SetPrice { item: "apple".into(), price: 70 },
        Command::Order { user: "zed".into(), item: "apple".into(), qty: 1 },
        top_up("zed", 3),
    ];
    for (n, command) in made.iter().enumerate() {
        match s.submit(command.clone()).await {
            Err(SessionError::Kept { waiting, .. }) => assert_eq!(waiting, n + 1),
            other => panic!("kept in the outbox, not {other:?}"),
        }
    }
    let waiting = outbox_entries(&s).await;
    let asked: Vec<Command> = waiting.iter().map(|e| e.command.clone()).collect();
    assert_eq!(asked, made, "in the order they were made");
    assert_eq!(s.book().unwrap().head(), 2, "nothing counted while it waits");
    // The first was sent (its answer never came): it can no longer be cancelled. The last never was.
    assert!(matches!(waiting[0].state, EntryState::Sent { .. }), "{:?}", waiting[0].state);
    assert_eq!(s.drop_from_outbox(waiting[0].id, &waiting[0].key, false).await, Ok(Changed::AlreadySent));
    assert_eq!(s.drop_from_outbox(waiting[4].id, &waiting[4].key, false).await, Ok(Changed::Done));
    // A place is never given twice: the next command is after every one before it, cancelled or not.
    assert_eq!(s.drop_from_outbox(waiting[4].id, &waiting[4].key, false).await, Ok(Changed::Gone));

    server.text("fake.down = false");
    until("the outbox to be sent", || s.book().unwrap().head() == 6).await;
    assert_eq!(server.text("fake.head()"), "6", "the cancelled command was never sent");
    assert_eq!(server.text("fake.commandKeys.size"), "6", "each stored once, however often it was sent");
    let together = command_groups(&server);
    assert!(together.split(',').any(|n| n == "3"), "the three after the first went together: {together}");
    assert_eq!(balances(&s), vec![("zed".to_owned(), 1_000 - 50 - 70)], "each order at the price set just before it");
    let totals = amounts_of(&s, |e| match e {
        rewind_domain::Event::OrderPlaced { total, .. } => Some(total.0),
        _ => None,
    });
    assert_eq!(totals, vec![50, 70]);
    assert!(outbox_entries(&s).await.is_empty());
}

#[wasm_bindgen_test]
async fn a_command_sent_by_a_tab_that_closed_before_the_answer_is_stored_once_when_another_tab_sends_it() {
    let server = FakeServer::start();
    let name = unique("closed");
    // A tab kept the command and sent it; the server stored it; the tab was closed before the answer came.
    let outbox = Outbox::open(&format!("{name}-shared")).await;
    let key = CommandKey::random().unwrap();
    let id = outbox.add(&key, &top_up("zed", 5), 1).await.unwrap();
    assert_eq!(outbox.mark_sent_all(&[(id, &key)], id).await, Ok(vec![Changed::Done]));
    server.command_from_elsewhere(key.as_str(), &top_up("zed", 5));
    assert_eq!(server.text("fake.head()"), "1");

    // Another tab opens: it finds the command and sends it again, same key: answered "stored before".
    let PageStore::Ready(store) = open_page(&name).await else { panic!("asked for a key") };
    let s = Session::new(store, None, answering(true).0, |_| {});
    s.set_outboxing(Outboxing::here());
    s.load().await.unwrap();
    for _ in 0..300 {
        if outbox_entries(&s).await.is_empty() {
            break;
        }
        rewind_store::clock::sleep(100).await;
    }
    assert!(outbox_entries(&s).await.is_empty(), "answered, so gone from the outbox");
    assert_eq!(server.text("fake.calls.filter(c => c.path === '/api/command').length"), "1", "sent again once");
    assert_eq!((server.text("fake.head()"), s.book().unwrap().head()), ("1".to_owned(), 1));
    assert_eq!(balances(&s), vec![("zed".to_owned(), 5)], "stored once");
}

#[wasm_bindgen_test]
async fn a_command_the_log_no_longer_allows_goes_to_the_conflict_inbox_to_be_changed_and_sent_or_dropped() {
    let server = FakeServer::start();
    let PageStore::Ready(store) = open_page(&unique("conflict")).await else { panic!("asked for a key") };
    let s = Session::new(store, None, answering(true).0, |_| {});
    s.set_outboxing(Outboxing::here());
    s.load().await.unwrap();
    for command in [
        Command::AddItem { item: "apple".into(), price: 30, qty: 1 },
        Command::AddItem { item: "pear".into(), price: 20, qty: 5 },
        top_up("ann", 100),
        top_up("ben", 100),
    ] {
        s.submit(command).await.unwrap();
    }

    // Offline, ann orders the last apple; meanwhile ben buys it from another till.
    server.text("fake.down = true");
    let last_apple = Command::Order { user: "ann".into(), item: "apple".into(), qty: 1 };
    assert!(matches!(s.submit(last_apple.clone()).await, Err(SessionError::Kept { .. })));
    server.text("fake.down = false");
    server.command_from_elsewhere("ben-buys-the-last-apple", &Command::Order { user: "ben".into(), item: "apple".into(), qty: 1 });

    let refused = loop {
        let entries = outbox_entries(&s).await;
        if let Some(EntryState::Refused { message, .. }) = entries.first().map(|e| e.state.clone()) {
            break (entries[0].id, entries[0].key.clone(), message);
        }
        rewind_store::clock::sleep(100).await;
    };
    assert!(refused.2.contains("in stock"), "the stock refusal in the page's words: {}", refused.2);
    until("ben's order to be read", || s.book().unwrap().head() == 5).await;
    assert_eq!(balances(&s), vec![("ann".to_owned(), 100), ("ben".to_owned(), 70)], "nothing of ann's order");

    // Changed to a pear, it is stored; the inbox is empty.
    let pear = Command::Order { user: "ann".into(), item: "pear".into(), qty: 1 };
    assert_eq!(s.retry_refused(refused.0, &refused.1, pear).await, Ok(6));
    assert!(outbox_entries(&s).await.is_empty());
    assert_eq!(balances(&s), vec![("ann".to_owned(), 80), ("ben".to_owned(), 70)]);

    // Sent again unchanged, it is refused again and back in the inbox; dropped, it is gone, nothing stored.
    server.text("fake.down = true");
    assert!(matches!(s.submit(last_apple.clone()).await, Err(SessionError::Kept { .. })));
    server.text("fake.down = false");
    let id = loop {
        let entries = outbox_entries(&s).await;
        if let Some(e) = entries.iter().find(|e| matches!(e.state, EntryState::Refused { .. })) {
            break (e.id, e.key.clone());
        }
        rewind_store::clock::sleep(100).await;
    };
    assert!(s.retry_refused(id.0, &id.1, last_apple).await.is_err());
    let again = outbox_entries(&s).await;
    assert!(matches!(again.as_slice(), [e] if matches!(e.state, EntryState::Refused { .. })), "{again:?}");
    assert_eq!(s.drop_from_outbox(again[0].id, &again[0].key, true).await, Ok(Changed::Done));
    assert!(outbox_entries(&s).await.is_empty());
    assert_eq!((server.text("fake.head()"), s.book().unwrap().head()), ("6".to_owned(), 6));
}

#[wasm_bindgen_test]
async fn a_session_on_a_shared_log_without_its_outbox_opens_nothing_and_says_why() {
    let _server = FakeServer::start();
    let PageStore::Ready(store) = open_page(&unique("no-outbox")).await else { panic!("asked for a key") };
    let s = Session::new(store, None, answering(true).0, |_| {});
    assert_eq!(s.load().await, Err(SessionError::NoOutbox));
    assert!(SessionError::NoOutbox.to_string().contains("reload the page"));
    assert_eq!(s.book().unwrap().head(), 0);
}

#[wasm_bindgen_test]
async fn commands_the_server_decided_only_in_part_are_sent_again_from_the_first_undecided_and_stored_once_in_order() {
    let server = FakeServer::start();
    let PageStore::Ready(store) = open_page(&unique("part")).await else { panic!("asked for a key") };
    let s = Session::new(store, None, answering(true).0, |_| {});
    s.set_outboxing(Outboxing::here());
    s.load().await.unwrap();
    server.text("fake.down = true");
    for amount in 1..=4 {
        assert!(matches!(s.submit(top_up("zed", amount)).await, Err(SessionError::Kept { .. })));
    }
    // Back, but Redis stops after the first of the three that go together: the answer says so.
    server.plan(
        "/api/commands",
        "call => { const asked = JSON.parse(new TextDecoder().decode(call.body)); \
         const first = window.__rewindFake.answer({ path: '/api/command', query: {}, body: new TextEncoder().encode(JSON.stringify(asked.commands[0])) }); \
         return json(200, { outcomes: [{ outcome: 'stored', seq: JSON.parse(first.__body).seq }], stopped: 'Redis stopped answering' }); }",
    );
    server.text("fake.down = false");
    until("the outbox to be sent", || s.book().unwrap().head() == 4).await;
    let stored = server.text("fake.entries.length");
    assert_eq!(stored, "4", "each once");
    assert_eq!(server.text("fake.commandKeys.size"), "4");
    let amounts = amounts_of(&s, |e| match e {
        rewind_domain::Event::ToppedUp { amount, .. } => Some(amount.0),
        _ => None,
    });
    assert_eq!(amounts, vec![1, 2, 3, 4], "in the order they were made");
    let groups = command_groups(&server);
    assert_eq!(groups, "3,2", "the three together, then the two not decided, again together");
    assert!(outbox_entries(&s).await.is_empty());
}
