//! `/v1/campaigns`: what the business texts customers about — the queue replies are served
//! in, templates, quiet hours in the recipient's time zone, send rate, opt-out footer and
//! the skills its conversations need. A campaign's numbers are those whose `campaign` is its
//! name; labels from before campaigns were resources became campaigns at start.

use engine::domain::campaign::{Campaign, ClockTime, QuietHours, TimeZoneName};
use engine::domain::{CampaignId, Name, QueueId, TemplateId, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;

use super::crud::{ResourceApi, id_or_generate};
use super::skills_input::RequirementInput;

/// A sending window in the recipient's local time, `HH:MM` to `HH:MM`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"start": "08:00", "end": "21:00"}))]
pub struct QuietHoursInput {
    /// The first minute texts may go out (default 08:00).
    #[schema(value_type = Option<String>, example = "08:00")]
    pub start: Option<String>,
    /// The first minute they may not, after `start` (default 21:00).
    #[schema(value_type = Option<String>, example = "21:00")]
    pub end: Option<String>,
}

impl QuietHoursInput {
    fn apply(&self, mut hours: QuietHours) -> Result<QuietHours, ValidationError> {
        if let Some(start) = &self.start {
            hours.start = ClockTime::parse("quiet_hours.start", start)?;
        }
        if let Some(end) = &self.end {
            hours.end = ClockTime::parse("quiet_hours.end", end)?;
        }
        Ok(hours)
    }
}

/// A new campaign. Everything but `name` and `queue_id` has a default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Spring renewals", "queue_id": "renewals", "quiet_hours": {"start": "09:00", "end": "20:00"}, "sends_per_second": 5}))]
pub struct CreateCampaign {
    /// Your own id; made when absent.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub id: Option<String>,
    /// Unique among campaigns, ignoring case; numbers join it by carrying this name as their
    /// `campaign`. It cannot change later.
    #[schema(value_type = crate::schema::NameText)]
    pub name: String,
    /// The queue its customers' replies are served in; must exist.
    #[schema(value_type = crate::schema::IdText)]
    pub queue_id: String,
    /// Templates its sends may use; each must exist.
    #[schema(value_type = Option<Vec<crate::schema::IdText>>)]
    pub template_ids: Option<Vec<String>>,
    /// When it may text, in each recipient's local time (default 08:00 to 21:00).
    pub quiet_hours: Option<QuietHoursInput>,
    /// The time zone of a recipient whose contact card and number say none (default
    /// `America/New_York`).
    #[schema(example = "America/Chicago")]
    pub time_zone: Option<String>,
    /// Texts per second at most, 1 to 1000 (default 1); each number's own rate still holds.
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub sends_per_second: Option<i64>,
    /// Added to its first text to each customer (the number's when unset; `""` for none).
    pub opt_out_footer: Option<String>,
    /// Skills its conversations need, besides their queue's.
    pub required_skills: Option<Vec<RequirementInput>>,
}

/// Changes to a campaign; absent fields stay as they are. The name cannot change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCampaign {
    /// Another queue for replies.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub queue_id: Option<String>,
    /// Its templates, replacing the old list.
    #[schema(value_type = Option<Vec<crate::schema::IdText>>)]
    pub template_ids: Option<Vec<String>>,
    /// The sending window; absent ends stay.
    pub quiet_hours: Option<QuietHoursInput>,
    /// The fallback time zone.
    pub time_zone: Option<String>,
    /// Texts per second at most.
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub sends_per_second: Option<i64>,
    /// The footer (`null`: the number's; `""`: none).
    #[serde(default, deserialize_with = "super::crud::double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub opt_out_footer: Option<Option<String>>,
    /// Its skills, replacing the old ones.
    pub required_skills: Option<Vec<RequirementInput>>,
}

fn queue_id(raw: &str) -> Result<QueueId, ValidationError> {
    QueueId::parse(raw).map_err(|e| e.at("queue_id"))
}

fn template_ids(raw: &[String]) -> Result<Vec<TemplateId>, ValidationError> {
    raw.iter()
        .enumerate()
        .map(|(i, id)| {
            TemplateId::parse(id.as_str()).map_err(|e| e.at(format!("template_ids[{i}]")))
        })
        .collect()
}

fn rate(raw: i64) -> Result<u32, ValidationError> {
    u32::try_from(raw)
        .map_err(|_| ValidationError::invalid("sends_per_second", "must be 1 to 1000"))
}

impl ResourceApi for Campaign {
    const PATH: &'static str = "/v1/campaigns";
    const TAG: &'static str = "campaigns";
    type Create = CreateCampaign;
    type Patch = PatchCampaign;
    const MOVES_CAMPAIGNS: bool = true;

    /// Numbers carrying its name would make it again: they must take another label first.
    fn refuse_delete(&self) -> Option<crate::error::ApiError> {
        (!self.number_ids.is_empty()).then(|| {
            crate::error::ApiError::new(
                crate::error::ErrorCode::ResourceInUse,
                format!(
                    "campaign {} is the label of {} number(s); give them another campaign first",
                    self.id,
                    self.number_ids.len()
                ),
            )
            .with_details(serde_json::json!({
                "referenced_by": self
                    .number_ids
                    .iter()
                    .map(|n| serde_json::json!({"kind": "number", "id": n}))
                    .collect::<Vec<_>>()
            }))
        })
    }

    fn create(input: CreateCampaign) -> Result<Self, ValidationError> {
        Ok(Campaign {
            id: id_or_generate(input.id, CampaignId::parse, CampaignId::generate)?,
            name: Name::parse("name", &input.name)?,
            queue_id: queue_id(&input.queue_id)?,
            number_ids: Vec::new(),
            template_ids: template_ids(input.template_ids.as_deref().unwrap_or_default())?,
            quiet_hours: input
                .quiet_hours
                .map(|h| h.apply(QuietHours::default()))
                .transpose()?
                .unwrap_or_default(),
            time_zone: input
                .time_zone
                .map(|tz| TimeZoneName::parse("time_zone", &tz))
                .transpose()?
                .unwrap_or_default(),
            sends_per_second: input.sends_per_second.map(rate).transpose()?.unwrap_or(1),
            opt_out_footer: input.opt_out_footer,
            required_skills: super::skills_input::requirements(
                "required_skills",
                input.required_skills.as_deref().unwrap_or_default(),
            )?,
        })
    }

    fn patch(mut self, input: &PatchCampaign) -> Result<Self, ValidationError> {
        if let Some(queue) = &input.queue_id {
            self.queue_id = queue_id(queue)?;
        }
        if let Some(templates) = &input.template_ids {
            self.template_ids = template_ids(templates)?;
        }
        if let Some(hours) = &input.quiet_hours {
            self.quiet_hours = hours.apply(self.quiet_hours)?;
        }
        if let Some(tz) = &input.time_zone {
            self.time_zone = TimeZoneName::parse("time_zone", tz)?;
        }
        if let Some(sends) = input.sends_per_second {
            self.sends_per_second = rate(sends)?;
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
