//! The black-box test harness: starts the real Switchboard application on port 0 against a
//! real Redis (a fresh key prefix per test), and talks to it only over HTTP through a typed
//! client, as any desktop or provisioning script would.

use std::time::Duration;

use api::{Application, Settings, StoreSettings};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub use testkit::{RedisServer, shared_redis_url, unique_prefix};
pub use ws::WsClient;

pub mod contract;
pub mod fake_twilio;
pub mod process;
mod ws;

/// The admin token every test app is started with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghij";

/// Every configuration collection, in dependency order.
pub const COLLECTIONS: [&str; 8] = [
    "teams",
    "queues",
    "agents",
    "provider_accounts",
    "numbers",
    "dispositions",
    "templates",
    "campaigns",
];

/// A running application and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The key prefix its data lives under.
    pub key_prefix: String,
    /// The Redis URL it uses.
    pub redis_url: String,
    client: reqwest::Client,
    stopper: api::Stopper,
}

/// An HTTP answer: status and parsed JSON body (`Value::Null` when empty).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The `Allow` header, if any.
    pub allow: Option<String>,
    /// The body.
    pub body: Value,
}

impl Answer {
    /// Asserts the status and, for errors, that the body is the API's error shape with `code`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "body: {}",
            self.body
        );
        assert!(self.body["details"].is_object(), "body: {}", self.body);
        self
    }

    /// Asserts the status.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        self
    }
}

/// Settings for a test app on Redis at `redis_url` under `key_prefix`.
pub fn test_settings(redis_url: &str, key_prefix: &str) -> Settings {
    let mut settings = Settings::new("127.0.0.1:0");
    settings.store = StoreSettings::Redis {
        url: redis_url.to_owned(),
    };
    settings.key_prefix = key_prefix.to_owned();
    settings.admin_token = Some(ADMIN_TOKEN.to_owned());
    settings.store_timeout = Duration::from_millis(500);
    settings.shutdown_timeout = Duration::from_secs(2);
    settings.workers = Some(1);
    // Conversations on two threads of their own (ADR 018): every API test drives the sharded
    // engine, which the engine's paused-time tests cannot.
    settings.engine_threads = Some(2);
    settings.handle_signals = false;
    // Every test client is 127.0.0.1 and the auth tests refuse dozens of tokens a second;
    // the limit has its own test.
    settings.auth_failures_per_minute = 100_000;
    settings
}

/// Starts an app on the shared Redis under a fresh prefix.
pub async fn spawn_app() -> TestApp {
    let url = shared_redis_url();
    spawn_app_with(test_settings(&url, &unique_prefix("app"))).await
}

/// Starts an app with these settings.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    let key_prefix = settings.key_prefix.clone();
    let redis_url = match &settings.store {
        StoreSettings::Redis { url } => url.clone(),
        StoreSettings::Memory => String::new(),
    };
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let stopper = app.stopper();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client");
    TestApp {
        address,
        key_prefix,
        redis_url,
        client,
        stopper,
    }
}

impl TestApp {
    /// Opens a websocket session with `token`.
    pub async fn ws(&self, token: &str) -> WsClient {
        WsClient::connect(&self.address, token, None).await
    }

    /// Opens a websocket session with `token` that follows only its own work (`?follow=own`).
    pub async fn ws_following_own(&self, token: &str) -> WsClient {
        WsClient::connect_with(&self.address, token, "follow=own").await
    }

    /// Opens a websocket session with `token` resuming after event `after` (`?after=`).
    pub async fn ws_after(&self, token: &str, after: u64) -> WsClient {
        WsClient::connect(&self.address, token, Some(after)).await
    }

    /// The `/metrics` page, as Prometheus scrapes it (no token).
    pub async fn metrics_page(&self) -> String {
        reqwest::get(format!("{}/metrics", self.address))
            .await
            .expect("metrics answered")
            .text()
            .await
            .expect("metrics text")
    }

    /// Stops the server as SIGTERM does (websockets closed with 1001) and waits for it.
    pub async fn stop(&self) {
        self.stopper.stop().await;
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let method_name = method.as_str().to_owned();
        let method_name = method_name.as_str();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request sent");
        let answer = Self::answer(response).await;
        contract::conform(method_name, path, answer.status.as_u16(), &answer.body);
        answer
    }

