//! Resource identifiers: opaque strings, made by the engine or chosen by the client.
//!
//! A client may choose its own id for configuration resources (so that provisioning scripts
//! are repeatable); otherwise the engine makes one as `<prefix>_<ulid>`, which sorts by
//! creation time and therefore lists in creation order.

use std::fmt;

use super::ValidationError;

/// The longest id accepted: long enough for a UUID with a prefix, short enough for keys.
pub const MAX_ID_LEN: usize = 64;

/// Checks the rules every id shares: 1 to 64 characters of ASCII letters, digits, `_`, `-`
/// and `.`, starting with a letter or digit (so ids are safe in URLs, keys and logs).
fn check_id(field: &str, value: &str) -> Result<(), ValidationError> {
    let first_ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if value.is_empty() || value.len() > MAX_ID_LEN || !first_ok {
        return Err(ValidationError::invalid(
            field,
            format!("must be 1 to {MAX_ID_LEN} characters and start with a letter or digit"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_-.".contains(*c)))
    {
        return Err(ValidationError::invalid(
            field,
            format!("may hold only letters, digits, '_', '-' and '.', not {bad:?}"),
        ));
    }
    Ok(())
}

macro_rules! resource_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(try_from = "String", into = "String")]
        #[schema(value_type = String, example = json!(concat!($prefix, "_01jd5x7w9k3m2q8r4t6v0y1z2a")))]
        pub struct $name(String);

        impl $name {
            /// The prefix of ids the engine makes for this resource.
            pub const PREFIX: &'static str = $prefix;

            /// Parses a client-given id.
            pub fn parse(value: impl Into<String>) -> Result<Self, ValidationError> {
                let value = value.into();
                check_id("id", &value)?;
                Ok(Self(value))
            }

            /// A new, unique, time-ordered id.
            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, ulid::Ulid::generate().to_string().to_lowercase()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

resource_id!(
    /// Identifies a team.
    TeamId, "tm"
);
resource_id!(
    /// Identifies a queue.
    QueueId, "q"
);
resource_id!(
    /// Identifies an agent (or supervisor).
    AgentId, "ag"
);
resource_id!(
    /// Identifies a business number resource (not the phone number itself).
    NumberId, "num"
);
resource_id!(
    /// Identifies a disposition code resource.
    DispositionId, "dsp"
);
resource_id!(
    /// Identifies a quick-reply template.
    TemplateId, "tpl"
);
resource_id!(
    /// Identifies an issued API token (not the secret itself).
    TokenId, "tok"
);
resource_id!(
    /// Identifies an SMS provider account (Twilio, the simulator).
    ProviderAccountId, "pa"
);
resource_id!(
    /// Identifies a conversation: one thread between a customer and a business number.
    ConversationId, "cv"
);
resource_id!(
    /// Identifies a campaign: the numbers a business texts from about one thing, the queue
    /// its replies go to, its templates and sending rules.
    CampaignId, "cmp"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_ids_carry_prefix_and_parse_back() {
        let id = QueueId::generate();
        assert!(id.as_str().starts_with("q_"));
        assert_eq!(QueueId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn generated_ids_sort_by_creation() {
        let a = TeamId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = TeamId::generate();
        assert!(a < b);
    }

    #[test]
    fn id_rejects_empty_long_and_odd_characters() {
        assert!(TeamId::parse("").is_err());
        assert!(TeamId::parse("a".repeat(65)).is_err());
        assert!(TeamId::parse("-leading-dash").is_err());
        assert!(TeamId::parse("has space").is_err());
        assert!(TeamId::parse("slash/inside").is_err());
        assert!(TeamId::parse("colon:inside").is_err());
        assert!(TeamId::parse("sales-east.2").is_ok());
    }

    #[test]
    fn id_deserializes_through_validation() {
        assert!(serde_json::from_str::<AgentId>("\"ok_1\"").is_ok());
        assert!(serde_json::from_str::<AgentId>("\"no way\"").is_err());
    }

    proptest! {
        #[test]
        fn id_accepts_exactly_the_safe_alphabet(s in "[A-Za-z0-9][A-Za-z0-9_.-]{0,63}") {
            prop_assert!(QueueId::parse(s).is_ok());
        }

        #[test]
        fn id_never_accepts_key_separators(a in "[a-z]{1,5}", sep in "[:/{} ]", b in "[a-z]{0,5}") {
            let id = format!("{a}{sep}{b}");
            prop_assert!(QueueId::parse(id).is_err());
        }
    }
}
