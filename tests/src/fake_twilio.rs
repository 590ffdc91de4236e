//! A fake Twilio REST API on loopback: the Messages resource as Switchboard uses it, strict
//! about the wire format (path, basic auth, form encoding, the exact set of fields) so that a
//! mistake in what Switchboard sends fails a test, and scriptable in what it answers: 201,
//! 400 with error 21610, 429, 500, or no answer at all (a request that hangs after Twilio
//! took the text — what a crash mid-hand-off looks like from Switchboard's side).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use loadtest::provider::{basic_auth_matches, twilio_error};
use serde_json::{Value, json};

/// What the fake answers to the next send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scripted {
    /// 201 with the new message resource.
    Created,
    /// 400 with Twilio error 21610 (attempt to send to unsubscribed recipient).
    Unsubscribed,
    /// 400 with Twilio error 21211 (invalid `To`): a permanent failure.
    InvalidTo,
    /// 429 with error 20429 and `Retry-After: 1`.
    RateLimited,
    /// 500 with error 20500.
    ServerError,
    /// Takes the text (it is in the message list) and never answers.
    Stall,
}

/// A send request as the fake received it.
#[derive(Debug, Clone)]
pub struct SeenSend {
    /// The request path.
    pub path: String,
    /// Whether basic auth carried the account SID and auth token.
    pub authorized: bool,
    /// The form fields, in order.
    pub form: Vec<(String, String)>,
    /// What it answered (0 for a stall).
    pub answered: u16,
}

impl SeenSend {
    /// The first value of a form field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a form field.
    pub fn fields(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A message the fake took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    /// Its `SM…` id.
    pub sid: String,
    /// `To`.
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Body`.
    pub body: String,
}

#[derive(Default)]
struct FakeState {
    account_sid: String,
    auth_token: String,
    script: VecDeque<Scripted>,
    seen: Vec<SeenSend>,
    taken: Vec<Taken>,
    lookups: usize,
}

/// A running fake Twilio.
pub struct FakeTwilio {
    /// `http://127.0.0.1:<port>`: the provider account's `base_url`.
    pub base_url: String,
    state: Arc<Mutex<FakeState>>,
    handle: actix_web::dev::ServerHandle,
}

/// The fields Switchboard may send: anything else is a wire-format mistake.
const KNOWN_FIELDS: [&str; 5] = ["To", "From", "Body", "MediaUrl", "StatusCallback"];

fn authorized(req: &HttpRequest, state: &FakeState) -> bool {
    basic_auth_matches(req, &state.account_sid, &state.auth_token)
}

fn resource(message: &Taken, status: &str) -> Value {
    json!({
        "sid": message.sid,
        "account_sid": "AC",
        "to": message.to,
        "from": message.from,
        "body": message.body,
        "status": status,
        "direction": "outbound-api",
        "date_created": chrono::Utc::now().to_rfc2822(),
        "num_segments": "1",
    })
}

async fn create(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<Arc<Mutex<FakeState>>>,
) -> HttpResponse {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let form_encoded = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (answer, taken) = {
        let mut state = state.lock().unwrap();
        let ok_auth = authorized(&req, &state);
        let mut seen = SeenSend {
            path: req.path().to_owned(),
            authorized: ok_auth,
            form: form.clone(),
            answered: 0,
        };
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let refuse = if *path != state.account_sid || !ok_auth {
            Some(twilio_error(401, 20003, "Authenticate"))
        } else if !form_encoded {
            Some(twilio_error(400, 20001, "Body must be form-encoded"))
        } else if let Some((k, _)) = form
            .iter()
            .find(|(k, _)| !KNOWN_FIELDS.contains(&k.as_str()))
        {
            Some(twilio_error(
                400,
                20001,
                &format!("Unexpected parameter {k}"),
            ))
        } else if !field("To").is_some_and(|t| t.starts_with('+'))
            || !field("From").is_some_and(|f| f.starts_with('+'))
        {
            Some(twilio_error(
                400,
                21604,
                "A 'To' and 'From' phone number are required",
            ))
        } else if field("Body").is_none() && field("MediaUrl").is_none() {
            Some(twilio_error(400, 21602, "Message body is required"))
        } else {
            None
        };
        if let Some(refusal) = refuse {
            seen.answered = refusal.status().as_u16();
            state.seen.push(seen);
            return refusal;
        }
        let scripted = state.script.pop_front().unwrap_or(Scripted::Created);
        let taken = Taken {
            sid: format!("SM{}", ulid_hex()),
            to: field("To").unwrap(),
            from: field("From").unwrap(),
            body: field("Body").unwrap_or_default(),
        };
        seen.answered = match scripted {
            Scripted::Created => 201,
            Scripted::Unsubscribed | Scripted::InvalidTo => 400,
            Scripted::RateLimited => 429,
            Scripted::ServerError => 500,
            Scripted::Stall => 0,
        };
        state.seen.push(seen);
        if matches!(scripted, Scripted::Created | Scripted::Stall) {
            state.taken.push(taken.clone());
        }
        (scripted, taken)
    };
    match answer {
        Scripted::Created => HttpResponse::Created().json(resource(&taken, "queued")),
        Scripted::Unsubscribed => {
            twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        }
        Scripted::InvalidTo => {
            twilio_error(400, 21211, "The 'To' number is not a valid phone number.")
        }
        Scripted::RateLimited => twilio_error(429, 20429, "Too Many Requests"),
        Scripted::ServerError => twilio_error(500, 20500, "Internal Server Error"),
        Scripted::Stall => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::Created().json(resource(&taken, "queued"))
        }
    }
}

