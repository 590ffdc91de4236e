//! The verdicts that matter more than speed, from the generator's own records and the
//! server's API after the run: nothing acknowledged was lost or stored twice, every reply
//! reached the provider exactly once and in order, nothing reached a customer after their
//! STOP was acknowledged. (The observer checks offers, owners and capacity as events come.)
//! Each violation names its ids; any makes the run fail.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::admin::Admin;
use crate::records::{Keyword, Receipt, Records, SentReply};

/// A hand-off already on the wire when a STOP is acknowledged may still arrive: texts reaching
/// the provider within this long after the acknowledgement are not held against the server.
pub const IN_FLIGHT_ALLOWANCE: Duration = Duration::from_secs(1);

/// Something that must never happen, and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Which check (`lost`, `duplicated`, `reply_lost`, ...: [`crate::VERDICT_CHECKS`]).
    pub check: String,
    /// What happened, with ids.
    pub detail: String,
}

/// Acknowledged customer texts against what the threads hold: each exactly once.
/// `stored` counts each provider message id in the run's threads.
pub fn texts_stored_once(records: &Records, stored: &HashMap<String, u32>) -> Vec<Violation> {
    let texts = records.texts.lock().map(|t| t.clone()).unwrap_or_default();
    let mut violations = Vec::new();
    for text in texts.iter().filter(|t| t.acked) {
        match stored.get(&text.sid).copied().unwrap_or(0) {
            1 => {}
            0 => violations.push(Violation {
                check: "lost".into(),
                detail: format!(
                    "{} from {} to {} was acknowledged and is in no thread",
                    text.sid, text.customer, text.number
                ),
            }),
            n => violations.push(Violation {
                check: "duplicated".into(),
                detail: format!("{} from {} is stored {n} times", text.sid, text.customer),
            }),
        }
    }
    violations
}

/// Replies against what the provider took: per customer and number, the provider's final
/// answers (taken, or refused for good) hold every acknowledged reply exactly once; and per
/// conversation they came in the order the replies were acknowledged. Replies Switchboard
/// failed because the customer had opted out are not expected to arrive. (Bodies that several
/// conversations of one customer share — a template — count for exactly-once, not order.)
pub fn replies_sent_once_in_order(
    replies: &[SentReply],
    receipts: &[Receipt],
    opted_out: &HashSet<String>,
) -> Vec<Violation> {
    let mut expected: BTreeMap<(String, String), Vec<&SentReply>> = BTreeMap::new();
    for reply in replies
        .iter()
        .filter(|r| !opted_out.contains(&r.message_id))
    {
        expected
            .entry((reply.customer.clone(), reply.number.clone()))
            .or_default()
            .push(reply);
    }
    let count = |list: &[&str], body: &str| list.iter().filter(|b| **b == body).count();
    let mut violations = Vec::new();
    for ((customer, number), mut sent) in expected {
        sent.sort_by_key(|r| r.acked);
        let bodies: HashSet<&str> = sent.iter().map(|r| r.body.as_str()).collect();
        let arrived: Vec<&str> = receipts
            .iter()
            .filter(|r| r.to == customer && r.from == number)
            .filter(|r| r.answered == 201 || r.answered == 400)
            .map(|r| r.body.as_str())
            .filter(|b| bodies.contains(b))
            .collect();
        let wanted: Vec<&str> = sent.iter().map(|r| r.body.as_str()).collect();
        let mut judged = HashSet::new();
        for reply in &sent {
            if !judged.insert(reply.body.as_str()) {
                continue;
            }
            let (want, got) = (count(&wanted, &reply.body), count(&arrived, &reply.body));
            let check = match got.cmp(&want) {
                std::cmp::Ordering::Equal => continue,
                std::cmp::Ordering::Less => "reply_lost",
                std::cmp::Ordering::Greater => "reply_duplicated",
            };
            violations.push(Violation {
                check: check.into(),
                detail: format!(
                    "{} in {} (to {customer}) reached the provider {got} times, {want} expected",
                    reply.message_id, reply.conversation_id
                ),
            });
        }
        // Order, per conversation, over the bodies only that conversation sent.
        let mut owners: HashMap<&str, HashSet<&str>> = HashMap::new();
        for reply in &sent {
            owners
                .entry(reply.body.as_str())
                .or_default()
                .insert(reply.conversation_id.as_str());
        }
        let mut conversations: Vec<&str> =
            sent.iter().map(|r| r.conversation_id.as_str()).collect();
        conversations.dedup();
        let mut seen_conversations = HashSet::new();
        for conversation in conversations {
            if !seen_conversations.insert(conversation) {
                continue;
            }
            let own = |body: &&str| {
                owners
                    .get(body)
                    .is_some_and(|o| o.len() == 1 && o.contains(conversation))
            };
            let wanted_here: Vec<&str> = sent
                .iter()
                .filter(|r| r.conversation_id == conversation)
                .map(|r| r.body.as_str())
                .filter(own)
                .collect();
            let arrived_here: Vec<&str> = arrived.iter().copied().filter(own).collect();
            let same_counts = wanted_here
                .iter()
                .all(|b| count(&wanted_here, b) == count(&arrived_here, b));
            if same_counts && wanted_here != arrived_here {
                violations.push(Violation {
                    check: "reply_out_of_order".into(),
                    detail: format!("replies in {conversation} (to {customer}) reached the provider out of order"),
                });
            }
        }
    }
    violations
}

