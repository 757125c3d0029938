//! Every rule of CONTRACT §1 and §4, as given (accepted commands) / when (a command) / then (an event or a refusal).
//! These also run compiled to wasm in headless Chromium (`cargo test --target wasm32-unknown-unknown`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use rewind_domain::{compensate, Command, Event, Log, State, MAX};

struct Shop {
    log: Log,
    state: State,
}

fn top_up(user: &str, amount: u64) -> Command {
    Command::TopUp { user: user.into(), amount }
}
fn add_item(item: &str, price: u64, qty: u64) -> Command {
    Command::AddItem { item: item.into(), price, qty }
}
fn order(user: &str, item: &str, qty: u64) -> Command {
    Command::Order { user: user.into(), item: item.into(), qty }
}

/// A shop after the given commands, each of which must be accepted.
fn given(commands: &[Command]) -> Shop {
    let mut shop = Shop { log: Log::new(), state: State::new() };
    for (i, command) in commands.iter().enumerate() {
        let event = shop.log.decide(&shop.state, command)
            .unwrap_or_else(|r| panic!("given command {i} was refused: {r}"));
        shop.log.push(&mut shop.state, i as u64, event).unwrap();
    }
    shop
}

impl Shop {
    fn when(mut self, command: Command) -> Outcome {
        let before = self.state.listing(self.log.names());
        let result = self.log.decide(&self.state, &command);
        assert_eq!(self.state.listing(self.log.names()), before, "deciding must not change the state");
        let result = result.map(|event| {
            let text = describe(&self.log, &event);
            self.log.push(&mut self.state, 0, event).unwrap();
            text
        });
        Outcome { shop: self, result: result.map_err(|r| r.to_string()) }
    }
}

struct Outcome {
    shop: Shop,
    result: Result<String, String>,
}

impl Outcome {
    fn then_event(self, expected: &str) -> Shop {
        assert_eq!(self.result, Ok(expected.to_owned()));
        self.shop
    }
    fn then_refused(self, message: &str) {
        assert_eq!(self.result, Err(message.to_owned()));
    }
}

impl Shop {
    fn balance(&self, user: &str) -> Option<u64> {
        self.log.names().user(user).and_then(|u| self.state.balance(u)).map(|m| m.0)
    }
    fn item(&self, item: &str) -> Option<(u64, u64)> {
        let id = self.log.names().item(item)?;
        Some((self.state.price(id)?.0, self.state.stock(id)?.0))
    }
}

fn describe(log: &Log, event: &Event) -> String {
    let n = log.names();
    match *event {
        Event::ToppedUp { user, amount } => format!("ToppedUp {} {}", n.user_name(user), amount.0),
        Event::ItemAdded { item, price, qty } => {
            format!("ItemAdded {} {} {}", n.item_name(item), price.0, qty.0)
        }
        Event::OrderPlaced { user, item, qty, price, total } => {
            format!("OrderPlaced {} {} {} at {} = {}", n.user_name(user), n.item_name(item), qty.0, price.0, total.0)
        }
        Event::Refunded { order, user, item, qty, total } => {
            format!("Refunded #{order} {} {} {} {}", n.user_name(user), n.item_name(item), qty.0, total.0)
        }
        Event::Withdrawn { user, amount } => format!("Withdrawn {} {}", n.user_name(user), amount.0),
        Event::WrittenOff { item, qty } => format!("WrittenOff {} {}", n.item_name(item), qty.0),
        Event::PriceSet { item, price } => format!("PriceSet {} {}", n.item_name(item), price.0),
    }
}

fn refund(order: u64) -> Command {
    Command::Refund { order }
}
fn withdraw(user: &str, amount: u64) -> Command {
    Command::Withdraw { user: user.into(), amount }
}
fn write_off(item: &str, qty: u64) -> Command {
    Command::WriteOff { item: item.into(), qty }
}
fn set_price(item: &str, price: u64) -> Command {
    Command::SetPrice { item: item.into(), price }
}

