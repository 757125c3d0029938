use crate::event::Event;
use crate::orders::{check_refund, Orders};
use crate::money::{mul_capped, Money, Qty};
use crate::names::{validate_id, Names};
use crate::rejection::Rejection;
use crate::state::State;

/// What a user asks the shop to do. Names are as typed; [`decide`] checks them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    TopUp { user: String, amount: u64 },
    AddItem { item: String, price: u64, qty: u64 },
    Order { user: String, item: String, qty: u64 },
    /// Gives order `order` (its sequence number) back.
    Refund { order: u64 },
    Withdraw { user: String, amount: u64 },
    WriteOff { item: String, qty: u64 },
    SetPrice { item: String, price: u64 },
}

fn valid(what: &'static str, id: &str) -> Result<(), Rejection> {
    validate_id(id).map_err(|error| Rejection::InvalidId { what, id: id.to_owned(), error })
}

/// The decision function: the event `command` becomes in `state`, or why it is refused. All business rules
/// live in [`State::apply`]'s checks, which this runs without writing, so a command and the event it becomes
/// can never disagree.
///
/// It may add a new, valid name to `names` (a top-up creates its user); a name without an entity is absent
/// from every state, so a refused command leaves nothing a user could see.
///
/// `orders` are the log's orders, which a refund needs ([`crate::Log::decide`] passes them); `&()` has none.
pub fn decide(state: &State, names: &mut Names, orders: &impl Orders, command: &Command) -> Result<Event, Rejection> {
    let event = match command {
        Command::TopUp { user, amount } => {
            valid("user", user)?;
            Event::ToppedUp { user: names.intern_user(user), amount: Money(*amount) }
        }
        Command::AddItem { item, price, qty } => {
            valid("item", item)?;
            Event::ItemAdded { item: names.intern_item(item), price: Money(*price), qty: Qty(*qty) }
        }
        Command::Order { user, item, qty } => {
            valid("user", user)?;
            valid("item", item)?;
            if *qty < 1 {
                return Err(Rejection::QtyTooSmall);
            }
            let Some(user_id) = names.user(user).filter(|u| state.balance(*u).is_some()) else {
                return Err(Rejection::UnknownUser { user: user.clone() });
            };
            let Some(item_id) = names.item(item).filter(|i| state.price(*i).is_some()) else {
                return Err(Rejection::UnknownItem { item: item.clone() });
            };
            let price = state.price(item_id).map_or(0, |p| p.0);
            let stock = state.stock(item_id).map_or(0, |s| s.0);
            // Checked in the contract's order: stock before the total, so the message names the real problem.
            if stock < *qty {
                return Err(Rejection::OutOfStock { item: item.clone(), stock, qty: *qty });
            }
            let Some(total) = mul_capped(price, *qty) else {
                return Err(Rejection::TotalOverflow { item: item.clone(), price, qty: *qty });
            };
            Event::OrderPlaced { user: user_id, item: item_id, qty: Qty(*qty), price: Money(price), total: Money(total) }
        }
        Command::Refund { order } => {
            let Some(Event::OrderPlaced { user, item, qty, total, .. }) = orders.order(*order) else {
                return Err(Rejection::NotAnOrder { order: *order });
            };
            let event = Event::Refunded { order: *order, user, item, qty, total };
            check_refund(orders, &event)?;
            event
        }
        Command::Withdraw { user, amount } => {
            valid("user", user)?;
            let Some(user) = names.user(user).filter(|u| state.balance(*u).is_some()) else {
                return Err(Rejection::UnknownUser { user: user.clone() });
            };
            Event::Withdrawn { user, amount: Money(*amount) }
        }
        Command::WriteOff { item, qty } => Event::WrittenOff { item: existing_item(state, names, item)?, qty: Qty(*qty) },
        Command::SetPrice { item, price } => Event::PriceSet { item: existing_item(state, names, item)?, price: Money(*price) },
    };
    state.check(names, &event)?;
    Ok(event)
}

fn existing_item(state: &State, names: &Names, item: &str) -> Result<crate::names::ItemId, Rejection> {
    valid("item", item)?;
    names
        .item(item)
        .filter(|i| state.price(*i).is_some())
        .ok_or_else(|| Rejection::UnknownItem { item: item.to_owned() })
}
