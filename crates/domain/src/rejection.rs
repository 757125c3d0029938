use crate::money::MAX;
use crate::names::IdError;
use std::fmt;

/// Why a command is refused, or why a stored or imported event breaks the shop's rules. Each message says
/// in plain words what is wrong, with the numbers involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    InvalidId { what: &'static str, id: String, error: IdError },
    AmountTooSmall,
    AmountTooLarge { amount: u64 },
    PriceOutOfRange { price: u64 },
    QtyTooSmall,
    QtyTooLarge { qty: u64 },
    BalanceOverflow { user: String, balance: u64, amount: u64 },
    StockOverflow { item: String, stock: u64, qty: u64 },
    UnknownUser { user: String },
    UnknownItem { item: String },
    OutOfStock { item: String, stock: u64, qty: u64 },
    TotalOverflow { item: String, price: u64, qty: u64 },
    InsufficientFunds { user: String, balance: u64, total: u64 },
    WrongTotal { recorded: u64, price: u64, qty: u64 },
    /// An order records a unit price other than the item's price at that moment.
    WrongPrice { item: String, recorded: u64, price: u64 },
    /// A refund names a sequence number that is no order.
    NotAnOrder { order: u64 },
    AlreadyRefunded { order: u64, refund: u64 },
    /// A refund's user, item, qty or total differ from its order's.
    RefundMismatch { order: u64 },
    WithdrawTooLarge { user: String, balance: u64, amount: u64 },
    WriteOffTooLarge { item: String, stock: u64, qty: u64 },
    SamePrice { item: String, price: u64 },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Rejection::*;
        match self {
            InvalidId { what, id, error } => write!(f, "{what} id {id:?} {error}"),
            AmountTooSmall => write!(f, "the amount must be at least 1"),
            AmountTooLarge { amount } => write!(f, "the amount {amount} is more than the maximum {MAX}"),
            PriceOutOfRange { price } => write!(f, "the price must be between 1 and {MAX}, not {price}"),
            QtyTooSmall => write!(f, "the quantity must be at least 1"),
            QtyTooLarge { qty } => write!(f, "the quantity {qty} is more than the maximum {MAX}"),
            BalanceOverflow { user, balance, amount } => write!(
                f,
                "{user} has {balance}; adding {amount} would go past the maximum balance {MAX}"
            ),
            StockOverflow { item, stock, qty } => write!(
                f,
                "{item} has {stock} in stock; adding {qty} would go past the maximum stock {MAX}"
            ),
            UnknownUser { user } => write!(f, "there is no user {user}; top up to create one"),
            UnknownItem { item } => write!(f, "there is no item {item}; add it to the warehouse first"),
            OutOfStock { item, stock, qty } => {
                write!(f, "{item} has {stock} in stock, the order wants {qty}")
            }
            TotalOverflow { item, price, qty } => write!(
                f,
                "{qty} × {item} at {price} costs more than the maximum {MAX}"
            ),
            InsufficientFunds { user, balance, total } => {
                write!(f, "{user} has {balance}, the order costs {total}")
            }
            WrongTotal { recorded, price, qty } => write!(
                f,
                "the recorded total is {recorded}, but {qty} at {price} costs {}",
                (*price as u128) * (*qty as u128)
            ),
            WrongPrice { item, recorded, price } => {
                write!(f, "the order records a price of {recorded}, but {item} costs {price}")
            }
            NotAnOrder { order } => write!(f, "event #{order} is not an order, so it cannot be refunded"),
            AlreadyRefunded { order, refund } => write!(f, "order #{order} was already refunded (#{refund})"),
            RefundMismatch { order } => {
                write!(f, "the refund does not match order #{order}: it must give back exactly what was ordered")
            }
            WithdrawTooLarge { user, balance, amount } => {
                write!(f, "{user} has {balance}, so {amount} cannot be withdrawn")
            }
            WriteOffTooLarge { item, stock, qty } => {
                write!(f, "{item} has {stock} in stock, so {qty} cannot be written off")
            }
            SamePrice { item, price } => write!(f, "{item} already costs {price}"),
        }
    }
}

impl std::error::Error for Rejection {}
