//! The store contract: every case runs against the in-memory store and against a real Redis,
//! so the embedded store is held to exactly the production store's behaviour.

use std::time::Duration;

use engine::store::{
    CommitOutcome, ConfigWrite, ConversationCommit, DeliveryWrite, Expect, NewEvent, OpenGuard,
    OutboxItem, RedisStore, RedisStoreConfig, ResourceKind, ResourceRef, Store, StoreError,
    TimerChange, UniqueKey,
};
use harness::{shared_redis_url, unique_prefix};

fn redis_store() -> RedisStore {
    RedisStore::open(&RedisStoreConfig {
        url: shared_redis_url(),
        key_prefix: unique_prefix("contract"),
        timeout: Duration::from_secs(2),
    })
    .expect("redis store opens")
}

/// A write of `kind` `id` with `body`, creating.
fn doc(kind: ResourceKind, id: &str, body: &str) -> ConfigWrite {
    ConfigWrite {
        kind,
        id: id.to_owned(),
        body: body.to_owned(),
        refs: Vec::new(),
        uniques: Vec::new(),
        owner: None,
        expect: Expect::Absent,
    }
}

fn r(kind: ResourceKind, id: &str) -> ResourceRef {
    ResourceRef::new(kind, id)
}

fn unique(field: &'static str, value: &str) -> UniqueKey {
    UniqueKey {
        field,
        value: value.to_owned(),
    }
}

use ResourceKind::{Agent, Number, Queue, Team, Token};

mod cases {
    use super::*;

    pub async fn ping_answers<S: Store>(s: &S) {
        s.ping().await.unwrap();
    }

