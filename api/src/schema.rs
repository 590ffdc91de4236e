//! Precise OpenAPI schemas for the text fields of request bodies, and lenient integer
//! reading: what the documentation promises is exactly what the handlers accept, so a client
//! generated from `/openapi.json` (or a fuzzer) never sends a "valid" value that is refused.

use std::borrow::Cow;

use serde::Deserializer;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

macro_rules! text_schema {
    ($(#[$doc:meta])* $name:ident, $schema_name:literal, $min:expr, $max:expr, $pattern:expr, $example:literal) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .min_length(Some($min))
                    .max_length(Some($max))
                    .pattern(Some($pattern))
                    .examples([serde_json::json!($example)])
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($schema_name)
            }
        }
    };
}

/// Control characters (Unicode `Cc`), refused in names.
const NO_CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";

text_schema!(
    /// A resource id: letters, digits, `_`, `-`, `.`, starting with a letter or digit.
    IdText, "Id", 1, 64, r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", "billing"
);
text_schema!(
    /// A display name: 1 to 100 characters after trimming, no control characters.
    NameText, "Name", 1, 100, name_pattern(), "Billing"
);
/// The shape of an E.164 number; the served document narrows it to the country codes that
/// exist (`openapi::state_country_codes`).
pub const E164_SHAPE: &str = r"^\+[1-9][0-9]{6,14}$";

text_schema!(
    /// A phone number in E.164.
    PhoneText, "PhoneNumber", 8, 16, E164_SHAPE, "+15550102000"
);

/// A media URL as [`is_media_url`] takes it.
pub const MEDIA_URL_PATTERN: &str = r"^https?://([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(:[1-9][0-9]{0,3})?([/?#][!-~]*)?$";

/// Whether `url` is a media URL a provider can fetch: `http://` or `https://`, a public host
/// name (dot-separated labels of letters, digits and inner hyphens, ending in a letters-only
/// top-level label: no IP literals, no `localhost`), an optional port, then visible ASCII.
/// The same rule as [`MEDIA_URL_PATTERN`], written out so no regex engine is needed.
pub fn is_media_url(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| {
        (1..=4).contains(&p.len()) && !p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit())
    });
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let top = labels.last().copied().unwrap_or_default();
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && (2..=63).contains(&top.len())
        && top.bytes().all(|b| b.is_ascii_alphabetic())
        && port_ok
        && tail.bytes().all(|b| (b'!'..=b'~').contains(&b))
}

text_schema!(
    /// A media URL (MMS): `http://` or `https://`, a public host name, no spaces; at most 2000
    /// characters.
    MediaUrlText,
    "MediaUrl",
    8,
    2000,
    MEDIA_URL_PATTERN,
    "https://example.com/photo.jpg"
);
text_schema!(
    /// A code: lowercase letters, digits, `_`, `-`.
    SlugText, "Code", 1, 64, r"^[a-z0-9_-]{1,64}$", "resolved"
);
text_schema!(
    /// A template body: not blank, at most 1600 characters, placeholders as `{{name}}`.
    TemplateText,
    "TemplateBody",
    1,
    1600,
    r"^(?=[\s\S]*\S)([^{}]|\{\{\s*[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*\s*\}\})*$",
    "Hi {{contact.name}}, this is {{agent.name}}."
);

fn name_pattern() -> String {
    format!("^[^{NO_CONTROL}]*[^\\s{NO_CONTROL}][^{NO_CONTROL}]*$")
}

/// Reads an optional integer, also from an integral float such as `30.0`: JSON Schema counts
/// `30.0` as an integer, and so do many JSON encoders.
pub fn lenient_int<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an integer")
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(Some(v as i64))
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    de.deserialize_any(Visitor)
}

/// Whether a text has nothing but white space — in the sense of both Rust and the
/// documented `[^\s\u0085]` pattern (ECMAScript's `\s` holds U+FEFF, Rust's white space holds
/// U+0085), so that what the schema calls blank and what the handlers refuse are the same.
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || c == '\u{feff}')
}

/// Engine time (milliseconds since the Unix epoch) as the wire's time: RFC 3339, UTC, always
/// with milliseconds.
pub use protocol::time::from_millis as time;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Holder {
        #[serde(default, deserialize_with = "lenient_int")]
        n: Option<i64>,
    }

    fn read(json: &str) -> Result<Option<i64>, String> {
        serde_json::from_str::<Holder>(json)
            .map(|h| h.n)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn lenient_int_takes_integral_floats_only() {
        assert_eq!(read(r#"{"n": 30}"#), Ok(Some(30)));
        assert_eq!(read(r#"{"n": 30.0}"#), Ok(Some(30)));
        assert_eq!(read(r#"{"n": -3}"#), Ok(Some(-3)));
        assert_eq!(read(r#"{"n": null}"#), Ok(None));
        assert_eq!(read(r#"{}"#), Ok(None));
        assert!(read(r#"{"n": 2.5}"#).unwrap_err().contains("invalid type"));
        assert!(read(r#"{"n": "30"}"#).unwrap_err().contains("invalid type"));
    }

    #[test]
    fn media_urls_are_public_http_urls_a_provider_can_fetch() {
        for good in [
            "https://example.com/a.jpg",
            "http://cdn.example.co.uk:8080/x/y.png?size=2#top",
            "https://a-b.example.io?x=[1]",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        ] {
            assert!(is_media_url(good), "{good}");
            assert!(reqwest::Url::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://example.com/a",
            "https://",
            "https://localhost/a.jpg",
            "https://10.0.0.1/a.jpg",
            "https://[::1]/a.jpg",
            "http://[abc",
            "https://-a.com/x",
            "https://a..com/x",
            "https://example.com:0/x",
            "https://example.com:99999/x",
            "https://example.com/a b",
            "https://example.com/\u{e9}",
            "https://example.c0m/x",
        ] {
            assert!(!is_media_url(bad), "{bad}");
        }
    }
}

/// A nested object of a request body. serde's derived structs also take a JSON array (their
/// fields by position); a request's objects are objects, and `"alerts": [null, null]` is a
/// client bug to point out (`invalid_type`), not to read as two absent fields.
#[derive(Debug)]
pub struct Obj<T>(pub T);

impl<T> std::ops::Deref for Obj<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let fields = serde_json::Map::<String, serde_json::Value>::deserialize(de)?;
        T::deserialize(serde_json::Value::Object(fields))
            .map(Obj)
            .map_err(serde::de::Error::custom)
    }
}
