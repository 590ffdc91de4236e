//! Skills as routing sees them: what an agent has ([`Skills`]), what a conversation needs
//! ([`Requirement`]), and how a queue relaxes what it needs as the customer waits
//! ([`Escalation`]).
//!
//! Both sides are canonical sorted lists behind an `Arc`: an agent's news and a conversation's
//! enqueue carry them by pointer, and two conversations needing the same skills share one
//! requirement value, which is what groups them into one line (see `skill_lines`).

use std::fmt;
use std::sync::Arc;

use super::Millis;
use crate::domain::QueueId;

/// The highest skill level (levels run 1 to 5, like a supervisor's five stars).
pub const MAX_LEVEL: u8 = 5;

/// An agent's skills: each skill once, with its level (1 to [`MAX_LEVEL`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Skills(Arc<[(Arc<str>, u8)]>);

impl Skills {
    /// Skills from `(name, level)` pairs; a skill named twice keeps its higher level, and a
    /// level of 0 means the agent lacks it.
    pub fn new<S: AsRef<str>>(pairs: impl IntoIterator<Item = (S, u8)>) -> Self {
        Self(canonical(pairs))
    }

    /// No skills.
    pub fn none() -> Self {
        Self::default()
    }

    /// The agent's level in `skill` (0: lacks it).
    pub fn level(&self, skill: &str) -> u8 {
        self.0
            .binary_search_by(|(name, _)| (**name).cmp(skill))
            .map_or(0, |i| self.0[i].1)
    }

    /// Each skill with its level, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u8)> {
        self.0.iter().map(|(name, level)| (&**name, *level))
    }
}

/// What a conversation needs of the agent who takes it: each skill at a least level. The
/// empty requirement is met by every agent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Requirement(Arc<[(Arc<str>, u8)]>);

/// The first skill an agent lacks for a requirement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MissingSkill {
    /// The skill.
    pub skill: Arc<str>,
    /// The level required.
    pub required: u8,
    /// The agent's level (0: none).
    pub has: u8,
}

impl Requirement {
    /// A requirement from `(skill, least level)` pairs; a skill named twice needs the higher
    /// level. Levels are clamped to 1..=[`MAX_LEVEL`].
    pub fn new<S: AsRef<str>>(pairs: impl IntoIterator<Item = (S, u8)>) -> Self {
        Self(canonical(
            pairs
                .into_iter()
                .map(|(skill, level)| (skill, level.clamp(1, MAX_LEVEL))),
        ))
    }

    /// Needs nothing.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether every agent meets it.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Both requirements at once (a queue's own and the conversation's).
    pub fn and(&self, other: &Requirement) -> Requirement {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        Requirement::new(self.iter().chain(other.iter()))
    }

    /// The requirement once `relax` applies.
    pub fn relaxed(&self, relax: Relax) -> Requirement {
        match relax {
            Relax::Nothing => self.clone(),
            Relax::AnyLevel if self.0.iter().all(|(_, level)| *level == 1) => self.clone(),
            Relax::AnyLevel => Requirement::new(self.iter().map(|(skill, _)| (skill, 1))),
            Relax::AnySkill => Requirement::none(),
        }
    }

    /// The first skill (by name) that `skills` lacks, or `None` when they meet it.
    pub fn missing(&self, skills: &Skills) -> Option<MissingSkill> {
        self.0.iter().find_map(|(skill, required)| {
            let has = skills.level(skill);
            (has < *required).then(|| MissingSkill {
                skill: skill.clone(),
                required: *required,
                has,
            })
        })
    }

    /// Whether `skills` meet it.
    pub fn met_by(&self, skills: &Skills) -> bool {
        self.missing(skills).is_none()
    }

    /// Each skill with its least level, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u8)> {
        self.0.iter().map(|(name, level)| (&**name, *level))
    }
}

impl fmt::Display for Requirement {
    /// `spanish>=3 billing>=1`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        for (i, (skill, level)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{skill}>={level}")?;
        }
        Ok(())
    }
}