macro_rules! rule {
    ($name:ident $body:block) => {
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        fn $name() $body
    };
}

rule!(top_up_creates_the_user { 
    let shop = given(&[]).when(top_up("alice", 500)).then_event("ToppedUp alice 500");
    assert_eq!(shop.balance("alice"), Some(500));
});

rule!(top_up_adds_to_the_balance {
    let shop = given(&[top_up("alice", 500)]).when(top_up("alice", 40)).then_event("ToppedUp alice 40");
    assert_eq!(shop.balance("alice"), Some(540));
});

rule!(top_up_of_zero_is_refused {
    given(&[]).when(top_up("alice", 0)).then_refused("the amount must be at least 1");
});

rule!(top_up_up_to_max_is_accepted_and_past_it_refused {
    let shop = given(&[top_up("alice", MAX - 1)]).when(top_up("alice", 1)).then_event("ToppedUp alice 1");
    assert_eq!(shop.balance("alice"), Some(MAX));
    given(&[top_up("alice", MAX)]).when(top_up("alice", 1)).then_refused(
        "alice has 9007199254740991; adding 1 would go past the maximum balance 9007199254740991",
    );
    given(&[]).when(top_up("bob", MAX + 1)).then_refused(
        "the amount 9007199254740992 is more than the maximum 9007199254740991",
    );
    given(&[]).when(top_up("bob", u64::MAX)).then_refused(
        "the amount 18446744073709551615 is more than the maximum 9007199254740991",
    );
});

rule!(ids_must_follow_the_contract {
    given(&[]).when(top_up("", 1)).then_refused("user id \"\" is empty");
    given(&[]).when(top_up("al ice", 1))
        .then_refused("user id \"al ice\" contains ' '; use only letters A-Z a-z, digits, '_' and '-'");
    given(&[]).when(add_item(&"x".repeat(33), 1, 1))
        .then_refused(&format!("item id \"{}\" has 33 characters, at most 32 are allowed", "x".repeat(33)));
    given(&[]).when(top_up(&"x".repeat(32), 1)).then_event(&format!("ToppedUp {} 1", "x".repeat(32)));
});

rule!(add_item_creates_the_item {
    let shop = given(&[]).when(add_item("apple", 30, 10)).then_event("ItemAdded apple 30 10");
    assert_eq!(shop.item("apple"), Some((30, 10)));
});

rule!(add_item_sets_the_price_and_adds_stock {
    let shop = given(&[add_item("apple", 30, 10)]).when(add_item("apple", 35, 5)).then_event("ItemAdded apple 35 5");
    assert_eq!(shop.item("apple"), Some((35, 15)));
});

rule!(add_item_price_must_be_between_1_and_max {
    given(&[]).when(add_item("apple", 0, 1)).then_refused("the price must be between 1 and 9007199254740991, not 0");
    given(&[]).when(add_item("apple", MAX + 1, 1))
        .then_refused("the price must be between 1 and 9007199254740991, not 9007199254740992");
    given(&[]).when(add_item("apple", MAX, 1)).then_event("ItemAdded apple 9007199254740991 1");
});

rule!(add_item_qty_must_be_at_least_1 {
    given(&[]).when(add_item("apple", 30, 0)).then_refused("the quantity must be at least 1");
});

rule!(add_item_stock_cannot_pass_max {
    let shop = given(&[add_item("apple", 30, MAX - 2)]).when(add_item("apple", 30, 2)).then_event("ItemAdded apple 30 2");
    assert_eq!(shop.item("apple"), Some((30, MAX)));
    given(&[add_item("apple", 30, MAX)]).when(add_item("apple", 30, 1)).then_refused(
        "apple has 9007199254740991 in stock; adding 1 would go past the maximum stock 9007199254740991",
    );
    given(&[]).when(add_item("apple", 30, MAX + 1))
        .then_refused("the quantity 9007199254740992 is more than the maximum 9007199254740991");
});

