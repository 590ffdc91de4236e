//! Phone numbers in E.164 form (`+` then country code and subscriber number, at most 15
//! digits), the only form Switchboard stores, compares and sends. Parsing goes through the
//! `phonenumber` crate (libphonenumber's metadata): the country code must exist, and a number
//! written without one is read in the deployment's default region when one is configured.

use std::collections::HashMap;
use std::fmt;
use std::sync::{LazyLock, Mutex, RwLock};

use super::ValidationError;

/// The region national numbers are read in (`SWITCHBOARD_DEFAULT_REGION`). Process-wide on
/// purpose: numbers are parsed where no configuration reaches (deserialising stored
/// documents), and a deployment has one home region.
static DEFAULT_REGION: RwLock<Option<phonenumber::country::Id>> = RwLock::new(None);

/// Sets the region national numbers are read in (an ISO 3166 code such as `US` or `GB`), or
/// none: then every number must carry its country code.
pub fn set_default_region(region: Option<&str>) -> Result<(), String> {
    let parsed = region.map(phone_region).transpose()?;
    *DEFAULT_REGION.write().unwrap_or_else(|e| e.into_inner()) = parsed;
    Ok(())
}

/// Reads a region code (`US`, `gb`), or says why it is none.
pub fn phone_region(region: &str) -> Result<phonenumber::country::Id, String> {
    region
        .trim()
        .to_ascii_uppercase()
        .parse::<phonenumber::country::Id>()
        .map_err(|_| format!("{region:?} is not an ISO 3166 region code such as US or GB"))
}

fn default_region() -> Option<phonenumber::country::Id> {
    *DEFAULT_REGION.read().unwrap_or_else(|e| e.into_inner())
}

/// International numbers already parsed, by their digits: every inbound text names one of a
/// few business numbers and, mostly, a returning customer, and a full parse runs the
/// metadata's regular expressions (about 11 µs for a US number; `benches/phone.rs`). Only
/// `+`-prefixed input is kept — its parse does not depend on the default region — and only
/// successes. Bounded: emptied when full, which costs one full parse per number afterwards.
static PARSED: LazyLock<Mutex<HashMap<String, PhoneNumber>>> = LazyLock::new(Mutex::default);

/// Numbers [`PARSED`] keeps before it starts over.
const PARSED_CAP: usize = 100_000;

fn parsed(digits: &str) -> Option<PhoneNumber> {
    PARSED.lock().ok()?.get(digits).cloned()
}

fn remember(digits: String, phone: &PhoneNumber) {
    if let Ok(mut parsed) = PARSED.lock() {
        if parsed.len() >= PARSED_CAP {
            parsed.clear();
        }
        parsed.insert(digits, phone.clone());
    }
}

/// Every country calling code the metadata knows, ascending.
pub fn country_codes() -> Vec<u16> {
    (1..=999u16)
        .filter(|code| phonenumber::metadata::DATABASE.by_code(code).is_some())
        .collect()
}

/// A regular expression for the E.164 numbers [`PhoneNumber::parse`] accepts: `+`, a known
/// country code, digits (the 7-to-15-digit length is the schema's `minLength`/`maxLength`).
pub fn e164_pattern() -> String {
    let codes: Vec<String> = country_codes().iter().map(u16::to_string).collect();
    format!(r"^\+(?:{})[0-9]{{4,14}}$", codes.join("|"))
}

