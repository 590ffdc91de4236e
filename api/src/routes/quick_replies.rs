//! Templates as an agent uses them in a conversation: the ones that apply (global, the
//! queue's team, the queue, the campaign), rendered with the conversation's values —
//! `{{contact.name}}`, `{{contact.first_name}}`, `{{contact.email}}`, `{{contact.phone}}`,
//! `{{contact.<custom field>}}`, `{{agent.name}}`, `{{agent.first_name}}`, `{{campaign}}`,
//! `{{queue.name}}`. A placeholder without a value is never rendered as nothing: rendering
//! fails with 422 `template_placeholder_missing` naming it.

use actix_web::{HttpResponse, web};
use engine::conversation::Conversation;
use engine::domain::{Agent, PhoneNumber, Queue, QueueId, Template, TemplateScope};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

/// A template as it applies to one conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuickReplyView {
    /// The template.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `global`, `team`, `queue` or `campaign`.
    pub scope: String,
    /// The body as written.
    pub body: String,
    /// The body filled in for this conversation and caller; absent when a value is missing.
    pub rendered: Option<String>,
    /// Placeholders without a value here (fill them in the card, or edit the text).
    pub missing_placeholders: Vec<String>,
}

/// Templates that apply, rendered.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuickReplyList {
    /// Campaign first, then queue, team and global; by name within each.
    pub items: Vec<QuickReplyView>,
}

/// What placeholders are filled from.
pub struct RenderContext {
    customer: PhoneNumber,
    campaign: String,
    queue_id: QueueId,
    queue: Option<Queue>,
    contact: engine::contacts::Contact,
    agent: Option<Agent>,
    /// No customer in particular: `contact.phone` has no value either.
    anonymous: bool,
}

fn first_word(text: &str) -> Option<String> {
    text.split_whitespace().next().map(str::to_owned)
}

impl RenderContext {
    /// The values for `conversation` as `principal` would send it.
    pub async fn load(
        state: &AppState,
        principal: &Principal,
        conversation: &Conversation,
    ) -> Result<Self, ApiError> {
        Self::for_parts(
            state,
            principal,
            conversation.customer().clone(),
            conversation.campaign().to_string(),
            conversation.queue_id().clone(),
        )
        .await
    }

    /// The values for a text to `customer` in `campaign` and `queue` (a conversation about to
    /// start).
    pub async fn for_parts(
        state: &AppState,
        principal: &Principal,
        customer: PhoneNumber,
        campaign: String,
        queue_id: QueueId,
    ) -> Result<Self, ApiError> {
        let queue = state
            .catalog
            .find::<Queue>(queue_id.as_str())
            .await?
            .map(|s| s.resource);
        let contact = state.contacts.get(&customer).await?;
        let agent = match principal {
            Principal::Agent(owner) => Some(owner.agent.clone()),
            Principal::Admin => None,
        };
        Ok(Self {
            customer,
            campaign,
            queue_id,
            queue,
            contact,
            agent,
            anonymous: false,
        })
    }

    /// Drops the customer's values: rendering for no customer in particular (contact
    /// placeholders are then listed as missing).
    pub fn forget_contact(&mut self) {
        self.contact = engine::contacts::Contact::default();
        self.anonymous = true;
    }

    /// A placeholder's value, if it has one here.
    pub fn value(&self, name: &str) -> Option<String> {
        let contact = &self.contact;
        match name {
            "campaign" => Some(self.campaign.clone()),
            "queue.name" => self.queue.as_ref().map(|q| q.name.to_string()),
            "agent.name" => self.agent.as_ref().map(|a| a.name.to_string()),
            "agent.first_name" => self
                .agent
                .as_ref()
                .and_then(|a| first_word(a.name.as_str())),
            "contact.name" => contact.name.clone(),
            "contact.first_name" => contact.name.as_deref().and_then(first_word),
            "contact.email" => contact.email.clone(),
            "contact.phone" => (!self.anonymous).then(|| self.customer.to_string()),
            "contact.address" => contact.address.clone(),
            other => other
                .strip_prefix("contact.")
                .and_then(|field| contact.custom_fields.get(field).cloned()),
        }
    }