rule!(order_subtracts_total_and_stock_and_records_the_total {
    let shop = given(&[top_up("alice", 500), add_item("apple", 30, 10)])
        .when(order("alice", "apple", 2))
        .then_event("OrderPlaced alice apple 2 at 30 = 60");
    assert_eq!(shop.balance("alice"), Some(440));
    assert_eq!(shop.item("apple"), Some((30, 8)));
});

rule!(order_uses_the_price_at_the_time {
    let shop = given(&[top_up("alice", 500), add_item("apple", 30, 10), order("alice", "apple", 1), add_item("apple", 50, 1)])
        .when(order("alice", "apple", 1))
        .then_event("OrderPlaced alice apple 1 at 50 = 50");
    assert_eq!(shop.balance("alice"), Some(420));
});

rule!(order_of_everything_the_user_can_afford_is_accepted {
    let shop = given(&[top_up("alice", 60), add_item("apple", 30, 2)])
        .when(order("alice", "apple", 2))
        .then_event("OrderPlaced alice apple 2 at 30 = 60");
    assert_eq!(shop.balance("alice"), Some(0));
    assert_eq!(shop.item("apple"), Some((30, 0)));
});

rule!(order_qty_must_be_at_least_1 {
    given(&[top_up("alice", 500), add_item("apple", 30, 10)]).when(order("alice", "apple", 0))
        .then_refused("the quantity must be at least 1");
});

rule!(order_needs_an_existing_user {
    given(&[add_item("apple", 30, 10)]).when(order("alice", "apple", 1))
        .then_refused("there is no user alice; top up to create one");
});

rule!(order_needs_an_existing_item {
    given(&[top_up("alice", 500)]).when(order("alice", "apple", 1))
        .then_refused("there is no item apple; add it to the warehouse first");
});

rule!(order_needs_enough_stock {
    given(&[top_up("alice", 500), add_item("apple", 30, 8)]).when(order("alice", "apple", 10))
        .then_refused("apple has 8 in stock, the order wants 10");
});

rule!(order_needs_enough_money {
    given(&[top_up("alice", 40), add_item("apple", 30, 8)]).when(order("alice", "apple", 2))
        .then_refused("alice has 40, the order costs 60");
});

rule!(order_total_cannot_pass_max {
    given(&[top_up("alice", MAX), add_item("apple", MAX / 2 + 1, 2)]).when(order("alice", "apple", 2))
        .then_refused("2 × apple at 4503599627370496 costs more than the maximum 9007199254740991");
});

rule!(a_refused_command_leaves_no_trace_in_the_state {
    let shop = given(&[top_up("alice", 40)]);
    let before = shop.state.listing(shop.log.names());
    let outcome = shop.when(top_up("bob", 0));
    assert!(outcome.result.is_err());
    assert_eq!(outcome.shop.state.listing(outcome.shop.log.names()), before);
    assert_eq!(outcome.shop.log.len(), 1);
});

// ---- CONTRACT §4: corrections, never edits ----

/// Alice (500) bought 2 apples at 30 (event 3); the warehouse had 10.
fn a_sale() -> Vec<Command> {
    vec![top_up("alice", 500), add_item("apple", 30, 10), order("alice", "apple", 2)]
}

rule!(an_order_records_the_unit_price_it_was_sold_at {
    let shop = given(&a_sale()).when(set_price("apple", 45)).then_event("PriceSet apple 45");
    shop.when(order("alice", "apple", 1)).then_event("OrderPlaced alice apple 1 at 45 = 45");
});

rule!(a_refund_gives_the_total_and_the_qty_back {
    let shop = given(&a_sale()).when(refund(3)).then_event("Refunded #3 alice apple 2 60");
    assert_eq!(shop.balance("alice"), Some(500));
    assert_eq!(shop.item("apple"), Some((30, 10)));
});

