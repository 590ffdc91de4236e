//! The conversation actor's texts to the customer: agents' replies, outbound starts,
//! Switchboard's own answers (HELP), and closing on an opt-out. Each outbound text is
//! committed with its place in the outbox.

use super::messages::*;
use actix::{ActorFutureExt, AtomicResponse, Context, Handler};
use serde_json::{Value, json};

use super::conversation_actor::*;
use super::engine::EngineError;
use crate::conversation::{Conversation, ConversationError, Direction, Opening};
use crate::domain::AgentId;
use crate::metrics::metrics;

/// An outbound text as its thread entry (`agent` is `None` for Switchboard's own, such as a
/// HELP answer). Its commit also puts it in the outbox; the thread shows the delivery
/// record's status (`outbox`, `queued`, `sent`, ...) over the `outbox` stored here.
fn outbound_record(agent: Option<&AgentId>, text: &super::engine::OutgoingText, at: i64) -> Value {
    let cost = crate::sms::segments::count(&text.body);
    json!({
        "id": ulid::Ulid::new().to_string().to_lowercase(),
        "direction": "outbound",
        "body": text.body,
        "encoding": cost.encoding,
        "segments": cost.segments,
        "media_urls": text.media_urls,
        "template_id": text.template_id,
        "agent_id": agent,
        "automatic": agent.is_none(),
        "status": "outbox",
        "at": at,
    })
}

impl Handler<Reply> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, msg: Reply, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.agent_reply(&msg.agent, now)?;
            c.record_message(Direction::Outbound, &msg.text.body, now);
            let record = outbound_record(Some(&msg.agent), &msg.text, now);
            let event = (
                "message.sent",
                json!({"conversation_id": c.id, "message": record}),
            );
            metrics().messages.with_label_values(&["outbound"]).inc();
            Ok((followups, vec![event], Some(record)))
        }))
    }
}

impl Handler<StartOutbound> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Value, EngineError>>;

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
        let at = self.engine.now();
        let mut next = Conversation::open_outbound(
            Opening {
                id: self.id.clone(),
                customer: msg.customer,
                number_id: msg.routing.number_id,
                campaign: msg.routing.campaign,
                queue_id: msg.routing.queue_id,
                priority: msg.routing.priority,
                public_minutes: msg.routing.public_minutes,
            },
            &msg.agent,
            at,
        );
        next.use_alert_thresholds(msg.routing.alerts);
        next.record_message(Direction::Outbound, &msg.text.body, at);
        let record = outbound_record(Some(&msg.agent), &msg.text, at);
        let events = vec![
            (
                "conversation.created",
                json!({"number_id": next.number_id, "campaign": next.campaign, "outbound": true}),
            ),
            (
                "conversation.assigned",
                json!({"agent_id": msg.agent, "outbound": true}),
            ),
            ("message.sent", json!({"message": record})),
        ];
        let change = Change {
            counters: None,
            next,
            message: Some(record.clone()),
            provider_message_id: None,
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

impl Handler<AutomaticText> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

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
            let record = outbound_record(None, &text, now);
            let event = (
                "message.sent",
                json!({"conversation_id": c.id, "message": record}),
            );
            metrics().messages.with_label_values(&["outbound"]).inc();
            Ok((Vec::new(), vec![event], Some(record)))
        }))
    }
}

impl Handler<CloseOptedOut> for ConversationActor {
    type Result = AtomicResponse<Self, Result<Option<Value>, EngineError>>;

    fn handle(&mut self, _: CloseOptedOut, _: &mut Context<Self>) -> Self::Result {
        self.last_active = tokio::time::Instant::now();
        AtomicResponse::new(self.transition(move |c, now| {
            let followups = c.close_opted_out(now)?;
            let entry = json!({
                "id": ulid::Ulid::new().to_string().to_lowercase(),
                "direction": "system",
                "body": "The customer opted out (STOP). Nothing more can be sent until they text START.",
                "reason": "opted_out",
                "at": now,
            });
            let event = (
                "conversation.closed",
                json!({"conversation_id": c.id, "reason": "opted_out"}),
            );
            Ok((followups, vec![event], Some(entry)))
        }))
    }
}
