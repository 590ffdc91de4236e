//! Carrier compliance on the way in: STOP, START and HELP. An opt-out is recorded on the
//! customer's contact card for the number's provider account (or the number itself when it
//! has none) before the keyword is acknowledged, so no send path can miss it: the engine
//! refuses every send to an opted-out customer (`recipient_opted_out`), and the outbox asks
//! again before every hand-off.

use engine::domain::{Number, PhoneNumber};
use engine::runtime::{EngineError, InboundAck};
use engine::sms::keywords::{Keyword, classify};

use crate::error::ApiError;
use crate::state::AppState;

/// Acts on a compliance keyword in a stored customer message. Idempotent: a provider retry
/// (a duplicate message) runs it again harmlessly, which also completes one a crash cut short.
pub async fn on_inbound(
    state: &AppState,
    number: &Number,
    customer: &PhoneNumber,
    body: &str,
    ack: &InboundAck,
) -> Result<(), ApiError> {
    let scope = number.opt_out_scope();
    match classify(body) {
        Some(Keyword::OptOut) => {
            state
                .contacts
                .set_opt_out(customer, &scope, Some(state.engine.now()))
                .await?;
            // Texts still waiting in the outbox fail now; the check before every hand-off
            // would stop them anyway.
            state.engine.outbox().opted_out(scope, customer.clone());
            state.engine.close_opted_out(&ack.conversation_id).await?;
            tracing::info!(conversation_id = %ack.conversation_id, "customer opted out");
        }
        Some(Keyword::OptIn) => {
            state.contacts.set_opt_out(customer, &scope, None).await?;
            tracing::info!(conversation_id = %ack.conversation_id, "customer opted back in");
        }
        Some(Keyword::Help) if !ack.duplicate => {
            match state
                .engine
                .automatic_text(&ack.conversation_id, number, number.help_answer())
                .await
            {
                Ok(_) => tracing::info!(conversation_id = %ack.conversation_id, "HELP answered"),
                // Nothing goes to a customer who opted out, not even the help text.
                Err(EngineError::RecipientOptedOut(_)) => {
                    tracing::info!(conversation_id = %ack.conversation_id, "HELP from an opted-out customer not answered")
                }
                Err(e) => return Err(e.into()),
            }
        }
        Some(Keyword::Help) | None => {}
    }
    Ok(())
}