rule!(a_refund_gives_back_what_was_paid_even_after_a_price_change {
    given(&[a_sale(), vec![set_price("apple", 99)]].concat()).when(refund(3))
        .then_event("Refunded #3 alice apple 2 60");
});

rule!(an_order_is_refunded_once {
    given(&[a_sale(), vec![refund(3)]].concat()).when(refund(3))
        .then_refused("order #3 was already refunded (#4)");
});

rule!(only_an_order_can_be_refunded {
    given(&a_sale()).when(refund(1)).then_refused("event #1 is not an order, so it cannot be refunded");
    given(&a_sale()).when(refund(9)).then_refused("event #9 is not an order, so it cannot be refunded");
    given(&a_sale()).when(refund(0)).then_refused("event #0 is not an order, so it cannot be refunded");
});

rule!(a_refund_cannot_push_a_balance_past_max {
    given(&[a_sale(), vec![top_up("alice", MAX - 440)]].concat()).when(refund(3)).then_refused(
        "alice has 9007199254740991; adding 60 would go past the maximum balance 9007199254740991",
    );
});

rule!(a_refund_cannot_push_stock_past_max {
    given(&[a_sale(), vec![add_item("apple", 30, MAX - 8)]].concat()).when(refund(3)).then_refused(
        "apple has 9007199254740991 in stock; adding 2 would go past the maximum stock 9007199254740991",
    );
});

rule!(a_withdrawal_takes_money_out_up_to_the_balance {
    let shop = given(&[top_up("alice", 50)]).when(withdraw("alice", 50)).then_event("Withdrawn alice 50");
    assert_eq!(shop.balance("alice"), Some(0));
    given(&[top_up("alice", 50)]).when(withdraw("alice", 51)).then_refused("alice has 50, so 51 cannot be withdrawn");
    given(&[top_up("alice", 50)]).when(withdraw("alice", 0)).then_refused("the amount must be at least 1");
    given(&[]).when(withdraw("bob", 1)).then_refused("there is no user bob; top up to create one");
    given(&[]).when(withdraw("b b", 1)).then_refused("user id \"b b\" contains ' '; use only letters A-Z a-z, digits, '_' and '-'");
});

rule!(a_write_off_takes_stock_out_up_to_the_stock {
    let shop = given(&[add_item("apple", 30, 10)]).when(write_off("apple", 10)).then_event("WrittenOff apple 10");
    assert_eq!(shop.item("apple"), Some((30, 0)));
    given(&[add_item("apple", 30, 10)]).when(write_off("apple", 11))
        .then_refused("apple has 10 in stock, so 11 cannot be written off");
    given(&[add_item("apple", 30, 10)]).when(write_off("apple", 0)).then_refused("the quantity must be at least 1");
    given(&[]).when(write_off("pear", 1)).then_refused("there is no item pear; add it to the warehouse first");
});

rule!(a_new_price_must_be_in_range_and_differ {
    let shop = given(&[add_item("apple", 30, 10)]).when(set_price("apple", 31)).then_event("PriceSet apple 31");
    assert_eq!(shop.item("apple"), Some((31, 10)));
    given(&[add_item("apple", 30, 10)]).when(set_price("apple", 30)).then_refused("apple already costs 30");
    given(&[add_item("apple", 30, 10)]).when(set_price("apple", 0))
        .then_refused("the price must be between 1 and 9007199254740991, not 0");
    given(&[add_item("apple", 30, 10)]).when(set_price("apple", MAX + 1))
        .then_refused("the price must be between 1 and 9007199254740991, not 9007199254740992");
    given(&[]).when(set_price("pear", 5)).then_refused("there is no item pear; add it to the warehouse first");
});

