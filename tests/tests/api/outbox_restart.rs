//! A crash with texts in the outbox: the server is killed (SIGKILL) while one text is in
//! Twilio's hands without an answer and three wait their turn; started again over the same
//! Redis, it asks Twilio about the one in flight (found: not sent again) and sends the rest —
//! each text reaches Twilio exactly once, in order.

use std::time::{Duration, Instant};

use engine::sms::twilio_signature::compute;
use harness::fake_twilio::{FakeTwilio, Scripted};
use harness::process::ServerProcess;
use harness::{shared_redis_url, unique_prefix};
use serde_json::{Value, json};

const ADMIN: &str = "restart-admin-token-0123456789abcdef";
const SID: &str = "AC00000000000000000000000000000077";
const TOKEN: &str = "twilio-auth-token-77";
const PUBLIC: &str = "https://sb.example.com";
const CUSTOMER: &str = "+15550001111";
const NUMBER: &str = "+15550102000";

async fn send(
    address: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{address}{path}"))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn expect(
    address: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let (got, answer) = send(address, token, method, path, body).await;
    assert_eq!(got, status, "{path}: {answer}");
    answer
}

#[tokio::test]
async fn killed_with_texts_in_the_outbox_each_leaves_exactly_once_after_restart() {
    use reqwest::Method;
    let fake = FakeTwilio::start(SID, TOKEN).await;
    // The first text is taken; the second is taken but never answered (in flight at the kill).
    fake.script(&[Scripted::Created, Scripted::Stall]);
    let redis = shared_redis_url();
    let prefix = unique_prefix("outbox-kill");
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("SWITCHBOARD_KEY_PREFIX", prefix.as_str()),
        ("SWITCHBOARD_ADMIN_TOKEN", ADMIN),
        ("SWITCHBOARD_PUBLIC_URL", PUBLIC),
        ("SWITCHBOARD_DEFAULT_REGION", "US"),
    ];
    let first = ServerProcess::start(&env);
    let at = first.address.clone();
    for (path, body) in [
        ("/v1/teams", json!({"id": "support", "name": "Support"})),
        (
            "/v1/queues",
            json!({"id": "inbound", "name": "Inbound", "team_id": "support"}),
        ),
        (
            "/v1/agents",
            json!({"id": "ann", "name": "Ann", "team_ids": ["support"], "default_campaign": "Spring"}),
        ),
        (
            "/v1/provider_accounts",
            json!({"id": "tw", "name": "Twilio", "provider": "twilio",
            "account_sid": SID, "auth_token": TOKEN, "base_url": fake.base_url}),
        ),
        (
            "/v1/numbers",
            json!({"phone": NUMBER, "campaign": "Spring", "queue_id": "inbound",
            "provider_account_id": "tw", "sends_per_second": 2}),
        ),
    ] {
        expect(&at, ADMIN, Method::POST, path, Some(body), 201).await;
    }
    let ann = expect(
        &at,
        ADMIN,
        Method::POST,
        "/v1/agents/ann/tokens",
        Some(json!({})),
        201,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The customer texts in through Twilio; Ann takes the conversation.
    let params: Vec<(String, String)> = [
        ("MessageSid", "SMin"),
        ("From", CUSTOMER),
        ("To", NUMBER),
        ("Body", "Hi"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let signature = compute(TOKEN, &format!("{PUBLIC}/webhooks/twilio/sms"), &params);
    let hook = reqwest::Client::new()
        .post(format!("{at}/webhooks/twilio/sms"))
        .header("X-Twilio-Signature", signature)
        .form(&params)
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status().as_u16(), 200);
    expect(
        &at,
        &ann,
        Method::PUT,
        "/v1/agents/ann/queues",
        Some(json!({"queue_ids": ["inbound"]})),
        200,
    )
    .await;
    expect(
        &at,
        &ann,
        Method::PUT,
        "/v1/agents/ann/presence",
        Some(json!({"presence": "available"})),
        200,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let conversation = loop {
        let state = expect(&at, &ann, Method::GET, "/v1/agents/ann/presence", None, 200).await;
        if let Some(offer) = state["offers"].as_array().and_then(|o| o.first()) {
            let offer_id = offer["offer_id"].as_str().unwrap();
            expect(
                &at,
                &ann,
                Method::POST,
                &format!("/v1/offers/{offer_id}/accept"),
                None,
                204,
            )
            .await;
            break offer["conversation_id"].as_str().unwrap().to_owned();
        }
        assert!(Instant::now() < deadline, "no offer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let path = format!("/v1/conversations/{conversation}/messages");
    let bodies = ["m1", "m2", "m3", "m4", "m5"];
    for body in bodies {
        expect(
            &at,
            &ann,
            Method::POST,
            &path,
            Some(json!({"body": body})),
            201,
        )
        .await;
    }

    // m1 taken, m2 in Twilio's hands without an answer: kill.
    fake.wait_for_sends(2, Duration::from_secs(10)).await;
    assert_eq!(fake.seen().len(), 2);
    first.kill();

    let second = ServerProcess::start(&env);
    let at = second.address.clone();
    // Anything sent twice would arrive in the quiet two seconds after the fifth.
    let taken = fake
        .settled_taken(5, Duration::from_secs(30), Duration::from_secs(2))
        .await;
    let sent: Vec<&str> = taken
        .iter()
        .map(|t| t.body.split('\n').next().unwrap())
        .collect();
    assert_eq!(sent, bodies, "each exactly once, in order");
    assert!(
        fake.lookups() >= 1,
        "the text in flight was looked up, not resent"
    );
    assert_eq!(fake.seen().len(), 5, "five send requests in all");

    // The thread says so: every text queued at Twilio, with Twilio's id.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let thread = expect(&at, &ann, Method::GET, &path, None, 200).await;
        let outbound: Vec<&Value> = thread["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "outbound")
            .collect();
        let settled = outbound.len() == 5 && outbound.iter().all(|m| m["status"] == "queued");
        if settled {
            for (entry, taken) in outbound.iter().zip(&taken) {
                assert_eq!(entry["provider_message_id"], taken.sid.as_str());
            }
            break;
        }
        assert!(Instant::now() < deadline, "thread never settled: {thread}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // With SWITCHBOARD_DEFAULT_REGION=US a national number is read as American, and a start
    // naming neither number nor campaign texts from Ann's default campaign.
    let started = expect(
        &at,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(json!({"to": "(555) 010-3333", "body": "Hello from Spring"})),
        201,
    )
    .await;
    assert_eq!(
        started["conversation"]["customer"], "+15550103333",
        "{started}"
    );
    assert_eq!(started["conversation"]["campaign"], "Spring");
    let (status, refused) = send(
        &at,
        &ann,
        Method::POST,
        "/v1/conversations",
        Some(json!({"to": "12", "body": "Hi"})),
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (400, Some("invalid_phone_number")),
        "{refused}"
    );
}