    pub async fn created_document_reads_back_at_revision_one<S: Store>(s: &S) {
        assert_eq!(
            s.config_put(doc(Team, "t1", r#"{"a":1}"#)).await.unwrap(),
            1
        );
        let got = s.config_get(Team, "t1").await.unwrap().unwrap();
        assert_eq!(
            (got.id.as_str(), got.revision, got.body.as_str()),
            ("t1", 1, r#"{"a":1}"#)
        );
        assert_eq!(s.config_get(Team, "t2").await.unwrap(), None);
        assert_eq!(
            s.config_get(Queue, "t1").await.unwrap(),
            None,
            "kinds are separate"
        );
    }

    pub async fn creating_an_existing_id_is_refused<S: Store>(s: &S) {
        s.config_put(doc(Team, "t1", "first")).await.unwrap();
        assert_eq!(
            s.config_put(doc(Team, "t1", "second")).await,
            Err(StoreError::AlreadyExists)
        );
        assert_eq!(
            s.config_get(Team, "t1").await.unwrap().unwrap().body,
            "first"
        );
    }

    pub async fn update_needs_the_current_revision<S: Store>(s: &S) {
        s.config_put(doc(Team, "t1", "v1")).await.unwrap();
        let mut update = doc(Team, "t1", "v2");
        update.expect = Expect::Revision(1);
        assert_eq!(s.config_put(update.clone()).await.unwrap(), 2);
        update.body = "stale".into();
        assert_eq!(
            s.config_put(update).await,
            Err(StoreError::RevisionMismatch { current: 2 })
        );
        assert_eq!(s.config_get(Team, "t1").await.unwrap().unwrap().body, "v2");
    }

    pub async fn updating_a_missing_document_is_not_found<S: Store>(s: &S) {
        let mut update = doc(Team, "ghost", "v");
        update.expect = Expect::Revision(1);
        assert_eq!(s.config_put(update).await, Err(StoreError::NotFound));
        assert_eq!(s.config_get(Team, "ghost").await.unwrap(), None);
    }

    pub async fn missing_reference_refuses_the_write<S: Store>(s: &S) {
        let mut queue = doc(Queue, "q1", "q");
        queue.refs = vec![r(Team, "nope")];
        queue.uniques = vec![unique("name", "q")];
        assert_eq!(
            s.config_put(queue).await,
            Err(StoreError::MissingReference(r(Team, "nope")))
        );
        assert_eq!(s.config_get(Queue, "q1").await.unwrap(), None);
        assert_eq!(
            s.config_find_unique(Queue, "name", "q").await.unwrap(),
            None,
            "nothing indexed"
        );
        let mut token = doc(Token, "k1", "k");
        token.owner = Some(r(Agent, "nobody"));
        assert_eq!(
            s.config_put(token).await,
            Err(StoreError::MissingReference(r(Agent, "nobody")))
        );
    }

    pub async fn unique_values_belong_to_one_document<S: Store>(s: &S) {
        let mut a = doc(Number, "n1", "a");
        a.uniques = vec![unique("phone", "+15550100")];
        s.config_put(a.clone()).await.unwrap();
        let mut b = doc(Number, "n2", "b");
        b.uniques = vec![unique("phone", "+15550100")];
        assert_eq!(
            s.config_put(b.clone()).await,
            Err(StoreError::UniqueTaken {
                field: "phone".into(),
                value: "+15550100".into(),
                holder: "n1".into()
            })
        );
        assert_eq!(s.config_get(Number, "n2").await.unwrap(), None);
        // The holder may rewrite itself with its own value.
        a.expect = Expect::Revision(1);
        assert_eq!(s.config_put(a.clone()).await.unwrap(), 2);
        // Releasing the value lets another take it.
        a.expect = Expect::Revision(2);
        a.uniques = vec![unique("phone", "+15550199")];
        s.config_put(a).await.unwrap();
        assert_eq!(s.config_put(b).await.unwrap(), 1);
        assert_eq!(
            s.config_find_unique(Number, "phone", "+15550100")
                .await
                .unwrap()
                .as_deref(),
            Some("n2")
        );
        assert_eq!(
            s.config_find_unique(Number, "phone", "+15550199")
                .await
                .unwrap()
                .as_deref(),
            Some("n1")
        );
    }

    pub async fn referenced_document_cannot_be_deleted<S: Store>(s: &S) {
        s.config_put(doc(Team, "t1", "t")).await.unwrap();
        for (kind, id) in [(Queue, "q2"), (Agent, "a1"), (Queue, "q1")] {
            let mut w = doc(kind, id, "x");
            w.refs = vec![r(Team, "t1")];
            s.config_put(w).await.unwrap();
        }
        assert_eq!(
            s.config_delete(Team, "t1").await,
            Err(StoreError::InUse(vec![
                r(Agent, "a1"),
                r(Queue, "q1"),
                r(Queue, "q2")
            ]))
        );
        assert!(s.config_get(Team, "t1").await.unwrap().is_some());
        for (kind, id) in [(Queue, "q2"), (Agent, "a1"), (Queue, "q1")] {
            s.config_delete(kind, id).await.unwrap();
        }
        s.config_delete(Team, "t1").await.unwrap();
        assert_eq!(s.config_get(Team, "t1").await.unwrap(), None);
    }

    pub async fn moving_a_reference_releases_the_old_target<S: Store>(s: &S) {
        s.config_put(doc(Team, "a", "a")).await.unwrap();
        s.config_put(doc(Team, "b", "b")).await.unwrap();
        let mut queue = doc(Queue, "q", "q");
        queue.refs = vec![r(Team, "a")];
        s.config_put(queue.clone()).await.unwrap();
        queue.refs = vec![r(Team, "b")];
        queue.expect = Expect::Revision(1);
        s.config_put(queue).await.unwrap();
        s.config_delete(Team, "a").await.unwrap();
        assert_eq!(
            s.config_delete(Team, "b").await,
            Err(StoreError::InUse(vec![r(Queue, "q")]))
        );
    }

    pub async fn deleting_releases_unique_values_and_references<S: Store>(s: &S) {
        s.config_put(doc(Team, "t", "t")).await.unwrap();
        let mut queue = doc(Queue, "q", "q");
        queue.refs = vec![r(Team, "t")];
        queue.uniques = vec![unique("name", "billing")];
        s.config_put(queue).await.unwrap();
        s.config_delete(Queue, "q").await.unwrap();
        assert_eq!(
            s.config_find_unique(Queue, "name", "billing")
                .await
                .unwrap(),
            None
        );
        s.config_delete(Team, "t").await.unwrap();
        assert_eq!(s.config_delete(Team, "t").await, Err(StoreError::NotFound));
    }

    pub async fn owned_documents_go_with_their_owner<S: Store>(s: &S) {
        s.config_put(doc(Agent, "a1", "agent")).await.unwrap();
        s.config_put(doc(Agent, "a2", "other")).await.unwrap();
        for (id, owner, secret) in [("k2", "a1", "s2"), ("k1", "a1", "s1"), ("k3", "a2", "s3")] {
            let mut token = doc(Token, id, id);
            token.owner = Some(r(Agent, owner));
            token.uniques = vec![unique("secret", secret)];
            s.config_put(token).await.unwrap();
        }
        let owned: Vec<String> = s
            .config_owned(&r(Agent, "a1"))
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(owned, vec!["k1", "k2"]);
        s.config_delete(Agent, "a1").await.unwrap();
        assert_eq!(s.config_get(Token, "k1").await.unwrap(), None);
        assert_eq!(s.config_get(Token, "k2").await.unwrap(), None);
        assert_eq!(
            s.config_find_unique(Token, "secret", "s1").await.unwrap(),
            None
        );
        assert!(
            s.config_get(Token, "k3").await.unwrap().is_some(),
            "another owner's stays"
        );
        assert!(s.config_owned(&r(Agent, "a1")).await.unwrap().is_empty());
        let listed: Vec<String> = s
            .config_list(Token, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(listed, vec!["k3"]);
        // Deleting an owned document on its own leaves the owner.
        s.config_delete(Token, "k3").await.unwrap();
        assert!(s.config_owned(&r(Agent, "a2")).await.unwrap().is_empty());
        assert!(s.config_get(Agent, "a2").await.unwrap().is_some());
    }

    pub async fn lists_page_in_id_order<S: Store>(s: &S) {
        for id in ["c", "a", "e", "b", "d"] {
            s.config_put(doc(Team, id, id)).await.unwrap();
        }
        s.config_put(doc(Queue, "aa", "other kind")).await.unwrap();
        let ids = |docs: Vec<engine::store::ConfigDoc>| {
            docs.into_iter().map(|d| d.id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(s.config_list(Team, None, 2).await.unwrap()),
            vec!["a", "b"]
        );
        assert_eq!(
            ids(s.config_list(Team, Some("b"), 2).await.unwrap()),
            vec!["c", "d"]
        );
        assert_eq!(
            ids(s.config_list(Team, Some("d"), 2).await.unwrap()),
            vec!["e"]
        );
        assert!(s.config_list(Team, Some("e"), 2).await.unwrap().is_empty());
        // A cursor id that no longer exists still continues after it.
        assert_eq!(
            ids(s.config_list(Team, Some("bb"), 10).await.unwrap()),
            vec!["c", "d", "e"]
        );
        assert_eq!(
            ids(s.config_list(Queue, None, 10).await.unwrap()),
            vec!["aa"]
        );
    }

    pub(super) fn commit(id: &str, body: &str) -> ConversationCommit {
        ConversationCommit {
            id: id.to_owned(),
            number_id: "n1".into(),
            customer: "+15550001111".into(),
            body: Some(body.to_owned()),
            closed: false,
            message: None,
            routing: None,
            provider_message_id: None,
            events: Vec::new(),
            timers: Vec::new(),
            outbox: None,
            counters: None,
            guard: OpenGuard::None,
        }
    }

    pub async fn routing_history_keeps_the_newest_decisions_in_order<S: Store>(s: &S) {
        let cap = engine::store::ROUTING_HISTORY_CAP;
        for n in 0..cap + 2 {
            let commit = ConversationCommit {
                body: None,
                routing: Some(format!("{{\"n\":{n}}}")),
                ..commit("c1", "")
            };
            s.conversation_commit(commit).await.unwrap();
        }
        let history = s.conversation_routing("c1").await.unwrap();
        assert_eq!(history.len(), cap);
        assert_eq!(history[0], "{\"n\":2}");
        assert_eq!(history[cap - 1], format!("{{\"n\":{}}}", cap + 1));
        assert!(s.conversation_routing("c2").await.unwrap().is_empty());
    }

    fn event(kind: &str, at: i64) -> NewEvent {
        NewEvent {
            kind: kind.to_owned(),
            at,
            data: format!("{{\"kind\":\"{kind}\"}}"),
        }
    }

    fn stored(outcome: CommitOutcome) -> Vec<u64> {
        match outcome {
            CommitOutcome::Stored { event_ids, .. } => event_ids,
            other => panic!("stored expected, got {other:?}"),
        }
    }

    /// A customer's text is committed to the conversation the engine believes open, or to a
    /// new one it claims, and the store checks the belief with the write: a wrong one stores
    /// nothing and names the customer's open conversation.
    pub async fn guarded_commits_store_only_where_the_customer_is<S: Store>(s: &S) {
        let texted = |id: &str, guard: OpenGuard| {
            let mut c = commit(id, &format!("{id}-doc"));
            c.message = Some(format!("{{\"to\":\"{id}\"}}"));
            c.events = vec![event("message.received", 10)];
            c.guard = guard;
            c
        };
        // Nothing open: holding fails, a claim opens c1.
        assert_eq!(
            s.conversation_commit(texted("c1", OpenGuard::Holds))
                .await
                .unwrap(),
            CommitOutcome::Taken { holder: None }
        );
        assert_eq!(s.conversation_get("c1").await.unwrap(), None);
        assert_eq!(
            stored(
                s.conversation_commit(texted("c1", OpenGuard::Claim))
                    .await
                    .unwrap()
            )
            .len(),
            1
        );
        assert_eq!(
            s.conversation_open_or_get("n1", "+15550001111", "cX")
                .await
                .unwrap(),
            ("c1".into(), false),
            "the claim opened c1 for the customer and number"
        );
        // A second claim (another process's) loses to c1 and stores nothing.
        assert_eq!(
            s.conversation_commit(texted("c2", OpenGuard::Claim))
                .await
                .unwrap(),
            CommitOutcome::Taken {
                holder: Some("c1".into())
            }
        );
        assert_eq!(s.conversation_get("c2").await.unwrap(), None);
        assert!(
            s.conversation_messages("c2", 0, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // Holding c1 (and claiming it again) stores.
        stored(
            s.conversation_commit(texted("c1", OpenGuard::Holds))
                .await
                .unwrap(),
        );
        stored(
            s.conversation_commit(texted("c1", OpenGuard::Claim))
                .await
                .unwrap(),
        );
        assert_eq!(s.conversation_messages("c1", 0, 10).await.unwrap().len(), 3);
        // A refused commit does not use up its provider message id.
        let mut retried = texted("c2", OpenGuard::Holds);
        retried.provider_message_id = Some("SM-guarded".into());
        assert!(matches!(
            s.conversation_commit(retried.clone()).await.unwrap(),
            CommitOutcome::Taken { .. }
        ));
        retried.id = "c1".into();
        stored(s.conversation_commit(retried).await.unwrap());
        // Once c1 closes, holding it fails and a claim opens the next one.
        let mut closing = commit("c1", "closed");
        closing.closed = true;
        s.conversation_commit(closing).await.unwrap();
        assert_eq!(
            s.conversation_commit(texted("c1", OpenGuard::Holds))
                .await
                .unwrap(),
            CommitOutcome::Taken { holder: None }
        );
        stored(
            s.conversation_commit(texted("c3", OpenGuard::Claim))
                .await
                .unwrap(),
        );
        assert_eq!(s.conversations_open().await.unwrap(), vec!["c3"]);
    }

    pub async fn one_open_conversation_per_customer_and_number<S: Store>(s: &S) {
        assert_eq!(
            s.conversation_open_or_get("n1", "+1555", "c1")
                .await
                .unwrap(),
            ("c1".into(), true)
        );
        assert_eq!(
            s.conversation_open_or_get("n1", "+1555", "c2")
                .await
                .unwrap(),
            ("c1".into(), false)
        );
        assert_eq!(
            s.conversation_open_or_get("n2", "+1555", "c3")
                .await
                .unwrap(),
            ("c3".into(), true)
        );
        // Closing c1 frees the pair: the customer's next text opens a new conversation.
        let mut closing = commit("c1", "closed");
        closing.customer = "+1555".into();
        closing.closed = true;
        s.conversation_commit(closing).await.unwrap();
        assert_eq!(
            s.conversation_open_or_get("n1", "+1555", "c4")
                .await
                .unwrap(),
            ("c4".into(), true)
        );
    }

    pub async fn commit_stores_document_thread_and_events_in_order<S: Store>(s: &S) {
        let mut first = commit("c1", "v1");
        first.message = Some("m1".into());
        first.events = vec![
            event("conversation.created", 10),
            event("message.received", 10),
        ];
        assert_eq!(
            stored(s.conversation_commit(first).await.unwrap()),
            vec![1, 2]
        );
        let mut second = commit("c1", "v2");
        second.message = Some("m2".into());
        second.events = vec![event("message.received", 20)];
        assert_eq!(
            stored(s.conversation_commit(second).await.unwrap()),
            vec![3]
        );

        assert_eq!(s.conversation_get("c1").await.unwrap().unwrap().body, "v2");
        assert_eq!(s.conversation_get("nope").await.unwrap(), None);
        let many = s
            .conversations_get(&["nope".into(), "c1".into(), "c1".into()])
            .await
            .unwrap();
        let many: Vec<(&str, &str)> = many
            .iter()
            .map(|d| (d.id.as_str(), d.body.as_str()))
            .collect();
        assert_eq!(many, [("c1", "v2"), ("c1", "v2")]);
        assert!(s.conversations_get(&[]).await.unwrap().is_empty());
        assert_eq!(
            s.conversation_messages("c1", 0, 10).await.unwrap(),
            vec!["m1", "m2"]
        );
        assert_eq!(
            s.conversation_messages("c1", 1, 10).await.unwrap(),
            vec!["m2"]
        );
        assert_eq!(
            s.conversation_messages("c1", 0, 1).await.unwrap(),
            vec!["m1"]
        );
        let after_one: Vec<(u64, String, i64)> = s
            .events_after(1, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.id, e.kind, e.at))
            .collect();
        assert_eq!(
            after_one,
            vec![
                (2, "message.received".into(), 10),
                (3, "message.received".into(), 20)
            ]
        );
        assert_eq!(
            s.events_after(0, 1).await.unwrap()[0].data,
            r#"{"kind":"conversation.created"}"#
        );
        assert!(s.events_after(3, 10).await.unwrap().is_empty());
        assert_eq!(s.events_oldest().await.unwrap(), Some(1));
        assert_eq!(s.conversations_open().await.unwrap(), vec!["c1"]);
    }

    pub async fn a_commit_without_a_document_journals_and_counts_only<S: Store>(s: &S) {
        let mut opening = commit("c1", "v1");
        opening.customer = "+1555".into();
        s.conversation_commit(opening).await.unwrap();
        let mut offer = commit("c1", "ignored");
        offer.body = None;
        offer.customer = "+1555".into();
        // `closed` is not looked at without a document: the conversation stays open.
        offer.closed = true;
        offer.events = vec![event("offer.created", 20)];
        offer.counters = Some(engine::store::CounterBump {
            scope: "queue:q1".into(),
            day: "2026-12-01".into(),
            fields: vec!["created".into()],
        });
        assert_eq!(stored(s.conversation_commit(offer).await.unwrap()), vec![1]);
        assert_eq!(s.conversation_get("c1").await.unwrap().unwrap().body, "v1");
        assert_eq!(s.conversations_open().await.unwrap(), vec!["c1"]);
        assert_eq!(
            s.conversation_open_or_get("n1", "+1555", "c2")
                .await
                .unwrap(),
            ("c1".into(), false)
        );
        let counts = s.counters("queue:q1", "2026-12-01").await.unwrap();
        assert_eq!(counts.get("created"), Some(&1));
        // Nor does it bring a conversation into being.
        let mut stray = commit("c9", "");
        stray.body = None;
        stray.events = vec![event("offer.ended", 30)];
        s.conversation_commit(stray).await.unwrap();
        assert_eq!(s.conversation_get("c9").await.unwrap(), None);
        assert_eq!(s.conversations_open().await.unwrap(), vec!["c1"]);
    }

    /// Redis answers its catalog's version with every commit (other processes' configuration
    /// changes reach a server's caches that way); the memory store, one process's own, has
    /// nothing to tell.
    pub async fn commits_answer_the_catalog_version<S: Store>(s: &S) {
        let version = |outcome: CommitOutcome| match outcome {
            CommitOutcome::Stored {
                catalog_version, ..
            } => catalog_version,
            other => panic!("stored expected, got {other:?}"),
        };
        let before = version(s.conversation_commit(commit("c1", "v1")).await.unwrap());
        s.config_put(doc(Team, "t1", "{}")).await.unwrap();
        let after_put = version(s.conversation_commit(commit("c1", "v2")).await.unwrap());
        s.config_delete(Team, "t1").await.unwrap();
        let after_delete = version(s.conversation_commit(commit("c1", "v3")).await.unwrap());
        // A refused write changes nothing, the version included.
        s.config_delete(Team, "t1").await.unwrap_err();
        let after_refusal = version(s.conversation_commit(commit("c1", "v4")).await.unwrap());
        match (before, after_put, after_delete, after_refusal) {
            (Some(b), Some(p), Some(d), Some(r)) => {
                assert!(b < p && p < d && d == r, "{b} {p} {d} {r}")
            }
            (None, None, None, None) => {}
            other => panic!("the catalog version comes always or never: {other:?}"),
        }
    }

    pub async fn appended_events_share_the_journal_numbering<S: Store>(s: &S) {
        assert_eq!(s.events_last().await.unwrap(), 0);
        let mut first = commit("c1", "v1");
        first.events = vec![event("conversation.created", 10)];
        assert_eq!(stored(s.conversation_commit(first).await.unwrap()), vec![1]);
        let ids = s
            .events_append(vec![event("agent.updated", 11), event("agent.updated", 12)])
            .await
            .unwrap();
        assert_eq!(ids, vec![2, 3]);
        assert!(s.events_append(Vec::new()).await.unwrap().is_empty());
        let kinds: Vec<String> = s
            .events_after(0, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec!["conversation.created", "agent.updated", "agent.updated"]
        );
        assert_eq!(s.events_last().await.unwrap(), 3);
    }

    pub async fn runtime_state_is_kept_by_kind_and_id<S: Store>(s: &S) {
        let ids = s
            .runtime_put(
                "agent",
                "b",
                "{\"presence\":\"away\"}",
                vec![event("agent.updated", 1)],
            )
            .await
            .unwrap();
        assert_eq!(ids, vec![1], "the event is journaled with the state");
        s.runtime_put("agent", "a", "{\"presence\":\"available\"}", Vec::new())
            .await
            .unwrap();
        s.runtime_put(
            "agent",
            "a",
            "{\"presence\":\"offline\"}",
            vec![event("agent.updated", 2)],
        )
        .await
        .unwrap();
        s.runtime_put("other", "a", "x", Vec::new()).await.unwrap();
        assert_eq!(s.events_after(0, 10).await.unwrap().len(), 2);
        assert_eq!(
            s.runtime_all("agent").await.unwrap(),
            vec![
                ("a".into(), "{\"presence\":\"offline\"}".into()),
                ("b".into(), "{\"presence\":\"away\"}".into())
            ]
        );
        assert!(s.runtime_all("none").await.unwrap().is_empty());
        assert_eq!(
            s.runtime_get("agent", "b").await.unwrap().as_deref(),
            Some("{\"presence\":\"away\"}")
        );
        assert_eq!(s.runtime_get("agent", "zz").await.unwrap(), None);
        assert_eq!(s.runtime_get("none", "a").await.unwrap(), None);
    }

    pub async fn chat_threads_keep_their_newest_entries_and_journal_events<S: Store>(s: &S) {
        for i in 1..=4 {
            let ids = s
                .chat_append("a|b", &format!("m{i}"), 3, vec![event("chat.message", i)])
                .await
                .unwrap();
            assert_eq!(ids, vec![i as u64]);
        }
        assert_eq!(
            s.chat_messages("a|b", 0, 10).await.unwrap(),
            ["m2", "m3", "m4"]
        );
        assert_eq!(s.chat_messages("a|b", 1, 1).await.unwrap(), ["m3"]);
        assert!(s.chat_messages("a|c", 0, 10).await.unwrap().is_empty());
        assert_eq!(s.events_last().await.unwrap(), 4);
    }

    pub async fn idempotency_keys_are_claimed_once_and_answer_later_callers<S: Store>(s: &S) {
        assert_eq!(
            s.idempotency_begin("k1", "pending", 60_000).await.unwrap(),
            None
        );
        assert_eq!(
            s.idempotency_begin("k1", "other", 60_000)
                .await
                .unwrap()
                .as_deref(),
            Some("pending")
        );
        s.idempotency_finish("k1", "answer", 60).await.unwrap();
        assert_eq!(
            s.idempotency_begin("k1", "pending", 60_000)
                .await
                .unwrap()
                .as_deref(),
            Some("answer")
        );
        // Released: the next caller claims it afresh.
        assert_eq!(
            s.idempotency_begin("k2", "pending", 60_000).await.unwrap(),
            None
        );
        s.idempotency_release("k2").await.unwrap();
        assert_eq!(
            s.idempotency_begin("k2", "again", 60_000).await.unwrap(),
            None
        );
        // A lapsed lease frees the key.
        assert_eq!(s.idempotency_begin("k3", "pending", 1).await.unwrap(), None);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(
            s.idempotency_begin("k3", "retry", 60_000).await.unwrap(),
            None
        );
    }

    pub async fn conversations_page_in_id_order_open_and_closed<S: Store>(s: &S) {
        for (i, id) in ["c3", "c1", "c2"].into_iter().enumerate() {
            let mut c = commit(id, id);
            c.customer = format!("+1555000000{i}");
            c.closed = id == "c1";
            s.conversation_commit(c).await.unwrap();
        }
        // A second commit of one conversation does not list it twice.
        let mut again = commit("c2", "c2-v2");
        again.customer = "+15550000002".into();
        s.conversation_commit(again).await.unwrap();
        let ids = |docs: Vec<engine::store::ConversationDoc>| {
            docs.into_iter().map(|d| (d.id, d.body)).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(s.conversations_page(None, 2).await.unwrap()),
            vec![("c1".into(), "c1".into()), ("c2".into(), "c2-v2".into())]
        );
        assert_eq!(
            ids(s.conversations_page(Some("c2"), 10).await.unwrap()),
            vec![("c3".into(), "c3".into())]
        );
        assert!(
            s.conversations_page(Some("c3"), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    pub async fn repeated_provider_message_is_stored_once<S: Store>(s: &S) {
        let mut first = commit("c1", "v1");
        first.message = Some("hello".into());
        first.provider_message_id = Some("SM123".into());
        first.events = vec![event("message.received", 10)];
        stored(s.conversation_commit(first.clone()).await.unwrap());
        let mut retry = first;
        retry.body = Some("v2".into());
        assert_eq!(
            s.conversation_commit(retry.clone()).await.unwrap(),
            CommitOutcome::Duplicate {
                original: Some("c1".into())
            }
        );
        // A retry arriving for another conversation (the first closed meanwhile) is still a
        // duplicate, and names the conversation that has the message.
        retry.id = "c2".into();
        assert_eq!(
            s.conversation_commit(retry).await.unwrap(),
            CommitOutcome::Duplicate {
                original: Some("c1".into())
            }
        );
        assert_eq!(s.conversation_get("c2").await.unwrap(), None);
        assert_eq!(s.conversation_get("c1").await.unwrap().unwrap().body, "v1");
        assert_eq!(
            s.conversation_messages("c1", 0, 10).await.unwrap(),
            vec!["hello"]
        );
        assert_eq!(s.events_after(0, 10).await.unwrap().len(), 1);
    }

    pub async fn timers_arm_move_disarm_and_come_due_in_order<S: Store>(s: &S) {
        let arm = |kind: &str, at| TimerChange::Arm {
            kind: kind.to_owned(),
            at,
        };
        let mut a = commit("ca", "a");
        a.timers = vec![arm("public_minutes", 500), arm("wake_up", 300)];
        s.conversation_commit(a).await.unwrap();
        let mut b = commit("cb", "b");
        b.customer = "+15550002222".into();
        b.timers = vec![arm("public_minutes", 100)];
        s.conversation_commit(b).await.unwrap();
        let due = |v: Vec<engine::store::DueTimer>| {
            v.into_iter()
                .map(|t| (t.conversation, t.kind, t.at))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            due(s.timers_due(400, 10).await.unwrap()),
            vec![
                ("cb".into(), "public_minutes".into(), 100),
                ("ca".into(), "wake_up".into(), 300)
            ]
        );
        assert_eq!(due(s.timers_due(400, 1).await.unwrap()).len(), 1);
        // Re-arming moves the timer; disarming removes it.
        let mut a = commit("ca", "a2");
        a.timers = vec![
            arm("wake_up", 900),
            TimerChange::Disarm {
                kind: "public_minutes".into(),
            },
        ];
        s.conversation_commit(a).await.unwrap();
        assert_eq!(
            due(s.timers_due(1_000, 10).await.unwrap()),
            vec![
                ("cb".into(), "public_minutes".into(), 100),
                ("ca".into(), "wake_up".into(), 900)
            ]
        );
        assert!(s.timers_due(50, 10).await.unwrap().is_empty());
    }

    fn outboxed(id: &str, message_id: &str) -> ConversationCommit {
        let mut c = commit(id, "v");
        c.message = Some(format!("{{\"id\":\"{message_id}\"}}"));
        c.outbox = Some(OutboxItem {
            message_id: message_id.to_owned(),
            record: format!("record-{message_id}-0"),
        });
        c
    }

    pub async fn the_outbox_keeps_commit_order_until_settled<S: Store>(s: &S) {
        assert!(s.outbox_pending().await.unwrap().is_empty());
        for (conversation, message) in [("c1", "m1"), ("c2", "m2"), ("c1", "m3")] {
            s.conversation_commit(outboxed(conversation, message))
                .await
                .unwrap();
        }
        assert_eq!(
            s.outbox_pending().await.unwrap(),
            ["record-m1-0", "record-m2-0", "record-m3-0"]
        );
        // A change that keeps it in the outbox (a retry) keeps its place.
        let retry = DeliveryWrite {
            message_id: "m1".into(),
            record: "record-m1-1".into(),
            settled: false,
            provider_message_id: None,
            events: Vec::new(),
        };
        assert!(s.delivery_put(retry).await.unwrap().is_empty());
        assert_eq!(
            s.outbox_pending().await.unwrap(),
            ["record-m1-1", "record-m2-0", "record-m3-0"]
        );
        // Settled: out of the outbox, found by the provider's id, its event journaled.
        let settled = DeliveryWrite {
            message_id: "m2".into(),
            record: "record-m2-1".into(),
            settled: true,
            provider_message_id: Some("SM2".into()),
            events: vec![event("message.status", 5)],
        };
        let ids = s.delivery_put(settled).await.unwrap();
        assert_eq!(ids.len(), 1);
        let journaled = s.events_after(ids[0] - 1, 10).await.unwrap();
        assert_eq!(journaled[0].kind, "message.status");
        assert_eq!(
            s.outbox_pending().await.unwrap(),
            ["record-m1-1", "record-m3-0"]
        );
        assert_eq!(
            s.delivery_by_provider_id("SM2").await.unwrap().as_deref(),
            Some("m2")
        );
        assert_eq!(s.delivery_by_provider_id("SM9").await.unwrap(), None);
        assert_eq!(
            s.deliveries(&["m2".into(), "nope".into(), "m3".into()])
                .await
                .unwrap(),
            [Some("record-m2-1".into()), None, Some("record-m3-0".into())]
        );
        assert!(s.deliveries(&[]).await.unwrap().is_empty());
    }

    pub async fn a_duplicate_commit_puts_nothing_in_the_outbox<S: Store>(s: &S) {
        let mut first = outboxed("c1", "m1");
        first.provider_message_id = Some("p1".into());
        s.conversation_commit(first).await.unwrap();
        let mut again = outboxed("c1", "m1b");
        again.provider_message_id = Some("p1".into());
        assert_eq!(
            s.conversation_commit(again).await.unwrap(),
            CommitOutcome::Duplicate {
                original: Some("c1".into())
            }
        );
        assert_eq!(s.outbox_pending().await.unwrap(), ["record-m1-0"]);
    }

    pub async fn daily_counters_grow_with_their_commits_only<S: Store>(s: &S) {
        use engine::store::CounterBump;
        let bump = |fields: &[&str]| CounterBump {
            scope: "queue:q1".into(),
            day: "2026-12-01".into(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        };
        assert!(
            s.counters("queue:q1", "2026-12-01")
                .await
                .unwrap()
                .is_empty()
        );
        let mut first = commit("c1", "{}");
        first.counters = Some(bump(&["created"]));
        first.provider_message_id = Some("p1".into());
        s.conversation_commit(first).await.unwrap();
        let mut second = commit("c2", "{}");
        second.counters = Some(bump(&["created", "accepted"]));
        s.conversation_commit(second).await.unwrap();
        // A duplicate commit changes nothing, its counters included.
        let mut again = commit("c1", "{}");
        again.counters = Some(bump(&["created"]));
        again.provider_message_id = Some("p1".into());
        assert_eq!(
            s.conversation_commit(again).await.unwrap(),
            CommitOutcome::Duplicate {
                original: Some("c1".into())
            }
        );
        let counts = s.counters("queue:q1", "2026-12-01").await.unwrap();
        assert_eq!(counts.get("created"), Some(&2));
        assert_eq!(counts.get("accepted"), Some(&1));
        assert_eq!(counts.len(), 2);
        // Other days and scopes are apart.
        assert!(
            s.counters("queue:q1", "2026-12-02")
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            s.counters("queue:q2", "2026-12-01")
                .await
                .unwrap()
                .is_empty()
        );
    }
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    super::cases::$case(&engine::store::MemoryStore::new()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $case() {
                    super::cases::$case(&super::redis_store()).await;
                }
            )*
        }
    };
}

contract!(
    ping_answers,
    created_document_reads_back_at_revision_one,
    creating_an_existing_id_is_refused,
    update_needs_the_current_revision,
    updating_a_missing_document_is_not_found,
    missing_reference_refuses_the_write,
    unique_values_belong_to_one_document,
    referenced_document_cannot_be_deleted,
    moving_a_reference_releases_the_old_target,
    deleting_releases_unique_values_and_references,
    owned_documents_go_with_their_owner,
    lists_page_in_id_order,
    one_open_conversation_per_customer_and_number,
    guarded_commits_store_only_where_the_customer_is,
    commit_stores_document_thread_and_events_in_order,
    repeated_provider_message_is_stored_once,
    appended_events_share_the_journal_numbering,
    a_commit_without_a_document_journals_and_counts_only,
    commits_answer_the_catalog_version,
    runtime_state_is_kept_by_kind_and_id,
    conversations_page_in_id_order_open_and_closed,
    idempotency_keys_are_claimed_once_and_answer_later_callers,
    chat_threads_keep_their_newest_entries_and_journal_events,
    routing_history_keeps_the_newest_decisions_in_order,
    timers_arm_move_disarm_and_come_due_in_order,
    the_outbox_keeps_commit_order_until_settled,
    a_duplicate_commit_puts_nothing_in_the_outbox,
    daily_counters_grow_with_their_commits_only,
);

/// Redis, shared by every server process, does answer a version (the contract case accepts a
/// store that never does).
#[tokio::test]
async fn redis_commits_answer_a_catalog_version() {
    let s = redis_store();
    let stored = s
        .conversation_commit(cases::commit("c1", "v1"))
        .await
        .unwrap();
    assert!(
        matches!(
            stored,
            CommitOutcome::Stored {
                catalog_version: Some(_),
                ..
            }
        ),
        "{stored:?}"
    );
}
