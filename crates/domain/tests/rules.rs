//! Every rule of CONTRACT §1, as given (accepted commands) / when (a command) / then (an event or a refusal).
//! These also run compiled to wasm in headless Chromium (`cargo test --target wasm32-unknown-unknown`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may stop at the first surprise

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use rewind_domain::{decide, Command, Event, Log, State, MAX};

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
        let event = decide(&shop.state, shop.log.names_mut(), command)
            .unwrap_or_else(|r| panic!("given command {i} was refused: {r}"));
        shop.log.push(&mut shop.state, i as u64, event).unwrap();
    }
    shop
}

impl Shop {
    fn when(mut self, command: Command) -> Outcome {
        let before = self.state.listing(self.log.names());
        let result = decide(&self.state, self.log.names_mut(), &command);
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
        Event::OrderPlaced { user, item, qty, total } => {
            format!("OrderPlaced {} {} {} {}", n.user_name(user), n.item_name(item), qty.0, total.0)
        }
    }
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
        .then_event("OrderPlaced alice apple 2 60");
    assert_eq!(shop.balance("alice"), Some(440));
    assert_eq!(shop.item("apple"), Some((30, 8)));
});

rule!(order_uses_the_price_at_the_time {
    let shop = given(&[top_up("alice", 500), add_item("apple", 30, 10), order("alice", "apple", 1), add_item("apple", 50, 1)])
        .when(order("alice", "apple", 1))
        .then_event("OrderPlaced alice apple 1 50");
    assert_eq!(shop.balance("alice"), Some(420));
});

rule!(order_of_everything_the_user_can_afford_is_accepted {
    let shop = given(&[top_up("alice", 60), add_item("apple", 30, 2)])
        .when(order("alice", "apple", 2))
        .then_event("OrderPlaced alice apple 2 60");
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
