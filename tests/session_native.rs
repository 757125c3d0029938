//! The session natively, over the memory store and a clock of the test's own: its rules of order, time and
//! replacement, without a browser (the browser tests in session.rs cover IndexedDB, other tabs and the
//! shared log).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise
#![cfg(not(target_arch = "wasm32"))]

use futures::future::join_all;
use rewind::session::{Confirm, Population, Replacement, Session, SessionError};
use rewind_domain::{generate_log, Command, Rejection};
use rewind_store::clock::{block_on, run_background, Clock, Wait};
use rewind_store::Store;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A clock that says what the test sets, and waits for nothing.
struct TestClock {
    now: Cell<u64>,
}

impl Clock for TestClock {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    fn monotonic_ms(&self) -> f64 {
        self.now.get() as f64
    }
    fn sleep(&self, ms: u32) -> Wait {
        self.now.set(self.now.get() + u64::from(ms));
        Box::pin(std::future::ready(()))
    }
}

/// 2026-12-03 12:00:00 UTC.
const NOON: u64 = 1_796_299_200_000;

/// A loaded session over a fresh memory store, its clock, and the questions it asked (answered `answer`).
fn given_a_session(answer: bool) -> (Rc<Session>, Rc<TestClock>, Rc<RefCell<Vec<String>>>) {
    let clock = Rc::new(TestClock { now: Cell::new(NOON) });
    let asked = Rc::new(RefCell::new(Vec::new()));
    let questions = asked.clone();
    let confirm: Confirm = Rc::new(move |q: &str| {
        questions.borrow_mut().push(q.to_owned());
        answer
    });
    let session = Session::with_clock(Store::in_memory(), None, confirm, |_| {}, clock.clone());
    block_on(session.load()).unwrap();
    (session, clock, asked)
}

fn top_up(user: &str, amount: u64) -> Command {
    Command::TopUp { user: user.into(), amount }
}

#[test]
fn given_commands_asked_at_once_when_decided_then_they_are_stored_in_order_stamped_by_the_clock() {
    let (s, clock, _) = given_a_session(true);
    let seqs: Vec<u64> = block_on(join_all((1..=5).map(|i| s.submit(top_up("alice", i))))).into_iter().map(Result::unwrap).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    // The clock goes back (a corrected system time): the log's time does not.
    clock.now.set(NOON - 60_000);
    assert_eq!(block_on(s.submit(top_up("alice", 6))).unwrap(), 6);
    let book = s.book().unwrap();
    assert_eq!(book.log.timestamps(), &[NOON, NOON, NOON, NOON, NOON, NOON]);
    assert_eq!(book.live.listing(book.log.names()).users, vec![("alice".to_owned(), 21)]);
    assert_eq!(block_on(s.store().head()).unwrap(), 6);
}

#[test]
fn given_a_balance_when_an_order_costs_more_then_it_is_refused_in_the_rules_words_and_nothing_is_stored() {
    let (s, _, _) = given_a_session(true);
    block_on(s.submit(top_up("alice", 50))).unwrap();
    block_on(s.submit(Command::AddItem { item: "apple".into(), price: 30, qty: 5 })).unwrap();
    let refused = block_on(s.submit(Command::Order { user: "alice".into(), item: "apple".into(), qty: 2 }));
    assert!(
        matches!(refused, Err(SessionError::Rejected(Rejection::InsufficientFunds { balance: 50, total: 60, .. }))),
        "{refused:?}"
    );
    assert_eq!(block_on(s.store().head()).unwrap(), 2, "nothing stored");
    assert_eq!(s.book().unwrap().head(), 2, "nothing shown");
}

#[test]
fn given_a_log_when_an_import_is_declined_then_nothing_changes_and_when_accepted_a_snapshot_is_at_its_head() {
    let (s, _, asked) = given_a_session(false);
    block_on(s.submit(top_up("alice", 5))).unwrap();
    let (file, live) = generate_log(3, 12_000).unwrap();
    assert_eq!(block_on(s.import(file.clone(), live.clone(), "shop.jsonl")).unwrap(), Replacement::Declined);
    assert!(asked.borrow()[0].contains("log of 1 event"), "{:?}", asked.borrow());
    assert_eq!(block_on(s.store().head()).unwrap(), 1);

    let (s, _, _) = given_a_session(true);
    assert_eq!(block_on(s.import(file, live.clone(), "shop.jsonl")).unwrap(), Replacement::Done(12_000));
    let restored = block_on(s.store().restore()).unwrap();
    assert_eq!((restored.snapshot_seq, restored.tail), (12_000, 0));
    assert_eq!(restored.live, live);
}

#[test]
fn given_a_log_when_a_file_with_a_bad_line_is_imported_then_it_says_which_line_and_nothing_changes() {
    let (s, _, asked) = given_a_session(true);
    block_on(s.submit(top_up("alice", 5))).unwrap();
    let (file, _) = generate_log(3, 30_000).unwrap();
    let mut text = rewind_domain::encode_jsonl(&file);
    // A line past the first step of the check, so that the check reports progress before it finds it.
    text.push_str("{\"v\":1,\"seq\":30001,\"ts\":1,\"type\":\"ToppedUp\",\"user\":\"bob\",\"amount\":-3}\n");
    let refused = block_on(s.import_file(text.into_bytes(), "shop.jsonl"));
    let Err(SessionError::Unreadable(e)) = refused else { panic!("{refused:?}") };
    assert!(e.to_string().contains("30001"), "the line is named: {e}");
    assert!(asked.borrow().is_empty(), "nothing asked of a file that is not a log");
    assert_eq!(block_on(s.store().head()).unwrap(), 1, "nothing stored");
    assert_eq!(s.book().unwrap().head(), 1, "nothing shown");
}

#[test]
fn given_a_clock_when_events_are_generated_then_none_is_stamped_after_it() {
    let (s, clock, _) = given_a_session(true);
    block_on(s.submit(top_up("alice", 5))).unwrap();
    clock.now.set(NOON + 1_000);
    assert_eq!(block_on(s.generate(2_000, Population { users: 5, items: 2 })).unwrap(), 2_000);
    let book = s.book().unwrap();
    assert!(book.log.timestamps().iter().all(|ts| (NOON..=NOON + 1_000).contains(ts)));
    assert!(book.log.timestamps().windows(2).all(|w| w[0] <= w[1]), "time never runs backwards in the log");
    assert!(book.live.listing(book.log.names()).users.len() <= 6);
}

#[test]
fn given_a_log_past_the_snapshot_cadence_when_it_grows_then_a_snapshot_is_written_in_the_background() {
    let (s, _, _) = given_a_session(true);
    assert_eq!(block_on(s.generate(10_500, Population { users: 50, items: 10 })).unwrap(), 10_500);
    run_background();
    let restored = block_on(s.store().restore()).unwrap();
    assert!(restored.snapshot_seq >= 10_000, "a snapshot once 10,000 events are stored: {}", restored.snapshot_seq);
    assert_eq!(restored.snapshot_seq + restored.tail, 10_500);
}