/// A phone number in E.164 form, e.g. `+15550102000`.
///
/// Parsing accepts the usual visual separators (spaces, `-`, `.`, parentheses) and removes
/// them. A number without `+` and country code is read in the default region (see
/// [`set_default_region`]) and refused when there is none. The number must be possible
/// (a known country code, a plausible length) but need not be assigned: fictional ranges
/// (555-01xx) and numbers newer than the metadata still parse, since the carrier is the
/// judge of whether a number takes texts.
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
        let trimmed = value.trim();
        // Letters (vanity numbers), extensions and other marks have no place in an SMS
        // address, though the parser would take some of them.
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(15);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(invalid("may hold only digits after '+'")),
            }
        }
        let region = if plus {
            None
        } else {
            Some(default_region().ok_or_else(|| {
                invalid("must be in E.164 form: '+', country code, number (no default region is configured for national numbers)")
            })?)
        };
        if plus && digits.starts_with('0') {
            return Err(invalid("country codes never start with 0"));
        }
        if plus && !(7..=15).contains(&digits.len()) {
            return Err(invalid("must have 7 to 15 digits"));
        }
        if plus && let Some(phone) = parsed(&digits) {
            return Ok(phone);
        }
        let result = Self::parse_in_full(&invalid, plus, region, &digits);
        if plus && let Ok(phone) = &result {
            remember(digits, phone);
        }
        result
    }

    /// The metadata's parse of `digits` (after `+` when `plus`, else in `region`).
    fn parse_in_full(
        invalid: &dyn Fn(&str) -> ValidationError,
        plus: bool,
        region: Option<phonenumber::country::Id>,
        digits: &str,
    ) -> Result<Self, ValidationError> {
        let input = if plus {
            format!("+{digits}")
        } else {
            digits.to_owned()
        };
        let parsed = match phonenumber::parse(region, &input) {
            Ok(parsed) => parsed,
            // The parser trips over some well-formed international numbers (all zeros
            // after the country code, say); E.164 with a known country code is taken as is.
            Err(e) => {
                return Self::canonical(&input)
                    .filter(|_| plus)
                    .ok_or_else(|| invalid(&format!("is not a phone number ({e})")));
            }
        };
        let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
        // Normalising drops a trunk prefix written after the country code (`+44 (0)20…`);
        // when that would leave fewer than 7 digits the zeros were the number's own, and a
        // well-formed international number is kept as written.
        let count = e164.len() - 1;
        if count < 7 && plus {
            return Self::canonical(&input).ok_or_else(|| invalid("must have 7 to 15 digits"));
        }
        if !(7..=15).contains(&count) {
            return Err(invalid("must have 7 to 15 digits"));
        }
        // The stored form must read back as itself. Normalising can drop a trunk prefix that
        // the result still starts with (`+6000059476` became `+60059476`, which becomes
        // `+6059476`; found by cargo fuzz): a number with no stable form is not one anyone
        // can text, and would stop matching itself once stored.
        let stable = phonenumber::parse(None, &e164)
            .is_ok_and(|again| again.format().mode(phonenumber::Mode::E164).to_string() == e164);
        if !stable {
            return Err(invalid(
                "is not a phone number (its digits after the country code repeat a trunk prefix)",
            ));
        }
        Ok(Self(e164))
    }

    /// The fast path for numbers read back from the store, which were parsed in full when
    /// they were written: `+`, 7 to 15 digits, a known country code. Nine microseconds of full
    /// parsing per number would add seconds to loading a million conversations.
    fn canonical(value: &str) -> Option<Self> {
        let digits = value.strip_prefix('+')?;
        if !(7..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return None;
        }
        let known = (1..=3).any(|len| {
            digits[..len]
                .parse::<u16>()
                .is_ok_and(|code| phonenumber::metadata::DATABASE.by_code(&code).is_some())
        });
        known.then(|| Self(value.to_owned()))
    }

    /// The number in E.164 form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits after `+` as one integer: eight bytes instead of a string where many
    /// numbers are kept (the directory's rows). Lossless, as E.164 never starts with 0.
    pub(crate) fn e164_digits(&self) -> u64 {
        self.0[1..].parse().unwrap_or_default()
    }

    /// The number whose [`Self::e164_digits`] are `digits`.
    pub(crate) fn from_e164_digits(digits: u64) -> Self {
        Self(format!("+{digits}"))
    }
}

/// Deserialising (stored documents, mostly) takes the fast path for canonical E.164.
impl TryFrom<String> for PhoneNumber {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        match Self::canonical(&value) {
            Some(phone) => Ok(phone),
            None => Self::parse("phone", &value),
        }
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
    fn a_number_parsed_again_reads_as_the_first_time() {
        // Trunk prefixes after the country code, separators, all-zero subscribers: the kept
        // parse must be exactly the full one, and refusals are never kept.
        for input in [
            "+44 (0)20 7123 4567",
            "+4402071234567",
            "+1 555 010 2000",
            "+33000000000",
        ] {
            let first = PhoneNumber::parse("phone", input);
            let again = PhoneNumber::parse("phone", input);
            assert_eq!(first, again, "{input}");
            let digits: String = input.chars().filter(char::is_ascii_digit).collect();
            let invalid = |m: &str| ValidationError::InvalidPhoneNumber {
                field: "phone".into(),
                message: m.into(),
            };
            assert_eq!(
                first,
                PhoneNumber::parse_in_full(&invalid, true, None, &digits)
            );
        }
        for bad in ["+12", "+0123456789"] {
            assert!(PhoneNumber::parse("phone", bad).is_err());
            assert!(PhoneNumber::parse("phone", bad).is_err());
        }
    }