async fn list(
    req: HttpRequest,
    query: web::Query<Vec<(String, String)>>,
    state: web::Data<Arc<Mutex<FakeState>>>,
) -> HttpResponse {
    let mut state = state.lock().unwrap();
    if !authorized(&req, &state) {
        return twilio_error(401, 20003, "Authenticate");
    }
    state.lookups += 1;
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (to, from) = (get("To"), get("From"));
    let messages: Vec<Value> = state
        .taken
        .iter()
        .rev()
        .filter(|m| {
            to.as_ref().is_none_or(|t| *t == m.to) && from.as_ref().is_none_or(|f| *f == m.from)
        })
        .map(|m| resource(m, "queued"))
        .collect();
    HttpResponse::Ok().json(json!({"messages": messages, "page": 0}))
}

fn ulid_hex() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{:016x}{:016x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl FakeTwilio {
    /// Starts a fake for one account.
    pub async fn start(account_sid: &str, auth_token: &str) -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            ..FakeState::default()
        }));
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
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
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
            handle,
        }
    }

    /// Answers the next sends so, in order (then 201 again).
    pub fn script(&self, answers: &[Scripted]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(answers.iter().copied());
    }

    /// Every send request received, in order.
    pub fn seen(&self) -> Vec<SeenSend> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Every message taken, in order.
    pub fn taken(&self) -> Vec<Taken> {
        self.state.lock().unwrap().taken.clone()
    }

    /// How many times the message list was read (lookups after a lost answer).
    pub fn lookups(&self) -> usize {
        self.state.lock().unwrap().lookups
    }

    /// Waits until at least `count` send requests arrived (or `within` passed); returns them.
    pub async fn wait_for_sends(&self, count: usize, within: Duration) -> Vec<SeenSend> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let seen = self.seen();
            if seen.len() >= count || tokio::time::Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `count` messages were taken, then `quiet` longer (anything sent twice
    /// would arrive meanwhile); returns every message taken. Fails the test after `within`.
    pub async fn settled_taken(
        &self,
        count: usize,
        within: Duration,
        quiet: Duration,
    ) -> Vec<Taken> {
        let deadline = tokio::time::Instant::now() + within;
        while self.taken().len() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {count} texts reached Twilio: {:?}",
                self.taken().len(),
                self.taken()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(quiet).await;
        self.taken()
    }

    /// Stops it.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}