    /// Whether `template` applies to the conversation, and its rank (campaign first).
    fn rank(&self, template: &Template) -> Option<u8> {
        match &template.scope {
            TemplateScope::Campaign { campaign } => campaign
                .as_str()
                .eq_ignore_ascii_case(&self.campaign)
                .then_some(0),
            TemplateScope::Queue { queue_id } => (queue_id == &self.queue_id).then_some(1),
            TemplateScope::Team { team_id } => self
                .queue
                .as_ref()
                .is_some_and(|q| &q.team_id == team_id)
                .then_some(2),
            TemplateScope::Global => Some(3),
        }
    }

    /// Renders `template`, or 422 naming the missing placeholders.
    pub fn render(&self, template: &Template) -> Result<String, ApiError> {
        template
            .body
            .render(|name| self.value(name))
            .map_err(|missing| {
                ApiError::new(
                    ErrorCode::TemplatePlaceholderMissing,
                    format!(
                        "template {} needs a value for {}",
                        template.id,
                        missing.join(", ")
                    ),
                )
                .with_details(json!({"template_id": template.id, "missing": missing}))
            })
    }

    /// The template `id` if it applies here; 404 otherwise (another team's template is as
    /// unknown as a made-up id).
    pub async fn applicable(&self, state: &AppState, id: &str) -> Result<Template, ApiError> {
        let not_found = || ApiError::not_found("template", id);
        let template = state
            .catalog
            .find::<Template>(id)
            .await?
            .ok_or_else(not_found)?
            .resource;
        self.rank(&template).ok_or_else(not_found)?;
        Ok(template)
    }
}

/// The templates that apply to a conversation, rendered for the caller.
#[utoipa::path(get, path = "/v1/conversations/{id}/templates", tag = "conversations",
    params(("id" = String, Path, description = "The conversation")),
    responses(
        (status = 200, description = "Templates that apply, rendered", body = QuickReplyList,
            example = json!({"items": [{"id": "tp_thanks", "name": "Thanks", "scope": "campaign",
                "body": "Thanks {{contact.first_name}}! {{agent.name}} from {{campaign}}",
                "rendered": "Thanks Maria! Ann Lee from Spring", "missing_placeholders": []}]})),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "No such conversation (or another team's)", body = ErrorBody),
    ))]
pub async fn list(
    principal: Principal,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let conversation = super::conversations::visible(&state, &principal, &id).await?;
    let context = RenderContext::load(&state, &principal, &conversation).await?;
    let items = applicable(&state, &context).await?;
    Ok(HttpResponse::Ok().json(QuickReplyList { items }))
}

/// Every template that applies in `context`, campaign first, then queue, team and global (by
/// name within each), rendered where every placeholder has a value.
pub async fn applicable(
    state: &AppState,
    context: &RenderContext,
) -> Result<Vec<QuickReplyView>, ApiError> {
    let mut ranked: Vec<(u8, Template)> = super::crud::every::<Template>(state)
        .await?
        .into_iter()
        .filter_map(|template| context.rank(&template).map(|rank| (rank, template)))
        .collect();
    ranked.sort_by(|(ra, a), (rb, b)| (ra, a.name.as_str()).cmp(&(rb, b.name.as_str())));
    let items = ranked
        .into_iter()
        .map(|(_, template)| {
            let (rendered, missing) = match template.body.render(|n| context.value(n)) {
                Ok(text) => (Some(text), Vec::new()),
                Err(missing) => (None, missing),
            };
            QuickReplyView {
                id: template.id.to_string(),
                name: template.name.to_string(),
                scope: match template.scope {
                    TemplateScope::Global => "global",
                    TemplateScope::Team { .. } => "team",
                    TemplateScope::Queue { .. } => "queue",
                    TemplateScope::Campaign { .. } => "campaign",
                }
                .to_owned(),
                body: template.body.as_str().to_owned(),
                rendered,
                missing_placeholders: missing,
            }
        })
        .collect();
    Ok(items)
}

/// Registers the route (inside `/conversations`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/{id}/templates")
            .route(web::get().to(list))
            .default_service(super::crud::method_not_allowed("GET")),
    );
}
