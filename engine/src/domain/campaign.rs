//! Campaigns: what a business texts customers about. A campaign names the numbers it sends
//! from, the queue its customers' replies are served in, its templates, its quiet hours (in
//! the recipient's time zone), its send rate and its opt-out footer. Its `name` is the label
//! numbers, conversations, templates and agents' default campaign carry.

use chrono::{NaiveTime, Timelike};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::skills::{SkillRequirement, validate_requirements};
use super::{
    CampaignId, MAX_COMPLIANCE_TEXT, MAX_SENDS_PER_SECOND, Name, NumberId, QueueId, TemplateId,
    ValidationError,
};

/// The most templates a campaign lists.
pub const MAX_CAMPAIGN_LIST: usize = 100;

/// The time zone a recipient is texted in when neither its contact card nor its number's
/// area says one.
pub const DEFAULT_TIME_ZONE: &str = "America/New_York";

/// A time of day, `HH:MM` (24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClockTime(NaiveTime);

impl ClockTime {
    /// Reads `HH:MM`, given as `field`.
    pub fn parse(field: &str, text: &str) -> Result<Self, ValidationError> {
        NaiveTime::parse_from_str(text, "%H:%M")
            .ok()
            .filter(|_| text.len() == 5)
            .map(Self)
            .ok_or_else(|| ValidationError::invalid(field, "must be a time of day, HH:MM"))
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u32 {
        self.0.hour() * 60 + self.0.minute()
    }

    /// The time of day.
    pub fn time(self) -> NaiveTime {
        self.0
    }
}

impl TryFrom<String> for ClockTime {
    type Error = ValidationError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse("time", &text)
    }
}

impl From<ClockTime> for String {
    fn from(time: ClockTime) -> String {
        time.0.format("%H:%M").to_string()
    }
}

impl utoipa::PartialSchema for ClockTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^([01][0-9]|2[0-3]):[0-5][0-9]$"))
            .examples(["08:00"])
            .into()
    }
}

impl utoipa::ToSchema for ClockTime {}

/// When a campaign may text, in the recipient's local time: from `start` up to (not
/// including) `end`. The default, 08:00 to 21:00, is the TCPA's calling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// The first minute texts may go out.
    pub start: ClockTime,
    /// The first minute they may not (after `start`: the window does not cross midnight).
    pub end: ClockTime,
}

impl Default for QuietHours {
    fn default() -> Self {
        Self {
            start: ClockTime::parse("start", "08:00").expect("valid"),
            end: ClockTime::parse("end", "21:00").expect("valid"),
        }
    }
}

impl QuietHours {
    /// Whether `local` (the recipient's time of day) is inside the sending window.
    pub fn allows(&self, local: NaiveTime) -> bool {
        let minute = local.hour() * 60 + local.minute();
        (self.start.minutes()..self.end.minutes()).contains(&minute)
    }
}

/// A time zone by its IANA name (`America/Chicago`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// Reads an IANA zone name, given as `field`.
    pub fn parse(field: &str, name: &str) -> Result<Self, ValidationError> {
        name.parse::<chrono_tz::Tz>()
            .map(|tz| Self(tz.name().to_owned()))
            .map_err(|_| {
                ValidationError::invalid(field, "must be an IANA time zone such as America/Chicago")
            })
    }

    /// The zone.
    pub fn zone(&self) -> chrono_tz::Tz {
        self.0.parse().expect("checked when parsed")
    }

    /// Its name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TimeZoneName {
    fn default() -> Self {
        Self(DEFAULT_TIME_ZONE.to_owned())
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = ValidationError;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        Self::parse("time_zone", &name)
    }
}

impl From<TimeZoneName> for String {
    fn from(name: TimeZoneName) -> String {
        name.0
    }
}

impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("An IANA time zone name"))
            .examples([DEFAULT_TIME_ZONE])
            .into()
    }
}

impl utoipa::ToSchema for TimeZoneName {}

