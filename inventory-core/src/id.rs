//! Validated identifiers: [`Sku`], [`LocationId`], [`OrderId`] and [`ReservationId`].
//!
//! Every identifier is checked once, at the boundary, when it is built. A value of
//! one of these types is always well formed, so the rest of the crate never checks again.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;

/// Longest identifier accepted, in bytes of UTF-8.
pub const IDENTIFIER_LENGTH_MAX: usize = 128;

/// Which kind of identifier a validation error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    /// A stock keeping unit.
    Sku,
    /// A stock location (warehouse, store, bin).
    Location,
    /// A caller's order id.
    Order,
    /// A reservation id.
    Reservation,
    /// A supplier.
    Supplier,
    /// A purchase order id.
    PurchaseOrder,
    /// An investigation id.
    Investigation,
    /// A transfer id.
    Transfer,
    /// A caller's idempotency key.
    IdempotencyKey,
    /// A sales channel's id for one line of an order.
    Line,
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sku => "sku",
            Self::Location => "location",
            Self::Order => "order id",
            Self::Reservation => "reservation id",
            Self::Supplier => "supplier",
            Self::PurchaseOrder => "purchase order id",
            Self::Investigation => "investigation id",
            Self::Transfer => "transfer id",
            Self::IdempotencyKey => "idempotency key",
            Self::Line => "order line id",
        })
    }
}

/// Checks the shared identifier rules: not empty, at most [`IDENTIFIER_LENGTH_MAX`]
/// bytes, no control characters, no leading or trailing whitespace.
fn validate(kind: IdentifierKind, value: &str) -> Result<(), DomainError> {
    let reason = if value.is_empty() {
        "is empty"
    } else if value.len() > IDENTIFIER_LENGTH_MAX {
        "is longer than 128 bytes"
    } else if value.chars().any(char::is_control) {
        "contains a control character"
    } else if value.trim() != value {
        "has leading or trailing whitespace"
    } else {
        return Ok(());
    };
    Err(DomainError::InvalidIdentifier {
        kind,
        value: value.chars().take(IDENTIFIER_LENGTH_MAX).collect(),
        reason,
    })
}

