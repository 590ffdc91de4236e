//! Skills as requests write them: an agent's `skills` map, the `required_skills` of queues,
//! numbers and conversations, a queue's `keyword_skills` and `escalation` steps. Each is
//! read into the domain's validated types with the field path of the first mistake
//! (`escalation[1].after_secs`), so a bad request says exactly what to fix.

use std::collections::BTreeMap;

use engine::domain::skills::{
    AgentSkills, EscalationStep, KeywordSkill, RelaxTo, SkillRequirement,
};
use engine::domain::{EscalationSecs, QueueId, SkillLevel, Slug, ValidationError};
use serde::Deserialize;
use utoipa::ToSchema;

/// A skill needed at a least level.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequirementInput {
    /// The skill (1 to 64 lowercase letters, digits, `_` or `-`).
    #[schema(example = "spanish")]
    pub skill: String,
    /// The least level, 1 to 5 (default 1).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub min_level: Option<i64>,
}

/// One escalation step: after `after_secs` of waiting, `relax` or `overflow_to` (exactly
/// one; an overflow only last).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"after_secs": 60, "relax": "any_level"}))]
pub struct EscalationInput {
    /// Seconds the customer has waited, 1 to 86400; later than the step before.
    #[schema(value_type = u32, minimum = 1, maximum = 86400)]
    pub after_secs: i64,
    /// `any_level` (every required skill at any level) or `any_skill` (any agent of the
    /// queue).
    pub relax: Option<RelaxTo>,
    /// Move the conversation to this queue, keeping its place in time.
    #[schema(value_type = Option<crate::schema::IdText>)]
    pub overflow_to: Option<String>,
}

/// A word in a customer's first text that makes the conversation need a skill.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"keyword": "español", "skill": "spanish"}))]
pub struct KeywordInput {
    /// One word, 1 to 40 letters or digits, matched whole and ignoring case.
    pub keyword: String,
    /// The skill it needs.
    pub skill: String,
    /// The least level, 1 to 5 (default 1).
    #[serde(default, deserialize_with = "crate::schema::lenient_int")]
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 5)]
    pub min_level: Option<i64>,
}

fn level(raw: Option<i64>, field: &str) -> Result<SkillLevel, ValidationError> {
    raw.map(SkillLevel::new)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|e| e.at(field))
}

/// Reads an agent's `skills` map (`{"spanish": 3}`).
pub fn agent_skills(raw: &BTreeMap<String, i64>) -> Result<AgentSkills, ValidationError> {
    let mut skills = AgentSkills::new();
    for (name, value) in raw {
        let field = format!("skills.{name}");
        let skill = Slug::parse(&field, name)?;
        skills.insert(skill, SkillLevel::new(*value).map_err(|e| e.at(&field))?);
    }
    engine::domain::skills::validate_agent_skills(&skills)?;
    Ok(skills)
}

/// Reads a `required_skills` list given as `field`.
pub fn requirements(
    field: &str,
    raw: &[RequirementInput],
) -> Result<Vec<SkillRequirement>, ValidationError> {
    let required = raw
        .iter()
        .enumerate()
        .map(|(i, need)| {
            let at = format!("{field}[{i}]");
            Ok(SkillRequirement {
                skill: Slug::parse(&format!("{at}.skill"), &need.skill)?,
                min_level: level(need.min_level, &format!("{at}.min_level"))?,
            })
        })
        .collect::<Result<Vec<_>, ValidationError>>()?;
    engine::domain::skills::validate_requirements(field, &required)?;
    Ok(required)
}

/// Reads a queue's `escalation` steps (their order and shape are checked with the queue).
pub fn escalation(raw: &[EscalationInput]) -> Result<Vec<EscalationStep>, ValidationError> {
    raw.iter()
        .enumerate()
        .map(|(i, step)| {
            let at = format!("escalation[{i}]");
            Ok(EscalationStep {
                after_secs: EscalationSecs::new(step.after_secs)
                    .map_err(|e| e.at(format!("{at}.after_secs")))?,
                relax: step.relax,
                overflow_to: step
                    .overflow_to
                    .as_deref()
                    .map(|q| QueueId::parse(q).map_err(|e| e.at(format!("{at}.overflow_to"))))
                    .transpose()?,
            })
        })
        .collect()
}

/// Reads a queue's `keyword_skills`.
pub fn keywords(raw: &[KeywordInput]) -> Result<Vec<KeywordSkill>, ValidationError> {
    raw.iter()
        .enumerate()
        .map(|(i, rule)| {
            let at = format!("keyword_skills[{i}]");
            Ok(KeywordSkill {
                keyword: rule.keyword.clone(),
                skill: Slug::parse(&format!("{at}.skill"), &rule.skill)?,
                min_level: level(rule.min_level, &format!("{at}.min_level"))?,
            })
        })
        .collect()
}
