//! `/v1/teams`: groups of agents; agents see only their teams' queues.

use engine::domain::{Name, Slug, Team, TeamId, ValidationError, default_away_reasons};
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
    /// The reasons its agents may give for being `away` (each 1 to 64 lowercase letters,
    /// digits, `_`, `-`; at most 20); `break`, `lunch`, `training`, `meeting` when absent.
    #[schema(max_items = 20)]
    pub away_reasons: Option<Vec<String>>,
}

/// Changes to a team; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchTeam {
    /// A new name.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub name: Option<String>,
    /// A new list of away reasons (replaces the old one).
    #[schema(max_items = 20)]
    pub away_reasons: Option<Vec<String>>,
}

fn away_reasons(reasons: &[String]) -> Result<Vec<Slug>, ValidationError> {
    reasons
        .iter()
        .enumerate()
        .map(|(i, reason)| Slug::parse(&format!("away_reasons[{i}]"), reason))
        .collect()
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
            away_reasons: match &input.away_reasons {
                Some(reasons) => away_reasons(reasons)?,
                None => default_away_reasons(),
            },
        })
    }

    fn patch(mut self, input: &PatchTeam) -> Result<Self, ValidationError> {
        if let Some(name) = &input.name {
            self.name = Name::parse("name", name)?;
        }
        if let Some(reasons) = &input.away_reasons {
            self.away_reasons = away_reasons(reasons)?;
        }
        Ok(self)
    }
}