macro_rules! string_identifier {
    ($(#[$meta:meta])* $name:ident, $kind:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` and wraps it.
            ///
            /// # Errors
            ///
            /// [`DomainError::InvalidIdentifier`] when `value` is empty, longer than
            /// [`IDENTIFIER_LENGTH_MAX`] bytes, contains a control character or has
            /// leading or trailing whitespace.
            pub fn new(value: impl Into<String>) -> Result<Self, DomainError> {
                let value = value.into();
                validate($kind, &value)?;
                Ok(Self(value))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = DomainError;

            fn try_from(value: &str) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = DomainError;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                identifier_schema()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

/// A regular expression for the rule every text identifier follows: no control character
/// (`Cc`: U+0000-U+001F, U+007F-U+009F) and no whitespace at either end. Length is
/// checked by `maxLength` in characters; the rule counts bytes, so a long non-ASCII
/// identifier the pattern admits can still be refused.
#[cfg(feature = "openapi")]
pub const IDENTIFIER_PATTERN: &str =
    r"^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";

/// The schema of a text identifier: what [`validate`] accepts, as JSON Schema.
#[cfg(feature = "openapi")]
fn identifier_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(IDENTIFIER_LENGTH_MAX))
        .pattern(Some(IDENTIFIER_PATTERN))
        .description(Some(format!(
            "Text of 1 to {IDENTIFIER_LENGTH_MAX} bytes, no control character, no \
             whitespace at either end."
        )))
        .into()
}

string_identifier!(
    /// A stock keeping unit: the identity of one sellable product variant.
    Sku,
    IdentifierKind::Sku
);
string_identifier!(
    /// A place stock is kept: a warehouse, a store, a bin.
    LocationId,
    IdentifierKind::Location
);
string_identifier!(
    /// The caller's order id. Reservations are idempotent by order id.
    OrderId,
    IdentifierKind::Order
);
string_identifier!(
    /// A supplier that purchase orders go to.
    SupplierId,
    IdentifierKind::Supplier
);
string_identifier!(
    /// The caller's key for one stock movement (a receipt number, an HTTP
    /// `Idempotency-Key`): the movement is applied at most once per key.
    IdempotencyKey,
    IdentifierKind::IdempotencyKey
);

string_identifier!(
    /// A sales channel's id for one line of an order (Shopify's line item id): what
    /// the channel's later messages about that line name instead of its SKU.
    LineId,
    IdentifierKind::Line
);

/// Namespace for deriving the keys of a keyed command's further ledger entries.
const PART_NAMESPACE: Uuid = Uuid::from_u128(0x2d5c_90e1_7a43_4b6f_8e12_c4f7_03b9_a65d);

impl IdempotencyKey {
    /// The key of part `index` of a command that writes one ledger entry per part under
    /// this key (a bulk set's rows): part 0 is this key itself, part `n` a key derived
    /// from it (`<uuid>/<n>`, a name-based UUID of this key), so every part has a key of
    /// its own in the ledger's unique index and a retry finds each of them.
    pub fn part(&self, index: usize) -> Self {
        if index == 0 {
            return self.clone();
        }
        let base = Uuid::new_v5(&PART_NAMESPACE, self.as_str().as_bytes());
        Self(format!("{base}/{index}"))
    }
}

/// The shared methods of an id that is a UUID: wrap, unwrap, parse, display.
macro_rules! uuid_identifier {
    ($name:ident, $kind:expr) => {
        impl $name {
            /// Wraps a UUID read back from storage.
            pub fn from_uuid(uuid: uuid::Uuid) -> Self {
                Self(uuid)
            }

            /// The id as a UUID.
            pub fn as_uuid(&self) -> uuid::Uuid {
                self.0
            }

            /// Parses the hyphenated text form.
            ///
            /// # Errors
            ///
            /// [`DomainError::InvalidIdentifier`](crate::DomainError::InvalidIdentifier)
            /// when `text` is not a UUID.
            pub fn parse(text: &str) -> Result<Self, $crate::error::DomainError> {
                uuid::Uuid::parse_str(text).map(Self).map_err(|_| {
                    $crate::error::DomainError::InvalidIdentifier {
                        kind: $kind,
                        value: text
                            .chars()
                            .take($crate::id::IDENTIFIER_LENGTH_MAX)
                            .collect(),
                        reason: "is not a UUID",
                    }
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::DomainError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }
    };
}
pub(crate) use uuid_identifier;

/// Namespace for deriving reservation ids from order ids (UUID version 5).
const RESERVATION_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_8a52_2c4e_4f0b_9d37_51a0_c2e8_7f14);

/// The id of a reservation.
///
/// A reservation id is derived from its order id (a name-based UUID), because an order
/// id names at most one reservation. Every backend therefore agrees on the id of a
/// reservation without a shared sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct ReservationId(Uuid);

impl ReservationId {
    /// The id of the reservation that `order` creates.
    pub fn for_order(order: &OrderId) -> Self {
        Self(Uuid::new_v5(
            &RESERVATION_NAMESPACE,
            order.as_str().as_bytes(),
        ))
    }
}

uuid_identifier!(ReservationId, IdentifierKind::Reservation);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_identifiers() {
        assert_eq!(Sku::new("TSHIRT-RED-M").unwrap().as_str(), "TSHIRT-RED-M");
        assert!(LocationId::new("warehouse 1").is_ok());
        assert!(Sku::new("x".repeat(IDENTIFIER_LENGTH_MAX)).is_ok());
        assert!(Sku::new("é".repeat(IDENTIFIER_LENGTH_MAX / 2)).is_ok());
    }

    #[test]
    fn refuses_malformed_identifiers() {
        for bad in ["", " A", "A ", "A\nB", "A\u{0}B", &"x".repeat(129)] {
            let error = Sku::new(bad).unwrap_err();
            assert!(
                matches!(
                    error,
                    DomainError::InvalidIdentifier {
                        kind: IdentifierKind::Sku,
                        ..
                    }
                ),
                "{bad:?} gave {error:?}"
            );
        }
        // 65 two-byte characters are 130 bytes.
        assert!(LocationId::new("é".repeat(65)).is_err());
    }

    #[test]
    fn identifiers_parse_from_text() {
        let sku: Sku = "TEE-M".parse().unwrap();
        assert_eq!(sku.as_str(), "TEE-M");
        assert!(" TEE".parse::<Sku>().is_err());
        let order: OrderId = "order-1".parse().unwrap();
        let id = ReservationId::for_order(&order);
        assert_eq!(id.to_string().parse::<ReservationId>().unwrap(), id);
        assert!(matches!(
            "not-a-uuid".parse::<ReservationId>(),
            Err(DomainError::InvalidIdentifier {
                kind: IdentifierKind::Reservation,
                ..
            })
        ));
    }

    #[test]
    fn deserializing_validates() {
        let parsed: Result<Sku, _> = serde_json::from_str("\"\"");
        assert!(parsed.is_err());
        let parsed: Sku = serde_json::from_str("\"A-1\"").unwrap();
        assert_eq!(parsed.as_str(), "A-1");
    }

    #[test]
    fn reservation_ids_are_derived_from_order_ids() {
        let a = OrderId::new("order-1").unwrap();
        let b = OrderId::new("order-2").unwrap();
        assert_eq!(ReservationId::for_order(&a), ReservationId::for_order(&a));
        assert_ne!(ReservationId::for_order(&a), ReservationId::for_order(&b));
        let id = ReservationId::for_order(&a);
        assert_eq!(ReservationId::parse(&id.to_string()).unwrap(), id);
        assert!(ReservationId::parse("nope").is_err());
    }
}
