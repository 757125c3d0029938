//! Past orders as the rules see them, and the refund rule that reads them: a refund gives back exactly one
//! order, once. The log answers for its orders; the decision function and the log's own checks both ask here.

use crate::event::Event;
use crate::rejection::Rejection;

/// What the decision function needs to know of past orders: the log knows them; a bare state does not.
pub trait Orders {
    /// Event `seq`, if it is an order (an `OrderPlaced`).
    fn order(&self, seq: u64) -> Option<Event>;
    /// The sequence number of the refund of order `seq`, if it was refunded.
    fn refund_of(&self, seq: u64) -> Option<u64>;
}

/// No orders at all: for deciding without a log (every refund is refused).
impl Orders for () {
    fn order(&self, _: u64) -> Option<Event> {
        None
    }

    fn refund_of(&self, _: u64) -> Option<u64> {
        None
    }
}

/// Whether `event`, if it is a refund, gives back exactly an order of `orders` that was not refunded yet.
pub(crate) fn check_refund(orders: &impl Orders, event: &Event) -> Result<(), Rejection> {
    let Event::Refunded { order, user, item, qty, total } = *event else { return Ok(()) };
    match orders.order(order) {
        Some(Event::OrderPlaced { user: u, item: i, qty: q, total: t, .. }) => {
            if let Some(refund) = orders.refund_of(order) {
                return Err(Rejection::AlreadyRefunded { order, refund });
            }
            if (u, i, q, t) != (user, item, qty, total) {
                return Err(Rejection::RefundMismatch { order });
            }
            Ok(())
        }
        _ => Err(Rejection::NotAnOrder { order }),
    }
}
