//! Human-facing names and machine-facing slugs.

use std::fmt;

use super::ValidationError;

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "Billing")]
pub struct Name(String);

impl Name {
    /// Parses a name given for `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        // Control characters are refused wherever they are, trimmed or not: a tab or a
        // vertical tab at the edge of a name is a paste accident, not spacing.
        if value.chars().any(char::is_control) {
            return Err(ValidationError::invalid(
                field,
                "must not contain control characters",
            ));
        }
        let trimmed = value.trim();
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(ValidationError::invalid(field, "must not be empty"));
        }
        if chars > MAX_NAME_CHARS {
            return Err(ValidationError::invalid(
                field,
                format!("must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValidationError::invalid(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("name", &value)
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A short machine code such as a disposition code: 1 to 64 lowercase letters, digits, `_`
/// or `-`. Desktops and reports key on it, so it is strict.
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "resolved")]
pub struct Slug(String);

impl Slug {
    /// Parses a slug given for `field`.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !ok {
            return Err(ValidationError::invalid(
                field,
                "must be 1 to 64 lowercase letters, digits, '_' or '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("code", &value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> String {
        slug.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("name", "  Billing ").unwrap().as_str(),
            "Billing"
        );
        assert!(Name::parse("name", "   ").is_err());
        assert!(Name::parse("name", &"x".repeat(101)).is_err());
        assert!(Name::parse("name", &"é".repeat(100)).is_ok());
        assert!(Name::parse("name", "tab\tinside").is_err());
    }

    #[test]
    fn name_error_names_the_field() {
        let err = Name::parse("campaign", "").unwrap_err();
        assert_eq!(err.field(), "campaign");
    }

    #[test]
    fn slug_is_strict() {
        assert!(Slug::parse("code", "sale_made-2").is_ok());
        assert!(Slug::parse("code", "Sale").is_err());
        assert!(Slug::parse("code", "").is_err());
        assert!(Slug::parse("code", "with space").is_err());
    }
}