/// For each reply, how long from its post to the provider taking it (the first final answer
/// to the same customer, from the same number, with the same body, not matched before).
pub fn handoff_latencies(replies: &[SentReply], receipts: &[Receipt]) -> Vec<Duration> {
    let mut used = vec![false; receipts.len()];
    let mut sorted: Vec<&SentReply> = replies.iter().collect();
    sorted.sort_by_key(|r| r.posted);
    let mut latencies = Vec::new();
    for reply in sorted {
        let found = receipts.iter().enumerate().find(|(i, r)| {
            !used[*i]
                && (r.answered == 201 || r.answered == 400)
                && r.to == reply.customer
                && r.from == reply.number
                && r.body == reply.body
                && r.at >= reply.posted
        });
        if let Some((i, receipt)) = found {
            used[i] = true;
            latencies.push(receipt.at - reply.posted);
        }
    }
    latencies
}

/// No text reached a customer after their STOP was acknowledged, unless a START of theirs may
/// have taken effect after that STOP: one sent before the text arrived and answered after the
/// STOP was sent (or never answered) — in flight together, the two may be applied in either
/// order, and a START applied between the STOP's opt-out and its (slow) acknowledgement lifts
/// it. Only what the server promised is held against it.
pub fn nothing_after_stop(records: &Records, receipts: &[Receipt]) -> Vec<Violation> {
    let keywords = records
        .keywords
        .lock()
        .map(|k| k.clone())
        .unwrap_or_default();
    let mut violations = Vec::new();
    for receipt in receipts.iter().filter(|r| r.answered == 201) {
        let Some(history) = keywords.get(&receipt.to) else {
            continue;
        };
        let cutoff = receipt.at.saturating_sub(IN_FLIGHT_ALLOWANCE);
        let last_stop = history.iter().rev().find_map(|(k, at)| match k {
            Keyword::Stop { sent } if *at <= cutoff => Some((*sent, *at)),
            _ => None,
        });
        if let Some((stop_sent, stopped)) = last_stop
            && !history.iter().any(|(k, sent)| match k {
                Keyword::Start { answered } => {
                    *sent <= receipt.at && answered.is_none_or(|a| a > stop_sent)
                }
                Keyword::Stop { .. } => false,
            })
        {
            violations.push(Violation {
                check: "sent_after_stop".into(),
                detail: format!(
                    "a text reached the provider for {} at {:.3}s, after their STOP was acknowledged at {:.3}s",
                    receipt.to,
                    receipt.at.as_secs_f64(),
                    stopped.as_secs_f64()
                ),
            });
        }
    }
    violations
}