/// Sorted by name, one entry per name with the highest level, zero levels dropped.
fn canonical<S: AsRef<str>>(pairs: impl IntoIterator<Item = (S, u8)>) -> Arc<[(Arc<str>, u8)]> {
    let mut sorted: Vec<(Arc<str>, u8)> = pairs
        .into_iter()
        .filter(|(_, level)| *level > 0)
        .map(|(name, level)| (Arc::from(name.as_ref()), level.min(MAX_LEVEL)))
        .collect();
    sorted.sort();
    // Sorted by (name, level): the last of each name has the highest level.
    let mut out: Vec<(Arc<str>, u8)> = Vec::with_capacity(sorted.len());
    for (name, level) in sorted {
        match out.last_mut() {
            Some(last) if last.0 == name => last.1 = level,
            _ => out.push((name, level)),
        }
    }
    out.into()
}

/// What a conversation brings to a queue besides its place in time.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Needs {
    /// The skills it needs of its own (the queue adds its own).
    pub skills: Requirement,
    /// Queues it must not overflow to: those it overflowed out of since it last had an
    /// owner (so overflow steps cannot send it round in a loop), and, for an owned
    /// conversation waiting as public, its queue's overflow (it stays with its queue).
    pub no_overflow_to: Arc<[QueueId]>,
}

impl Needs {
    /// Needs these skills, with no overflow behind it.
    pub fn skills(skills: Requirement) -> Self {
        Self {
            skills,
            no_overflow_to: Arc::from([]),
        }
    }
}

/// How far an escalation step relaxes a conversation's requirement. Ordered: a later step
/// never needs more than an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Relax {
    /// As required.
    #[default]
    Nothing,
    /// Every required skill, at any level.
    AnyLevel,
    /// No skill: any agent of the queue.
    AnySkill,
}

impl Relax {
    /// The name the API and the routing trace use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nothing => "none",
            Self::AnyLevel => "any_level",
            Self::AnySkill => "any_skill",
        }
    }
}

/// What one escalation step does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StepAction {
    /// Relax the requirement.
    Relax(Relax),
    /// Leave this queue for another, keeping the customer's place in time.
    Overflow(QueueId),
}

/// One step: after the customer has waited `after`, `action` applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EscalationStep {
    /// How long the customer has waited (from `waiting_since`).
    pub after: Millis,
    /// What happens then.
    pub action: StepAction,
}

/// A queue's escalation steps, by time waited. Validated by the queue resource: strictly
/// increasing times, an overflow only as the last step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Escalation(Arc<[EscalationStep]>);

/// Where a conversation stands on its queue's escalation steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepInForce {
    /// How many steps have been reached (0: none yet).
    pub reached: usize,
    /// The relaxation those steps add up to.
    pub relax: Relax,
    /// The queue to overflow to, when an overflow step was reached.
    pub overflow: Option<QueueId>,
    /// When the next step is reached, if any is left.
    pub next_at: Option<Millis>,
}

impl Escalation {
    /// The steps, in order (sorted by time here, so that a caller's order does not matter).
    pub fn new(steps: impl IntoIterator<Item = EscalationStep>) -> Self {
        let mut steps: Vec<EscalationStep> = steps.into_iter().collect();
        steps.sort_by_key(|step| step.after);
        Self(steps.into())
    }

    /// No steps.
    pub fn none() -> Self {
        Self::default()
    }

    /// The steps.
    pub fn steps(&self) -> &[EscalationStep] {
        &self.0
    }

