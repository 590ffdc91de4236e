//! Texts out: agents' replies leave through the outbox to a fake Twilio that checks the wire
//! format; Twilio's answers (201, 429, 500, 400 and 21610) and status callbacks move each
//! text's status; STOP stops texts already waiting; HELP is answered; the simulator delivers
//! and plays customers.

use std::time::{Duration, Instant};

use engine::sms::twilio_signature::compute;
use harness::fake_twilio::{FakeTwilio, Scripted};
use harness::{
    RedisServer, TestApp, shared_redis_url, spawn_app_with, test_settings, unique_prefix,
};
use reqwest::Method;
use serde_json::{Value, json};

use super::conversations::{ann_takes_one, call};

const SID: &str = "AC00000000000000000000000000000042";
const TOKEN: &str = "twilio-auth-token-42";
const PUBLIC: &str = "https://sb.example.com";
const CUSTOMER: &str = "+15550001111";
const NUMBER: &str = "+15550102000";
const FOOTER: &str = "\nReply STOP to unsubscribe.";

/// An app whose support number sends through the fake Twilio at `rate` segments a second;
/// Ann of support. Returns the app, the fake and Ann's token.
async fn twilio_floor(rate: u32) -> (TestApp, FakeTwilio, String) {
    twilio_floor_on(&shared_redis_url(), rate).await
}

/// [`twilio_floor`] on the Redis at `redis_url`.
async fn twilio_floor_on(redis_url: &str, rate: u32) -> (TestApp, FakeTwilio, String) {
    let mut settings = test_settings(redis_url, &unique_prefix("sending"));
    settings.public_url = Some(PUBLIC.to_owned());
    let app = spawn_app_with(settings).await;
    let fake = FakeTwilio::start(SID, TOKEN).await;
    let tokens = app.two_teams(&[("ann", "support", "agent")]).await;
    app.post(
        "/v1/provider_accounts",
        json!({"id": "tw", "name": "Twilio", "provider": "twilio", "account_sid": SID,
               "auth_token": TOKEN, "base_url": fake.base_url}),
    )
    .await
    .expect_status(201);
    let number = support_number(&app).await;
    app.patch(
        &format!("/v1/numbers/{number}"),
        json!({"provider_account_id": "tw", "sends_per_second": rate}),
    )
    .await
    .expect_status(200);
    (app, fake, tokens[0].clone())
}

async fn support_number(app: &TestApp) -> String {
    let numbers = app.get("/v1/numbers").await;
    numbers.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["phone"] == NUMBER)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Posts a Twilio webhook to `path`, signed as Twilio signs it (`token` overrides the key).