/// Every customer text (by provider message id) in the threads of the run's queues, counted,
/// reading them through the API `parallel` conversations at a time. The list is read page by
/// page while the server may still be working (an overloaded one catches up after the run), so
/// a conversation whose activity moves during the reading can be missed: texts not found on
/// this pass get a second look through their customers' histories
/// ([`texts_of_customers`]).
pub struct Stored {
    /// How often each provider message id is stored.
    pub counts: HashMap<String, u32>,
    /// The conversations read.
    pub read: HashSet<String>,
}

/// The first pass: every conversation the run's queues list.
pub async fn stored_texts(
    admin: &Admin,
    queues: &[String],
    parallel: usize,
) -> anyhow::Result<Stored> {
    let mut conversations = Vec::new();
    for queue in queues {
        let path = format!("/v1/conversations?view=all&queue={queue}&limit=200");
        conversations.extend(conversation_ids(admin, &path).await?);
    }
    let mut stored = Stored {
        counts: HashMap::new(),
        read: HashSet::new(),
    };
    read_threads(admin, conversations, parallel, &mut stored).await?;
    Ok(stored)
}

/// The second look: the conversations of `customers` not read yet.
pub async fn texts_of_customers(
    admin: &Admin,
    customers: &[String],
    parallel: usize,
    stored: &mut Stored,
) -> anyhow::Result<()> {
    let mut conversations = Vec::new();
    for customer in customers {
        let phone = customer.replace('+', "%2B");
        let path = format!("/v1/contacts/{phone}/conversations?limit=200");
        // A customer none of whose conversations the list has (404) simply has none.
        if let Ok(ids) = conversation_ids(admin, &path).await {
            conversations.extend(ids);
        }
    }
    read_threads(admin, conversations, parallel, stored).await
}

/// Every conversation id of a paged conversation list (`path` without its cursor).
async fn conversation_ids(admin: &Admin, path: &str) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_path = match &cursor {
            Some(cursor) => format!("{path}&cursor={cursor}"),
            None => path.to_owned(),
        };
        let page = admin.get_as(None, &page_path).await?;
        for item in page["items"].as_array().into_iter().flatten() {
            if let Some(id) = item["id"].as_str() {
                ids.push(id.to_owned());
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(ids),
        }
    }
}

async fn read_threads(
    admin: &Admin,
    conversations: Vec<String>,
    parallel: usize,
    stored: &mut Stored,
) -> anyhow::Result<()> {
    let fresh: Vec<String> = conversations
        .into_iter()
        .filter(|c| stored.read.insert(c.clone()))
        .collect();
    let threads = futures_util::stream::iter(fresh)
        .map(|id| async move { thread_ids(admin, &id).await })
        .buffer_unordered(parallel.max(1))
        .collect::<Vec<_>>()
        .await;
    for ids in threads {
        for id in ids? {
            *stored.counts.entry(id).or_default() += 1;
        }
    }
    Ok(())
}

