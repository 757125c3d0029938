//! Restore to a point, by compensation: the events that bring the shop back to how it was after event k,
//! appended like any other events. Nothing is edited or deleted.

use crate::event::Event;
use crate::money::{Money, Qty};
use crate::state::State;

/// The compensating events that take `live` to `target` (the state after an earlier event k): afterwards
/// every user and item of `target` has its balance, price and stock again, and those created after k keep
/// existing with balance 0 and stock 0. In this order each event is valid when applied to `live`.
pub fn compensate(live: &State, target: &State) -> Vec<Event> {
    let mut out = Vec::new();
    for (user, balance) in live.users() {
        let want = target.balance(user).map_or(0, |m| m.0);
        if balance.0 > want {
            out.push(Event::Withdrawn { user, amount: Money(balance.0 - want) });
        } else if balance.0 < want {
            out.push(Event::ToppedUp { user, amount: Money(want - balance.0) });
        }
    }
    for (item, price, stock) in live.items() {
        // An item created after k has no price to go back to: it keeps its own.
        let want_price = target.price(item).map_or(price.0, |p| p.0);
        let want_stock = target.stock(item).map_or(0, |q| q.0);
        if stock.0 < want_stock {
            // A restock sets the price as it adds: one event for both.
            out.push(Event::ItemAdded { item, price: Money(want_price), qty: Qty(want_stock - stock.0) });
            continue;
        }
        if price.0 != want_price {
            out.push(Event::PriceSet { item, price: Money(want_price) });
        }
        if stock.0 > want_stock {
            out.push(Event::WrittenOff { item, qty: Qty(stock.0 - want_stock) });
        }
    }
    out
}
