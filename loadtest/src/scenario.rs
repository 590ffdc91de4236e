//! What a run does: its arrival stages, its customers, agents and provider, as a TOML file
//! (`loadtest/scenarios/*.toml`) and flags over it. Every field has a default, so a file
//! names only what it changes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One ramp stage: over `duration`, the arrival rate moves linearly from the previous stage's
/// target (0 before the first) to `rate` texts per second — k6's `ramping-arrival-rate`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// The rate reached at its end, texts per second.
    pub rate: f64,
}

impl TryFrom<String> for Stage {
    type Error = String;

    /// `30s:500`, `2m:2000`, `1h:10`, `500ms:0`.
    fn try_from(text: String) -> Result<Self, String> {
        let (duration, rate) = text
            .split_once(':')
            .ok_or_else(|| format!("stage {text:?}: expected DURATION:RATE, e.g. 30s:500"))?;
        let rate: f64 = rate
            .trim()
            .parse()
            .map_err(|_| format!("stage {text:?}: {rate:?} is not a rate"))?;
        if !(0.0..=1_000_000.0).contains(&rate) {
            return Err(format!("stage {text:?}: the rate must be 0 to 1,000,000"));
        }
        Ok(Self {
            duration: parse_duration(duration.trim())?,
            rate,
        })
    }
}

impl std::str::FromStr for Stage {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::try_from(text.to_owned())
    }
}

impl From<Stage> for String {
    fn from(stage: Stage) -> Self {
        format!("{}ms:{}", stage.duration.as_millis(), stage.rate)
    }
}