rule!(an_imported_refund_that_does_not_match_its_order_is_refused {
    let shop = given(&a_sale());
    let (mut log, mut state) = (shop.log, shop.state);
    let (alice, apple) = (log.names().user("alice").unwrap(), log.names().item("apple").unwrap());
    let wrong = Event::Refunded { order: 3, user: alice, item: apple, qty: rewind_domain::Qty(2), total: rewind_domain::Money(61) };
    assert_eq!(
        log.push(&mut state, 9, wrong).unwrap_err().to_string(),
        "the refund does not match order #3: it must give back exactly what was ordered"
    );
    let mispriced = Event::OrderPlaced {
        user: alice, item: apple, qty: rewind_domain::Qty(1), price: rewind_domain::Money(29), total: rewind_domain::Money(30),
    };
    assert_eq!(log.push(&mut state, 9, mispriced).unwrap_err().to_string(), "the order records a price of 29, but apple costs 30");
    assert_eq!(log.len(), 3);
});

rule!(restoring_to_a_point_compensates_every_value_and_zeroes_what_came_later {
    let shop = given(&[
        a_sale(),
        vec![top_up("bob", 70), set_price("apple", 40), add_item("pear", 5, 3), write_off("apple", 1), top_up("alice", 9)],
    ].concat());
    let (mut log, mut live) = (shop.log, shop.state);
    let target = log.replay_prefix(3).unwrap();
    let events = compensate(&live, &target);
    for event in &events {
        log.push(&mut live, 99, *event).unwrap();
    }
    let names = log.names();
    let balance = |u: &str| live.balance(names.user(u).unwrap()).unwrap().0;
    let item = |i: &str| { let id = names.item(i).unwrap(); (live.price(id).unwrap().0, live.stock(id).unwrap().0) };
    assert_eq!(balance("alice"), 440);
    assert_eq!(balance("bob"), 0, "created later: kept, with nothing");
    assert_eq!(item("apple"), (30, 8));
    assert_eq!(item("pear"), (5, 0), "created later: kept, with no stock");
    assert_eq!(events.len(), 4, "withdraw from alice and bob, restock apple at its old price, write pears off: {events:?}");
    assert!(compensate(&live, &target).is_empty(), "already there: nothing to do");
});

/// Events decided by one writer, checked as a continuation by another (the sync server) without applying them.
fn decided_elsewhere(shop: &Shop, commands: &[Command]) -> Vec<Event> {
    let (mut log, mut live) = (shop.log.clone(), shop.state.clone());
    commands.iter().map(|c| {
        let event = log.decide(&live, c).unwrap();
        log.push(&mut live, 0, event).unwrap();
        event
    }).collect()
}

rule!(a_continuation_is_checked_without_changing_the_log {
    let shop = given(&a_sale());
    let batch = decided_elsewhere(&shop, &[refund(3), top_up("bob", 5), order("alice", "apple", 1)]);
    let before = (shop.log.len(), shop.state.listing(shop.log.names()));
    assert_eq!(shop.log.check_continuation(&shop.state, &batch), Ok(()));
    assert_eq!((shop.log.len(), shop.state.listing(shop.log.names())), before);
});

rule!(a_continuation_that_breaks_a_rule_is_refused_with_the_rule_s_words {
    let shop = given(&a_sale());
    let twice = decided_elsewhere(&shop, &[refund(3)]);
    let batch = [twice.clone(), twice].concat();
    let refused = shop.log.check_continuation(&shop.state, &batch).map_err(|e| e.to_string());
    assert_eq!(refused, Err("event 5 breaks a rule: order #3 was already refunded (#4)".into()));
    let poorer = given(&[add_item("apple", 30, 10), top_up("alice", 10)]);
    let order = decided_elsewhere(&given(&[add_item("apple", 30, 10), top_up("alice", 500)]), &[order("alice", "apple", 1)]);
    let page_says = poorer.log.clone().decide(&poorer.state, &Command::Order { user: "alice".into(), item: "apple".into(), qty: 1 }).unwrap_err();
    assert_eq!(poorer.log.check_continuation(&poorer.state, &order), Err(rewind_domain::LogError::Broken { seq: 3, rejection: page_says }));
});
