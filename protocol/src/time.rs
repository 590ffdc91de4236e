//! The one time format of the wire: RFC 3339 in UTC with milliseconds
//! (`2026-11-23T10:00:02.120Z`), in every REST answer, websocket frame and event.
//!
//! [`Time`] is a UTC time that always serialises so. The engine keeps times as epoch
//! milliseconds and converts at the edge with [`from_millis`]. Reading is lenient: entries
//! journaled before the wire types existed hold epoch milliseconds, and they still read.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, utoipa::ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-11-23T10:00:02.120Z")]
pub struct Time(pub DateTime<Utc>);

/// A time from epoch milliseconds (out-of-range values become the epoch).
pub fn from_millis(millis: i64) -> Time {
    Time(
        Utc.timestamp_millis_opt(millis)
            .single()
            .unwrap_or_default(),
    )
}

impl Time {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }
}

impl From<DateTime<Utc>> for Time {
    fn from(time: DateTime<Utc>) -> Self {
        Self(time)
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Millis, true))
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Text(DateTime<Utc>),
            Millis(i64),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Text(time) => Self(time),
            Stored::Millis(millis) => from_millis(millis),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct At {
        at: Time,
        until: Option<Time>,
    }

    #[test]
    fn writes_milliseconds_and_reads_both_forms() {
        let at = At {
            at: from_millis(1_795_428_031_000),
            until: None,
        };
        let text = serde_json::to_string(&at).unwrap();
        assert_eq!(text, r#"{"at":"2026-11-23T10:00:31.000Z","until":null}"#);
        assert_eq!(serde_json::from_str::<At>(&text).unwrap(), at);
        let old: At = serde_json::from_str(r#"{"at":1795428031000,"until":5}"#).unwrap();
        assert_eq!(old.at, at.at);
        assert_eq!(old.until, Some(from_millis(5)));
        assert!(serde_json::from_str::<At>(r#"{"at":"yesterday","until":null}"#).is_err());
        let offset: At =
            serde_json::from_str(r#"{"at":"2026-11-23T11:00:31+01:00","until":null}"#).unwrap();
        assert_eq!(offset.at, at.at);
    }
}
