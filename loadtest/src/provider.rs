//! The SMS provider the generator plays: Twilio's Messages API (`POST
//! /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, basic auth; `GET` of the
//! same path lists sent messages for Switchboard's lost-answer lookups). It takes each text
//! or answers as the scenario says (429, 500, 21610, 21211), records what it received for the
//! verdicts, and posts signed status callbacks (`sent`, then `delivered` or `undelivered`)
//! after the scenario's delays, as Twilio does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine as _;
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

use crate::measure::Measures;
use crate::records::{Receipt, Records};
use crate::scenario::Provider as Behaviour;
use crate::signature;

/// What the provider needs to know of the run.
pub struct ProviderConfig {
    /// The account's SID (the path must name it).
    pub account_sid: String,
    /// Its auth token (basic auth in, signatures out).
    pub auth_token: String,
    /// Where to post status callbacks when a send names none.
    pub default_callback: String,
    /// How it behaves.
    pub behaviour: Behaviour,
    /// The seed of its draws.
    pub seed: u64,
}

struct Taken {
    sid: String,
    to: String,
    from: String,
    body: String,
}

struct State {
    config: ProviderConfig,
    rng: Mutex<StdRng>,
    taken: Mutex<Vec<Taken>>,
    started: Instant,
    records: Arc<Records>,
    measures: Arc<Measures>,
    /// When each text was taken, by its SID (for hand-off → delivered).
    taken_at: Arc<Mutex<HashMap<String, Instant>>>,
    http: reqwest::Client,
}

/// The running provider.
pub struct FakeProvider {
    /// `http://127.0.0.1:<port>`: the provider account's `base_url`.
    pub base_url: String,
    /// When each text was taken, by SID.
    pub taken_at: Arc<Mutex<HashMap<String, Instant>>>,
    handle: actix_web::dev::ServerHandle,
}

#[derive(Clone, Copy)]
enum Outcome {
    Created,
    RateLimited,
    ServerError,
    Unsubscribed,
    InvalidTo,
}

