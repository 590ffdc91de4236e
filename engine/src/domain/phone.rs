//! Phone numbers in E.164 form (`+` then country code and subscriber number, at most 15
//! digits), the only form Switchboard stores, compares and sends.

use std::fmt;

use super::ValidationError;

/// A phone number in E.164 form, e.g. `+15550102000`.
///
/// Parsing accepts the usual visual separators (spaces, `-`, `.`, parentheses) and removes
/// them, but requires the leading `+` and country code: guessing a country from a national
/// number is a per-deployment setting (a default region) that the SMS channel adds.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "+15550102000")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses `value` given for `field` into E.164.
    pub fn parse(field: &str, value: &str) -> Result<Self, ValidationError> {
        let invalid = |message: &str| ValidationError::InvalidPhoneNumber {
            field: field.to_owned(),
            message: message.to_owned(),
        };
        let rest = value
            .trim()
            .strip_prefix('+')
            .ok_or_else(|| invalid("must be in E.164 form: '+', country code, number"))?;
        let mut digits = String::with_capacity(15);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(invalid("may hold only digits after '+'")),
            }
        }
        if digits.starts_with('0') {
            return Err(invalid("country codes never start with 0"));
        }
        if !(7..=15).contains(&digits.len()) {
            return Err(invalid("must have 7 to 15 digits"));
        }
        Ok(Self(format!("+{digits}")))
    }

    /// The number in E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("phone", &value)
    }
}

impl From<PhoneNumber> for String {
    fn from(phone: PhoneNumber) -> String {
        phone.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug output masks all but the last two digits: phone numbers are personal data and a
/// `{:?}` ends up in logs more often than anyone intends.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = &self.0[self.0.len().saturating_sub(2)..];
        write!(f, "PhoneNumber(+…{tail})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phone_strips_separators() {
        let p = PhoneNumber::parse("phone", " +1 (555) 010-2000 ").unwrap();
        assert_eq!(p.as_str(), "+15550102000");
    }

    #[test]
    fn phone_rejects_non_e164() {
        for bad in [
            "5550102000",
            "+",
            "+0123456789",
            "+1555abc0000",
            "+1234",
            "+1234567890123456",
        ] {
            let err = PhoneNumber::parse("phone", bad).unwrap_err();
            assert!(
                matches!(err, ValidationError::InvalidPhoneNumber { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn phone_debug_masks_digits() {
        let p = PhoneNumber::parse("phone", "+15550102000").unwrap();
        assert_eq!(format!("{p:?}"), "PhoneNumber(+…00)");
    }

    proptest! {
        #[test]
        fn phone_parse_is_idempotent(digits in "[1-9][0-9]{6,14}") {
            let once = PhoneNumber::parse("phone", &format!("+{digits}")).unwrap();
            let twice = PhoneNumber::parse("phone", once.as_str()).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn phone_never_panics(s in "\\PC{0,30}") {
            let _ = PhoneNumber::parse("phone", &s);
        }
    }
}
