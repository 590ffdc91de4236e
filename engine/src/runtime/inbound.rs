//! A customer's text arriving, whatever carried it (a provider's webhook, `/v1/inbound`, the
//! simulator's customers): stored in its conversation first, then carrier compliance —
//! STOP, START and HELP — applied here, once, so that no path can skip it.
//!
//! An opt-out is recorded on the customer's contact card for the number's provider account
//! (or the number itself when it has none) before the text is acknowledged, so no send path
//! can miss it: every send to an opted-out customer is refused (`RecipientOptedOut`), and the
//! outbox asks again before every hand-off.

use super::messages::{CustomerMessage, CustomerMessageOutcome, Routing};
use super::{Engine, EngineError, InboundAck, InboundMessage};
use crate::conversation::ConversationError;
use crate::domain::{ConversationId, Number, PhoneNumber};
use crate::sms::keywords::{Keyword, classify};
use crate::store::{OpenGuard, ResourceKind, Store, StoreError};

/// How often a customer's text is sent to another conversation than first thought before
/// the request fails (retryably): twice is the most an honest race needs.
const MAX_TRIES: usize = 4;

impl Engine {
    /// Stores a customer's message in its conversation (opening one if needed), queues or
    /// notifies as the conversation's state says, and acts on a compliance keyword. Returns
    /// once the message (and an opt-out) is durable.
    pub async fn inbound(&self, message: InboundMessage) -> Result<InboundAck, EngineError> {
        let number = self
            .number_by_phone(&message.to)
            .await?
            .ok_or_else(|| EngineError::UnknownNumber(message.to.to_string()))?;
        self.receive(&number, message).await
    }

    /// [`Engine::inbound`] for a text whose business number the caller has resolved already
    /// (a webhook that checked the number's account signature).
    pub async fn receive(
        &self,
        number: &Number,
        mut message: InboundMessage,
    ) -> Result<InboundAck, EngineError> {
        if let std::borrow::Cow::Owned(clean) =
            crate::sms::without_forbidden_controls(&message.body)
        {
            message.body = clean;
        }
        let customer = message.from.clone();
        let keyword = classify(&message.body);
        let routing = self.routing_of(number).await?;
        let ack = self.store_in_conversation(routing, message).await?;
        if let Some(keyword) = keyword {
            self.apply_keyword(keyword, number, &customer, &ack).await?;
        }
        Ok(ack)
    }

    /// Stores a customer's message in the customer's open conversation with the number, or
    /// in a new one — in one round trip when this process knows the conversation (or the
    /// customer has none): the commit checks the guess (see [`OpenConversations`]), and a
    /// wrong one, which stored nothing, is retried with the conversation the store named.
    ///
    /// [`OpenConversations`]: super::open_conversations::OpenConversations
    async fn store_in_conversation(
        &self,
        routing: Routing,
        message: InboundMessage,
    ) -> Result<InboundAck, EngineError> {
        let number_id = routing.number_id.clone();
        let customer = message.from.clone();
        let open = &self.inner.open_conversations;
        let mut guess = open.guess(number_id.as_str(), customer.as_str());
        // A wrong guess is corrected by the store's answer, so the second try succeeds unless
        // the customer's conversation closes or opens again in between, every time.
        for _ in 0..MAX_TRIES {
            let (id, guard) = match guess.take() {
                Some(id) => (id, OpenGuard::Holds),
                None => {
                    let id = ConversationId::generate();
                    self.start_new_conversation(&id);
                    (id, OpenGuard::Claim)
                }
            };
            let delivered = CustomerMessage {
                message: message.clone(),
                routing: routing.clone(),
                guard,
            };
            match self.ask_conversation(&id, delivered).await?? {
                CustomerMessageOutcome::Stored(ack) => return Ok(ack),
                CustomerMessageOutcome::Elsewhere(holder) => {
                    open.learn(number_id.as_str(), customer.as_str(), holder.clone());
                    guess = holder;
                }
            }
        }
        Err(EngineError::Store(StoreError::Unavailable(
            "the customer's conversation kept changing while the text was stored; retry".into(),
        )))
    }

