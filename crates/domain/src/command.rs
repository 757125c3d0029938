use crate::event::Event;
use crate::orders::{check_refund, Orders};
use crate::money::{mul_capped, Money, Qty};
use crate::names::{validate_id, Names};
use crate::rejection::Rejection;
use crate::state::State;

/// What a user asks the shop to do. Names are as typed; [`decide`] checks them.
///
/// On the wire (a page sending a command to the sync server) it is JSON with its kind beside its fields, the
/// kinds being CONTRACT section 10's: `{"kind": "PlaceOrder", "user": "ann", "item": "tea", "qty": 2}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum Command {
    TopUp { user: String, amount: u64 },
    AddItem { item: String, price: u64, qty: u64 },
    #[serde(rename = "PlaceOrder")]
    Order { user: String, item: String, qty: u64 },
    /// Gives order `order` (its sequence number) back.
    Refund { order: u64 },
    Withdraw { user: String, amount: u64 },
    WriteOff { item: String, qty: u64 },
    SetPrice { item: String, price: u64 },
}

impl Command {
    /// The command's kind, as the wire and the page's `data-kind` name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Command::TopUp { .. } => "TopUp",
            Command::AddItem { .. } => "AddItem",
            Command::Order { .. } => "PlaceOrder",
            Command::Refund { .. } => "Refund",
            Command::Withdraw { .. } => "Withdraw",
            Command::WriteOff { .. } => "WriteOff",
            Command::SetPrice { .. } => "SetPrice",
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_on_the_wire_is_its_kind_beside_its_fields() {
        let order = Command::Order { user: "ann".into(), item: "tea".into(), qty: 2 };
        let text = serde_json::to_string(&order).unwrap_or_default();
        assert_eq!(text, r#"{"kind":"PlaceOrder","user":"ann","item":"tea","qty":2}"#);
        assert_eq!(serde_json::from_str::<Command>(&text).ok(), Some(order.clone()));
        assert_eq!(order.kind(), "PlaceOrder");
        for wrong in [r#"{"kind":"Order","user":"a","item":"b","qty":1}"#, r#"{"kind":"TopUp","user":"a","amount":-1}"#, r#"{"kind":"TopUp","user":"a","amount":1,"x":2}"#] {
            assert!(serde_json::from_str::<Command>(wrong).is_err(), "{wrong}");
        }
    }
}
