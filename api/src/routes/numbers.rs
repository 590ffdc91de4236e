//! `/v1/numbers`: the business numbers customers text, each feeding one queue.

use engine::domain::{Name, Number, NumberId, PhoneNumber, QueueId, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;

use super::crud::{ResourceApi, double_option, id_or_generate};

/// A new business number.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"phone": "+15550102000", "campaign": "Spring sale", "queue_id": "billing-sms",
    "provider_account_id": "twilio-main", "sends_per_second": 1}))]
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
    /// The SMS provider account that carries it; without one its texts go through the
    /// built-in simulator.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub provider_account_id: Option<String>,
    /// Segments it may send per second (default 1, a long code's rate).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub sends_per_second: Option<i64>,
    /// The answer to HELP and INFO (default: names the campaign and how to opt out).
    #[schema(min_length = 1, max_length = 306)]
    pub help_text: Option<String>,
    /// Added to the first text a customer gets from this number (default "Reply STOP to
    /// unsubscribe."; empty for none).
    #[schema(max_length = 306)]
    pub opt_out_footer: Option<String>,
    /// Skills every conversation the number opens needs (a Spanish line, say).
    pub required_skills: Option<Vec<super::skills_input::RequirementInput>>,
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
    /// A new send rate, segments per second.
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub sends_per_second: Option<i64>,
    /// A new help text, or `null` for the default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable, min_length = 1, max_length = 306)]
    pub help_text: Option<Option<String>>,
    /// A new footer (empty for none), or `null` for the default.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(nullable, max_length = 306)]
    pub opt_out_footer: Option<Option<String>>,
    /// Skills its conversations need, replacing the old ones.
    pub required_skills: Option<Vec<super::skills_input::RequirementInput>>,
}

fn sends_per_second(rate: i64) -> Result<u32, ValidationError> {
    u32::try_from(rate)
        .ok()
        .filter(|r| (1..=engine::domain::MAX_SENDS_PER_SECOND).contains(r))
        .ok_or_else(|| {
            ValidationError::invalid(
                "sends_per_second",
                format!("must be 1 to {}", engine::domain::MAX_SENDS_PER_SECOND),
            )
        })
}

fn queue_id(raw: &str) -> Result<QueueId, ValidationError> {
    QueueId::parse(raw).map_err(|e| e.at("queue_id"))
}

impl ResourceApi for Number {
    const PATH: &'static str = "/v1/numbers";
    const TAG: &'static str = "numbers";
    type Create = CreateNumber;
    type Patch = PatchNumber;
    const MOVES_CAMPAIGNS: bool = true;

    fn create(input: CreateNumber) -> Result<Self, ValidationError> {
        Ok(Number {
            id: id_or_generate(input.id, NumberId::parse, NumberId::generate)?,
            phone: PhoneNumber::parse("phone", &input.phone)?,
            campaign: Name::parse("campaign", &input.campaign)?,
            queue_id: queue_id(&input.queue_id)?,
            provider_account_id: input.provider_account_id,
            sends_per_second: match input.sends_per_second {
                Some(rate) => sends_per_second(rate)?,
                None => engine::domain::DEFAULT_SENDS_PER_SECOND,
            },
            help_text: input.help_text,
            opt_out_footer: input.opt_out_footer,
            required_skills: super::skills_input::requirements(
                "required_skills",
                input.required_skills.as_deref().unwrap_or_default(),
            )?,
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
        if let Some(rate) = input.sends_per_second {
            self.sends_per_second = sends_per_second(rate)?;
        }
        if let Some(help) = &input.help_text {
            self.help_text = help.clone();
        }
        if let Some(footer) = &input.opt_out_footer {
            self.opt_out_footer = footer.clone();
        }
        if let Some(required) = &input.required_skills {
            self.required_skills = super::skills_input::requirements("required_skills", required)?;
        }
        Ok(self)
    }
}
