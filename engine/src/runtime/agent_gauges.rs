//! What one agent adds to the per-team agent gauges: its presence, its away reason, and —
//! while it is not offline — its load and capacity (occupancy is load over capacity). An
//! agent counts in each of its teams. The actor shows its figures after every change; only
//! the difference from what it showed last reaches the gauges, so the sums stay exact
//! however the agent's state or teams change.

use crate::domain::{MISSED_OFFERS_REASON, Presence};
use crate::metrics::metrics;
use crate::routing::{AgentCore, Millis};

/// The `reason` label of an agent away without giving one.
pub const NO_REASON: &str = "unspecified";

/// One agent's share of the gauges, as last shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Figures {
    presence: Presence,
    away_reason: Option<String>,
    load: u16,
    capacity: u16,
}

impl Figures {
    /// Whether these are `core`'s figures now (checked on every agent message, so without
    /// building new figures and copying the reason).
    fn shows(&self, core: &AgentCore) -> bool {
        self.presence == core.presence()
            && self.load == core.load()
            && self.capacity == core.capacity()
            && self.away_reason.as_deref() == core.away_reason()
    }

    fn of(core: &AgentCore) -> Self {
        Self {
            presence: core.presence(),
            away_reason: core.away_reason().map(str::to_owned),
            load: core.load(),
            capacity: core.capacity(),
        }
    }
}

/// An agent's presence as the gauges label it.
pub fn presence_label(presence: Presence) -> &'static str {
    match presence {
        Presence::Offline => "offline",
        Presence::Available => "available",
        Presence::Away => "away",
    }
}

/// The gauges' view of one agent.
#[derive(Debug)]
pub struct AgentGauges {
    agent: String,
    teams: Vec<String>,
    shown: Option<Figures>,
    /// Up to when its time in presence has been counted.
    counted_until: Millis,
}

impl AgentGauges {
    /// Agent `agent` of `teams`, not shown yet; its time counts from `now`.
    pub fn new(agent: String, teams: Vec<String>, now: Millis) -> Self {
        metrics().touch_agent(&agent);
        Self {
            agent,
            teams,
            shown: None,
            counted_until: now,
        }
    }

    /// Counts the time since the last count as spent in the presence shown (on every change
    /// and every few seconds, so the counter moves while an agent stays put).
    pub fn count_time(&mut self, now: Millis) {
        if let Some(shown) = &self.shown
            && now > self.counted_until
        {
            metrics()
                .agent_presence_seconds
                .with_label_values(&[&self.agent, presence_label(shown.presence)])
                .inc_by((now - self.counted_until) as f64 / 1000.0);
        }
        self.counted_until = self.counted_until.max(now);
    }

    /// Brings the gauges up to the agent's state at `at`.
    pub fn show(&mut self, core: &AgentCore, at: Millis) {
        if self.shown.as_ref().is_some_and(|shown| shown.shows(core)) {
            return;
        }
        let now = Figures::of(core);
        if self.shown.as_ref().map(|f| f.presence) != Some(now.presence) {
            self.count_time(at);
        }
        if let Some(before) = self.shown.take() {
            self.add(&before, -1);
        }
        self.add(&now, 1);
        self.shown = Some(now);
    }

    /// Moves the agent's share to its new teams.
    pub fn set_teams(&mut self, teams: Vec<String>) {
        if teams == self.teams {
            return;
        }
        let shown = self.shown.take();
        if let Some(before) = &shown {
            self.add(before, -1);
        }
        self.teams = teams;
        if let Some(now) = &shown {
            self.add(now, 1);
        }
        self.shown = shown;
    }

    fn add(&self, figures: &Figures, sign: i64) {
        let m = metrics();
        for team in &self.teams {
            m.agents
                .with_label_values(&[team, presence_label(figures.presence)])
                .add(sign);
            if figures.presence == Presence::Away {
                let reason = figures.away_reason.as_deref().unwrap_or(NO_REASON);
                m.agents_away.with_label_values(&[team, reason]).add(sign);
            }
            if figures.presence != Presence::Offline {
                m.team_load
                    .with_label_values(&[team])
                    .add(sign * i64::from(figures.load));
                m.team_capacity
                    .with_label_values(&[team])
                    .add(sign * i64::from(figures.capacity));
            }
        }
    }
}

/// The away reasons every team has on `/metrics` from start-up besides its own.
pub const ENGINE_REASONS: [&str; 2] = [NO_REASON, MISSED_OFFERS_REASON];
