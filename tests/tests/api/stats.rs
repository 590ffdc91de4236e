//! `/v1/stats` over HTTP: a supervisor reads its queue's, team's and agents' figures and
//! real-time part; an agent reads its own figures and only the real-time part of its queue;
//! another team's answer 404; bad windows and thresholds answer 400 `invalid_query`.

use harness::spawn_app;
use reqwest::Method;
use serde_json::json;

use super::conversations::{call, takes_one, text};

async fn get(app: &harness::TestApp, token: &str, path: &str) -> harness::Answer {
    call(app, token, Method::GET, path, None).await
}

/// A supervised floor: team `support` (queue `inbound`) with agent Ann and supervisor Sue,
/// team `sales` with supervisor Eve, the code `resolved`, and one conversation Ann handled
/// (from +15550004444). Returns the app, the tokens of Ann, Sue and Eve, and that
/// conversation.
pub(crate) async fn supervised_floor() -> (harness::TestApp, [String; 3], String) {
    let app = spawn_app().await;
    let tokens = app
        .two_teams(&[
            ("ann", "support", "agent"),
            ("sue", "support", "supervisor"),
            ("eve", "sales", "supervisor"),
        ])
        .await;
    let tokens = <[String; 3]>::try_from(tokens).expect("three tokens");
    app.post(
        "/v1/dispositions",
        json!({"code": "resolved", "label": "Resolved"}),
    )
    .await
    .expect_status(201);
    text(&app, "+15550004444").await;
    let handled = takes_one(&app, &tokens[0], "ann", "inbound").await;
    app.dispose_and_complete(&tokens[0], &handled, "resolved")
        .await;
    (app, tokens, handled)
}

#[tokio::test]
async fn supervisors_agents_and_windows_see_what_they_may() {
    let (app, [ann, sue, eve], _) = supervised_floor().await;
    text(&app, "+15550005555").await;

    let queue = get(
        &app,
        &sue,
        "/v1/stats/queues/inbound?minutes=60&split_by_wait_time=60,30",
    )
    .await;
    assert_eq!(queue.status, 200, "{:?}", queue.body);
    let c = &queue.body["cumulative"];
    assert_eq!(c["conversations"]["opened"], 2, "{c}");
    assert!(c["conversations"]["answered"].as_u64().unwrap() >= 1, "{c}");
    assert_eq!(c["conversations"]["closed"], 1, "{c}");
    assert_eq!(c["conversations"]["handled"], 1, "{c}");
    assert_eq!(c["dispositions"]["resolved"], 1, "{c}");
    assert!(c["offers"]["accepted"].as_u64().unwrap() >= 1, "{c}");
    let thresholds: Vec<_> = c["service_level"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["threshold_seconds"].as_u64().unwrap())
        .collect();
    assert_eq!(thresholds, [30, 60], "sorted thresholds");
    let r = &queue.body["realtime"];
    assert_eq!(
        r["conversations_by_status"]["queued"].as_u64().unwrap()
            + r["conversations_by_status"]["owned"].as_u64().unwrap(),
        1,
        "{r}"
    );
    assert_eq!(r["agents"].as_array().unwrap().len(), 2, "{r}");
    assert!(
        r["agents_by_presence"]["available"].as_u64().unwrap() >= 1,
        "{r}"
    );

    // The team's figures hold its queue's.
    let team = get(&app, &sue, "/v1/stats/teams/support?minutes=60").await;
    assert_eq!(team.status, 200, "{:?}", team.body);
    assert_eq!(team.body["cumulative"]["conversations"]["opened"], 2);

    // An agent: its own figures, its queue's real-time part only.
    let own = get(&app, &ann, "/v1/stats/agents/ann").await;
    assert_eq!(own.status, 200, "{:?}", own.body);
    assert_eq!(own.body["cumulative"]["conversations"]["handled"], 1);
    assert_eq!(own.body["realtime"]["agents"][0]["agent_id"], "ann");
    let live_only = get(&app, &ann, "/v1/stats/queues/inbound").await;
    assert_eq!(live_only.status, 200, "{:?}", live_only.body);
    assert!(
        live_only.body.get("cumulative").is_none(),
        "{:?}",
        live_only.body
    );
    // A teammate's figures are not an agent's to read (as its presence is not to set).
    assert_eq!(get(&app, &ann, "/v1/stats/agents/sue").await.status, 403);

    // Another team's supervisor sees none of it.
    for path in [
        "/v1/stats/queues/inbound",
        "/v1/stats/teams/support",
        "/v1/stats/agents/ann",
    ] {
        let answer = get(&app, &eve, path).await;
        assert_eq!(answer.status, 404, "{path}: {:?}", answer.body);
    }

    // Bad windows and thresholds change nothing and say which parameter is wrong.
    for (query, field) in [
        ("minutes=0", "minutes"),
        ("minutes=5&from=2026-01-01T00:00:00Z", "minutes"),
        ("from=yesterday", "from"),
        ("from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"),
        ("from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "from"),
        ("split_by_wait_time=30,abc", "split_by_wait_time"),
        ("split_by_wait_time=0", "split_by_wait_time"),
    ] {
        let answer = get(&app, &sue, &format!("/v1/stats/queues/inbound?{query}")).await;
        assert_eq!(answer.status, 400, "{query}: {:?}", answer.body);
        assert_eq!(answer.body["code"], "invalid_query", "{query}");
        assert_eq!(answer.body["details"]["field"], field, "{query}");
    }
    let unknown = get(&app, &sue, "/v1/stats/queues/inbound?window=5").await;
    assert_eq!(unknown.status, 400, "{:?}", unknown.body);
}
