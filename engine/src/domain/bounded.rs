//! Bounded numbers of the configuration (timeouts, capacities, priorities): each its own type,
//! so a queue or agent holding one holds a value inside its range.

use std::fmt;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};

use super::ValidationError;

macro_rules! bounded {
    ($(#[$doc:meta])* $name:ident: $inner:ty, $field:literal, $min:literal ..= $max:literal, default $default:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "i64", into = "i64")]
        pub struct $name($inner);

        impl $name {
            /// The smallest accepted value.
            pub const MIN: $inner = $min;
            /// The largest accepted value.
            pub const MAX: $inner = $max;
            /// The value used when none is given.
            pub const DEFAULT: Self = Self($default);

            /// Parses a value, checking its range.
            pub fn new(value: i64) -> Result<Self, ValidationError> {
                if (i64::from(Self::MIN)..=i64::from(Self::MAX)).contains(&value) {
                    Ok(Self(<$inner>::try_from(value).expect("checked against the range")))
                } else {
                    Err(ValidationError::invalid(
                        $field,
                        format!("must be between {} and {}", Self::MIN, Self::MAX),
                    ))
                }
            }

            /// The value.
            pub fn get(self) -> $inner {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::DEFAULT
            }
        }

        impl TryFrom<i64> for $name {
            type Error = ValidationError;
            fn try_from(value: i64) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for i64 {
            fn from(value: $name) -> i64 {
                i64::from(value.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::Integer))
                    .minimum(Some(Self::MIN))
                    .maximum(Some(Self::MAX))
                    .default(Some(serde_json::json!($default)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

bounded!(
    /// Seconds an agent has to answer an offer before it times out and goes to the next agent.
    OfferTimeoutSecs: u32, "offer_timeout_secs", 1..=3600, default 30
);
bounded!(
    /// Minutes an owned conversation's customer may wait for a reply before the conversation
    /// becomes public (claimable by the team). 0 turns public minutes off.
    PublicMinutes: u32, "public_minutes", 0..=1440, default 20
);
bounded!(
    /// Seconds before an alert is raised. 0 turns the alert off.
    AlertSecs: u32, "alert_secs", 0..=86_400, default 300
);
bounded!(
    /// A queue's priority: conversations of a higher-priority queue are served first by agents
    /// logged into several queues; within a priority, the longest-waiting first.
    Priority: u8, "priority", 0..=100, default 0
);
bounded!(
    /// Offers an agent may let time out in a row before it is set away (0: never).
    MissedOffers: u32, "missed_offers_before_away", 0..=100, default 3
);
bounded!(
    /// How many conversations an agent may hold at once (offered plus owned).
    Capacity: u16, "capacity", 1..=100, default 3
);
bounded!(
    /// An agent's level in a skill, or the least level a conversation needs: 1 to 5.
    SkillLevel: u8, "level", 1..=5, default 1
);
bounded!(
    /// Seconds a customer has waited before an escalation step applies.
    EscalationSecs: u32, "after_secs", 1..=86_400, default 60
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_checks_range_inclusive() {
        assert!(OfferTimeoutSecs::new(0).is_err());
        assert_eq!(OfferTimeoutSecs::new(1).unwrap().get(), 1);
        assert_eq!(OfferTimeoutSecs::new(3600).unwrap().get(), 3600);
        assert!(OfferTimeoutSecs::new(3601).is_err());
        assert!(OfferTimeoutSecs::new(-5).is_err());
        assert!(Capacity::new(i64::MAX).is_err());
    }

    #[test]
    fn bounded_defaults_match_the_product() {
        assert_eq!(OfferTimeoutSecs::default().get(), 30);
        assert_eq!(PublicMinutes::default().get(), 20);
        assert_eq!(AlertSecs::default().get(), 300);
        assert_eq!(Capacity::default().get(), 3);
    }

    #[test]
    fn bounded_deserializes_through_validation() {
        assert!(serde_json::from_str::<Capacity>("0").is_err());
        assert!(serde_json::from_str::<Capacity>("-1").is_err());
        assert_eq!(serde_json::from_str::<Capacity>("5").unwrap().get(), 5);
        let err = serde_json::from_str::<OfferTimeoutSecs>("-3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("between 1 and 3600"), "{err}");
    }
}
