//! Alerts on a conversation: unclaimed too long, and an owned conversation whose customer
//! waits too long for a reply. Rather than every transition arming and clearing them, the
//! alerts are reconciled with the state after each transition: the timers that should be
//! armed are armed (re-arming at the same time is harmless), the others disarmed, and a
//! raised alert that no longer applies is cleared.

use serde::{Deserialize, Serialize};

use super::{Conversation, ConversationStatus, Followup, TimerKind};
use crate::routing::Millis;

pub use ::protocol::vocabulary::AlertKind;

/// Seconds before each alert (0: never), from the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertThresholds {
    /// Before [`AlertKind::Unclaimed`].
    pub unclaimed_secs: u32,
    /// Before [`AlertKind::AwaitingReply`].
    pub awaiting_reply_secs: u32,
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self {
            unclaimed_secs: 300,
            awaiting_reply_secs: 300,
        }
    }
}

/// The durable timer that raises `kind`.
fn timer_of(kind: AlertKind) -> TimerKind {
    match kind {
        AlertKind::Unclaimed => TimerKind::AlertUnclaimed,
        AlertKind::AwaitingReply => TimerKind::AlertAwaitingReply,
    }
}

impl Conversation {
    /// When `kind` is due, if it applies in the current state.
    fn alert_due_at(&self, kind: AlertKind) -> Option<Millis> {
        let since = self.waiting_since?;
        let (applies, secs) = match kind {
            AlertKind::Unclaimed => (
                self.status == ConversationStatus::Queued,
                self.alert_thresholds.unclaimed_secs,
            ),
            AlertKind::AwaitingReply => (
                self.status == ConversationStatus::Owned,
                self.alert_thresholds.awaiting_reply_secs,
            ),
        };
        (applies && secs > 0).then(|| since + i64::from(secs) * 1000)
    }

    /// Brings alert timers and raised alerts in line with the state.
    pub fn reconcile_alerts(&mut self) -> Vec<Followup> {
        let mut out = Vec::new();
        for kind in [AlertKind::Unclaimed, AlertKind::AwaitingReply] {
            match self.alert_due_at(kind) {
                Some(at) if !self.alerts.contains(&kind) => out.push(Followup::Arm {
                    kind: timer_of(kind),
                    at,
                }),
                Some(_) => {}
                None => {
                    out.push(Followup::Disarm {
                        kind: timer_of(kind),
                    });
                    if self.alerts.remove(&kind) {
                        out.push(Followup::Alert {
                            kind,
                            raised: false,
                        });
                    }
                }
            }
        }
        out
    }

    /// An alert timer fired at `now`: raises the alert if it still applies and is due.
    pub fn alert_due(&mut self, kind: AlertKind, now: Millis) -> Vec<Followup> {
        let mut out = vec![Followup::Disarm {
            kind: timer_of(kind),
        }];
        if self.alert_due_at(kind).is_some_and(|at| at <= now) && self.alerts.insert(kind) {
            out.push(Followup::Alert { kind, raised: true });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgentId;

    fn opened() -> Conversation {
        Conversation::open(crate::conversation::fixtures::opening(20), 1_000).0
    }

    fn ag() -> AgentId {
        AgentId::parse("a").unwrap()
    }

    #[test]
    fn unclaimed_alert_is_armed_raised_and_cleared_by_assignment() {
        let mut c = opened();
        assert!(c.reconcile_alerts().contains(&Followup::Arm {
            kind: TimerKind::AlertUnclaimed,
            at: 301_000
        }));
        assert_eq!(
            c.alert_due(AlertKind::Unclaimed, 300_999),
            vec![Followup::Disarm {
                kind: TimerKind::AlertUnclaimed
            }],
            "not yet"
        );
        assert!(
            c.alert_due(AlertKind::Unclaimed, 301_000)
                .contains(&Followup::Alert {
                    kind: AlertKind::Unclaimed,
                    raised: true
                })
        );
        // Raised once only.
        assert!(
            !c.alert_due(AlertKind::Unclaimed, 302_000)
                .contains(&Followup::Alert {
                    kind: AlertKind::Unclaimed,
                    raised: true
                })
        );
        c.assign(&ag()).unwrap();
        let out = c.reconcile_alerts();
        assert!(out.contains(&Followup::Alert {
            kind: AlertKind::Unclaimed,
            raised: false
        }));
        // Now owned with the customer still waiting: the reply alert runs from waiting_since.
        assert!(out.contains(&Followup::Arm {
            kind: TimerKind::AlertAwaitingReply,
            at: 301_000
        }));
    }

    #[test]
    fn awaiting_reply_alert_clears_on_reply() {
        let mut c = opened();
        c.assign(&ag()).unwrap();
        c.reconcile_alerts();
        assert!(
            c.alert_due(AlertKind::AwaitingReply, 400_000)
                .contains(&Followup::Alert {
                    kind: AlertKind::AwaitingReply,
                    raised: true
                })
        );
        c.agent_reply(&ag(), 401_000).unwrap();
        let out = c.reconcile_alerts();
        assert!(out.contains(&Followup::Alert {
            kind: AlertKind::AwaitingReply,
            raised: false
        }));
        assert!(out.contains(&Followup::Disarm {
            kind: TimerKind::AlertAwaitingReply
        }));
        assert!(c.alerts.is_empty());
    }

    #[test]
    fn zero_threshold_turns_an_alert_off() {
        let mut c = opened();
        c.alert_thresholds = AlertThresholds {
            unclaimed_secs: 0,
            awaiting_reply_secs: 0,
        };
        let out = c.reconcile_alerts();
        assert!(out.iter().all(|f| matches!(f, Followup::Disarm { .. })));
        assert!(c.alert_due(AlertKind::Unclaimed, i64::MAX / 2).len() == 1);
    }
}
