//! `/v1/dispositions`: outcome codes agents record before completing a conversation.

use engine::domain::{Disposition, DispositionId, Name, Slug, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;

use super::crud::{ResourceApi, id_or_generate};

/// A new disposition code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "resolved", "label": "Resolved"}))]
pub struct CreateDisposition {
    /// Your own id; made when absent.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub id: Option<String>,
    /// Lowercase letters, digits, `_`, `-`; unique.
    #[schema(value_type = crate::schema::SlugText)]
    pub code: String,
    /// What agents see.
    #[schema(value_type = crate::schema::NameText)]
    pub label: String,
    /// Offered to agents (default true); retire a code by setting false.
    pub active: Option<bool>,
}

/// Changes to a disposition code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchDisposition {
    /// A new code.
    #[schema(value_type = Option<crate::schema::SlugText>)]
    pub code: Option<String>,
    /// A new label.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub label: Option<String>,
    /// Whether agents are offered it.
    pub active: Option<bool>,
}

impl ResourceApi for Disposition {
    const PATH: &'static str = "/v1/dispositions";
    const TAG: &'static str = "dispositions";
    type Create = CreateDisposition;
    type Patch = PatchDisposition;

    fn create(input: CreateDisposition) -> Result<Self, ValidationError> {
        Ok(Disposition {
            id: id_or_generate(input.id, DispositionId::parse, DispositionId::generate)?,
            code: Slug::parse("code", &input.code)?,
            label: Name::parse("label", &input.label)?,
            active: input.active.unwrap_or(true),
        })
    }

    fn patch(mut self, input: &PatchDisposition) -> Result<Self, ValidationError> {
        if let Some(code) = &input.code {
            self.code = Slug::parse("code", code)?;
        }
        if let Some(label) = &input.label {
            self.label = Name::parse("label", label)?;
        }
        if let Some(active) = input.active {
            self.active = active;
        }
        Ok(self)
    }
}
