//! Carrier compliance around every text: STOP, START and HELP on the way in, and the opt-out
//! check on every way out. An opt-out is recorded on the customer's contact card for the
//! number's provider account (or the number itself when it has none) before the keyword is
//! acknowledged, so no send path can miss it.

use engine::domain::{Number, PhoneNumber};
use engine::runtime::InboundAck;
use engine::sms::keywords::{Keyword, classify};
use serde_json::json;

use crate::error::{ApiError, ErrorCode};
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
            state
                .engine
                .automatic_text(&ack.conversation_id, number, number.help_answer())
                .await?;
            tracing::info!(conversation_id = %ack.conversation_id, "HELP answered");
        }
        Some(Keyword::Help) | None => {}
    }
    Ok(())
}

/// 409 `recipient_opted_out` when `customer` opted out of `number`'s texts.
pub async fn may_text(
    state: &AppState,
    number: &Number,
    customer: &PhoneNumber,
) -> Result<(), ApiError> {
    if state
        .contacts
        .opted_out(customer, &number.opt_out_scope())
        .await?
    {
        return Err(ApiError::new(
            ErrorCode::RecipientOptedOut,
            "the customer opted out (STOP) of this number's texts; they must text START first",
        )
        .with_details(json!({"number_id": number.id})));
    }
    Ok(())
}
