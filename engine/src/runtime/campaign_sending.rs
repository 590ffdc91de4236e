//! A campaign's bulk sends, run by the engine: made (every row checked, the rows stored
//! once), sent by one task per running send — in row order, at the campaign's rate, each
//! row inside its recipient's quiet hours (the contact card's time zone, else the
//! campaign's), each exactly once through its dedupe key — paused, resumed and cancelled,
//! and picked up again after a restart. Progress is journaled as `campaign_send.updated`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tokio::sync::watch;

use super::messages::{CampaignText, CampaignTextOutcome};
use super::{Engine, EngineError, OutgoingText};
use crate::campaign_sends::recipients::{self, AcceptedRow, RecipientInput};
use crate::campaign_sends::{
    JOB_KIND, OUTCOMES_KIND, OutcomeChunk, Progress, ROWS_KIND, RowOutcome, SendJob, SendState,
    StoredRows, chunk_id, chunk_of, number_for, row_key, window,
};
use crate::domain::campaign::Campaign;
use crate::domain::{CampaignId, Number, Template, TemplateBody, TemplateId, ValidationError};
use crate::routing::Millis;
use crate::store::{NewEvent, Store};

/// How a send's text is given.
#[derive(Debug, Clone)]
pub enum SendTemplate {
    /// A body with placeholders.
    Body(TemplateBody),
    /// One of the campaign's templates.
    Template(TemplateId),
}

/// A change of a send's state asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendCommand {
    /// Stop sending until resumed.
    Pause,
    /// Go on sending.
    Resume,
    /// Stop for good.
    Cancel,
}

/// One row of a send as answered: its verdict and, once known, its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRow {
    /// Its place in the list, from 1.
    pub row: u32,
    /// The number (as given, for a refused row).
    pub to: String,
    /// `pending`, `sent`, `opted_out`, `failed`, `cancelled`, or `refused`.
    pub status: &'static str,
    /// Why it was refused (`invalid_phone_number`, `duplicate`, `opted_out`,
    /// `missing_field`) or failed.
    pub reason: Option<String>,
    /// More about the reason.
    pub detail: Option<String>,
    /// The conversation it went into.
    pub conversation_id: Option<String>,
    /// The thread message.
    pub message_id: Option<String>,
}

/// A bad request, as the engine reports it.
trait IntoEngine {
    fn into_engine(self) -> EngineError;
}

impl IntoEngine for ValidationError {
    fn into_engine(self) -> EngineError {
        EngineError::Catalog(crate::catalog::CatalogError::Validation(self))
    }
}

/// How a sender's run ended.
enum Flow {
    /// Done or cancelled: the task ends.
    Finished,
    /// Paused, then resumed: the task goes on from the store.
    Resumed,
}

/// How often a running send writes its outcomes and progress (at most).
const FLUSH_EVERY: Duration = Duration::from_secs(1);