async fn webhook(app: &TestApp, path: &str, params: &[(&str, &str)], token: &str) -> (u16, String) {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let signature = compute(token, &format!("{PUBLIC}{path}"), &params);
    let response = reqwest::Client::new()
        .post(format!("{}{path}", app.address))
        .header("X-Twilio-Signature", signature)
        .form(&params)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The customer texts the support number through Twilio.
async fn customer_texts(app: &TestApp, sid: &str, body: &str) {
    let (status, answer) = webhook(
        app,
        "/webhooks/twilio/sms",
        &[
            ("MessageSid", sid),
            ("AccountSid", SID),
            ("From", CUSTOMER),
            ("To", NUMBER),
            ("Body", body),
            ("NumMedia", "0"),
        ],
        TOKEN,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
}

/// Twilio reports on a text.
async fn status_callback(app: &TestApp, sid: &str, status: &str, error: &str) -> (u16, String) {
    webhook(
        app,
        "/webhooks/twilio/status",
        &[
            ("MessageSid", sid),
            ("MessageStatus", status),
            ("ErrorCode", error),
            ("AccountSid", SID),
            ("From", NUMBER),
            ("To", CUSTOMER),
        ],
        TOKEN,
    )
    .await
}

async fn reply(app: &TestApp, ann: &str, conversation: &str, body: Value) -> harness::Answer {
    call(
        app,
        ann,
        Method::POST,
        &format!("/v1/conversations/{conversation}/messages"),
        Some(body),
    )
    .await
}

/// The thread's outbound entries.
async fn outbound(app: &TestApp, ann: &str, conversation: &str) -> Vec<Value> {
    let thread = call(
        app,
        ann,
        Method::GET,
        &format!("/v1/conversations/{conversation}/messages"),
        None,
    )
    .await;
    thread.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .cloned()
        .collect()
}

/// Waits until the `index`th outbound entry satisfies `done`; returns it.
async fn until_entry(
    app: &TestApp,
    ann: &str,
    conversation: &str,
    index: usize,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let entries = outbound(app, ann, conversation).await;
        if let Some(entry) = entries.get(index)
            && done(entry)
        {
            return entry.clone();
        }
        assert!(
            Instant::now() < deadline,
            "outbound entry {index} never got there: {entries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn replies_leave_through_twilio_as_its_api_expects() {
    let (app, fake, ann) = twilio_floor(1).await;
    customer_texts(&app, "SMin1", "Where is my order?").await;
    let conversation = ann_takes_one(&app, &ann).await;
    let mut ws = app.ws(&ann).await;
    let sent = reply(
        &app,
        &ann,
        &conversation,
        json!({"body": "Hello", "media_urls": ["https://example.com/a.jpg"]}),
    )
    .await;
    sent.expect_status(201);
    assert_eq!(sent.body["status"], "outbox");

    let seen = fake.wait_for_sends(1, Duration::from_secs(10)).await;
    let first = &seen[0];
    assert_eq!(
        first.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    assert!(
        first.authorized,
        "basic auth with the account SID and token"
    );
    let keys: Vec<&str> = first.form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["To", "From", "Body", "MediaUrl", "StatusCallback"]);
    assert_eq!(first.field("To"), Some(CUSTOMER));
    assert_eq!(first.field("From"), Some(NUMBER));
    assert_eq!(
        first.field("Body"),
        Some(format!("Hello{FOOTER}").as_str()),
        "the first text carries the footer"
    );
    assert_eq!(first.fields("MediaUrl"), ["https://example.com/a.jpg"]);
    assert_eq!(
        first.field("StatusCallback"),
        Some(format!("{PUBLIC}/webhooks/twilio/status").as_str())
    );
    let sid = fake.taken()[0].sid.clone();
    let queued = until_entry(&app, &ann, &conversation, 0, |m| m["status"] == "queued").await;
    assert_eq!(queued["provider_message_id"], sid.as_str());
    assert_eq!(queued["provider"], "twilio");

    // The second text carries no footer.
    reply(&app, &ann, &conversation, json!({"body": "Second"}))
        .await
        .expect_status(201);
    let seen = fake.wait_for_sends(2, Duration::from_secs(10)).await;
    assert_eq!(seen[1].field("Body"), Some("Second"));
    assert_eq!(seen[1].fields("MediaUrl"), Vec::<&str>::new());

    // A picture alone: no `Body` on the wire, as Twilio allows for MMS.
    let picture = reply(
        &app,
        &ann,
        &conversation,
        json!({"media_urls": ["https://example.com/b.png"]}),
    )
    .await;
    picture.expect_status(201);
    assert_eq!(picture.body["body"], "");
    let seen = fake.wait_for_sends(3, Duration::from_secs(10)).await;
    let keys: Vec<&str> = seen[2].form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["To", "From", "MediaUrl", "StatusCallback"]);
    // Neither text nor media nor template is still refused.
    reply(&app, &ann, &conversation, json!({"media_urls": []}))
        .await
        .expect_error(400, "missing_field");

    // Callbacks out of order: delivered, then a late sent, which changes nothing.
    let (status, body) = status_callback(&app, &sid, "delivered", "").await;
    assert_eq!(
        (status, body.contains("<Response/>")),
        (200, true),
        "{body}"
    );
    assert_eq!(status_callback(&app, &sid, "sent", "").await.0, 200);
    // Each callback is answered once its report is stored: the thread says so already.
    assert_eq!(
        outbound(&app, &ann, &conversation).await[0]["status"],
        "delivered"
    );
    // The desktop is told: queued, then delivered (the late sent is no event).
    let mut statuses = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && !statuses.contains(&"delivered".to_owned()) {
        let frame = ws.next_of("message.status").await;
        if frame["data"]["provider_message_id"] == sid.as_str() {
            assert_eq!(frame["data"]["conversation_id"], conversation.as_str());
            statuses.push(frame["data"]["status"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(statuses, ["queued", "delivered"]);

    // Forged, unknown and inbound-only callbacks.
    let forged = webhook(
        &app,
        "/webhooks/twilio/status",
        &[
            ("MessageSid", &sid),
            ("MessageStatus", "failed"),
            ("From", NUMBER),
        ],
        "not-the-token",
    )
    .await;
    assert_eq!(forged.0, 403, "{}", forged.1);
    let unknown = status_callback(&app, "SMnope", "delivered", "").await;
    assert_eq!(unknown.0, 404, "{}", unknown.1);
    assert!(unknown.1.contains("unknown_message"));
    let inbound_status = status_callback(&app, &sid, "received", "").await;
    assert_eq!(inbound_status.0, 400, "{}", inbound_status.1);
    assert_eq!(
        outbound(&app, &ann, &conversation).await[0]["status"],
        "delivered"
    );
}

#[tokio::test]
async fn provider_trouble_is_retried_and_refusals_are_shown() {
    let (app, fake, ann) = twilio_floor(10).await;
    fake.script(&[
        Scripted::RateLimited,
        Scripted::ServerError,
        Scripted::Created,
        Scripted::InvalidTo,
    ]);
    customer_texts(&app, "SMin2", "Hi").await;
    let conversation = ann_takes_one(&app, &ann).await;
    reply(&app, &ann, &conversation, json!({"body": "one"}))
        .await
        .expect_status(201);
    reply(&app, &ann, &conversation, json!({"body": "two"}))
        .await
        .expect_status(201);

    // 429, then 500, then taken: retried with backoff, taken once.
    let first = until_entry(&app, &ann, &conversation, 0, |m| m["status"] == "queued").await;
    assert_eq!(first["attempts"], 3);
    let answers: Vec<u16> = fake.seen().iter().map(|s| s.answered).collect();
    assert_eq!(&answers[..3], [429, 500, 201]);
    // "two" waited behind "one" (same conversation), then was refused for good.
    let second = until_entry(&app, &ann, &conversation, 1, |m| m["status"] == "failed").await;
    assert_eq!(second["error_code"], "21211");
    assert!(
        second["error_message"]
            .as_str()
            .unwrap()
            .contains("not a valid phone number")
    );
    assert_eq!(second["attempts"], 1);
    let bodies: Vec<String> = fake.taken().iter().map(|t| t.body.clone()).collect();
    assert_eq!(bodies, [format!("one{FOOTER}")]);
}

#[tokio::test]
async fn twilio_21610_opts_the_customer_out() {
    let (app, fake, ann) = twilio_floor(10).await;
    fake.script(&[Scripted::Unsubscribed]);
    customer_texts(&app, "SMin3", "Hi").await;
    let conversation = ann_takes_one(&app, &ann).await;
    reply(&app, &ann, &conversation, json!({"body": "Are you there?"}))
        .await
        .expect_status(201);
    let failed = until_entry(&app, &ann, &conversation, 0, |m| m["status"] == "failed").await;
    assert_eq!(failed["error_code"], "21610");
    let card = call(
        &app,
        &ann,
        Method::GET,
        &format!("/v1/contacts/{CUSTOMER}"),
        None,
    )
    .await;
    assert_eq!(
        card.body["opted_out"].as_object().unwrap().len(),
        1,
        "{}",
        card.body
    );
    reply(&app, &ann, &conversation, json!({"body": "Hello?"}))
        .await
        .expect_error(409, "recipient_opted_out");
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn stop_stops_texts_already_in_the_outbox_until_start() {
    let (app, fake, ann) = twilio_floor(1).await;
    app.post(
        "/v1/templates",
        json!({"id": "tp_hi", "name": "Hi", "body": "Hello again"}),
    )
    .await
    .expect_status(201);
    customer_texts(&app, "SMin4", "Hi").await;
    let conversation = ann_takes_one(&app, &ann).await;
    // Five segments at one a second: the next texts wait about five seconds.
    let long = "Long text. ".repeat(70);
    reply(&app, &ann, &conversation, json!({"body": long}))
        .await
        .expect_status(201);
    for body in ["two", "three", "four"] {
        reply(&app, &ann, &conversation, json!({"body": body}))
            .await
            .expect_status(201);
    }
    customer_texts(&app, "SMin5", "STOP").await;

    for i in 1..4 {
        let dropped = until_entry(&app, &ann, &conversation, i, |m| m["status"] == "failed").await;
        assert_eq!(dropped["error_code"], "recipient_opted_out");
    }
    // Every send path is refused while the opt-out stands.
    let start = json!({"to": CUSTOMER, "number": NUMBER, "body": "We miss you"});
    call(&app, &ann, Method::POST, "/v1/conversations", Some(start))
        .await
        .expect_error(409, "recipient_opted_out");
    let templated = json!({"to": CUSTOMER, "number": NUMBER, "template_id": "tp_hi"});
    call(
        &app,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(templated),
    )
    .await
    .expect_error(409, "recipient_opted_out");
    // HELP opens a conversation but goes unanswered: nothing is sent to an opted-out customer.
    customer_texts(&app, "SMin6", "help").await;
    let open = ann_takes_one(&app, &ann).await;
    assert!(outbound(&app, &ann, &open).await.is_empty());
    // The texts behind the long one failed and HELP was never queued: nothing is left that
    // could still leave.
    let taken: Vec<String> = fake.taken().iter().map(|t| t.body.clone()).collect();
    assert_eq!(
        taken.len(),
        1,
        "only the text already handed off left: {taken:?}"
    );
    assert!(taken[0].starts_with("Long text."));

    // START: texts flow again.
    customer_texts(&app, "SMin7", "START").await;
    let card = call(
        &app,
        &ann,
        Method::GET,
        &format!("/v1/contacts/{CUSTOMER}"),
        None,
    )
    .await;
    assert_eq!(card.body["opted_out"], json!({}), "{}", card.body);
    reply(&app, &ann, &open, json!({"body": "We miss you"}))
        .await
        .expect_status(201);
    until_entry(&app, &ann, &open, 0, |m| m["status"] == "queued").await;
    assert!(fake.taken().iter().any(|t| t.body == "We miss you"));
}

#[tokio::test]
async fn help_is_answered_with_the_numbers_help_text() {
    let (app, fake, ann) = twilio_floor(10).await;
    let number = support_number(&app).await;
    app.patch(
        &format!("/v1/numbers/{number}"),
        json!({"help_text": "Spring support: an agent answers 9 to 5."}),
    )
    .await
    .expect_status(200);
    customer_texts(&app, "SMhelp", " Help ").await;
    let sends = fake.wait_for_sends(1, Duration::from_secs(10)).await;
    assert_eq!(
        sends[0].field("Body"),
        Some(format!("Spring support: an agent answers 9 to 5.{FOOTER}").as_str())
    );
    assert_eq!(sends[0].field("To"), Some(CUSTOMER));
    // The HELP text still reaches an agent, with the answer in the thread.
    let conversation = ann_takes_one(&app, &ann).await;
    let entry = until_entry(&app, &ann, &conversation, 0, |m| m["status"] == "queued").await;
    assert_eq!(entry["automatic"], true);
    assert_eq!(entry["agent_id"], Value::Null);
}

#[tokio::test]
async fn the_simulator_delivers_and_plays_customers() {
    let app = spawn_app_with(test_settings(&shared_redis_url(), &unique_prefix("sim"))).await;
    let tokens = app.two_teams(&[("ann", "support", "agent")]).await;
    let ann = tokens[0].clone();
    app.post(
        "/v1/provider_accounts",
        json!({"id": "sim", "name": "Simulator", "provider": "simulator",
               "simulator": {"delivery_delay_ms": 200, "reply_percent": 100, "reply_delay_ms": 200}}),
    )
    .await
    .expect_status(201);
    let number = support_number(&app).await;
    app.patch(
        &format!("/v1/numbers/{number}"),
        json!({"provider_account_id": "sim", "sends_per_second": 10}),
    )
    .await
    .expect_status(200);
    app.post(
        "/v1/inbound",
        json!({"from": CUSTOMER, "to": NUMBER, "body": "Hi"}),
    )
    .await
    .expect_status(200);
    let conversation = ann_takes_one(&app, &ann).await;
    let mut ws = app.ws(&ann).await;
    reply(
        &app,
        &ann,
        &conversation,
        json!({"body": "How can I help?"}),
    )
    .await
    .expect_status(201);
    let delivered = until_entry(&app, &ann, &conversation, 0, |m| m["status"] == "delivered").await;
    assert_eq!(delivered["provider"], "simulator");
    assert!(
        delivered["provider_message_id"]
            .as_str()
            .unwrap()
            .starts_with("SIM")
    );
    let mut statuses = Vec::new();
    while statuses.len() < 3 {
        let frame = ws.next_of("message.status").await;
        statuses.push(frame["data"]["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(statuses, ["queued", "sent", "delivered"]);
    // The simulated customer answers, into the same conversation.
    let answer = ws.next_of("message.received").await;
    assert_eq!(answer["data"]["conversation_id"], conversation.as_str());
    assert_eq!(answer["data"]["message"]["direction"], "inbound");
}

#[tokio::test]
async fn a_number_without_an_account_texts_through_the_default_simulator() {
    let app = spawn_app_with(test_settings(
        &shared_redis_url(),
        &unique_prefix("sim-default"),
    ))
    .await;
    let tokens = app.two_teams(&[("ann", "support", "agent")]).await;
    let ann = tokens[0].clone();
    app.post(
        "/v1/inbound",
        json!({"from": CUSTOMER, "to": NUMBER, "body": "Hi"}),
    )
    .await
    .expect_status(200);
    let conversation = ann_takes_one(&app, &ann).await;
    reply(&app, &ann, &conversation, json!({"body": "Hello"}))
        .await
        .expect_status(201);
    let entry = until_entry(&app, &ann, &conversation, 0, |m| m["status"] == "delivered").await;
    assert_eq!(entry["provider"], "simulator");
}

#[tokio::test]
async fn texts_waiting_while_redis_is_down_leave_once_it_is_back() {
    let mut redis = RedisServer::start();
    let (app, fake, ann) = twilio_floor_on(&redis.url(), 1).await;
    customer_texts(&app, "SMin8", "Hi").await;
    let conversation = ann_takes_one(&app, &ann).await;
    // Three segments at one a second: the next texts wait three seconds.
    let long = "Long text. ".repeat(40);
    for body in [long.as_str(), "two", "three"] {
        reply(&app, &ann, &conversation, json!({"body": body}))
            .await
            .expect_status(201);
    }
    until_entry(&app, &ann, &conversation, 0, |m| m["status"] == "queued").await;

    redis.stop();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        fake.seen().len(),
        1,
        "nothing leaves while its record cannot be written"
    );
    redis.restart();

    let bodies: Vec<String> = fake
        .settled_taken(3, Duration::from_secs(20), Duration::from_secs(2))
        .await
        .into_iter()
        .map(|t| t.body)
        .collect();
    assert_eq!(bodies.len(), 3, "each exactly once: {bodies:?}");
    assert!(bodies[0].starts_with("Long text."));
    assert_eq!(&bodies[1..], ["two", "three"]);
    until_entry(&app, &ann, &conversation, 2, |m| m["status"] == "queued").await;
}

/// STOP is handled by the engine whatever carried it: a simulated customer's STOP (which
/// reaches the engine without any HTTP route) opts them out and closes the conversation,
/// exactly as one through `/v1/inbound` or Twilio's webhook does.
#[tokio::test]
async fn a_simulated_customer_texting_stop_is_opted_out() {
    let app = spawn_app_with(test_settings(
        &shared_redis_url(),
        &unique_prefix("sim-stop"),
    ))
    .await;
    let tokens = app.two_teams(&[("ann", "support", "agent")]).await;
    let ann = tokens[0].clone();
    app.post(
        "/v1/provider_accounts",
        json!({"id": "sim", "name": "Simulator", "provider": "simulator",
               "simulator": {"delivery_delay_ms": 0, "reply_percent": 100, "reply_delay_ms": 0,
                             "opt_out_percent": 100}}),
    )
    .await
    .expect_status(201);
    let number = support_number(&app).await;
    app.patch(
        &format!("/v1/numbers/{number}"),
        json!({"provider_account_id": "sim", "sends_per_second": 10}),
    )
    .await
    .expect_status(200);
    app.post(
        "/v1/inbound",
        json!({"from": CUSTOMER, "to": NUMBER, "body": "Hi"}),
    )
    .await
    .expect_status(200);
    let conversation = ann_takes_one(&app, &ann).await;
    let mut ws = app.ws(&ann).await;
    reply(&app, &ann, &conversation, json!({"body": "Anything else?"}))
        .await
        .expect_status(201);
    let answer = ws.next_of("message.received").await;
    assert_eq!(answer["data"]["message"]["body"], "STOP");
    let closed = ws.next_of("conversation.closed").await;
    assert_eq!(closed["data"]["conversation_id"], conversation.as_str());
    assert_eq!(closed["data"]["reason"], "opted_out");
    let card = call(&app, &ann, Method::GET, "/v1/contacts/+15550001111", None).await;
    assert_eq!(card.body["opted_out"].as_object().unwrap().len(), 1);
    let start = call(
        &app,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(json!({"to": CUSTOMER, "campaign": "Spring", "body": "One more thing"})),
    )
    .await;
    start.expect_error(409, "recipient_opted_out");
}
