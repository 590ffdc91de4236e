//! Offer outcomes by minute, in the store's durable daily counters: each offer event adds one
//! to its outcome's day total (today's figures on `queue.stats`) and one to the same outcome
//! at its minute of the UTC day (`accepted@0931`), so that statistics can sum any window
//! after a restart. A day holds at most 1,440 minutes × 5 outcomes fields per queue.

use std::collections::BTreeMap;

use crate::routing::Millis;

const MINUTE: Millis = 60_000;
const DAY: Millis = 86_400_000;

/// The counter field of `outcome` at the minute of `at`.
pub fn minute_field(outcome: &str, at: Millis) -> String {
    let minute = at.rem_euclid(DAY) / MINUTE;
    format!("{outcome}@{minute:04}")
}

/// Whether a counter field is a day total (not a minute's).
pub fn is_day_total(field: &str) -> bool {
    !field.contains('@')
}

/// The UTC days (`YYYY-MM-DD`, with their first millisecond) that `from..=to` touches.
pub fn days_of(from: Millis, to: Millis) -> Vec<(String, Millis)> {
    let mut days = Vec::new();
    let mut start = from.div_euclid(DAY) * DAY;
    while start <= to {
        if let Some(day) = chrono::DateTime::from_timestamp_millis(start) {
            days.push((day.date_naive().to_string(), start));
        }
        start += DAY;
    }
    days
}

/// Adds up, by outcome, the minute fields of one day's counters (the day starting at
/// `day_start`) whose minute lies in `from..=to`. A minute counts when it starts in the
/// window, so windows are read at minute resolution.
pub fn add_window(
    totals: &mut BTreeMap<String, u64>,
    day_counters: &BTreeMap<String, u64>,
    day_start: Millis,
    from: Millis,
    to: Millis,
) {
    let first = from.div_euclid(MINUTE) * MINUTE;
    for (field, count) in day_counters {
        let Some((outcome, minute)) = field.split_once('@') else {
            continue;
        };
        let Ok(minute) = minute.parse::<Millis>() else {
            continue;
        };
        let at = day_start + minute * MINUTE;
        if at >= first && at <= to {
            *totals.entry(outcome.to_owned()).or_default() += count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_named_within_their_utc_day() {
        assert_eq!(minute_field("accepted", 0), "accepted@0000");
        assert_eq!(minute_field("accepted", DAY - 1), "accepted@1439");
        assert_eq!(minute_field("expired", DAY + 61 * MINUTE), "expired@0061");
        assert!(is_day_total("accepted"));
        assert!(!is_day_total("accepted@0061"));
    }

    #[test]
    fn a_window_sums_the_minutes_it_covers_across_days() {
        let day0: BTreeMap<String, u64> = [
            ("accepted".to_owned(), 9),
            ("accepted@1438".to_owned(), 2),
            ("accepted@1439".to_owned(), 3),
            ("created@1439".to_owned(), 4),
        ]
        .into();
        let day1: BTreeMap<String, u64> = [
            ("accepted@0000".to_owned(), 5),
            ("accepted@0002".to_owned(), 7),
        ]
        .into();
        let from = DAY - MINUTE + 30_000; // inside minute 1439 of day 0
        let to = DAY + MINUTE; // minute 1 of day 1
        let days = days_of(from, to);
        assert_eq!(
            days,
            [("1970-01-01".to_owned(), 0), ("1970-01-02".to_owned(), DAY)]
        );
        let mut totals = BTreeMap::new();
        add_window(&mut totals, &day0, 0, from, to);
        add_window(&mut totals, &day1, DAY, from, to);
        assert_eq!(totals.get("accepted"), Some(&(3 + 5)));
        assert_eq!(totals.get("created"), Some(&4));
    }
}
