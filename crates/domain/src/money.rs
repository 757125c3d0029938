use std::fmt;

/// The largest amount of money or quantity: 2^53 − 1, the largest integer JavaScript and JSON tools carry
/// exactly.
pub const MAX: u64 = (1 << 53) - 1;

/// Money in minor units (cents). Never a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Money(pub u64);

/// A number of units of an item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Qty(pub u64);

/// `a + b`, or `None` past [`MAX`].
#[inline]
pub(crate) fn add_capped(a: u64, b: u64) -> Option<u64> {
    match a.checked_add(b) {
        Some(sum) if sum <= MAX => Some(sum),
        _ => None,
    }
}

/// `a × b`, or `None` past [`MAX`].
#[inline]
pub(crate) fn mul_capped(a: u64, b: u64) -> Option<u64> {
    match a.checked_mul(b) {
        Some(product) if product <= MAX => Some(product),
        _ => None,
    }
}

impl Money {
    /// Shown as currency with two decimals: `Money(440)` is `4.40`.
    pub fn display(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_shows_two_decimals() {
        assert_eq!(Money(440).to_string(), "4.40");
        assert_eq!(Money(5).to_string(), "0.05");
        assert_eq!(Money(MAX).to_string(), "90071992547409.91");
    }

    #[test]
    fn capped_arithmetic_stops_at_max() {
        assert_eq!(add_capped(MAX - 1, 1), Some(MAX));
        assert_eq!(add_capped(MAX, 1), None);
        assert_eq!(add_capped(u64::MAX, 1), None);
        assert_eq!(mul_capped(MAX, 1), Some(MAX));
        assert_eq!(mul_capped(1 << 27, 1 << 27), None);
        assert_eq!(mul_capped(u64::MAX, 2), None);
    }
}
