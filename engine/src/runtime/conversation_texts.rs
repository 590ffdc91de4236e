//! The conversation actor's texts to the customer: agents' replies, outbound starts,
//! Switchboard's own answers (HELP), and closing on an opt-out. Each outbound text is
//! committed with its place in the outbox.

use super::messages::*;
use ::protocol::event::{Assignment, CloseReason, Closing};
use ::protocol::thread::ThreadEntry;
use actix::{ActorFutureExt, AtomicResponse, Context, Handler};

use super::conversation_events as wire;

use super::conversation_actor::*;
use super::engine::EngineError;
use crate::conversation::{Conversation, ConversationError, Direction};
use crate::metrics::metrics;

impl Handler<Reply> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, msg: Reply, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.agent_reply(&msg.agent, now)?;
            c.record_message(Direction::Outbound, &msg.text.body, now);
            let record = wire::outbound_entry(Some(&msg.agent), &msg.text, now);
            let event = wire::sent(c, record.clone());
            metrics().messages.with_label_values(&["outbound"]).inc();
            Ok((followups, vec![event], Some(ThreadEntry::Outbound(record))))
        }))
    }
}

impl Handler<StartOutbound> for ConversationActor {
    type Result = AtomicResponse<Self, Result<::protocol::thread::OutboundMessage, EngineError>>;

    fn handle(&mut self, msg: StartOutbound, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        if self
            .conversation
            .as_ref()
            .is_some_and(Conversation::is_open)
        {
            let id = self.id.clone();
            return AtomicResponse::new(Box::pin(actix::fut::ready(Err(
                EngineError::AlreadyOpen(id),
            ))));
        }
        let at = self.services.now();
        let mut next = Conversation::open_outbound(
            msg.routing.opening(self.id.clone(), msg.customer, ""),
            &msg.agent,
            at,
        );
        next.use_alert_thresholds(msg.routing.alerts);
        next.record_message(Direction::Outbound, &msg.text.body, at);
        let record = wire::outbound_entry(Some(&msg.agent), &msg.text, at);
        let events = vec![
            wire::created(&next, true),
            wire::assigned(&next, &msg.agent, Assignment::Outbound { outbound: true }),
            wire::sent(&next, record.clone()),
        ];
        let change = Change {
            counters: None,
            next,
            message: Some(ThreadEntry::Outbound(record.clone())),
            provider_message_id: None,
            routing: None,
            events,
            followups: Vec::new(),
        };
        let commit = self.commit(change);
        AtomicResponse::new(Box::pin(commit.map(move |outcome, _, _| {
            outcome?;
            metrics().messages.with_label_values(&["outbound"]).inc();
            Ok(record)
        })))
    }
}

impl Handler<CampaignText> for ConversationActor {
    type Result = AtomicResponse<Self, Result<CampaignTextOutcome, EngineError>>;

    fn handle(&mut self, msg: CampaignText, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        let at = self.services.now();
        let (mut next, mut events) = match self.conversation.clone() {
            Some(open) if open.is_open() => (open, Vec::new()),
            _ => {
                let mut opened = Conversation::open_for_campaign(
                    msg.routing.opening(self.id.clone(), msg.customer, ""),
                    &msg.send,
                    at,
                );
                opened.use_alert_thresholds(msg.routing.alerts);
                let created = wire::created(&opened, false);
                (opened, vec![created])
            }
        };
        next.record_message(Direction::Outbound, &msg.text.body, at);
        let record = wire::outbound_entry(None, &msg.text, at);
        events.push(wire::sent(&next, record.clone()));
        let change = Change {
            counters: None,
            next,
            message: Some(ThreadEntry::Outbound(record.clone())),
            provider_message_id: Some(msg.dedupe),
            routing: None,
            events,
            followups: Vec::new(),
        };
        let commit = self.commit(change);
        AtomicResponse::new(Box::pin(commit.map(move |outcome, _, _| {
            Ok(match outcome? {
                crate::store::CommitOutcome::Duplicate { .. } => CampaignTextOutcome::AlreadySent,
                _ => {
                    metrics().messages.with_label_values(&["outbound"]).inc();
                    CampaignTextOutcome::Sent(record.id)
                }
            })
        })))
    }
}

impl Handler<AutomaticText> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(
        &mut self,
        AutomaticText(text): AutomaticText,
        _: &mut Context<Self>,
    ) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            if !c.is_open() {
                return Err(ConversationError::Closed);
            }
            let record = wire::outbound_entry(None, &text, now);
            let event = wire::sent(c, record.clone());
            metrics().messages.with_label_values(&["outbound"]).inc();
            Ok((Vec::new(), vec![event], Some(ThreadEntry::Outbound(record))))
        }))
    }
}

impl Handler<CloseOptedOut> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<ThreadEntry>, EngineError>>;

    fn handle(&mut self, _: CloseOptedOut, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.close_opted_out(now)?;
            let entry = wire::opt_out_entry(now);
            let by = Closing::Compliance {
                reason: CloseReason::OptedOut,
            };
            Ok((
                followups,
                vec![wire::closed(c, by)],
                Some(ThreadEntry::OptedOut(entry)),
            ))
        }))
    }
}
