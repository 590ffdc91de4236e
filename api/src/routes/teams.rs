//! `/v1/teams`: groups of agents; agents see only their teams' queues.

use engine::domain::{Name, Team, TeamId, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;

use super::crud::{ResourceApi, id_or_generate};

/// A new team.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Billing"}))]
pub struct CreateTeam {
    /// Your own id (letters, digits, `_`, `-`, `.`; at most 64); made when absent.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub id: Option<String>,
    /// Unique among teams, ignoring case.
    #[schema(value_type = crate::schema::NameText)]
    pub name: String,
}

/// Changes to a team; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTeam {
    /// A new name.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub name: Option<String>,
}

impl ResourceApi for Team {
    const PATH: &'static str = "/v1/teams";
    const TAG: &'static str = "teams";
    type Create = CreateTeam;
    type Patch = PatchTeam;

    fn create(input: CreateTeam) -> Result<Self, ValidationError> {
        Ok(Team {
            id: id_or_generate(input.id, TeamId::parse, TeamId::generate)?,
            name: Name::parse("name", &input.name)?,
        })
    }

    fn patch(mut self, input: &PatchTeam) -> Result<Self, ValidationError> {
        if let Some(name) = &input.name {
            self.name = Name::parse("name", name)?;
        }
        Ok(self)
    }
}
