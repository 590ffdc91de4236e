//! The generator's own world on the target, made through the public REST API with the admin
//! token under one run prefix — a team, its queues and business numbers, a Twilio provider
//! account pointing at the generator's provider, a disposition, a template, agents and their
//! tokens — and removed afterwards. It never changes what it did not create.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The REST API as the admin.
#[derive(Clone)]
pub struct Admin {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Admin {
    /// The API at `base` (`http://host:port`) with the admin `token`.
    pub fn new(http: reqwest::Client, base: &str, token: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        }
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST` as the admin; the answer's body on 2xx, an error naming the code otherwise.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {path}"))?;
        answer(response, "POST", path).await
    }

    /// `GET` as `token` (the admin's when `None`).
    pub async fn get_as(&self, token: Option<&str>, path: &str) -> Result<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token.unwrap_or(&self.token))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        answer(response, "GET", path).await
    }

    /// `DELETE` as the admin; a resource already gone is fine.
    pub async fn delete(&self, path: &str) -> Result<()> {
        let response = self
            .http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("DELETE {path}"))?;
        if response.status().is_success() || response.status().as_u16() == 404 {
            return Ok(());
        }
        answer(response, "DELETE", path).await.map(|_| ())
    }
}

async fn answer(response: reqwest::Response, method: &str, path: &str) -> Result<Value> {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{method} {path} answered {status}: {text}");
    }
    if text.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON"))
}

/// One business number of the run.
#[derive(Debug, Clone)]
pub struct RunNumber {
    /// Its id.
    pub id: String,
    /// Its phone.
    pub phone: String,
    /// Its queue.
    pub queue_id: String,
}

/// One agent of the run.
#[derive(Debug, Clone)]
pub struct RunAgent {
    /// Its id.
    pub id: String,
    /// Its token.
    pub token: String,
    /// The queues of its team, which it logs into.
    pub queue_ids: Vec<String>,
    /// Its team's template.
    pub template_id: String,
}

/// What a run created.
#[derive(Debug, Clone)]
pub struct World {
    /// The run prefix every id starts with.
    pub prefix: String,
    /// The teams.
    pub team_ids: Vec<String>,
    /// The queues, in order (queue `q` is team `q % teams`'s).
    pub queue_ids: Vec<String>,
    /// One number per queue.
    pub numbers: Vec<RunNumber>,
    /// The provider account.
    pub account_id: String,
    /// Its `AccountSid`.
    pub account_sid: String,
    /// Its auth token (signs webhooks both ways).
    pub auth_token: String,
    /// The disposition code agents record.
    pub disposition: String,
    /// The agents (agent `a` is in team `a % teams`).
    pub agents: Vec<RunAgent>,
}

/// How many of each to make.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The run prefix.
    pub prefix: String,
    /// The generator's number block (0–99): phones are `+155501BBQQQ`, customers
    /// `+15552BBCCCC`.
    pub block: u32,
    /// Teams: queues and agents are dealt round-robin among them. A desktop receives every
    /// conversation event of its teams, so team size sets the websocket fan-out.
    pub teams: u32,
    /// Queues.
    pub queues: u32,
    /// Agents.
    pub agents: u32,
    /// Their capacity.
    pub capacity: u32,
    /// The provider's base URL (the generator's own).
    pub provider_url: String,
}

impl Plan {
    /// The phone of business number `q`.
    pub fn number_phone(&self, q: u32) -> String {
        format!("+155501{:02}{:03}", self.block, q)
    }

    /// The phone of customer `c`.
    pub fn customer_phone(block: u32, c: u32) -> String {
        format!("+15552{:02}{:04}", block, c)
    }

    fn team(&self, t: u32) -> String {
        format!("{}-team{t}", self.prefix)
    }

    fn template(&self, t: u32) -> String {
        format!("{}-thanks{t}", self.prefix)
    }
}

/// Makes the run's world.
pub async fn set_up(
    admin: &Admin,
    plan: &Plan,
    account_sid: &str,
    auth_token: &str,
) -> Result<World> {
    let p = &plan.prefix;
    let teams = plan.teams.max(1);
    let team_ids: Vec<String> = (0..teams).map(|t| plan.team(t)).collect();
    for (t, team_id) in team_ids.iter().enumerate() {
        admin
            .post(
                "/v1/teams",
                json!({"id": team_id, "name": format!("{p} load team {t}")}),
            )
            .await?;
        admin
            .post(
                "/v1/templates",
                json!({"id": plan.template(t as u32), "name": format!("{p} thanks {t}"),
                       "body": "Thanks for waiting, we are on it.",
                       "scope": {"type": "team", "team_id": team_id}}),
            )
            .await?;
    }
    let account_id = format!("{p}-twilio");
    admin
        .post(
            "/v1/provider_accounts",
            json!({"id": account_id, "name": format!("{p} provider"), "provider": "twilio",
                   "account_sid": account_sid, "auth_token": auth_token, "base_url": plan.provider_url}),
        )
        .await?;
    let mut queue_ids = Vec::new();
    let mut numbers = Vec::new();
    for q in 0..plan.queues {
        let queue_id = format!("{p}-q{q}");
        let team_id = &team_ids[(q % teams) as usize];
        admin
            .post(
                "/v1/queues",
                json!({"id": queue_id, "name": format!("{p} queue {q}"), "team_id": team_id}),
            )
            .await?;
        let phone = plan.number_phone(q);
        let number = admin
            .post(
                "/v1/numbers",
                json!({"id": format!("{p}-n{q}"), "phone": phone, "campaign": format!("{p} campaign"),
                       "queue_id": queue_id, "provider_account_id": account_id,
                       "sends_per_second": 1000}),
            )
            .await?;
        numbers.push(RunNumber {
            id: number["id"].as_str().unwrap_or_default().to_owned(),
            phone,
            queue_id: queue_id.clone(),
        });
        queue_ids.push(queue_id);
    }
    let disposition = format!("{p}-resolved");
    admin
        .post(
            "/v1/dispositions",
            json!({"id": disposition, "code": disposition, "label": "Resolved (load test)"}),
        )
        .await?;
    let mut agents = Vec::new();
    for a in 0..plan.agents {
        let id = format!("{p}-a{a}");
        let team = a % teams;
        admin
            .post(
                "/v1/agents",
                json!({"id": id, "name": format!("{p} agent {a}"), "team_ids": [team_ids[team as usize]],
                       "capacity": plan.capacity}),
            )
            .await?;
        let token = admin
            .post(
                &format!("/v1/agents/{id}/tokens"),
                json!({"label": "load test"}),
            )
            .await?["token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let queue_ids = queue_ids
            .iter()
            .enumerate()
            .filter(|(q, _)| *q as u32 % teams == team)
            .map(|(_, id)| id.clone())
            .collect();
        agents.push(RunAgent {
            id,
            token,
            queue_ids,
            template_id: plan.template(team),
        });
    }
    Ok(World {
        prefix: p.clone(),
        team_ids,
        queue_ids,
        numbers,
        account_id,
        account_sid: account_sid.to_owned(),
        auth_token: auth_token.to_owned(),
        disposition,
        agents,
    })
}

/// Removes what [`set_up`] made (whatever of it exists), newest first. Conversations stay:
/// they are history, and the API keeps them.
pub async fn clean_up(admin: &Admin, plan: &Plan) -> Result<()> {
    let p = &plan.prefix;
    let mut paths: Vec<String> = (0..plan.agents)
        .map(|a| format!("/v1/agents/{p}-a{a}"))
        .collect();
    paths.push(format!("/v1/dispositions/{p}-resolved"));
    for q in 0..plan.queues {
        paths.push(format!("/v1/numbers/{p}-n{q}"));
    }
    for q in 0..plan.queues {
        paths.push(format!("/v1/queues/{p}-q{q}"));
    }
    paths.push(format!("/v1/provider_accounts/{p}-twilio"));
    for t in 0..plan.teams.max(1) {
        paths.push(format!("/v1/templates/{}", plan.template(t)));
        paths.push(format!("/v1/teams/{}", plan.team(t)));
    }
    let mut failures = Vec::new();
    for path in paths {
        if let Err(e) = admin.delete(&path).await {
            failures.push(e.to_string());
        }
    }
    if !failures.is_empty() {
        bail!("clean-up left some resources: {}", failures.join("; "));
    }
    Ok(())
}
