//! The outbox: every outbound text (an agent's reply, an outbound start, a HELP answer) is
//! stored with its conversation change, then handed to its number's provider in order per
//! conversation, at the number's send rate, retried with backoff, never twice, and never to a
//! customer who opted out. Delivery records follow each text through the provider's reports.
//!
//! - `context`: the handles the outbox works with (not the engine);
//! - [`delivery`]: a text's delivery record and status (forward-only);
//! - [`pacing`]: the pure decision of what may leave now;
//! - [`worker`]: the task that carries it out: its loop and commands, `handoff` (texts to
//!   providers and what each outcome does) and `records` (reports, events, record writes).

mod context;
pub mod delivery;
mod handoff;
pub mod pacing;
mod records;
pub mod worker;

pub use context::OutboxContext;
pub use delivery::{Delivery, DeliveryStatus, NewText};
pub use worker::{Outbox, OutboxConfig, ReportOutcome};
