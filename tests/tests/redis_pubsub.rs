//! Every journaled event is also published on the Redis channel `<prefix>:events`, in the same
//! atomic step, for consumers other than the desktops.

use std::time::Duration;

use engine::store::{ConversationCommit, NewEvent, RedisStore, RedisStoreConfig, Store};
use futures_util::StreamExt;
use harness::{shared_redis_url, unique_prefix};

#[tokio::test]
async fn journaled_events_are_published_on_the_events_channel() {
    let url = shared_redis_url();
    let prefix = unique_prefix("pubsub");
    let store = RedisStore::open(&RedisStoreConfig {
        url: url.clone(),
        key_prefix: prefix.clone(),
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub.subscribe(format!("{prefix}:events")).await.unwrap();

    let commit = ConversationCommit {
        id: "c1".into(),
        number_id: "n1".into(),
        customer: "+15550001111".into(),
        body: Some("{}".into()),
        closed: false,
        message: None,
        routing: None,
        provider_message_id: None,
        events: vec![NewEvent {
            kind: "conversation.created".into(),
            at: 42,
            data: r#"{"conversation_id":"c1"}"#.into(),
        }],
        timers: Vec::new(),
        outbox: None,
        counters: None,
        guard: Default::default(),
    };
    store.conversation_commit(commit).await.unwrap();
    store
        .events_append(vec![NewEvent {
            kind: "agent.updated".into(),
            at: 43,
            data: r#"{"agent_id":"a"}"#.into(),
        }])
        .await
        .unwrap();

    let mut messages = pubsub.on_message();
    let mut received = Vec::new();
    for _ in 0..2 {
        let message = tokio::time::timeout(Duration::from_secs(5), messages.next())
            .await
            .unwrap()
            .unwrap();
        let payload: String = message.get_payload().unwrap();
        received.push(serde_json::from_str::<serde_json::Value>(&payload).unwrap());
    }
    assert_eq!(
        received,
        vec![
            serde_json::json!({"id": 1, "kind": "conversation.created", "at": 42, "data": {"conversation_id": "c1"}}),
            serde_json::json!({"id": 2, "kind": "agent.updated", "at": 43, "data": {"agent_id": "a"}}),
        ]
    );
}
