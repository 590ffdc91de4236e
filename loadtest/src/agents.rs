//! Agents: simulated desktops on real websockets. Each goes available in every queue of the
//! run, answers offers after a think time (accepting or rejecting as the scenario says, over
//! the socket), loads each conversation it gets, replies (sometimes from a template),
//! sometimes snoozes or transfers it once, records a disposition and completes it. A dropped
//! socket is reopened with `?after=` and the replay counted.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use protocol::event::{Assignment, Event};
use protocol::frame::FrameBody;
use protocol::vocabulary::DeliveryStatus;
use protocol::{ClientFrame, ServerFrame};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::admin::{RunAgent, World};
use crate::measure::Measures;
use crate::records::{Records, SentReply};
use crate::scenario::{Agents as Behaviour, Millis};

/// What every desktop shares.
pub struct Desk {
    /// The target's base URL.
    pub target: String,
    /// The run's world.
    pub world: World,
    /// How agents behave.
    pub behaviour: Behaviour,
    /// HTTP.
    pub http: reqwest::Client,
    /// The records.
    pub records: Arc<Records>,
    /// The measures.
    pub measures: Arc<Measures>,
    /// When the run started.
    pub started: Instant,
    /// When the provider took each text, by SID.
    pub taken_at: Arc<Mutex<HashMap<String, Instant>>>,
    /// Text → first offer, joined from both sides.
    pub offers: Arc<crate::offer_clock::OfferClock>,
    /// Conversations snoozed or transferred once already.
    pub moved: Mutex<HashSet<String>>,
    /// Outbound texts whose hand-off is over (taken by the provider, or failed), by message id
    /// (the observer fills it).
    pub settled: Arc<Mutex<HashSet<String>>>,
    /// Stops every desktop.
    pub stop: tokio::sync::watch::Receiver<bool>,
}