    /// Where a conversation waiting since `waiting_since` stands at `now`.
    pub fn at(&self, waiting_since: Millis, now: Millis) -> StepInForce {
        let waited = now.saturating_sub(waiting_since);
        let reached = self.0.partition_point(|step| step.after <= waited);
        let mut relax = Relax::Nothing;
        let mut overflow = None;
        for step in &self.0[..reached] {
            match &step.action {
                StepAction::Relax(r) => relax = relax.max(*r),
                StepAction::Overflow(queue) => overflow = Some(queue.clone()),
            }
        }
        StepInForce {
            reached,
            relax,
            overflow,
            next_at: self
                .0
                .get(reached)
                .map(|step| waiting_since.saturating_add(step.after)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(name: &str) -> QueueId {
        QueueId::parse(name).unwrap()
    }

    #[test]
    fn a_requirement_is_met_only_at_or_above_each_level() {
        let need = Requirement::new([("spanish", 3), ("billing", 1)]);
        assert!(need.met_by(&Skills::new([("spanish", 3), ("billing", 2)])));
        assert!(need.met_by(&Skills::new([("spanish", 5), ("billing", 1), ("x", 1)])));
        let missing = need
            .missing(&Skills::new([("spanish", 2), ("billing", 1)]))
            .unwrap();
        assert_eq!(
            (missing.skill.as_ref(), missing.required, missing.has),
            ("spanish", 3, 2)
        );
        assert_eq!(
            need.missing(&Skills::none()).unwrap().skill.as_ref(),
            "billing"
        );
        assert!(Requirement::none().met_by(&Skills::none()));
    }

    #[test]
    fn requirements_are_canonical_so_equal_needs_share_a_line() {
        let a = Requirement::new([("spanish", 2), ("billing", 1), ("spanish", 3)]);
        let b = Requirement::new([("billing", 1), ("spanish", 3)]);
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "billing>=1 spanish>=3");
        assert_eq!(
            Requirement::new([("x", 0), ("y", 9)]).to_string(),
            "x>=1 y>=5"
        );
        assert_eq!(
            Requirement::new([("billing", 2)]).and(&Requirement::new([("billing", 4)])),
            Requirement::new([("billing", 4)])
        );
    }

    #[test]
    fn relaxing_keeps_the_skills_then_drops_them() {
        let need = Requirement::new([("spanish", 3)]);
        assert_eq!(need.relaxed(Relax::Nothing), need);
        assert_eq!(
            need.relaxed(Relax::AnyLevel),
            Requirement::new([("spanish", 1)])
        );
        assert!(need.relaxed(Relax::AnySkill).is_empty());
        assert!(
            need.relaxed(Relax::AnyLevel)
                .met_by(&Skills::new([("spanish", 1)]))
        );
    }

    #[test]
    fn escalation_steps_apply_as_the_customer_waits() {
        let steps = Escalation::new([
            EscalationStep {
                after: 180_000,
                action: StepAction::Overflow(q("general")),
            },
            EscalationStep {
                after: 60_000,
                action: StepAction::Relax(Relax::AnyLevel),
            },
            EscalationStep {
                after: 120_000,
                action: StepAction::Relax(Relax::AnySkill),
            },
        ]);
        let at = |waited: Millis| steps.at(1_000, 1_000 + waited);
        assert_eq!(
            at(59_999),
            StepInForce {
                reached: 0,
                relax: Relax::Nothing,
                overflow: None,
                next_at: Some(61_000)
            }
        );
        assert_eq!(at(60_000).relax, Relax::AnyLevel);
        assert_eq!(at(60_000).next_at, Some(121_000));
        assert_eq!(at(150_000).relax, Relax::AnySkill);
        let last = at(180_000);
        assert_eq!(
            (last.reached, last.overflow, last.next_at),
            (3, Some(q("general")), None)
        );
        assert_eq!(Escalation::none().at(0, i64::MAX).reached, 0);
    }

    proptest! {
        /// Relaxing never asks more: whoever met a requirement meets it relaxed, at each step
        /// and at any later one.
        #[test]
        fn relaxing_never_excludes_an_agent_who_qualified(
            need in proptest::collection::vec((0usize..4, 1u8..=5), 0..4),
            has in proptest::collection::vec((0usize..4, 0u8..=5), 0..4),
        ) {
            let names = ["a", "b", "c", "d"];
            let need = Requirement::new(need.into_iter().map(|(i, l)| (names[i], l)));
            let skills = Skills::new(has.into_iter().map(|(i, l)| (names[i], l)));
            let steps = [Relax::Nothing, Relax::AnyLevel, Relax::AnySkill];
            for (i, earlier) in steps.iter().enumerate() {
                for later in &steps[i..] {
                    if need.relaxed(*earlier).met_by(&skills) {
                        prop_assert!(need.relaxed(*later).met_by(&skills));
                    }
                }
            }
        }
    }
}
