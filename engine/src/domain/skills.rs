//! Skills as an admin configures them: an agent's skills with levels, the skills a queue, a
//! number or a keyword requires, and a queue's escalation steps. Routing reads them as
//! `routing::skills` values (see the `to_*` conversions here).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{EscalationSecs, QueueId, SkillLevel, Slug, ValidationError};
use crate::routing::skills::{
    Escalation, EscalationStep as RoutingStep, Relax, Requirement, Skills, StepAction,
};

/// The most skills an agent may have (each is checked on every decision of its queues).
pub const MAX_AGENT_SKILLS: usize = 50;
/// The most skills a queue, number, keyword or conversation may require.
pub const MAX_REQUIRED_SKILLS: usize = 10;
/// The most escalation steps a queue may have.
pub const MAX_ESCALATION_STEPS: usize = 10;
/// The most keyword rules a queue may have.
pub const MAX_KEYWORD_SKILLS: usize = 50;

/// An agent's skills: skill name (a slug) to level (1 to 5).
pub type AgentSkills = BTreeMap<Slug, SkillLevel>;

/// A skill needed at a least level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SkillRequirement {
    /// The skill, as agents' `skills` name it.
    #[schema(value_type = String, example = "spanish")]
    pub skill: Slug,
    /// The least level (1 to 5; 1 when left out).
    #[serde(default)]
    #[schema(value_type = u8, minimum = 1, maximum = 5, example = 3)]
    pub min_level: SkillLevel,
}

/// How far an escalation step relaxes the skills a conversation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RelaxTo {
    /// Every required skill, at any level.
    AnyLevel,
    /// No skill: any agent logged into the queue.
    AnySkill,
}

/// One escalation step of a queue: once the customer has waited `after_secs`, either relax
/// what the conversation needs (`relax`) or move it to another queue (`overflow_to`), which
/// keeps its place in time. Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EscalationStep {
    /// Seconds the customer has waited (since its oldest unanswered text).
    #[schema(value_type = u32, minimum = 1, maximum = 86400, example = 60)]
    pub after_secs: EscalationSecs,
    /// Relax the skills needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relax: Option<RelaxTo>,
    /// Move the conversation to this queue (only as the last step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub overflow_to: Option<QueueId>,
}

/// A word in a customer's first text that makes the conversation need a skill ("español"
/// needs `spanish`). Matched as a whole word, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeywordSkill {
    /// The word (1 to 40 characters, no spaces).
    #[schema(example = "español")]
    pub keyword: String,
    /// The skill it needs.
    #[schema(value_type = String, example = "spanish")]
    pub skill: Slug,
    /// The least level (1 when left out).
    #[serde(default)]
    #[schema(value_type = u8, minimum = 1, maximum = 5)]
    pub min_level: SkillLevel,
}

/// Checks a list of required skills: at most [`MAX_REQUIRED_SKILLS`], none twice.
pub fn validate_requirements(
    field: &str,
    required: &[SkillRequirement],
) -> Result<(), ValidationError> {
    if required.len() > MAX_REQUIRED_SKILLS {
        return Err(ValidationError::invalid(
            field,
            format!("must list at most {MAX_REQUIRED_SKILLS} skills"),
        ));
    }
    for (i, need) in required.iter().enumerate() {
        if required[..i].iter().any(|other| other.skill == need.skill) {
            return Err(ValidationError::invalid(
                format!("{field}[{i}]"),
                format!("lists skill {} twice", need.skill),
            ));
        }
    }
    Ok(())
}

/// Checks an agent's skills: at most [`MAX_AGENT_SKILLS`].
pub fn validate_agent_skills(skills: &AgentSkills) -> Result<(), ValidationError> {
    if skills.len() > MAX_AGENT_SKILLS {
        return Err(ValidationError::invalid(
            "skills",
            format!("must list at most {MAX_AGENT_SKILLS} skills"),
        ));
    }
    Ok(())
}

/// Checks a queue's escalation steps: at most [`MAX_ESCALATION_STEPS`], strictly later one
/// after another, each either a relaxation or an overflow, an overflow only last and never
/// to the queue itself.
pub fn validate_escalation(
    queue: &QueueId,
    steps: &[EscalationStep],
) -> Result<(), ValidationError> {
    if steps.len() > MAX_ESCALATION_STEPS {
        return Err(ValidationError::invalid(
            "escalation",
            format!("must list at most {MAX_ESCALATION_STEPS} steps"),
        ));
    }
    for (i, step) in steps.iter().enumerate() {
        let field = format!("escalation[{i}]");
        if i > 0 && step.after_secs <= steps[i - 1].after_secs {
            return Err(ValidationError::invalid(
                format!("{field}.after_secs"),
                "must be later than the step before",
            ));
        }
        match (&step.relax, &step.overflow_to) {
            (Some(_), None) => {}
            (None, Some(target)) => {
                if i + 1 != steps.len() {
                    return Err(ValidationError::invalid(
                        format!("{field}.overflow_to"),
                        "an overflow must be the last step (the conversation leaves the queue)",
                    ));
                }
                if target == queue {
                    return Err(ValidationError::invalid(
                        format!("{field}.overflow_to"),
                        "must be another queue",
                    ));
                }
            }
            _ => {
                return Err(ValidationError::invalid(
                    field,
                    "must give exactly one of relax and overflow_to",
                ));
            }
        }
    }
    Ok(())
}

