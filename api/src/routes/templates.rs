//! `/v1/templates`: quick replies with `{{placeholders}}`, scoped globally or to a team,
//! queue or campaign.

use engine::domain::{
    Name, QueueId, TeamId, Template, TemplateBody, TemplateId, TemplateScope, ValidationError,
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::crud::{ResourceApi, id_or_generate};

/// Where a template applies.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScopeInput {
    /// Everywhere. (A struct variant, so that `deny_unknown_fields` applies to it too.)
    Global {},
    /// One team's queues.
    Team {
        /// The team; must exist.
        #[schema(value_type = crate::schema::IdText)]
        team_id: String,
    },
    /// One queue.
    Queue {
        /// The queue; must exist.
        #[schema(value_type = crate::schema::IdText)]
        queue_id: String,
    },
    /// One campaign.
    Campaign {
        /// The campaign's name.
        #[schema(value_type = crate::schema::NameText)]
        campaign: String,
    },
}

impl ScopeInput {
    fn parse(&self) -> Result<TemplateScope, ValidationError> {
        Ok(match self {
            Self::Global {} => TemplateScope::Global,
            Self::Team { team_id } => TemplateScope::Team {
                team_id: TeamId::parse(team_id.as_str()).map_err(|e| e.at("scope.team_id"))?,
            },
            Self::Queue { queue_id } => TemplateScope::Queue {
                queue_id: QueueId::parse(queue_id.as_str()).map_err(|e| e.at("scope.queue_id"))?,
            },
            Self::Campaign { campaign } => TemplateScope::Campaign {
                campaign: Name::parse("scope.campaign", campaign)?,
            },
        })
    }
}

/// A new template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Greeting", "body": "Hi {{contact.name}}, this is {{agent.name}}.", "scope": {"type": "global"}}))]
pub struct CreateTemplate {
    /// Your own id; made when absent.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub id: Option<String>,
    /// Unique within its scope, ignoring case.
    #[schema(value_type = crate::schema::NameText)]
    pub name: String,
    /// At most 1600 characters; placeholders are `{{name}}` of letters, digits, `_`, `.`.
    #[schema(value_type = crate::schema::TemplateText)]
    pub body: String,
    /// Where it applies (default global).
    pub scope: Option<ScopeInput>,
}

/// Changes to a template.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTemplate {
    /// A new name.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub name: Option<String>,
    /// A new body.
    #[schema(value_type = Option<crate::schema::TemplateText>)]
    pub body: Option<String>,
    /// A new scope.
    pub scope: Option<ScopeInput>,
}

impl ResourceApi for Template {
    const PATH: &'static str = "/v1/templates";
    const TAG: &'static str = "templates";
    type Create = CreateTemplate;
    type Patch = PatchTemplate;

    fn create(input: CreateTemplate) -> Result<Self, ValidationError> {
        Ok(Template {
            id: id_or_generate(input.id, TemplateId::parse, TemplateId::generate)?,
            name: Name::parse("name", &input.name)?,
            body: TemplateBody::parse("body", &input.body)?,
            scope: input
                .scope
                .as_ref()
                .map(ScopeInput::parse)
                .transpose()?
                .unwrap_or(TemplateScope::Global),
        })
    }

    fn patch(mut self, input: &PatchTemplate) -> Result<Self, ValidationError> {
        if let Some(name) = &input.name {
            self.name = Name::parse("name", name)?;
        }
        if let Some(body) = &input.body {
            self.body = TemplateBody::parse("body", body)?;
        }
        if let Some(scope) = &input.scope {
            self.scope = scope.parse()?;
        }
        Ok(self)
    }
}