/// What a business texts customers about, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    /// The campaign's id.
    pub id: CampaignId,
    /// Unique among campaigns, ignoring case; the label its numbers, conversations and
    /// templates carry. It cannot change (labels would stop matching).
    pub name: Name,
    /// The queue its customers' replies are served in.
    pub queue_id: QueueId,
    /// The numbers it sends from: those whose `campaign` is its name (kept by the engine as
    /// numbers are written; read-only here).
    #[serde(default)]
    pub number_ids: Vec<NumberId>,
    /// Templates its sends may use.
    #[serde(default)]
    pub template_ids: Vec<TemplateId>,
    /// When it may text, in each recipient's local time.
    #[serde(default)]
    pub quiet_hours: QuietHours,
    /// The time zone of a recipient whose contact card and number say none.
    #[serde(default)]
    pub time_zone: TimeZoneName,
    /// Texts per second it sends at most (each number's own rate still applies).
    #[serde(default = "one")]
    pub sends_per_second: u32,
    /// Added to its first text to each customer (the number's footer when unset; empty for
    /// none).
    #[serde(default)]
    pub opt_out_footer: Option<String>,
    /// Skills its customers' conversations need, besides their queue's.
    #[serde(default)]
    pub required_skills: Vec<SkillRequirement>,
}

fn one() -> u32 {
    1
}

impl Campaign {
    /// Checks the rules that span fields: its templates, the window, the rate, the footer,
    /// the skills.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.template_ids.len() > MAX_CAMPAIGN_LIST {
            return Err(ValidationError::invalid(
                "template_ids",
                format!("must list at most {MAX_CAMPAIGN_LIST}"),
            ));
        }
        if let Some(i) = (1..self.template_ids.len())
            .find(|&i| self.template_ids[..i].contains(&self.template_ids[i]))
        {
            return Err(ValidationError::invalid(
                format!("template_ids[{i}]"),
                "lists a template twice",
            ));
        }
        if self.quiet_hours.end <= self.quiet_hours.start {
            return Err(ValidationError::invalid(
                "quiet_hours.end",
                "must be after start (the window cannot cross midnight)",
            ));
        }
        if !(1..=MAX_SENDS_PER_SECOND).contains(&self.sends_per_second) {
            return Err(ValidationError::invalid(
                "sends_per_second",
                format!("must be 1 to {MAX_SENDS_PER_SECOND}"),
            ));
        }
        if let Some(footer) = &self.opt_out_footer
            && footer.chars().count() > MAX_COMPLIANCE_TEXT
        {
            return Err(ValidationError::invalid(
                "opt_out_footer",
                format!("must be at most {MAX_COMPLIANCE_TEXT} characters"),
            ));
        }
        validate_requirements("required_skills", &self.required_skills)
    }

    /// The campaign a number's label names, made for a label no campaign has yet (labels
    /// from before campaigns were resources, or a number given a new one): its replies go to
    /// the number's queue, it sends from that number, the rest by default.
    pub fn for_label(name: Name, queue_id: QueueId, number_ids: Vec<NumberId>) -> Self {
        Self {
            id: CampaignId::generate(),
            name,
            queue_id,
            number_ids,
            template_ids: Vec::new(),
            quiet_hours: QuietHours::default(),
            time_zone: TimeZoneName::default(),
            sends_per_second: 1,
            opt_out_footer: None,
            required_skills: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_default_to_the_tcpa_window_and_exclude_the_end() {
        let hours = QuietHours::default();
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(!hours.allows(at(7, 59)));
        assert!(hours.allows(at(8, 0)));
        assert!(hours.allows(at(20, 59)));
        assert!(!hours.allows(at(21, 0)));
    }

    #[test]
    fn clock_times_and_zones_are_checked() {
        assert!(ClockTime::parse("t", "8:00").is_err());
        assert!(ClockTime::parse("t", "24:00").is_err());
        assert_eq!(
            String::from(ClockTime::parse("t", "07:30").unwrap()),
            "07:30"
        );
        assert!(TimeZoneName::parse("tz", "America/Chicago").is_ok());
        assert!(TimeZoneName::parse("tz", "Mars/Base").is_err());
    }

    #[test]
    fn a_window_crossing_midnight_is_refused() {
        let mut c = Campaign::for_label(
            Name::parse("name", "Spring").unwrap(),
            QueueId::parse("q").unwrap(),
            Vec::new(),
        );
        assert!(c.validate().is_ok());
        c.quiet_hours.start = ClockTime::parse("start", "22:00").unwrap();
        assert!(c.validate().is_err());
    }
}