    /// Sends raw bytes with a content type, as the admin.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: &'static str,
    ) -> Answer {
        self.request_raw(
            method,
            path,
            Some(ADMIN_TOKEN),
            content_type,
            body.as_bytes().to_vec(),
            &[],
        )
        .await
    }

    /// Sends raw bytes with a content type and `headers`, with `token`.
    pub async fn request_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let method_name = method.as_str().to_owned();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .header("Content-Type", content_type);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.body(body).send().await.expect("request sent");
        let answer = Self::answer(response).await;
        contract::conform(&method_name, path, answer.status.as_u16(), &answer.body);
        answer
    }

    async fn answer(response: reqwest::Response) -> Answer {
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, allow) = (header("location"), header("allow"));
        let text = response.text().await.expect("body read");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        Answer {
            status,
            location,
            allow,
            body,
        }
    }

    /// `GET` as the admin.
    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, Some(ADMIN_TOKEN), None)
            .await
    }

    /// `POST` JSON as the admin.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(ADMIN_TOKEN), Some(&body))
            .await
    }

    /// `PATCH` JSON as the admin.
    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.request(Method::PATCH, path, Some(ADMIN_TOKEN), Some(&body))
            .await
    }

    /// `DELETE` as the admin.
    pub async fn delete(&self, path: &str) -> Answer {
        self.request(Method::DELETE, path, Some(ADMIN_TOKEN), None)
            .await
    }

    /// Creates a team and returns its id.
    pub async fn create_team(&self, name: &str) -> String {
        let answer = self
            .post("/v1/teams", serde_json::json!({"name": name}))
            .await;
        answer.expect_status(201);
        answer.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a queue of `team` and returns its id.
    pub async fn create_queue(&self, name: &str, team: &str) -> String {
        let answer = self
            .post(
                "/v1/queues",
                serde_json::json!({"name": name, "team_id": team}),
            )
            .await;
        answer.expect_status(201);
        answer.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates an agent in `teams` and returns its id.
    pub async fn create_agent(&self, name: &str, teams: &[&str]) -> String {
        let answer = self
            .post(
                "/v1/agents",
                serde_json::json!({"name": name, "team_ids": teams}),
            )
            .await;
        answer.expect_status(201);
        answer.body["id"].as_str().expect("id").to_owned()
    }

    /// Issues a token for an agent and returns its secret.
    pub async fn issue_token(&self, agent: &str) -> String {
        let answer = self
            .post(&format!("/v1/agents/{agent}/tokens"), serde_json::json!({}))
            .await;
        answer.expect_status(201);
        answer.body["token"].as_str().expect("token").to_owned()
    }

    /// Two teams: `support` (queue `inbound`, number +15550102000) and `sales` (queue `deals`,
    /// number +15550103000), both numbers under campaign `Spring`; then `agents` as
    /// `(id, team, role)`. Returns each agent's token, in order.
    pub async fn two_teams(&self, agents: &[(&str, &str, &str)]) -> Vec<String> {
        for (team, queue, phone) in [
            ("support", "inbound", "+15550102000"),
            ("sales", "deals", "+15550103000"),
        ] {
            self.post("/v1/teams", serde_json::json!({"id": team, "name": team}))
                .await
                .expect_status(201);
            self.post(
                "/v1/queues",
                serde_json::json!({"id": queue, "name": queue, "team_id": team}),
            )
            .await
            .expect_status(201);
            self.post(
                "/v1/numbers",
                serde_json::json!({"phone": phone, "campaign": "Spring", "queue_id": queue}),
            )
            .await
            .expect_status(201);
        }
        let mut tokens = Vec::new();
        for (id, team, role) in agents {
            self.post(
                "/v1/agents",
                serde_json::json!({"id": id, "name": id, "team_ids": [team], "role": role}),
            )
            .await
            .expect_status(201);
            tokens.push(self.issue_token(id).await);
        }
        tokens
    }

    /// Records the disposition `code` on a conversation and completes it, as `token`.
    pub async fn dispose_and_complete(&self, token: &str, conversation: &str, code: &str) {
        for (action, body) in [
            ("dispositions", Some(serde_json::json!({"code": code}))),
            ("complete", None),
        ] {
            self.request(
                Method::POST,
                &format!("/v1/conversations/{conversation}/{action}"),
                Some(token),
                body.as_ref(),
            )
            .await
            .expect_status(200);
        }
    }

    /// Every configuration resource, as the admin lists them: compare two snapshots to prove
    /// a refused request changed nothing.
    pub async fn snapshot(&self) -> Value {
        let mut all = serde_json::Map::new();
        for collection in COLLECTIONS {
            let mut items = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let path = match &cursor {
                    Some(c) => format!("/v1/{collection}?limit=200&cursor={c}"),
                    None => format!("/v1/{collection}?limit=200"),
                };
                let page = self.get(&path).await;
                page.expect_status(200);
                items.extend(
                    page.body["items"]
                        .as_array()
                        .expect("items")
                        .iter()
                        .cloned(),
                );
                match page.body["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_owned()),
                    None => break,
                }
            }
            all.insert(collection.to_owned(), Value::Array(items));
        }
        Value::Object(all)
    }
}