/// An error as Twilio's API answers it (`code`, `message`, `more_info`, `status`), with
/// `Retry-After: 1` on a 429.
pub fn twilio_error(status: u16, code: u32, message: &str) -> HttpResponse {
    let mut response = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status).expect("a valid status"),
    )
    .json(json!({"code": code, "message": message,
                 "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status}));
    if status == 429 {
        response.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from_static("1"),
        );
    }
    response
}

fn authorized(req: &HttpRequest, config: &ProviderConfig) -> bool {
    basic_auth_matches(req, &config.account_sid, &config.auth_token)
}

/// Whether the request's basic auth is the account SID and auth token, as Twilio requires.
pub fn basic_auth_matches(req: &HttpRequest, account_sid: &str, auth_token: &str) -> bool {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{account_sid}:{auth_token}"))
    );
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

fn resource(taken: &Taken, status: &str) -> Value {
    json!({"sid": taken.sid, "to": taken.to, "from": taken.from, "body": taken.body,
           "status": status, "direction": "outbound-api", "num_segments": "1",
           "date_created": chrono::Utc::now().to_rfc2822()})
}

async fn create(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<Arc<State>>,
) -> HttpResponse {
    let at = state.started.elapsed();
    if *path != state.config.account_sid || !authorized(&req, &state.config) {
        return twilio_error(401, 20003, "Authenticate");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (Some(to), Some(from)) = (field("To"), field("From")) else {
        return twilio_error(400, 21604, "A 'To' and 'From' phone number are required");
    };
    let body = field("Body").unwrap_or_default();
    let outcome = {
        let b = &state.config.behaviour;
        let draw = state
            .rng
            .lock()
            .map(|mut r| r.random_range(0.0..100.0))
            .unwrap_or(100.0);
        let shares = [
            (b.rate_limited_percent, Outcome::RateLimited),
            (b.server_error_percent, Outcome::ServerError),
            (b.unsubscribed_percent, Outcome::Unsubscribed),
            (b.invalid_to_percent, Outcome::InvalidTo),
        ];
        crate::scenario::pick(draw, &shares).unwrap_or(Outcome::Created)
    };
    let answered = match outcome {
        Outcome::Created => 201,
        Outcome::RateLimited => 429,
        Outcome::ServerError => 500,
        Outcome::Unsubscribed | Outcome::InvalidTo => 400,
    };
    state.records.receipt(Receipt {
        to: to.clone(),
        from: from.clone(),
        body: body.clone(),
        at,
        answered,
    });
    state
        .measures
        .count(format!("provider.answered.{answered}"), 1);
    match outcome {
        Outcome::RateLimited => twilio_error(429, 20429, "Too Many Requests"),
        Outcome::ServerError => twilio_error(500, 20500, "Internal Server Error"),
        Outcome::Unsubscribed => {
            twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        }
        Outcome::InvalidTo => {
            twilio_error(400, 21211, "The 'To' number is not a valid phone number.")
        }
        Outcome::Created => {
            let taken = Taken {
                sid: format!("SM{}", random_hex(&state.rng)),
                to,
                from,
                body,
            };
            if let Ok(mut at) = state.taken_at.lock() {
                at.insert(taken.sid.clone(), Instant::now());
            }
            let answer = resource(&taken, "queued");
            let callback =
                field("StatusCallback").unwrap_or_else(|| state.config.default_callback.clone());
            tokio::spawn(report(
                state.get_ref().clone(),
                callback,
                taken.sid.clone(),
                taken.from.clone(),
                taken.to.clone(),
            ));
            if let Ok(mut list) = state.taken.lock() {
                list.push(taken);
            }
            HttpResponse::Created().json(answer)
        }
    }
}

/// Posts `sent`, then `delivered` or `undelivered`, signed, after the scenario's delays.
async fn report(state: Arc<State>, url: String, sid: String, from: String, to: String) {
    let b = state.config.behaviour.clone();
    tokio::time::sleep(Duration::from_millis(b.sent_after_ms)).await;
    post_status(&state, &url, &sid, &from, &to, "sent", None).await;
    tokio::time::sleep(Duration::from_millis(
        b.delivered_after_ms.saturating_sub(b.sent_after_ms),
    ))
    .await;
    let undelivered = state
        .rng
        .lock()
        .map(|mut r| r.random_range(0.0..100.0) < b.undelivered_percent)
        .unwrap_or(false);
    if undelivered {
        post_status(&state, &url, &sid, &from, &to, "undelivered", Some("30003")).await;
    } else {
        post_status(&state, &url, &sid, &from, &to, "delivered", None).await;
    }
}

async fn post_status(
    state: &State,
    url: &str,
    sid: &str,
    from: &str,
    to: &str,
    status: &str,
    error: Option<&str>,
) {
    let mut params = vec![
        ("AccountSid", state.config.account_sid.clone()),
        ("From", from.to_owned()),
        ("MessageSid", sid.to_owned()),
        ("MessageStatus", status.to_owned()),
        ("To", to.to_owned()),
    ];
    if let Some(code) = error {
        params.push(("ErrorCode", code.to_owned()));
    }
    let signature = signature::sign(&state.config.auth_token, url, &params);
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let result = state
        .http
        .post(url)
        .header("X-Twilio-Signature", signature)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await;
    let key = match result {
        Ok(r) if r.status().is_success() => "callbacks.ok".to_owned(),
        Ok(r) => format!("errors.callback.{}", r.status().as_u16()),
        Err(_) => "errors.callback.transport".to_owned(),
    };
    state.measures.count(key, 1);
}

async fn list(
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    state: web::Data<Arc<State>>,
) -> HttpResponse {
    if !authorized(&req, &state.config) {
        return twilio_error(401, 20003, "Authenticate");
    }
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (to, from) = (get("To"), get("From"));
    let messages: Vec<Value> = state
        .taken
        .lock()
        .map(|taken| {
            taken
                .iter()
                .rev()
                .filter(|m| {
                    to.as_ref().is_none_or(|t| *t == m.to)
                        && from.as_ref().is_none_or(|f| *f == m.from)
                })
                .take(50)
                .map(|m| resource(m, "queued"))
                .collect()
        })
        .unwrap_or_default();
    HttpResponse::Ok().json(json!({"messages": messages, "page": 0}))
}

fn random_hex(rng: &Mutex<StdRng>) -> String {
    let (a, b): (u128, u128) = rng
        .lock()
        .map(|mut r| (r.random(), r.random()))
        .unwrap_or_default();
    format!("{:032x}", a ^ b.rotate_left(64))
}

impl FakeProvider {
    /// Starts the provider on a free loopback port (or `bind`).
    pub fn start(
        config: ProviderConfig,
        bind: &str,
        started: Instant,
        records: Arc<Records>,
        measures: Arc<Measures>,
    ) -> anyhow::Result<Self> {
        let taken_at = Arc::new(Mutex::new(HashMap::new()));
        let state = Arc::new(State {
            rng: Mutex::new(StdRng::seed_from_u64(config.seed ^ 0x5eed_0f70)),
            config,
            taken: Mutex::new(Vec::new()),
            started,
            records,
            measures,
            taken_at: taken_at.clone(),
            http: reqwest::Client::new(),
        });
        let data = web::Data::new(state);
        let listener = std::net::TcpListener::bind(bind)?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/2010-04-01/Accounts/{sid}/Messages.json",
                    web::post().to(create),
                )
                .route(
                    "/2010-04-01/Accounts/{sid}/Messages.json",
                    web::get().to(list),
                )
        })
        .workers(2)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            base_url: format!("http://127.0.0.1:{port}"),
            taken_at,
            handle,
        })
    }

    /// Stops it.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}
