//! The send gate: every text Switchboard sends (replies, outbound starts, HELP answers) passes
//! one opt-out check and gets the number's footer on the first text to a customer.

use ::protocol::thread::ThreadEntry;

use crate::conversation::Conversation;
use actix::{Handler, Message};

use super::conversation_actor::ConversationActor;
use super::engine::Engine;
use super::messages::{AutomaticText, Reply, StartOutbound};
use super::messages::{ReleaseConversation, TakeConversation};
use super::types::*;
use crate::domain::{AgentId, ConversationId, Number, NumberId, PhoneNumber, Queue};

impl Engine {
    /// An agent starts a conversation by texting `customer` from `number`. The agent owns it
    /// from the start (a slot of its capacity); the reply routes like any text. Refused when
    /// the customer has an open conversation with the number already.
    pub async fn start_outbound(
        &self,
        agent: &AgentId,
        number: Number,
        customer: &crate::domain::PhoneNumber,
        text: OutgoingText,
    ) -> Result<OutboundStarted, EngineError> {
        let (text, first) = self.prepare_text(&number, customer, text).await?;
        let (conversation_id, _, routing) = self.open_or_get(&number, customer).await?;
        let agent_addr = self.ensure_agent(agent).await?;
        agent_addr
            .send(TakeConversation(conversation_id.clone()))
            .await
            .map_err(|_| EngineError::Stopped)??;
        let started = self
            .ask_conversation(
                &conversation_id,
                StartOutbound {
                    routing,
                    customer: customer.clone(),
                    agent: agent.clone(),
                    text,
                },
            )
            .await
            .and_then(|answer| answer);
        match started {
            Ok(message) => {
                if first {
                    self.texted(customer, &number).await;
                }
                Ok(OutboundStarted {
                    conversation_id,
                    message,
                })
            }
            Err(e) => {
                // Open already, or not stored: the slot was never used.
                if !matches!(e, EngineError::AlreadyOpen(_))
                    || !self.owns(agent, &conversation_id).await
                {
                    agent_addr.do_send(ReleaseConversation(conversation_id));
                }
                Err(e)
            }
        }
    }

    /// Whether `agent` owns the conversation now.
    pub(super) async fn owns(&self, agent: &AgentId, conversation: &ConversationId) -> bool {
        self.conversation(conversation)
            .await
            .is_ok_and(|c| c.owner().as_ref() == Some(agent))
    }

    /// An owner or subscriber replies to the customer. Returns the thread entry.
    pub async fn reply(
        &self,
        agent: &AgentId,
        conversation: &ConversationId,
        text: impl Into<OutgoingText>,
    ) -> Result<ThreadEntry, EngineError> {
        let current = self.conversation(conversation).await?;
        self.reply_in(agent, &current, text).await
    }

    /// [`Engine::reply`] to a conversation the caller has just read (to check that it may see
    /// it): its number and customer, which never change, are taken from that reading instead
    /// of a second one. Whether `agent` may reply is decided by the conversation's actor, on
    /// its state then.
    pub async fn reply_in(
        &self,
        agent: &AgentId,
        conversation: &Conversation,
        text: impl Into<OutgoingText>,
    ) -> Result<ThreadEntry, EngineError> {
        let agent = agent.clone();
        self.text_in(conversation, None, text.into(), |text| Reply {
            agent,
            text,
        })
        .await
    }

    /// Switchboard answers a customer itself (HELP): an outbound text by no agent, through
    /// the outbox like any other.
    pub async fn automatic_text(
        &self,
        conversation: &ConversationId,
        number: &Number,
        body: String,
    ) -> Result<ThreadEntry, EngineError> {
        let current = self.conversation(conversation).await?;
        self.text_in(
            &current,
            Some(number),
            OutgoingText::from(body),
            AutomaticText,
        )
        .await
    }

    /// Sends a text within an open conversation through the actor message `message` makes of
    /// it, once [`Engine::prepare_text`] allows it.
    pub(super) async fn text_in<M>(
        &self,
        current: &Conversation,
        number: Option<&Number>,
        text: OutgoingText,
        message: impl FnOnce(OutgoingText) -> M,
    ) -> Result<ThreadEntry, EngineError>
    where
        M: Message<Result = Result<Option<ThreadEntry>, EngineError>> + Clone + Send + 'static,
        ConversationActor: Handler<M>,
    {
        let number = match number {
            Some(number) => number.clone(),
            None => {
                self.inner
                    .catalog
                    .get::<Number>(current.number_id().as_str())
                    .await?
                    .resource
            }
        };
        let (text, first) = self.prepare_text(&number, current.customer(), text).await?;
        let entry = self.ask_conversation(current.id(), message(text)).await??;
        if first {
            self.texted(current.customer(), &number).await;
        }
        written(entry)
    }

