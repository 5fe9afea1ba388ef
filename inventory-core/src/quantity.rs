//! [`Quantity`]: a positive number of units moved by one command.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// Largest quantity one command may move. Stock numbers are 64-bit signed integers (the
/// `BIGINT` of SQL databases), so a sum past this limit is an overflow error.
pub const QUANTITY_MAX: i64 = i64::MAX;

/// A number of units moved by one command: always at least 1.
///
/// Zero and negative numbers are refused when the value is built, so no operation ever
/// has to ask whether a movement is empty or points the wrong way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(i64);

impl Quantity {
    /// Validates and wraps a number of units.
    ///
    /// # Errors
    ///
    /// [`DomainError::InvalidQuantity`] when `units` is zero or negative.
    pub fn new(units: i64) -> Result<Self, DomainError> {
        if units <= 0 {
            return Err(DomainError::InvalidQuantity {
                quantity: units,
                reason: "must be at least 1",
            });
        }
        Ok(Self(units))
    }

    /// The number of units.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for Quantity {
    type Error = DomainError;

    fn try_from(units: i64) -> Result<Self, Self::Error> {
        Self::new(units)
    }
}

impl From<Quantity> for i64 {
    fn from(quantity: Quantity) -> Self {
        quantity.0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_zero_and_negative() {
        for units in [0, -1, i64::MIN] {
            assert!(matches!(
                Quantity::new(units),
                Err(DomainError::InvalidQuantity { quantity, .. }) if quantity == units
            ));
        }
        assert_eq!(Quantity::new(1).unwrap().get(), 1);
        assert_eq!(Quantity::new(QUANTITY_MAX).unwrap().get(), i64::MAX);
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert!(serde_json::from_str::<Quantity>("-3").is_err());
        assert_eq!(serde_json::from_str::<Quantity>("3").unwrap().get(), 3);
    }
}
