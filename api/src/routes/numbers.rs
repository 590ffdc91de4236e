//! `/v1/numbers`: the business numbers customers text, each feeding one queue.

use engine::domain::{Name, Number, NumberId, PhoneNumber, QueueId, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;

use super::crud::{ResourceApi, double_option, id_or_generate};

/// A new business number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "+15550102000", "campaign": "Spring sale", "queue_id": "billing-sms"}))]
pub struct CreateNumber {
    /// Your own id; made when absent.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub id: Option<String>,
    /// E.164 (`+` and country code); spaces, dashes, dots and parentheses are removed.
    #[schema(value_type = crate::schema::PhoneText)]
    pub phone: String,
    /// The campaign shown on its conversations.
    #[schema(value_type = crate::schema::NameText)]
    pub campaign: String,
    /// The queue its conversations wait in; must exist.
    #[schema(value_type = crate::schema::IdText)]
    pub queue_id: String,
    /// The SMS provider account that carries it.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub provider_account_id: Option<String>,
}

/// Changes to a number; absent fields stay, `null` clears `provider_account_id`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchNumber {
    /// A new phone number.
    #[schema(value_type = Option<crate::schema::PhoneText>)]
    pub phone: Option<String>,
    /// A new campaign.
    #[schema(value_type = Option<crate::schema::NameText>)]
    pub campaign: Option<String>,
    /// Another queue (which must exist).
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub queue_id: Option<String>,
    /// Another provider account, or `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<crate::schema::IdText>, nullable)]
    pub provider_account_id: Option<Option<String>>,
}

fn queue_id(raw: &str) -> Result<QueueId, ValidationError> {
    QueueId::parse(raw).map_err(|e| e.at("queue_id"))
}

impl ResourceApi for Number {
    const PATH: &'static str = "/v1/numbers";
    const TAG: &'static str = "numbers";
    type Create = CreateNumber;
    type Patch = PatchNumber;

    fn create(input: CreateNumber) -> Result<Self, ValidationError> {
        Ok(Number {
            id: id_or_generate(input.id, NumberId::parse, NumberId::generate)?,
            phone: PhoneNumber::parse("phone", &input.phone)?,
            campaign: Name::parse("campaign", &input.campaign)?,
            queue_id: queue_id(&input.queue_id)?,
            provider_account_id: input.provider_account_id,
        })
    }

    fn patch(mut self, input: &PatchNumber) -> Result<Self, ValidationError> {
        if let Some(phone) = &input.phone {
            self.phone = PhoneNumber::parse("phone", phone)?;
        }
        if let Some(campaign) = &input.campaign {
            self.campaign = Name::parse("campaign", campaign)?;
        }
        if let Some(queue) = &input.queue_id {
            self.queue_id = queue_id(queue)?;
        }
        if let Some(account) = &input.provider_account_id {
            self.provider_account_id = account.clone();
        }
        Ok(self)
    }
}