/// `250ms`, `30s`, `2m`, `1h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 30s"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" | "" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    if !(0.0..=86_400.0 * 7.0).contains(&seconds) {
        return Err(format!("{text:?}: a duration is 0 to 7 days"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A range of milliseconds to draw think times from, uniformly: `"200..800"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Millis {
    /// The shortest.
    pub min: u64,
    /// The longest.
    pub max: u64,
}

impl TryFrom<String> for Millis {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let parse = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("{text:?}: expected MIN..MAX milliseconds"))
        };
        let (min, max) = match text.split_once("..") {
            Some((min, max)) => (parse(min)?, parse(max)?),
            None => (parse(&text)?, parse(&text)?),
        };
        if min > max {
            return Err(format!("{text:?}: the minimum is above the maximum"));
        }
        Ok(Self { min, max })
    }
}

impl std::str::FromStr for Millis {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        Self::try_from(text.to_owned())
    }
}

impl From<Millis> for String {
    fn from(m: Millis) -> Self {
        format!("{}..{}", m.min, m.max)
    }
}

/// Which of several shares (percent, in order) a draw in `0..100` falls in; `None` past them
/// all (the rest).
pub fn pick<T: Copy>(draw: f64, shares: &[(f64, T)]) -> Option<T> {
    let mut edge = 0.0;
    shares.iter().find_map(|(share, value)| {
        edge += share;
        (draw < edge).then_some(*value)
    })
}

/// How customers' texts reach Switchboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum InboundPath {
    /// Twilio-signed form posts to `/webhooks/twilio/sms`, as Twilio sends them.
    Twilio,
    /// JSON to `/v1/inbound` with the admin token.
    Json,
}

/// The customers' side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Customers {
    /// Distinct customers texting (at most 9,999 per generator).
    pub count: u32,
    /// Texts that follow up in a customer's recent conversation rather than open one, percent.
    pub follow_up_percent: f64,
    /// Texts that are `STOP` (then, later, `START` from the same customer), percent.
    pub stop_percent: f64,
    /// Texts that are `HELP`, percent.
    pub help_percent: f64,
    /// Texts with a picture (MMS), percent.
    pub mms_percent: f64,
    /// Texts with characters outside GSM-7 (sent as UCS-2), percent.
    pub unicode_percent: f64,
    /// Long texts (four segments), percent.
    pub long_percent: f64,
    /// How the texts reach Switchboard.
    pub inbound: InboundPath,
}

impl Default for Customers {
    fn default() -> Self {
        Self {
            count: 1000,
            follow_up_percent: 20.0,
            stop_percent: 0.5,
            help_percent: 0.5,
            mms_percent: 2.0,
            unicode_percent: 5.0,
            long_percent: 2.0,
            inbound: InboundPath::Twilio,
        }
    }
}

/// The agents' side: simulated desktops on real websockets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Agents {
    /// Desktops.
    pub count: u32,
    /// Conversations each may own at once.
    pub capacity: u32,
    /// Offers accepted (the rest rejected), percent.
    pub accept_percent: f64,
    /// Think time before answering an offer.
    pub think_before_accept_ms: Millis,
    /// Think time before each reply.
    pub think_before_reply_ms: Millis,
    /// Replies per conversation before completing it.
    pub replies: u32,
    /// Replies written from a template (rendered by Switchboard), percent.
    pub template_percent: f64,
    /// Conversations snoozed for a few seconds once (woken and offered again), percent.
    pub snooze_percent: f64,
    /// Conversations transferred (cold) to another queue once, percent.
    pub transfer_percent: f64,
    /// Each desktop drops its socket and resumes this often (0: never), seconds.
    pub reconnect_every_secs: u64,
    /// What each desktop's websocket follows: `own` (its offers and the conversations it
    /// works on: an agent's desktop at scale) or `team` (every event of its team, as a desktop
    /// showing the team's inbox does: each event is then written to every desktop of the team).
    pub follow: protocol::vocabulary::Follow,
}

impl Default for Agents {
    fn default() -> Self {
        Self {
            count: 20,
            capacity: 3,
            accept_percent: 95.0,
            think_before_accept_ms: Millis { min: 100, max: 600 },
            think_before_reply_ms: Millis {
                min: 200,
                max: 1500,
            },
            replies: 1,
            template_percent: 20.0,
            snooze_percent: 0.0,
            transfer_percent: 0.0,
            reconnect_every_secs: 0,
            follow: protocol::vocabulary::Follow::Own,
        }
    }
}

/// The SMS provider the generator plays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Provider {
    /// Sends answered 429 (Switchboard retries), percent.
    pub rate_limited_percent: f64,
    /// Sends answered 500 (Switchboard retries), percent.
    pub server_error_percent: f64,
    /// Sends refused with 21610 (unsubscribed recipient), percent.
    pub unsubscribed_percent: f64,
    /// Sends refused with 21211 (invalid `To`), percent.
    pub invalid_to_percent: f64,
    /// From taking a text to its `sent` callback.
    pub sent_after_ms: u64,
    /// From taking a text to its `delivered` (or `undelivered`) callback.
    pub delivered_after_ms: u64,
    /// Texts reported `undelivered` (30003) instead of `delivered`, percent.
    pub undelivered_percent: f64,
}

impl Default for Provider {
    fn default() -> Self {
        Self {
            rate_limited_percent: 0.0,
            server_error_percent: 0.0,
            unsubscribed_percent: 0.0,
            invalid_to_percent: 0.0,
            sent_after_ms: 50,
            delivered_after_ms: 200,
            undelivered_percent: 0.0,
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Its name, in reports.
    pub name: String,
    /// The arrival stages, in order.
    pub stages: Vec<Stage>,
    /// Teams the queues and agents are dealt among (each desktop receives its teams'
    /// conversation events: smaller teams, less fan-out).
    pub teams: u32,
    /// Queues (one business number each) the customers text.
    pub queues: u32,
    /// The customers.
    pub customers: Customers,
    /// The agents.
    pub agents: Agents,
    /// The provider.
    pub provider: Provider,
    /// After the last stage, how long agents keep working before the verdicts.
    pub drain_secs: u64,
    /// Makes the run's choices reproducible.
    pub seed: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "custom".into(),
            stages: vec![
                Stage::try_from("10s:50".to_owned()).expect("a valid stage"),
                Stage::try_from("50s:50".to_owned()).expect("a valid stage"),
            ],
            teams: 1,
            queues: 2,
            customers: Customers::default(),
            agents: Agents::default(),
            provider: Provider::default(),
            drain_secs: 15,
            seed: 1,
        }
    }
}

impl Scenario {
    /// Reads a scenario file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let scenario: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        scenario.check()?;
        Ok(scenario)
    }

    /// Refuses what cannot run.
    pub fn check(&self) -> Result<(), String> {
        if self.stages.is_empty() {
            return Err("a scenario needs at least one stage".into());
        }
        if !(1..=9_999).contains(&self.customers.count) {
            return Err("customers.count must be 1 to 9,999".into());
        }
        if !(1..=999).contains(&self.queues) {
            return Err("queues must be 1 to 999".into());
        }
        if self.teams == 0 || self.teams > self.queues || self.teams > self.agents.count.max(1) {
            return Err("teams must be at least 1 and at most the queues and the agents".into());
        }
        if self.agents.count > 20_000 || self.agents.capacity == 0 {
            return Err("agents.count must be at most 20,000 and capacity at least 1".into());
        }
        let c = &self.customers;
        let shares = c.stop_percent + c.help_percent;
        for (name, value) in [
            ("customers.follow_up_percent", c.follow_up_percent),
            ("customers.stop_percent", c.stop_percent),
            ("customers.help_percent", c.help_percent),
            ("customers.mms_percent", c.mms_percent),
            ("customers.unicode_percent", c.unicode_percent),
            ("customers.long_percent", c.long_percent),
            ("agents.accept_percent", self.agents.accept_percent),
            ("agents.template_percent", self.agents.template_percent),
            ("agents.snooze_percent", self.agents.snooze_percent),
            ("agents.transfer_percent", self.agents.transfer_percent),
            (
                "provider.undelivered_percent",
                self.provider.undelivered_percent,
            ),
            ("STOP and HELP together", shares),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return Err(format!("{name} must be 0 to 100"));
            }
        }
        let p = &self.provider;
        let refusals = p.rate_limited_percent
            + p.server_error_percent
            + p.unsubscribed_percent
            + p.invalid_to_percent;
        if !(0.0..=100.0).contains(&refusals) {
            return Err("the provider's error shares must add up to at most 100".into());
        }
        Ok(())
    }

    /// How long the stages last together.
    pub fn duration(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// How many texts the stages offer in all.
    pub fn planned_texts(&self) -> f64 {
        let mut from = 0.0;
        let mut total = 0.0;
        for stage in &self.stages {
            total += (from + stage.rate) / 2.0 * stage.duration.as_secs_f64();
            from = stage.rate;
        }
        total
    }

    /// The intended send times (offsets from the start) of every text, in order: the arrival
    /// rate ramps linearly within each stage, and a text is due when the cumulative count
    /// reaches the next whole number.
    pub fn arrivals(&self) -> Vec<Duration> {
        let mut times = Vec::with_capacity(self.planned_texts() as usize + 1);
        let mut start = 0.0_f64;
        let mut from = 0.0_f64;
        let mut done = 0.0_f64;
        for stage in &self.stages {
            let length = stage.duration.as_secs_f64();
            let slope = if length > 0.0 {
                (stage.rate - from) / length
            } else {
                0.0
            };
            let in_stage = (from + stage.rate) / 2.0 * length;
            let mut k = done.floor() + 1.0;
            while k <= done + in_stage + 1e-9 {
                // Solve from·t + slope·t²/2 = k - done for t in [0, length].
                let need = k - done;
                let t = if slope.abs() < 1e-12 {
                    need / from
                } else {
                    (-from + (from * from + 2.0 * slope * need).max(0.0).sqrt()) / slope
                };
                times.push(Duration::from_secs_f64(start + t.clamp(0.0, length)));
                k += 1.0;
            }
            done += in_stage;
            start += length;
            from = stage.rate;
        }
        times
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(text: &str) -> Stage {
        Stage::try_from(text.to_owned()).unwrap()
    }

    #[test]
    fn draws_fall_in_their_shares_in_order() {
        let shares = [(10.0, 'a'), (0.0, 'b'), (5.0, 'c')];
        assert_eq!(pick(0.0, &shares), Some('a'));
        assert_eq!(pick(9.99, &shares), Some('a'));
        assert_eq!(pick(10.0, &shares), Some('c'));
        assert_eq!(pick(14.99, &shares), Some('c'));
        assert_eq!(pick(15.0, &shares), None);
    }

    #[test]
    fn stages_and_durations_read_as_k6_writes_them() {
        assert_eq!(stage("30s:500").duration, Duration::from_secs(30));
        assert_eq!(stage("2m:2000").rate, 2000.0);
        assert_eq!(stage("500ms:0").duration, Duration::from_millis(500));
        assert!(Stage::try_from("30s".to_owned()).is_err());
        assert!(Stage::try_from("30x:5".to_owned()).is_err());
        assert!(Stage::try_from("30s:-5".to_owned()).is_err());
    }

    #[test]
    fn arrivals_follow_the_ramps() {
        let scenario = Scenario {
            stages: vec![stage("10s:100"), stage("10s:100"), stage("10s:0")],
            ..Scenario::default()
        };
        let arrivals = scenario.arrivals();
        // 500 while ramping up, 1,000 flat, 500 ramping down.
        assert_eq!(arrivals.len(), 2000);
        assert!(arrivals.windows(2).all(|w| w[0] <= w[1]), "in order");
        let in_window = |from: f64, to: f64| {
            arrivals
                .iter()
                .filter(|t| (from..to).contains(&t.as_secs_f64()))
                .count()
        };
        assert_eq!(in_window(10.0, 20.0), 1000);
        // The ramp up sends a quarter of its texts in its first half.
        assert!((120..=130).contains(&in_window(0.0, 5.0)));
        assert!(arrivals.last().unwrap().as_secs_f64() <= 30.0);
    }

    #[test]
    fn files_name_only_what_they_change() {
        let scenario = Scenario::from_toml(
            "name = \"x\"\nstages = [\"5s:10\"]\n[agents]\ncount = 3\nthink_before_accept_ms = \"0..10\"\n",
        )
        .unwrap();
        assert_eq!(scenario.agents.count, 3);
        assert_eq!(scenario.agents.capacity, Agents::default().capacity);
        assert!(Scenario::from_toml("stages = []").is_err());
        assert!(Scenario::from_toml("nonsense = 1").is_err());
    }
}
