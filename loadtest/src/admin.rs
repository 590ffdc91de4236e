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
}

/// What a run created.
#[derive(Debug, Clone)]
pub struct World {
    /// The run prefix every id starts with.
    pub prefix: String,
    /// The team.
    pub team_id: String,
    /// The queues, in order.
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
    /// The template agents may reply with.
    pub template_id: String,
    /// The agents.
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
}

/// Makes the run's world.
pub async fn set_up(
    admin: &Admin,
    plan: &Plan,
    account_sid: &str,
    auth_token: &str,
) -> Result<World> {
    let p = &plan.prefix;
    let team_id = format!("{p}-team");
    admin
        .post(
            "/v1/teams",
            json!({"id": team_id, "name": format!("{p} load team")}),
        )
        .await?;
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
    let template_id = format!("{p}-thanks");
    admin
        .post(
            "/v1/templates",
            json!({"id": template_id, "name": format!("{p} thanks"),
                   "body": "Thanks for waiting, we are on it.",
                   "scope": {"type": "team", "team_id": team_id}}),
        )
        .await?;
    let mut agents = Vec::new();
    for a in 0..plan.agents {
        let id = format!("{p}-a{a}");
        admin
            .post(
                "/v1/agents",
                json!({"id": id, "name": format!("{p} agent {a}"), "team_ids": [team_id],
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
        agents.push(RunAgent { id, token });
    }
    Ok(World {
        prefix: p.clone(),
        team_id,
        queue_ids,
        numbers,
        account_id,
        account_sid: account_sid.to_owned(),
        auth_token: auth_token.to_owned(),
        disposition,
        template_id,
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
    paths.push(format!("/v1/templates/{p}-thanks"));
    paths.push(format!("/v1/dispositions/{p}-resolved"));
    for q in 0..plan.queues {
        paths.push(format!("/v1/numbers/{p}-n{q}"));
    }
    for q in 0..plan.queues {
        paths.push(format!("/v1/queues/{p}-q{q}"));
    }
    paths.push(format!("/v1/provider_accounts/{p}-twilio"));
    paths.push(format!("/v1/teams/{p}-team"));
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