/// One desktop's run.
pub async fn desktop(desk: Arc<Desk>, agent: RunAgent, index: u32, seed: u64) {
    let rng = Arc::new(Mutex::new(StdRng::seed_from_u64(
        seed ^ u64::from(index) << 20,
    )));
    if let Err(e) = go_available(&desk, &agent).await {
        desk.measures.count("errors.agent.setup", 1);
        eprintln!("agent {} could not go available: {e}", agent.id);
        return;
    }
    let mut last_id: Option<u64> = None;
    let mut stop = desk.stop.clone();
    // The socket of the moment: an answer decided before a reconnect leaves on the new one.
    let current: Current = Arc::new(Mutex::new(None));
    // This desktop's replies not yet shown delivered.
    let mine: Mine = Arc::new(Mutex::new(HashMap::new()));
    loop {
        if *stop.borrow() {
            return;
        }
        let follow = match desk.behaviour.follow {
            protocol::vocabulary::Follow::Own => "own",
            protocol::vocabulary::Follow::Team => "team",
        };
        let url = format!(
            "{}/v1/ws?token={}&follow={follow}{}",
            desk.target.replacen("http", "ws", 1),
            agent.token,
            last_id.map(|id| format!("&after={id}")).unwrap_or_default()
        );
        let opened = Instant::now();
        let socket = match tokio_tungstenite::connect_async_with_config(&url, None, true).await {
            Ok((socket, _)) => socket,
            Err(_) => {
                desk.measures.count("errors.ws.connect", 1);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        desk.measures.count("ws.sessions", 1);
        let (mut sink, mut stream) = socket.split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<ClientFrame>();
        if let Ok(mut current) = current.lock() {
            *current = Some(out);
        }
        let writer = tokio::spawn(async move {
            while let Some(frame) = outgoing.recv().await {
                let text = serde_json::to_string(&frame).expect("client frames serialise");
                if sink.send(Message::text(text)).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let resuming = last_id.is_some();
        let mut replayed = 0u64;
        let mut accepts: HashMap<String, Instant> = HashMap::new();
        let reconnect_after = match desk.behaviour.reconnect_every_secs {
            0 => Duration::from_secs(86_400 * 365),
            secs => Duration::from_secs(secs),
        };
        let drop_at = tokio::time::Instant::now() + reconnect_after;
        loop {
            let message = tokio::select! {
                m = stream.next() => m,
                _ = tokio::time::sleep_until(drop_at) => {
                    desk.measures.count("ws.dropped_on_purpose", 1);
                    break;
                }
                _ = stop.changed() => { writer.abort(); return; }
            };
            let Some(Ok(message)) = message else {
                desk.measures.count("ws.lost", 1);
                break;
            };
            let Message::Text(text) = message else {
                continue;
            };
            // Frames are written with the journal id first: the resume cursor moves without
            // parsing, and only frames for this desktop are read in full (a desktop receives
            // every event of its teams; the observer checks them all against the contract).
            if let Some(id) = leading_id(&text) {
                last_id = Some(id);
                if resuming {
                    replayed += 1;
                }
                if !concerns_me(&text, &agent.id, &mine) {
                    continue;
                }
            } else if text.contains(r#""type":"queue.stats""#) {
                continue;
            }
            let frame = match ServerFrame::parse(&text) {
                Ok(frame) => frame,
                Err(e) => {
                    desk.measures.count("errors.ws.frame_outside_contract", 1);
                    eprintln!("frame outside the contract: {e}");
                    continue;
                }
            };
            match frame.body {
                FrameBody::Resumed(_) => {
                    desk.measures.record("resume", opened.elapsed());
                    desk.measures.count("ws.replayed_events", replayed);
                }
                FrameBody::ResumeGap(gap) => {
                    desk.measures
                        .count("ws.missed_events", gap.missed_to + 1 - gap.missed_from);
                }
                FrameBody::Reply(reply) => {
                    if let Some(sent) = accepts.remove(&reply.offer_id) {
                        desk.measures.record("offer_to_accept", sent.elapsed());
                    }
                }
                FrameBody::Error(error) => {
                    // An offer rescinded or taken just before the accept arrived is a race
                    // every desktop meets (the customer texted STOP, say), not a fault.
                    let counter = match error.code.as_str() {
                        "stale_offer" => "ws.stale_offer".to_owned(),
                        code => format!("errors.ws.{code}"),
                    };
                    desk.measures.count(counter, 1);
                    if std::env::var_os("LOADTEST_DEBUG").is_some() {
                        eprintln!("{}: {} {}", agent.id, error.code, error.message);
                    }
                }
                FrameBody::Event(event) => {
                    on_event(&desk, &agent, &rng, &current, &mut accepts, &mine, event);
                }
                _ => {}
            }
        }
        if let Ok(mut current) = current.lock() {
            *current = None;
        }
        writer.abort();
        desk.measures.count("ws.reconnects", 1);
    }
}

async fn go_available(desk: &Desk, agent: &RunAgent) -> anyhow::Result<()> {
    let base = &desk.target;
    for (path, body) in [
        (
            format!("/v1/agents/{}/presence", agent.id),
            json!({"presence": "available"}),
        ),
        (
            format!("/v1/agents/{}/queues", agent.id),
            json!({"queue_ids": agent.queue_ids}),
        ),
    ] {
        let response = desk
            .http
            .put(format!("{base}{path}"))
            .bearer_auth(&agent.token)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "PUT {path}: {}",
            response.status()
        );
    }
    Ok(())
}

/// A desktop's replies not yet shown delivered: message id → when acknowledged.
type Mine = Arc<Mutex<HashMap<String, Instant>>>;

/// The journal id of an event frame, read off its start (`{"id":1042,...`) without parsing.
fn leading_id(text: &str) -> Option<u64> {
    let rest = text.strip_prefix(r#"{"id":"#)?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

/// Whether an event frame is one this desktop acts on: an offer or assignment naming it, or
/// the delivery of one of its replies.
fn concerns_me(text: &str, agent: &str, mine: &Mine) -> bool {
    let named = || text.contains(&format!(r#""agent_id":"{agent}""#));
    if text.contains(r#""type":"offer.created""#)
        || text.contains(r#""type":"conversation.assigned""#)
    {
        return named();
    }
    if text.contains(r#""type":"message.status""#) && text.contains(r#""status":"delivered""#) {
        return mine
            .lock()
            .map(|m| m.keys().any(|id| text.contains(id.as_str())))
            .unwrap_or(false);
    }
    false
}

/// The sender of the desktop's socket of the moment (`None` between connections).
type Current = Arc<Mutex<Option<mpsc::UnboundedSender<ClientFrame>>>>;

/// Sends `frame` on the socket of the moment, waiting out a reconnect (for up to 10 s).
async fn send(current: &Current, frame: ClientFrame) {
    for _ in 0..100 {
        let sender = current.lock().ok().and_then(|c| c.clone());
        if let Some(sender) = sender
            && sender.send(frame.clone()).is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn think(rng: &Mutex<StdRng>, range: Millis) -> Duration {
    let ms = rng
        .lock()
        .map(|mut r| r.random_range(range.min..=range.max))
        .unwrap_or(range.min);
    Duration::from_millis(ms)
}

fn chance(rng: &Mutex<StdRng>, percent: f64) -> bool {
    rng.lock()
        .map(|mut r| r.random_range(0.0..100.0) < percent)
        .unwrap_or(false)
}

fn on_event(
    desk: &Arc<Desk>,
    agent: &RunAgent,
    rng: &Arc<Mutex<StdRng>>,
    current: &Current,
    accepts: &mut HashMap<String, Instant>,
    mine: &Mine,
    event: Event,
) {
    match event {
        Event::OfferCreated(offer) if offer.agent_id == agent.id => {
            desk.offers
                .offered(&offer.conversation_id, Instant::now(), &desk.measures);
            let accept = chance(rng, desk.behaviour.accept_percent);
            let wait = think(rng, desk.behaviour.think_before_accept_ms);
            let current = current.clone();
            let offer_id = offer.offer_id.clone();
            if accept {
                accepts.insert(offer_id.clone(), Instant::now() + wait);
            }
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                let frame = if accept {
                    ClientFrame::Accept {
                        offer_id: offer_id.clone(),
                        reference: Some(offer_id),
                    }
                } else {
                    ClientFrame::Reject {
                        offer_id: offer_id.clone(),
                        reference: Some(offer_id),
                    }
                };
                send(&current, frame).await;
            });
        }
        Event::ConversationAssigned(assigned) if assigned.agent_id == agent.id => {
            if matches!(
                assigned.how,
                Assignment::Offer { .. } | Assignment::Claimed { .. }
            ) {
                let (desk, agent, rng, mine) =
                    (desk.clone(), agent.clone(), rng.clone(), mine.clone());
                tokio::spawn(async move {
                    work(&desk, &agent, &rng, &mine, &assigned.conversation_id).await;
                });
            }
        }
        Event::MessageStatus(status) if status.status == DeliveryStatus::Delivered => {
            let taken = status
                .provider_message_id
                .as_ref()
                .and_then(|sid| desk.taken_at.lock().ok().and_then(|t| t.get(sid).copied()));
            let ours = mine
                .lock()
                .map(|mut m| m.remove(&status.message_id).is_some());
            if ours.unwrap_or(false)
                && let Some(taken) = taken
            {
                desk.measures
                    .record("handoff_to_delivered", taken.elapsed());
            }
        }
        _ => {}
    }
}

/// Works one conversation as a desktop would: loads it, replies, maybe snoozes or transfers
/// it once, records a disposition and completes it.
async fn work(desk: &Desk, agent: &RunAgent, rng: &Mutex<StdRng>, mine: &Mine, conversation: &str) {
    let b = &desk.behaviour;
    let Some(view) = call(
        desk,
        agent,
        reqwest::Method::GET,
        &format!("/v1/conversations/{conversation}"),
        None,
    )
    .await
    else {
        return;
    };
    let customer = view["customer"].as_str().unwrap_or_default().to_owned();
    let number_id = view["number_id"].as_str().unwrap_or_default();
    let number = desk
        .world
        .numbers
        .iter()
        .find(|n| n.id == number_id)
        .map(|n| n.phone.clone())
        .unwrap_or_default();
    for k in 0..b.replies {
        tokio::time::sleep(think(rng, b.think_before_reply_ms)).await;
        let body = if chance(rng, b.template_percent) {
            json!({"template_id": agent.template_id})
        } else {
            json!({"body": format!("On it ({k}) [{} {}]", agent.id, desk.started.elapsed().as_micros())})
        };
        let path = format!("/v1/conversations/{conversation}/messages");
        let posted = desk.started.elapsed();
        let Some(entry) = call(desk, agent, reqwest::Method::POST, &path, Some(body)).await else {
            // Refused (the customer opted out, say): wrap the conversation up all the same.
            break;
        };
        let message_id = entry["id"].as_str().unwrap_or_default().to_owned();
        if let Ok(mut mine) = mine.lock() {
            mine.insert(message_id.clone(), Instant::now());
        }
        desk.records.reply(SentReply {
            conversation_id: conversation.to_owned(),
            message_id,
            customer: customer.clone(),
            number: number.clone(),
            body: entry["body"].as_str().unwrap_or_default().to_owned(),
            posted,
            acked: desk.started.elapsed(),
        });
    }
    let first_time = desk
        .moved
        .lock()
        .map(|mut m| m.insert(conversation.to_owned()))
        .unwrap_or(false);
    if first_time && chance(rng, b.snooze_percent) {
        let until = chrono::Utc::now() + chrono::Duration::seconds(3);
        let body = json!({"until": until.to_rfc3339()});
        call(
            desk,
            agent,
            reqwest::Method::POST,
            &format!("/v1/conversations/{conversation}/snooze"),
            Some(body),
        )
        .await;
        return;
    }
    if first_time && agent.queue_ids.len() > 1 && chance(rng, b.transfer_percent) {
        let current = view["queue_id"].as_str().unwrap_or_default();
        let to = agent.queue_ids.iter().find(|q| *q != current).cloned();
        let body = json!({"to_queue": to, "note": "load test transfer"});
        call(
            desk,
            agent,
            reqwest::Method::POST,
            &format!("/v1/conversations/{conversation}/transfer"),
            Some(body),
        )
        .await;
        return;
    }
    let code = json!({"code": desk.world.disposition});
    call(
        desk,
        agent,
        reqwest::Method::POST,
        &format!("/v1/conversations/{conversation}/dispositions"),
        Some(code),
    )
    .await;
    call(
        desk,
        agent,
        reqwest::Method::POST,
        &format!("/v1/conversations/{conversation}/complete"),
        None,
    )
    .await;
}

/// A REST call as the agent; the answer's body on 2xx, counted by code otherwise.
async fn call(
    desk: &Desk,
    agent: &RunAgent,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Option<Value> {
    let mut request = desk
        .http
        .request(method, format!("{}{path}", desk.target))
        .bearer_auth(&agent.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let action = path.rsplit('/').next().unwrap_or("conversation");
    let action = if action.starts_with("cv_") {
        "load"
    } else {
        action
    };
    match request.send().await {
        Ok(response) if response.status().is_success() => {
            desk.measures.count(format!("agent.{action}"), 1);
            response.json().await.ok().or(Some(Value::Null))
        }
        Ok(response) => {
            let status = response.status().as_u16();
            let code = response
                .json::<Value>()
                .await
                .ok()
                .and_then(|b| b["code"].as_str().map(str::to_owned))
                .unwrap_or_default();
            desk.measures
                .count(format!("errors.agent.{action}.{status} {code}"), 1);
            None
        }
        Err(_) => {
            desk.measures
                .count(format!("errors.agent.{action}.transport"), 1);
            None
        }
    }
}