impl Engine {
    /// Makes a bulk send of `campaign`: checks every row (its number, duplicates, opt-outs
    /// from the number that would text it, the template's placeholders), stores the rows
    /// once and starts sending the accepted ones. Refused rows are never sent.
    pub async fn create_send(
        &self,
        campaign: &CampaignId,
        template: SendTemplate,
        rows: Vec<RecipientInput>,
    ) -> Result<(SendJob, StoredRows), EngineError> {
        let campaign = self
            .catalog()
            .get::<Campaign>(campaign.as_str())
            .await?
            .resource;
        if campaign.number_ids.is_empty() {
            return Err(EngineError::CampaignWithoutNumbers(campaign.id.to_string()));
        }
        if rows.is_empty() || rows.len() > recipients::MAX_RECIPIENTS {
            return Err(ValidationError::invalid(
                "recipients",
                format!("must list 1 to {} recipients", recipients::MAX_RECIPIENTS),
            )
            .into_engine());
        }
        let (body, template_id) = match template {
            SendTemplate::Body(body) => (body, None),
            SendTemplate::Template(id) => {
                if !campaign.template_ids.contains(&id) {
                    return Err(ValidationError::invalid(
                        "template_id",
                        "must be one of the campaign's templates",
                    )
                    .into_engine());
                }
                let template = self.catalog().get::<Template>(id.as_str()).await?.resource;
                (template.body, Some(id.to_string()))
            }
        };
        let mut numbers = HashMap::new();
        for id in &campaign.number_ids {
            numbers.insert(
                id.clone(),
                self.catalog().get::<Number>(id.as_str()).await?.resource,
            );
        }
        // Parsing and checking are CPU work: off the async threads, on every core.
        let (rows, parsed) = tokio::task::spawn_blocking(move || {
            let parsed = recipients::parse_numbers(&rows);
            (rows, parsed)
        })
        .await
        .map_err(|_| EngineError::Stopped)?;
        // Every card in a few round trips: opt-outs and contact fields.
        let phones: Vec<String> = parsed
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|p| p.as_str().to_owned())
            .collect();
        let cards: HashMap<String, crate::contacts::Contact> = self
            .store()
            .runtime_get_many(crate::contacts::KIND, &phones)
            .await?
            .into_iter()
            .zip(&phones)
            .filter_map(|(body, phone)| {
                body.and_then(|b| serde_json::from_str(&b).ok())
                    .map(|card| (phone.clone(), card))
            })
            .collect();
        let common = BTreeMap::from([("campaign".to_owned(), campaign.name.to_string())]);
        let total = rows.len();
        let numbers_of = campaign.number_ids.clone();
        let checked_body = body.clone();
        let checked = tokio::task::spawn_blocking(move || {
            recipients::check(
                &rows,
                &parsed,
                &checked_body,
                &common,
                |to| {
                    let campaign_numbers = &numbers_of;
                    let scope = number_for(campaign_numbers, to.as_str())
                        .and_then(|n| numbers.get(n))
                        .map(Number::opt_out_scope);
                    cards
                        .get(to.as_str())
                        .zip(scope)
                        .is_some_and(|(card, scope)| card.opted_out.contains_key(&scope))
                },
                |to, name| {
                    let card = cards.get(to.as_str())?;
                    match name {
                        "contact.name" => card.name.clone(),
                        _ => name
                            .strip_prefix("contact.")
                            .and_then(|field| card.custom_fields.get(field).cloned()),
                    }
                },
            )
        })
        .await
        .map_err(|_| EngineError::Stopped)?;
        let now = self.now();
        let job = SendJob {
            id: format!("snd_{}", ulid::Ulid::generate().to_string().to_lowercase()),
            campaign_id: campaign.id.clone(),
            campaign: campaign.name.clone(),
            queue_id: campaign.queue_id.clone(),
            number_ids: campaign.number_ids.clone(),
            template: body.as_str().to_owned(),
            template_id,
            state: if checked.accepted.is_empty() {
                SendState::Done
            } else {
                SendState::Running
            },
            created_at: now,
            finished_at: checked.accepted.is_empty().then_some(now),
            total: u32::try_from(total).unwrap_or(u32::MAX),
            refused: u32::try_from(checked.refused.len()).unwrap_or(u32::MAX),
            accepted: u32::try_from(checked.accepted.len()).unwrap_or(u32::MAX),
            progress: Progress::default(),
            next_at: None,
            last_sent_at: None,
        };
        let stored = StoredRows {
            accepted: checked.accepted,
            refused: checked.refused,
        };
        self.store()
            .runtime_put(
                ROWS_KIND,
                &job.id,
                &serde_json::to_string(&stored).expect("rows serialise"),
                Vec::new(),
            )
            .await?;
        self.save_send(&job).await?;
        tracing::info!(send_id = %job.id, campaign_id = %job.campaign_id, accepted = job.accepted, refused = job.refused, "bulk send made");
        if job.state == SendState::Running {
            self.start_sender(&job.id, SendState::Running);
        }
        Ok((job, stored))
    }

    /// A send as it stands.
    pub async fn send_job(&self, id: &str) -> Result<SendJob, EngineError> {
        let body = self
            .store()
            .runtime_get(JOB_KIND, id)
            .await?
            .ok_or_else(|| EngineError::NotFound {
                kind: "send",
                id: id.to_owned(),
            })?;
        serde_json::from_str(&body)
            .map_err(|e| EngineError::Store(crate::store::StoreError::Corrupt(e.to_string())))
    }

    /// The sends of a campaign, newest first.
    pub async fn campaign_sends(&self, campaign: &CampaignId) -> Result<Vec<SendJob>, EngineError> {
        let mut sends: Vec<SendJob> = self
            .store()
            .runtime_all(JOB_KIND)
            .await?
            .into_iter()
            .filter_map(|(_, body)| serde_json::from_str::<SendJob>(&body).ok())
            .filter(|job| job.campaign_id == *campaign)
            .collect();
        sends.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(sends)
    }

    /// Rows `from` (from 1) on of a send, at most `limit`, with their outcomes.
    pub async fn send_recipients(
        &self,
        id: &str,
        from: u32,
        limit: u32,
    ) -> Result<Vec<RecipientRow>, EngineError> {
        let job = self.send_job(id).await?;
        let rows = self.send_rows(&job.id).await?;
        let last = from.saturating_add(limit);
        let outcomes = self.send_outcomes(&job, from..last).await?;
        let mut out: Vec<RecipientRow> = Vec::new();
        for refused in rows
            .refused
            .iter()
            .filter(|r| (from..last).contains(&r.row))
        {
            out.push(RecipientRow {
                row: refused.row,
                to: refused.to.clone(),
                status: "refused",
                reason: serde_json::to_value(refused.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned)),
                detail: Some(refused.detail.clone()),
                conversation_id: None,
                message_id: None,
            });
        }
        for accepted in rows
            .accepted
            .iter()
            .filter(|r| (from..last).contains(&r.row))
        {
            let mut row = RecipientRow {
                row: accepted.row,
                to: accepted.to.to_string(),
                status: "pending",
                reason: None,
                detail: None,
                conversation_id: None,
                message_id: None,
            };
            match outcomes.get(&accepted.row) {
                None => {}
                Some(RowOutcome::Sent {
                    conversation_id,
                    message_id,
                    ..
                }) => {
                    row.status = "sent";
                    row.conversation_id = Some(conversation_id.clone());
                    row.message_id = message_id.clone();
                }
                Some(RowOutcome::OptedOut { .. }) => row.status = "opted_out",
                Some(RowOutcome::Failed { error, .. }) => {
                    row.status = "failed";
                    row.detail = Some(error.clone());
                }
                Some(RowOutcome::Cancelled { .. }) => row.status = "cancelled",
            }
            out.push(row);
        }
        out.sort_by_key(|r| r.row);
        Ok(out)
    }

    /// Pauses, resumes or cancels a send; answers it as it stands then.
    pub async fn command_send(
        &self,
        id: &str,
        command: SendCommand,
    ) -> Result<SendJob, EngineError> {
        let mut job = self.send_job(id).await?;
        if job.state.is_final() {
            return Err(EngineError::SendFinished {
                send: job.id,
                state: job.state.as_str(),
            });
        }
        let state = match command {
            SendCommand::Pause => SendState::Paused,
            SendCommand::Resume => SendState::Running,
            SendCommand::Cancel => SendState::Cancelled,
        };
        if state == job.state {
            return Ok(job);
        }
        let running = self.inner.senders.get(&job.id).map(|s| s.clone());
        match running {
            // The sender takes it from here: it writes the state once it has stopped
            // sending (a cancel marks the rows left), so the answer is its word.
            Some(control) if !control.is_closed() => {
                control.send_replace(state);
                let mut watching = control.subscribe();
                let _ = tokio::time::timeout(Duration::from_secs(5), async {
                    loop {
                        let stored = self.send_job(&job.id).await.map(|j| j.state);
                        if stored.as_ref().is_ok_and(|s| *s == state || s.is_final()) {
                            return;
                        }
                        let _ = tokio::time::timeout(Duration::from_millis(50), watching.changed())
                            .await;
                    }
                })
                .await;
                self.send_job(&job.id).await
            }
            _ => {
                // Nobody is sending it (paused, or this process just started).
                if state == SendState::Cancelled {
                    job.state = SendState::Cancelled;
                    job.finished_at = Some(self.now());
                    self.cancel_rest(&mut job).await?;
                } else {
                    job.state = state;
                    self.save_send(&job).await?;
                    if state == SendState::Running {
                        self.start_sender(&job.id, SendState::Running);
                    }
                }
                Ok(job)
            }
        }
    }

    /// Starts a sender for every running send (after a restart).
    pub(super) async fn resume_sends(&self) -> Result<(), EngineError> {
        for (id, body) in self.store().runtime_all(JOB_KIND).await? {
            if let Ok(job) = serde_json::from_str::<SendJob>(&body)
                && job.state == SendState::Running
            {
                self.start_sender(&id, SendState::Running);
            }
        }
        Ok(())
    }

    /// Starts the one task sending `id` in this process, unless it runs already.
    fn start_sender(&self, id: &str, state: SendState) {
        let control = match self.inner.senders.entry(id.to_owned()) {
            dashmap::Entry::Occupied(running) if !running.get().is_closed() => {
                running.get().send_replace(state);
                return;
            }
            entry => {
                let (control, watching) = watch::channel(state);
                entry.insert(control);
                watching
            }
        };
        let engine = self.clone();
        let id = id.to_owned();
        self.inner.arbiter.spawn(async move {
            let mut control = control;
            loop {
                match engine.send_rows_now(&id, &mut control).await {
                    Ok(Flow::Finished) => break,
                    // Resumed after a pause: on from the stored outcomes.
                    Ok(Flow::Resumed) => {}
                    // Its campaign was deleted meanwhile: nothing can be sent for it any
                    // more, so the rows left end as cancelled.
                    Err(EngineError::Catalog(crate::catalog::CatalogError::NotFound { .. })) => {
                        tracing::warn!(send_id = %id, "bulk send's campaign is gone; cancelling the rest");
                        if let Err(e) = engine.end_orphaned_send(&id).await {
                            tracing::warn!(send_id = %id, error = %e, "could not cancel an orphaned send");
                        }
                        break;
                    }
                    Err(e) => {
                        // The store is down, say: the rows left are tried again (a row
                        // stored meanwhile is not sent twice: its dedupe key says so).
                        tracing::warn!(send_id = %id, error = %e, "bulk send interrupted; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            engine.inner.senders.remove(&id);
        });
    }

    /// Sends every row of `id` still without an outcome, until done or cancelled (finished),
    /// or paused and then resumed.
    async fn send_rows_now(
        &self,
        id: &str,
        control: &mut watch::Receiver<SendState>,
    ) -> Result<Flow, EngineError> {
        let mut job = self.send_job(id).await?;
        if job.state.is_final() {
            return Ok(Flow::Finished);
        }
        let rows = self.send_rows(id).await?;
        let mut outcomes = self.send_outcomes(&job, 0..u32::MAX).await?;
        // Read again at every write of progress: a change of the campaign's rate, window or
        // zone applies within a second (a minute while everyone waits for quiet hours), and a
        // deleted campaign ends its sends.
        let mut campaign = self
            .catalog()
            .get::<Campaign>(job.campaign_id.as_str())
            .await?
            .resource;
        // Rows by when they may go next (row order among equals): all now, at first.
        let mut due: BTreeSet<(Millis, usize)> = rows
            .accepted
            .iter()
            .enumerate()
            .filter(|(_, r)| !outcomes.contains_key(&r.row))
            .map(|(i, _)| (0, i))
            .collect();
        let mut dirty: BTreeSet<u32> = BTreeSet::new();
        let mut flushed = tokio::time::Instant::now();
        let interval = |c: &Campaign| 1000 / i64::from(c.sends_per_second.max(1));
        let mut next_slot: Millis = job.last_sent_at.map_or(0, |at| at + interval(&campaign));
        if job.state != SendState::Running && *control.borrow() == SendState::Running {
            // Resumed: say so before the first text goes.
            job.state = SendState::Running;
            self.save_send(&job).await?;
        }
        while let Some(&(at, index)) = due.first() {
            let asked = *control.borrow_and_update();
            if asked != SendState::Running {
                return self
                    .stop_sending(&mut job, &outcomes, &dirty, asked, control)
                    .await;
            }
            let now = self.now();
            if at > now {
                // Everyone left waits for quiet hours to end.
                job.next_at = Some(at);
                self.flush_send(&mut job, &outcomes, Some(&dirty)).await?;
                dirty.clear();
                flushed = tokio::time::Instant::now();
                self.wait((at - now).min(60_000), control).await;
                campaign = self
                    .catalog()
                    .get::<Campaign>(job.campaign_id.as_str())
                    .await?
                    .resource;
                continue;
            }
            due.pop_first();
            let row = &rows.accepted[index];
            // The card is read here for the zone, and again by the send gate after the rate's
            // wait: a STOP that lands during the wait must still stop the text.
            let zone = self
                .inner
                .contacts
                .get(&row.to)
                .await?
                .time_zone
                .and_then(|tz| tz.parse::<chrono_tz::Tz>().ok())
                .unwrap_or_else(|| campaign.time_zone.zone());
            let allowed = window::next_allowed(&campaign.quiet_hours, zone, now);
            if allowed > now {
                due.insert((allowed, index));
                continue;
            }
            if next_slot > now {
                self.wait(next_slot - now, control).await;
                if *control.borrow() != SendState::Running {
                    due.insert((at, index));
                    continue;
                }
            }
            next_slot = next_slot.max(self.now()) + interval(&campaign);
            job.last_sent_at = Some(self.now());
            let outcome = self.send_row(&job, &campaign, row).await?;
            outcomes.insert(row.row, outcome);
            dirty.insert(chunk_of(row.row));
            if flushed.elapsed() >= FLUSH_EVERY {
                job.next_at = None;
                self.flush_send(&mut job, &outcomes, Some(&dirty)).await?;
                campaign = self
                    .catalog()
                    .get::<Campaign>(job.campaign_id.as_str())
                    .await?
                    .resource;
                dirty.clear();
                flushed = tokio::time::Instant::now();
            }
        }
        job.state = SendState::Done;
        job.finished_at = Some(self.now());
        job.next_at = None;
        self.flush_send(&mut job, &outcomes, Some(&dirty)).await?;
        tracing::info!(send_id = %job.id, sent = job.progress.sent, "bulk send done");
        Ok(Flow::Finished)
    }

    /// Sleeps `millis`, or less if the send is paused or cancelled meanwhile.
    async fn wait(&self, millis: Millis, control: &mut watch::Receiver<SendState>) {
        let pause = Duration::from_millis(u64::try_from(millis).unwrap_or(0));
        let _ = tokio::time::timeout(pause, control.changed()).await;
    }

    /// Texts one row, exactly once: its outcome.
    async fn send_row(
        &self,
        job: &SendJob,
        campaign: &Campaign,
        row: &AcceptedRow,
    ) -> Result<RowOutcome, EngineError> {
        let at = self.now();
        let Some(number_id) = number_for(&job.number_ids, row.to.as_str()) else {
            return Ok(RowOutcome::Failed {
                error: "the campaign has no numbers".to_owned(),
                at,
            });
        };
        let number = match self.catalog().find::<Number>(number_id.as_str()).await? {
            Some(stored) => stored.resource,
            None => {
                return Ok(RowOutcome::Failed {
                    error: format!("number {number_id} was deleted"),
                    at,
                });
            }
        };
        let footer = match campaign.opt_out_footer.as_deref() {
            Some("") => None,
            Some(footer) => Some(footer.to_owned()),
            None => number.footer().map(str::to_owned),
        };
        let (text, first) = match self
            .prepare_text_with_footer(
                &number,
                &row.to,
                OutgoingText::from(row.body.clone()),
                footer.as_deref(),
            )
            .await
        {
            Ok(prepared) => prepared,
            // STOP came after the send was made: the rest for that customer stops here.
            Err(EngineError::RecipientOptedOut(_)) => return Ok(RowOutcome::OptedOut { at }),
            Err(e) => return Err(e),
        };
        let mut routing = self.routing_of(&number).await?;
        // Replies are served in the campaign's queue, under the campaign's name.
        let queue = self.queue_config(&job.queue_id).await?;
        self.ensure_queue(&queue.id).await?;
        routing.queue_id = queue.id.clone();
        routing.priority = queue.priority.get();
        routing.public_minutes = queue.public_minutes.get();
        routing.campaign = job.campaign.clone();
        let (conversation_id, _, _) = self.open_or_get(&number, &row.to).await?;
        let outcome = self
            .ask_conversation(
                &conversation_id,
                CampaignText {
                    routing,
                    customer: row.to.clone(),
                    text,
                    send: job.id.clone(),
                    dedupe: row_key(&job.id, row.row),
                },
            )
            .await
            .and_then(|answer| answer);
        match outcome {
            Ok(CampaignTextOutcome::Sent(message_id)) => {
                if first {
                    self.texted(&row.to, &number).await;
                }
                Ok(RowOutcome::Sent {
                    conversation_id: conversation_id.to_string(),
                    message_id: Some(message_id),
                    at,
                })
            }
            Ok(CampaignTextOutcome::AlreadySent) => Ok(RowOutcome::Sent {
                conversation_id: conversation_id.to_string(),
                message_id: None,
                at,
            }),
            Err(EngineError::Store(e)) if e.is_unavailable() => Err(EngineError::Store(e)),
            Err(e) => Ok(RowOutcome::Failed {
                error: e.to_string(),
                at,
            }),
        }
    }

    /// The sender stops as `asked`: paused, it writes its progress and waits to be resumed
    /// ([`Flow::Resumed`]); cancelled, every row left is marked so ([`Flow::Finished`]).
    async fn stop_sending(
        &self,
        job: &mut SendJob,
        outcomes: &BTreeMap<u32, RowOutcome>,
        dirty: &BTreeSet<u32>,
        asked: SendState,
        control: &mut watch::Receiver<SendState>,
    ) -> Result<Flow, EngineError> {
        job.next_at = None;
        if asked == SendState::Cancelled {
            // The outcomes so far first (still running), then the rest cancelled in one
            // write: a reader never sees `cancelled` with rows still pending.
            self.flush_send(job, outcomes, Some(dirty)).await?;
            job.state = SendState::Cancelled;
            job.finished_at = Some(self.now());
            self.cancel_rest(job).await?;
            return Ok(Flow::Finished);
        }
        job.state = SendState::Paused;
        self.flush_send(job, outcomes, Some(dirty)).await?;
        // Waits here until resumed or cancelled; the task then starts over from the store.
        while *control.borrow_and_update() == SendState::Paused {
            if control.changed().await.is_err() {
                return Ok(Flow::Finished);
            }
        }
        Ok(Flow::Resumed)
    }

    /// Cancels a send whose campaign is gone.
    async fn end_orphaned_send(&self, id: &str) -> Result<(), EngineError> {
        let mut job = self.send_job(id).await?;
        job.state = SendState::Cancelled;
        job.finished_at = Some(self.now());
        job.next_at = None;
        self.cancel_rest(&mut job).await
    }

    /// Marks every row without an outcome cancelled, and saves the job.
    async fn cancel_rest(&self, job: &mut SendJob) -> Result<(), EngineError> {
        let rows = self.send_rows(&job.id).await?;
        let mut outcomes = self.send_outcomes(job, 0..u32::MAX).await?;
        let at = self.now();
        for row in &rows.accepted {
            outcomes
                .entry(row.row)
                .or_insert(RowOutcome::Cancelled { at });
        }
        self.flush_send(job, &outcomes, None).await
    }

    /// Writes the outcomes of the chunks in `only` (all when `None`) and the job's progress,
    /// journaling `campaign_send.updated`.
    async fn flush_send(
        &self,
        job: &mut SendJob,
        outcomes: &BTreeMap<u32, RowOutcome>,
        only: Option<&BTreeSet<u32>>,
    ) -> Result<(), EngineError> {
        let mut chunks: BTreeMap<u32, OutcomeChunk> = BTreeMap::new();
        for (row, outcome) in outcomes {
            if only.is_some_and(|only| !only.contains(&chunk_of(*row))) {
                continue;
            }
            chunks
                .entry(chunk_of(*row))
                .or_default()
                .insert(*row, outcome.clone());
        }
        for (chunk, outcomes) in chunks {
            self.store()
                .runtime_put(
                    OUTCOMES_KIND,
                    &chunk_id(&job.id, chunk),
                    &serde_json::to_string(&outcomes).expect("outcomes serialise"),
                    Vec::new(),
                )
                .await?;
        }
        job.progress = Progress::of(outcomes.values());
        self.save_send(job).await
    }

    /// Saves a job, journaling its state.
    async fn save_send(&self, job: &SendJob) -> Result<(), EngineError> {
        let event = ::protocol::Event::CampaignSendUpdated(job.event());
        self.store()
            .runtime_put(
                JOB_KIND,
                &job.id,
                &serde_json::to_string(job).expect("jobs serialise"),
                vec![NewEvent::of(&event, self.now())],
            )
            .await?;
        Ok(())
    }

    /// A send's stored rows.
    async fn send_rows(&self, id: &str) -> Result<StoredRows, EngineError> {
        let body = self
            .store()
            .runtime_get(ROWS_KIND, id)
            .await?
            .unwrap_or_default();
        if body.is_empty() {
            return Ok(StoredRows::default());
        }
        serde_json::from_str(&body)
            .map_err(|e| EngineError::Store(crate::store::StoreError::Corrupt(e.to_string())))
    }

    /// A send's outcomes for the rows in `range`.
    async fn send_outcomes(
        &self,
        job: &SendJob,
        range: std::ops::Range<u32>,
    ) -> Result<BTreeMap<u32, RowOutcome>, EngineError> {
        let last_row = job.total.max(1);
        let chunks: Vec<String> = (chunk_of(range.start)..=chunk_of(range.end.min(last_row)))
            .map(|c| chunk_id(&job.id, c))
            .collect();
        let mut outcomes = BTreeMap::new();
        for body in self
            .store()
            .runtime_get_many(OUTCOMES_KIND, &chunks)
            .await?
            .into_iter()
            .flatten()
        {
            let chunk: OutcomeChunk = serde_json::from_str(&body).map_err(|e| {
                EngineError::Store(crate::store::StoreError::Corrupt(e.to_string()))
            })?;
            outcomes.extend(chunk.into_iter().filter(|(row, _)| range.contains(row)));
        }
        Ok(outcomes)
    }
}