    /// Receives simulated customers' answers from the outbox's simulator, like any inbound
    /// text, for as long as the outbox sends them.
    pub(super) async fn follow_simulated_replies(
        self,
        mut answers: tokio::sync::mpsc::UnboundedReceiver<InboundMessage>,
    ) {
        while let Some(message) = answers.recv().await {
            let engine = self.clone();
            // Each on its own: one slow conversation does not hold up the others.
            actix::spawn(async move {
                if let Err(e) = engine.inbound(message).await {
                    tracing::warn!(error = %e, "simulated customer reply not stored");
                }
            });
        }
    }

    /// The business number with this phone, if one is configured.
    pub async fn number_by_phone(
        &self,
        phone: &PhoneNumber,
    ) -> Result<Option<Number>, EngineError> {
        let generation = self.catalog().generation();
        self.inner
            .numbers
            .get_or_load(phone.as_str(), generation, async {
                let found = self
                    .store()
                    .config_find_unique(ResourceKind::Number, "phone", phone.as_str())
                    .await?;
                Ok(match found {
                    Some(id) => self
                        .catalog()
                        .find::<Number>(&id)
                        .await?
                        .map(|s| s.resource),
                    None => None,
                })
            })
            .await
    }

    /// The provider account `id`, if one is configured (cached: every provider webhook checks
    /// its signature with one).
    pub async fn provider_account(
        &self,
        id: &str,
    ) -> Result<Option<crate::domain::ProviderAccount>, EngineError> {
        let generation = self.catalog().generation();
        self.inner
            .accounts
            .get_or_load(id, generation, async {
                Ok(self
                    .catalog()
                    .find::<crate::domain::ProviderAccount>(id)
                    .await?
                    .map(|s| s.resource))
            })
            .await
    }

    /// Acts on a compliance keyword in a stored customer message. Idempotent: a provider retry
    /// (a duplicate message) runs it again harmlessly, which also completes one a crash cut
    /// short.
    async fn apply_keyword(
        &self,
        keyword: Keyword,
        number: &Number,
        customer: &PhoneNumber,
        ack: &InboundAck,
    ) -> Result<(), EngineError> {
        let scope = number.opt_out_scope();
        match keyword {
            Keyword::OptOut => {
                self.contacts()
                    .set_opt_out(customer, &scope, Some(self.now()))
                    .await?;
                // Texts still waiting in the outbox fail now; the check before every
                // hand-off would stop them anyway.
                self.outbox().opted_out(scope, customer.clone());
                self.close_opted_out(&ack.conversation_id).await?;
                tracing::info!(conversation_id = %ack.conversation_id, "customer opted out");
            }
            Keyword::OptIn => {
                self.contacts().set_opt_out(customer, &scope, None).await?;
                tracing::info!(conversation_id = %ack.conversation_id, "customer opted back in");
            }
            Keyword::Help if !ack.duplicate => {
                match self
                    .automatic_text(&ack.conversation_id, number, number.help_answer())
                    .await
                {
                    Ok(_) => {
                        tracing::info!(conversation_id = %ack.conversation_id, "HELP answered")
                    }
                    // Nothing goes to a customer who opted out, not even the help text.
                    Err(EngineError::RecipientOptedOut(_)) => {
                        tracing::info!(conversation_id = %ack.conversation_id, "HELP from an opted-out customer not answered")
                    }
                    // An agent closed the conversation between the HELP's storing and its
                    // answer: the text is stored, and refusing it would not answer it either.
                    Err(EngineError::Conversation(ConversationError::Closed)) => {
                        tracing::warn!(conversation_id = %ack.conversation_id, "HELP not answered: its conversation closed meanwhile")
                    }
                    Err(e) => return Err(e),
                }
            }
            Keyword::Help => {}
        }
        Ok(())
    }
}