    #[test]
    fn phone_strips_separators() {
        let p = PhoneNumber::parse("phone", " +1 (555) 010-2000 ").unwrap();
        assert_eq!(p.as_str(), "+15550102000");
    }

    #[test]
    fn phone_rejects_non_e164() {
        for bad in [
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

    #[test]
    fn national_numbers_need_and_use_the_default_region() {
        // One test owns the process-wide region, so tests running in parallel never see it
        // change under them.
        assert!(PhoneNumber::parse("to", "(555) 010-2000").is_err());
        set_default_region(Some("us")).unwrap();
        let us = PhoneNumber::parse("to", "(555) 010-2000");
        let gb_intl = PhoneNumber::parse("to", "+44 20 7946 0018");
        set_default_region(Some("GB")).unwrap();
        let gb = PhoneNumber::parse("to", "020 7946 0018");
        set_default_region(None).unwrap();
        assert_eq!(us.unwrap().as_str(), "+15550102000");
        assert_eq!(gb_intl.unwrap().as_str(), "+442079460018");
        assert_eq!(gb.unwrap().as_str(), "+442079460018", "the trunk 0 goes");
        assert!(set_default_region(Some("Atlantis")).is_err());
    }

    #[test]
    fn the_pattern_lists_exactly_the_country_codes_parse_accepts() {
        let pattern = e164_pattern();
        assert!(pattern.starts_with(r"^\+(?:1|7|20|27|"), "{pattern}");
        let known = country_codes();
        for code in 1..=999u16 {
            let digits = format!("{code}{}", "5".repeat(10 - code.to_string().len()));
            // A number's country code is the prefix that is one: `+2555…` is +255.
            let has_code =
                (1..=3).any(|len| known.contains(&digits[..len].parse::<u16>().unwrap()));
            let number = format!("+{digits}");
            assert_eq!(
                PhoneNumber::parse("to", &number).is_ok(),
                has_code,
                "{number}"
            );
        }
    }

    #[test]
    fn a_number_without_a_stable_form_is_refused() {
        // Found by `cargo fuzz` (fuzz/fuzz_targets/phone_number.rs): normalising gave
        // +60059476, which normalises again to +6059476.
        let refused = PhoneNumber::parse("from", "+6000059476").unwrap_err();
        assert!(refused.to_string().contains("trunk prefix"), "{refused}");
    }

    #[test]
    fn a_trunk_zero_after_the_country_code_goes() {
        let p = PhoneNumber::parse("to", "+44 (0)20 7946 0018").unwrap();
        assert_eq!(p.as_str(), "+442079460018");
        // Whatever parsing gives reads back from the store unchanged.
        assert_eq!(
            PhoneNumber::parse("to", "+100000000").unwrap().as_str(),
            "+100000000"
        );
        assert_eq!(
            PhoneNumber::parse("to", "+8800007").unwrap().as_str(),
            "+8800007"
        );
        let short = PhoneNumber::parse("to", "+2600534").unwrap();
        let stored = serde_json::to_string(&short).unwrap();
        let back: PhoneNumber = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, short);
    }

    #[test]
    fn unknown_country_codes_are_refused() {
        assert!(PhoneNumber::parse("to", "+9991234567").is_err());
        assert!(PhoneNumber::parse("to", "+15550102000").is_ok());
    }

    proptest! {
        #[test]
        fn phone_parse_is_idempotent(digits in "1[2-9][0-9]{9}|44[1-9][0-9]{9}|49[1-9][0-9]{6,10}") {
            let once = PhoneNumber::parse("phone", &format!("+{digits}")).unwrap();
            let twice = PhoneNumber::parse("phone", once.as_str()).unwrap();
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn phone_never_panics(s in "\\PC{0,30}") {
            let _ = PhoneNumber::parse("phone", &s);
        }

        /// Whatever parsing accepts, the store's fast path reads back as the same number.
        #[test]
        fn parsed_numbers_read_back(digits in "[1-9][0-9]{6,14}", trunk in prop::bool::ANY) {
            let input = if trunk { format!("+{}0{}", &digits[..2], &digits[2..]) } else { format!("+{digits}") };
            if let Ok(parsed) = PhoneNumber::parse("phone", &input) {
                prop_assert_eq!(PhoneNumber::canonical(parsed.as_str()), Some(parsed));
            }
        }
    }
}