async fn thread_ids(admin: &Admin, conversation: &str) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::new();
    let mut from = 0;
    loop {
        let page = admin
            .get_as(
                None,
                &format!("/v1/conversations/{conversation}/messages?from={from}&limit=200"),
            )
            .await?;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        for item in &items {
            if item["direction"] == "inbound"
                && let Some(id) = item["provider_message_id"].as_str()
            {
                ids.push(id.trim_start_matches("twilio:").to_owned());
            }
        }
        if items.len() < 200 {
            return Ok(ids);
        }
        from += items.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::SentText;

    fn reply(body: &str, at: u64) -> SentReply {
        SentReply {
            conversation_id: "cv_1".into(),
            message_id: format!("m{at}"),
            customer: "+1".into(),
            number: "+2".into(),
            body: body.into(),
            posted: Duration::from_millis(at),
            acked: Duration::from_millis(at),
        }
    }

    fn receipt(body: &str, at: u64, answered: u16) -> Receipt {
        Receipt {
            to: "+1".into(),
            from: "+2".into(),
            body: body.into(),
            at: Duration::from_millis(at),
            answered,
        }
    }

    fn checks(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|v| v.check.as_str()).collect()
    }

    #[test]
    fn replies_once_in_order_pass_and_every_fault_is_named() {
        let sent = [reply("a", 1), reply("b", 2)];
        let none = HashSet::new();
        let ok = [
            receipt("a", 5, 429),
            receipt("a", 6, 201),
            receipt("help", 7, 201),
            receipt("b", 8, 201),
        ];
        assert!(replies_sent_once_in_order(&sent, &ok, &none).is_empty());
        let twice = [
            receipt("a", 6, 201),
            receipt("a", 7, 201),
            receipt("b", 8, 201),
        ];
        assert_eq!(
            checks(&replies_sent_once_in_order(&sent, &twice, &none)),
            ["reply_duplicated"]
        );
        let lost = [receipt("b", 8, 201)];
        assert_eq!(
            checks(&replies_sent_once_in_order(&sent, &lost, &none)),
            ["reply_lost"]
        );
        let swapped = [receipt("b", 6, 201), receipt("a", 8, 201)];
        assert_eq!(
            checks(&replies_sent_once_in_order(&sent, &swapped, &none)),
            ["reply_out_of_order"]
        );
        let opted_out: HashSet<String> = ["m2".to_owned()].into();
        assert!(replies_sent_once_in_order(&sent, &ok[..2], &opted_out).is_empty());
    }

    #[test]
    fn stop_holds_until_start_beyond_the_in_flight_allowance() {
        let records = Records::default();
        let stop = |sent: u64| Keyword::Stop {
            sent: Duration::from_secs(sent),
        };
        records.keyword("+1", stop(9), Duration::from_secs(10));
        let start = |answered: Option<u64>| Keyword::Start {
            answered: answered.map(Duration::from_secs),
        };
        records.keyword("+1", start(Some(21)), Duration::from_secs(20));
        let at = |s: f64| receipt("x", (s * 1000.0) as u64, 201);
        assert!(nothing_after_stop(&records, &[at(9.0), at(10.5), at(20.5)]).is_empty());
        assert_eq!(
            checks(&nothing_after_stop(&records, &[at(12.0)])),
            ["sent_after_stop"]
        );
        assert!(nothing_after_stop(&records, &[receipt("x", 12_000, 429)]).is_empty());
        // A START answered before a later STOP was sent does not lift it; one in flight when
        // the STOP was sent (or never answered) may have been applied after it.
        let records = Records::default();
        records.keyword("+2", start(Some(5)), Duration::from_secs(4));
        records.keyword("+2", stop(6), Duration::from_secs(10));
        let at = |s: f64| Receipt {
            to: "+2".into(),
            ..receipt("y", (s * 1000.0) as u64, 201)
        };
        assert_eq!(
            checks(&nothing_after_stop(&records, &[at(12.0)])),
            ["sent_after_stop"]
        );
        // Sent before the STOP, answered after it was sent but before it was acknowledged:
        // the server may have applied it between the STOP's opt-out and its answer.
        records.keyword("+2", start(Some(7)), Duration::from_secs(5));
        assert!(nothing_after_stop(&records, &[at(12.0)]).is_empty());
        let records = Records::default();
        records.keyword("+3", stop(9), Duration::from_secs(10));
        records.keyword("+3", start(None), Duration::from_secs(9));
        let at = |s: f64| Receipt {
            to: "+3".into(),
            ..receipt("z", (s * 1000.0) as u64, 201)
        };
        assert!(nothing_after_stop(&records, &[at(12.0)]).is_empty());
    }

    #[test]
    fn acknowledged_texts_are_stored_exactly_once() {
        let records = Records::default();
        for sid in ["s1", "s2", "s3"] {
            records.text(SentText {
                sid: sid.into(),
                customer: "+1".into(),
                number: "+2".into(),
                acked: true,
            });
        }
        let stored: HashMap<String, u32> = [("s1".into(), 1), ("s2".into(), 2)].into();
        assert_eq!(
            checks(&texts_stored_once(&records, &stored)),
            ["duplicated", "lost"]
        );
    }
}
