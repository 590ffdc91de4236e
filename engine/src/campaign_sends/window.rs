//! Quiet hours in the recipient's time zone: when a campaign text may go out. Pure, and
//! correct across daylight-saving changes (a window start that a clock change skips opens
//! at the first minute that exists after it).

use chrono::{Days, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::domain::campaign::QuietHours;
use crate::routing::Millis;

/// The first instant at or after `now` when a text to a recipient in `zone` is inside
/// `hours`: `now` itself inside the window, otherwise the start of the next window.
pub fn next_allowed(hours: &QuietHours, zone: Tz, now: Millis) -> Millis {
    let Some(utc) = chrono::DateTime::from_timestamp_millis(now) else {
        return now;
    };
    let local = utc.with_timezone(&zone);
    if hours.allows(local.time()) {
        return now;
    }
    let today = local.date_naive();
    let day = if local.time() < hours.start.time() {
        today
    } else {
        today.checked_add_days(Days::new(1)).unwrap_or(today)
    };
    opening(zone, day.and_time(hours.start.time())).unwrap_or(now)
}

/// The instant the local time `start` happens in `zone`: the earlier of two when a clock
/// goes back, the first minute after a gap when it goes forward.
fn opening(zone: Tz, start: NaiveDateTime) -> Option<Millis> {
    (0..=180).find_map(|minutes| {
        zone.from_local_datetime(&(start + chrono::Duration::minutes(minutes)))
            .earliest()
            .map(|at| at.timestamp_millis())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::campaign::ClockTime;
    use proptest::prelude::*;

    fn at(zone: Tz, text: &str) -> Millis {
        zone.from_local_datetime(&NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap())
            .earliest()
            .unwrap()
            .timestamp_millis()
    }

    fn hours(start: &str, end: &str) -> QuietHours {
        QuietHours {
            start: ClockTime::parse("start", start).unwrap(),
            end: ClockTime::parse("end", end).unwrap(),
        }
    }

    #[test]
    fn inside_the_window_is_now_outside_is_the_next_start() {
        let ny = chrono_tz::America::New_York;
        let tcpa = QuietHours::default();
        let noon = at(ny, "2026-12-08 12:00");
        assert_eq!(next_allowed(&tcpa, ny, noon), noon);
        assert_eq!(
            next_allowed(&tcpa, ny, at(ny, "2026-12-08 06:15")),
            at(ny, "2026-12-08 08:00")
        );
        assert_eq!(
            next_allowed(&tcpa, ny, at(ny, "2026-12-08 21:00")),
            at(ny, "2026-12-09 08:00")
        );
        // Noon in New York is 09:00 in Los Angeles, 02:00 the next day in Tokyo.
        let tokyo = chrono_tz::Asia::Tokyo;
        assert_eq!(
            next_allowed(&tcpa, tokyo, noon),
            at(tokyo, "2026-12-09 08:00")
        );
        assert_eq!(
            next_allowed(&tcpa, chrono_tz::America::Los_Angeles, noon),
            noon
        );
    }

    #[test]
    fn a_start_skipped_by_the_clock_change_opens_at_the_first_minute_after() {
        let ny = chrono_tz::America::New_York;
        // 2026-03-08: 02:00 becomes 03:00 in New York.
        let window = hours("02:30", "05:00");
        let before = at(ny, "2026-03-08 01:00");
        assert_eq!(
            next_allowed(&window, ny, before),
            at(ny, "2026-03-08 03:00")
        );
    }

    proptest! {
        /// The answer is never before now, is inside the window, and nothing between now and
        /// it (checked minute by minute over the first hours) is.
        #[test]
        fn the_answer_is_the_first_allowed_minute(offset in 0i64..(400 * 24 * 60), start in 0u32..12, length in 1u32..9) {
            let zone = chrono_tz::Europe::Berlin;
            let window = hours(&format!("{:02}:00", start + 4), &format!("{:02}:00", start + 4 + length));
            let now = 1_767_225_600_000 + offset * 60_000; // 2026-01-01 + minutes
            let answer = next_allowed(&window, zone, now);
            prop_assert!(answer >= now);
            let local = |ms: Millis| chrono::DateTime::from_timestamp_millis(ms).unwrap().with_timezone(&zone).time();
            prop_assert!(window.allows(local(answer)));
            let mut minute = now - now.rem_euclid(60_000);
            while minute + 60_000 <= answer.min(now + 6 * 3_600_000) {
                if minute >= now {
                    prop_assert!(!window.allows(local(minute)), "{minute} was allowed before {answer}");
                }
                minute += 60_000;
            }
        }
    }
}
