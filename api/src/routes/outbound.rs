//! `POST /v1/conversations`: an agent starts a conversation by texting a customer from one of
//! its teams' business numbers (Nextiva's outbound SMS by campaign, XCALLY's "new SMS").
//! The agent owns it from the start; the customer's answer routes back to it like any text.
//! The text is in the outbox when this answers (`status: outbox`) and leaves through the
//! number's provider in its turn.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};
use engine::domain::{Number, PhoneNumber};
use engine::runtime::OutgoingText;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::conversations::ConversationView;
use super::quick_replies::RenderContext;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::extract::ValidJson;
use crate::state::AppState;

/// A conversation to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to": "+15550001111", "campaign": "Spring", "template_id": "tp_welcome"}))]
pub struct StartRequest {
    /// The customer's number (E.164).
    #[schema(value_type = crate::schema::PhoneText)]
    pub to: String,
    /// The business number to text from: its id or its phone number.
    pub number: Option<String>,
    /// Or a campaign: the first of its numbers in the caller's teams. Without either, the
    /// agent's `default_campaign`.
    #[schema(max_length = 100)]
    pub campaign: Option<String>,
    /// The text (1 to 1600 characters); or `template_id` alone to send a template rendered.
    #[schema(min_length = 1, max_length = 1600, pattern = r"[^\s\u0085]")]
    pub body: Option<String>,
    /// The template the text comes from.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub template_id: Option<String>,
    /// Media to attach (MMS): up to 10 http(s) URLs.
    #[serde(default)]
    #[schema(value_type = Vec<crate::schema::MediaUrlText>, max_items = 10)]
    pub media_urls: Vec<String>,
}

/// The conversation started and its first message.
#[derive(Debug, Serialize, ToSchema)]
pub struct StartedView {
    /// The conversation, owned by the caller.
    pub conversation: ConversationView,
    /// The first message, `status: outbox`.
    pub message: protocol::thread::OutboundMessage,
}

/// The business number to text from, which must route to one of the caller's teams' queues
/// (the engine's rule: named by phone or id, or the campaign's first number).
pub(crate) async fn sending_number(
    state: &AppState,
    principal: &Principal,
    number: Option<&str>,
    campaign: Option<&str>,
) -> Result<Number, ApiError> {
    Ok(state
        .engine
        .sending_number(number, campaign, |team| principal.sees_team(team))
        .await?)
}

/// Starts an outbound conversation.
#[utoipa::path(post, path = "/v1/conversations", tag = "conversations",
    request_body = StartRequest,
    responses(
        (status = 201, description = "Started; `Location` names the conversation", body = StartedView),
        (status = 400, description = "Bad input", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 403, description = "`forbidden`: not an agent token", body = ErrorBody),
        (status = 404, description = "No such number, campaign or template in the caller's teams", body = ErrorBody),
        (status = 409, description = "`conversation_conflict`: the customer has an open conversation with the number (`details.conversation_id`), or the agent is at capacity; `recipient_opted_out`: the customer texted STOP", body = ErrorBody),
        (status = 422, description = "`template_placeholder_missing`; `sending_number_required`: no `number` or `campaign`, and the agent has no `default_campaign`", body = ErrorBody),
    ))]
pub async fn start(
    principal: Principal,
    state: web::Data<AppState>,
    body: ValidJson<StartRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let Principal::Agent(owner) = &principal else {
        return Err(ApiError::forbidden(
            "conversations are started with an agent's token",
        ));
    };
    let customer = PhoneNumber::parse("to", &request.to)?;
    let media_urls = super::conversations::media_urls(request.media_urls)?;
    // Neither number nor campaign: the agent's default campaign.
    let campaign = request.campaign.as_deref().or(owner
        .agent
        .default_campaign
        .as_ref()
        .map(|c| c.as_str()));
    let number = sending_number(&state, &principal, request.number.as_deref(), campaign).await?;
    let template = match &request.template_id {
        Some(template_id) => {
            let context = RenderContext::for_parts(
                &state,
                &principal,
                customer.clone(),
                number.campaign.to_string(),
                number.queue_id.clone(),
            )
            .await?;
            let template = context.applicable(&state, template_id).await?;
            Some((context, template))
        }
        None => None,
    };
    let body = match (request.body, &template) {
        (Some(body), _) => super::conversations::text("body", &body)?,
        (None, Some((context, template))) => context.render(template)?,
        // A picture alone (MMS without text).
        (None, None) if !media_urls.is_empty() => String::new(),
        (None, None) => {
            return Err(ApiError::new(
                ErrorCode::MissingField,
                "missing field `body` (or a `template_id` or `media_urls` to send)",
            )
            .with_details(json!({"field": "body"})));
        }
    };
    let text = OutgoingText {
        body,
        media_urls,
        template_id: template.map(|(_, t)| t.id.to_string()),
    };
    let started = state
        .engine
        .start_outbound(&owner.agent.id, number, &customer, text)
        .await?;
    let conversation = state.engine.conversation(&started.conversation_id).await?;
    let message = started.message;
    tracing::info!(conversation_id = %started.conversation_id, agent_id = %owner.agent.id, "outbound conversation started");
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/v1/conversations/{}", started.conversation_id),
        ))
        .json(StartedView {
            conversation: ConversationView::from(&conversation),
            message,
        }))
}