    /// Every send path's gate, from one read of the customer's card: refused when the
    /// customer opted out of the number's texts (the outbox asks again before the hand-off,
    /// for a STOP that comes in meanwhile); otherwise the text, with the number's opt-out
    /// footer when it is the first Switchboard sends `customer` from `number` (and does not
    /// already say how to stop), and whether it was the first.
    pub(super) async fn prepare_text(
        &self,
        number: &Number,
        customer: &crate::domain::PhoneNumber,
        text: OutgoingText,
    ) -> Result<(OutgoingText, bool), EngineError> {
        self.prepare_text_with_footer(number, customer, text, number.footer())
            .await
    }

    /// [`Engine::prepare_text`] with another footer than the number's (a campaign's own;
    /// `None`: none).
    pub(super) async fn prepare_text_with_footer(
        &self,
        number: &Number,
        customer: &crate::domain::PhoneNumber,
        mut text: OutgoingText,
        footer: Option<&str>,
    ) -> Result<(OutgoingText, bool), EngineError> {
        let card = self.inner.contacts.get(customer).await?;
        if card.opted_out.contains_key(&number.opt_out_scope()) {
            return Err(EngineError::RecipientOptedOut(number.id.clone()));
        }
        let first = !card.texted_from.contains(number.id.as_str());
        if first
            && let Some(footer) = footer
            && !crate::sms::keywords::mentions_stop(&text.body)
        {
            text.body = if text.body.is_empty() {
                footer.to_owned()
            } else {
                format!("{}\n{footer}", text.body)
            };
        }
        Ok((text, first))
    }

    /// Remembers that `customer` got a text from `number` (so later ones carry no footer).
    /// A crash before this is harmless: the next text carries the footer again.
    pub(super) async fn texted(&self, customer: &crate::domain::PhoneNumber, number: &Number) {
        if let Err(e) = self
            .inner
            .contacts
            .mark_texted(customer, number.id.as_str())
            .await
        {
            tracing::warn!(error = %e, "could not record the first text to a customer");
        }
    }

    /// The business number an agent's first text leaves from: the one named (by phone or id),
    /// or the first of `campaign`'s numbers (by id order, its name compared without case),
    /// among the numbers whose queue is of a team the caller sees (`sees_team`); any other is
    /// as unknown as one that does not exist.
    pub async fn sending_number(
        &self,
        number: Option<&str>,
        campaign: Option<&str>,
        sees_team: impl Fn(&crate::domain::TeamId) -> bool,
    ) -> Result<Number, EngineError> {
        let visible = async |number: &Number| -> Result<bool, EngineError> {
            Ok(self
                .catalog()
                .find::<Queue>(number.queue_id.as_str())
                .await?
                .is_some_and(|q| sees_team(&q.resource.team_id)))
        };
        match (number, campaign) {
            (Some(raw), _) => {
                let not_found = || EngineError::NotFound {
                    kind: "number",
                    id: raw.to_owned(),
                };
                let found = match PhoneNumber::parse("number", raw) {
                    Ok(phone) => self.number_by_phone(&phone).await?,
                    Err(_) => match NumberId::parse(raw) {
                        Ok(id) => self
                            .catalog()
                            .find::<Number>(id.as_str())
                            .await?
                            .map(|s| s.resource),
                        Err(_) => None,
                    },
                };
                let number = found.ok_or_else(not_found)?;
                if visible(&number).await? {
                    Ok(number)
                } else {
                    Err(not_found())
                }
            }
            (None, Some(campaign)) => {
                let mut after: Option<String> = None;
                loop {
                    let page = self
                        .catalog()
                        .list::<Number>(after.as_deref(), crate::catalog::MAX_PAGE_SIZE)
                        .await?;
                    for stored in page.items {
                        let number = stored.resource;
                        if number.campaign.as_str().eq_ignore_ascii_case(campaign)
                            && visible(&number).await?
                        {
                            return Ok(number);
                        }
                    }
                    match page.next_after {
                        Some(next) => after = Some(next),
                        None => {
                            return Err(EngineError::NotFound {
                                kind: "campaign",
                                id: campaign.to_owned(),
                            });
                        }
                    }
                }
            }
            (None, None) => Err(EngineError::SendingNumberRequired),
        }
    }
}

/// The thread entry a command that writes one answered with.
pub(super) fn written(entry: Option<ThreadEntry>) -> Result<ThreadEntry, EngineError> {
    entry.ok_or_else(|| {
        EngineError::Store(crate::store::StoreError::Corrupt(
            "the command wrote no thread entry".into(),
        ))
    })
}
