//! The load producer: a seeded, deterministic stream of valid commands (users topping up, items restocked,
//! orders that fit balance and stock), like the producer of an event-sourcing demo. Every command goes
//! through [`decide`], so what it produces is valid by construction.

use crate::command::{decide, Command};
use crate::event::Event;
use crate::log::Log;
use crate::names::Names;
use crate::rejection::Rejection;
use crate::state::State;

const FIRST_NAMES: [&str; 24] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "niaj",
    "olivia", "peggy", "rupert", "sybil", "trent", "uma", "victor", "walter", "xena", "yusuf", "zoe", "quinn",
];
const GOODS: [&str; 20] = [
    "apple", "banana", "cherry", "date", "elderberry", "fig", "grape", "hazelnut", "kiwi", "lemon", "mango",
    "nectarine", "orange", "pear", "quince", "raspberry", "strawberry", "tomato", "walnut", "yam",
];

fn population(base: &[&str], n: u32) -> Vec<String> {
    (0..n as usize)
        .map(|i| {
            let stem = base.get(i % base.len()).copied().unwrap_or("x");
            match i / base.len() {
                0 => stem.to_owned(),
                k => format!("{stem}-{k}"),
            }
        })
        .collect()
}

/// A deterministic producer of valid commands: the same seed and the same starting log give the same events.
pub struct Producer {
    rng: fastrand::Rng,
    users: Vec<String>,
    items: Vec<String>,
}

impl Producer {
    /// A thousand users and three hundred items.
    pub fn new(seed: u64) -> Self {
        Self::with_population(seed, 1000, 300)
    }

    pub fn with_population(seed: u64, users: u32, items: u32) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(seed),
            users: population(&FIRST_NAMES, users.max(1)),
            items: population(&GOODS, items.max(1)),
        }
    }

    fn pick<'a>(rng: &mut fastrand::Rng, from: &'a [String]) -> &'a str {
        from.get(rng.usize(..from.len())).map_or("x", |s| s.as_str())
    }

    /// The next command, chosen to be accepted in `state`.
    pub fn next_command(&mut self, names: &Names, state: &State) -> Command {
        let user = Self::pick(&mut self.rng, &self.users);
        let item = Self::pick(&mut self.rng, &self.items);
        let balance = names.user(user).and_then(|u| state.balance(u)).map(|b| b.0);
        let item_now = names.item(item).and_then(|i| Some((state.price(i)?.0, state.stock(i)?.0)));
        let roll = self.rng.u32(..100);
        let top_up = |rng: &mut fastrand::Rng, at_least: u64| Command::TopUp {
            user: user.to_owned(),
            amount: at_least + rng.u64(500..20_000),
        };
        let restock = |rng: &mut fastrand::Rng, price: Option<u64>| Command::AddItem {
            item: item.to_owned(),
            price: match price {
                Some(p) if rng.u32(..10) > 0 => p,
                _ => rng.u64(25..2_500),
            },
            qty: rng.u64(5..60),
        };
        match (balance, item_now) {
            (None, _) => top_up(&mut self.rng, 0),
            (_, None) => restock(&mut self.rng, None),
            _ if roll < 18 => top_up(&mut self.rng, 0),
            (_, Some((price, _))) if roll < 30 => restock(&mut self.rng, Some(price)),
            (Some(balance), Some((price, stock))) => {
                let qty = self.rng.u64(1..=3);
                if stock < qty {
                    restock(&mut self.rng, Some(price))
                } else if balance < price.saturating_mul(qty) {
                    top_up(&mut self.rng, price.saturating_mul(qty))
                } else {
                    Command::Order { user: user.to_owned(), item: item.to_owned(), qty }
                }
            }
        }
    }

    /// The next event in `state`, with its timestamp a little after `last_ts`. Fails only when the shop is
    /// so close to the limits that no chosen command fits.
    pub fn next_event(&mut self, names: &mut Names, state: &State, last_ts: u64) -> Result<(u64, Event), Rejection> {
        let mut tries = 0;
        loop {
            let command = self.next_command(names, state);
            match decide(state, names, &(), &command) {
                // Timestamps stay within what the formats carry (at most MAX).
                Ok(event) => return Ok((last_ts.saturating_add(self.rng.u64(1..3_000)).min(crate::MAX), event)),
                Err(rejection) if tries >= 16 => return Err(rejection),
                Err(_) => tries += 1,
            }
        }
    }

    /// Appends `n` events to `log` and `live` (the state after `log`), the first after `start_ts`.
    pub fn produce(&mut self, log: &mut Log, live: &mut State, n: u64, start_ts: u64) -> Result<(), Rejection> {
        let mut ts = log.timestamps().last().copied().unwrap_or(0).max(start_ts);
        for _ in 0..n {
            let (at, event) = self.next_event(log.names_mut(), live, ts)?;
            ts = at;
            log.push(live, ts, event)?;
        }
        Ok(())
    }
}

/// A valid log of `n` events from `seed`, starting at a fixed time: for tests and benchmarks.
pub fn generate_log(seed: u64, n: u64) -> Result<(Log, State), Rejection> {
    let (mut log, mut live) = (Log::new(), State::new());
    Producer::new(seed).produce(&mut log, &mut live, n, 1_763_800_000_000)?;
    Ok((log, live))
}
