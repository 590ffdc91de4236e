//! Text → offer latency, joined from two sides that arrive in either order: the observer sees
//! the `message.received` that opened a conversation (and so knows which text, and when it was
//! due), a desktop sees the conversation's first `offer.created`. Whichever comes second
//! records the latency; later offers of the same conversation are not first offers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::measure::Measures;

enum Side {
    Opened(Instant),
    Offered(Instant),
    Done,
}

/// The join.
#[derive(Default)]
pub struct OfferClock {
    sides: Mutex<HashMap<String, Side>>,
}

impl OfferClock {
    /// A conversation was opened by a text due at `due`.
    pub fn opened(&self, conversation: &str, due: Instant, measures: &Measures) {
        let Ok(mut sides) = self.sides.lock() else {
            return;
        };
        match sides.get(conversation) {
            None => {
                sides.insert(conversation.to_owned(), Side::Opened(due));
            }
            Some(Side::Offered(at)) => {
                measures.record("text_to_offer", at.saturating_duration_since(due));
                sides.insert(conversation.to_owned(), Side::Done);
            }
            Some(_) => {}
        }
    }

    /// A desktop received an offer of the conversation at `at`.
    pub fn offered(&self, conversation: &str, at: Instant, measures: &Measures) {
        let Ok(mut sides) = self.sides.lock() else {
            return;
        };
        match sides.get(conversation) {
            None => {
                sides.insert(conversation.to_owned(), Side::Offered(at));
            }
            Some(Side::Opened(due)) => {
                measures.record("text_to_offer", at.saturating_duration_since(*due));
                sides.insert(conversation.to_owned(), Side::Done);
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn either_order_records_once() {
        let measures = Measures::default();
        let clock = OfferClock::default();
        let due = Instant::now();
        let at = due + Duration::from_millis(5);
        clock.opened("a", due, &measures);
        clock.offered("a", at, &measures);
        clock.offered("b", at, &measures);
        clock.opened("b", due, &measures);
        clock.offered("a", at + Duration::from_secs(1), &measures);
        let figures = measures.figures("text_to_offer");
        assert_eq!(figures.count, 2);
        assert!((4.9..=5.1).contains(&figures.max), "{}", figures.max);
    }
}