/// Checks keyword rules: at most [`MAX_KEYWORD_SKILLS`], each keyword one word of 1 to 40
/// characters, none twice.
pub fn validate_keywords(rules: &[KeywordSkill]) -> Result<(), ValidationError> {
    if rules.len() > MAX_KEYWORD_SKILLS {
        return Err(ValidationError::invalid(
            "keyword_skills",
            format!("must list at most {MAX_KEYWORD_SKILLS} rules"),
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        let length = rule.keyword.chars().count();
        if !(1..=40).contains(&length) || !rule.keyword.chars().all(char::is_alphanumeric) {
            return Err(ValidationError::invalid(
                format!("keyword_skills[{i}].keyword"),
                "must be one word of 1 to 40 letters or digits",
            ));
        }
        if rules[..i]
            .iter()
            .any(|other| other.keyword.to_lowercase() == rule.keyword.to_lowercase())
        {
            return Err(ValidationError::invalid(
                format!("keyword_skills[{i}].keyword"),
                format!("lists {} twice", rule.keyword),
            ));
        }
    }
    Ok(())
}

/// An agent's skills as routing reads them.
pub fn to_skills(skills: &AgentSkills) -> Skills {
    Skills::new(
        skills
            .iter()
            .map(|(name, level)| (name.as_str(), level.get())),
    )
}

/// Required skills as routing reads them.
pub fn to_requirement<'a>(required: impl IntoIterator<Item = &'a SkillRequirement>) -> Requirement {
    Requirement::new(
        required
            .into_iter()
            .map(|need| (need.skill.as_str(), need.min_level.get())),
    )
}

/// Escalation steps as routing reads them.
pub fn to_escalation(steps: &[EscalationStep]) -> Escalation {
    Escalation::new(steps.iter().map(|step| RoutingStep {
        after: i64::from(step.after_secs.get()) * 1000,
        action: match (&step.overflow_to, step.relax) {
            (Some(queue), _) => StepAction::Overflow(queue.clone()),
            (None, Some(RelaxTo::AnySkill)) => StepAction::Relax(Relax::AnySkill),
            (None, _) => StepAction::Relax(Relax::AnyLevel),
        },
    }))
}

/// Requirements naming each skill once, at the highest level any of them asked.
pub fn merge_requirements(
    required: impl IntoIterator<Item = SkillRequirement>,
) -> Vec<SkillRequirement> {
    let mut merged: Vec<SkillRequirement> = Vec::new();
    for need in required {
        match merged.iter_mut().find(|m| m.skill == need.skill) {
            Some(m) => m.min_level = m.min_level.max(need.min_level),
            None => merged.push(need),
        }
    }
    merged
}

/// The skills the words of `text` need by `rules` (whole words, ignoring case).
pub fn keyword_requirements<'a>(
    rules: &'a [KeywordSkill],
    text: &str,
) -> impl Iterator<Item = SkillRequirement> + 'a {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    rules
        .iter()
        .filter(move |rule| words.contains(&rule.keyword.to_lowercase()))
        .map(|rule| SkillRequirement {
            skill: rule.skill.clone(),
            min_level: rule.min_level,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(name: &str) -> QueueId {
        QueueId::parse(name).unwrap()
    }

    fn step(after: u32, relax: Option<RelaxTo>, overflow: Option<&str>) -> EscalationStep {
        EscalationStep {
            after_secs: EscalationSecs::new(i64::from(after)).unwrap(),
            relax,
            overflow_to: overflow.map(q),
        }
    }

    #[test]
    fn escalation_steps_must_be_later_each_time_and_overflow_last() {
        let me = q("support");
        let good = [
            step(60, Some(RelaxTo::AnyLevel), None),
            step(120, Some(RelaxTo::AnySkill), None),
            step(180, None, Some("general")),
        ];
        assert!(validate_escalation(&me, &good).is_ok());
        let late = [
            step(60, Some(RelaxTo::AnyLevel), None),
            step(60, Some(RelaxTo::AnySkill), None),
        ];
        assert!(validate_escalation(&me, &late).is_err());
        let early_overflow = [
            step(60, None, Some("general")),
            step(120, Some(RelaxTo::AnySkill), None),
        ];
        assert!(validate_escalation(&me, &early_overflow).is_err());
        assert!(validate_escalation(&me, &[step(60, None, Some("support"))]).is_err());
        assert!(validate_escalation(&me, &[step(60, None, None)]).is_err());
        assert!(
            validate_escalation(&me, &[step(60, Some(RelaxTo::AnyLevel), Some("general"))])
                .is_err()
        );
    }

    #[test]
    fn keywords_match_whole_words_ignoring_case() {
        let rules = vec![KeywordSkill {
            keyword: "Español".into(),
            skill: Slug::parse("skill", "spanish").unwrap(),
            min_level: SkillLevel::new(2).unwrap(),
        }];
        assert!(validate_keywords(&rules).is_ok());
        let found: Vec<_> = keyword_requirements(&rules, "Hola, ¿hablan ESPAÑOL?").collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].min_level.get(), 2);
        assert_eq!(keyword_requirements(&rules, "españolas").count(), 0);
    }

    #[test]
    fn requirements_list_each_skill_once() {
        let need = |skill: &str| SkillRequirement {
            skill: Slug::parse("skill", skill).unwrap(),
            min_level: SkillLevel::default(),
        };
        assert!(validate_requirements("required_skills", &[need("a"), need("b")]).is_ok());
        assert!(validate_requirements("required_skills", &[need("a"), need("a")]).is_err());
        assert_eq!(
            to_requirement(&[need("b"), need("a")]).to_string(),
            "a>=1 b>=1"
        );
    }
}
