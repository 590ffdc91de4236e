//! SMS providers: what hands a text to the phone network. A provider takes one text and
//! says whether it took it (with its id for the text), whether to try again later, or why
//! never; and, for a hand-off whose outcome was lost (a crash, a timeout after the request
//! went out), whether it has the text — so that a text leaves at most once.
//!
//! Two providers: [`twilio`] (Twilio's REST API, or any service speaking it) and
//! [`simulator`] (in-process, for demos and load tests).

pub mod simulator;
pub mod twilio;

use std::future::Future;
use std::time::Duration;

use crate::domain::{PhoneNumber, ProviderAccount, ProviderKind};
use crate::outbox::DeliveryStatus;
use crate::routing::Millis;

/// One text to hand off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// The thread message's id (Switchboard's, not the provider's).
    pub message_id: String,
    /// The business number.
    pub from: PhoneNumber,
    /// The customer.
    pub to: PhoneNumber,
    /// The text.
    pub body: String,
    /// MMS media.
    pub media_urls: Vec<String>,
    /// Where the provider reports delivery, when Switchboard knows its public URL.
    pub status_callback: Option<String>,
}

/// The provider took the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's id for it.
    pub provider_message_id: String,
    /// Where it is now (usually `queued`).
    pub status: DeliveryStatus,
}

/// Why a hand-off did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Nothing was taken; worth another try (rate limited, provider trouble, no connection).
    Retry {
        /// What happened, for the record.
        reason: String,
        /// How long the provider asked to wait (`Retry-After`), if it said.
        after: Option<Duration>,
    },
    /// The request may or may not have been taken (it went out, no answer came back): ask
    /// the provider with [`SmsProvider::lookup`] before trying again.
    Unknown {
        /// What happened.
        reason: String,
    },
    /// The customer unsubscribed at the provider (Twilio 21610): nothing may be sent.
    OptedOut {
        /// The provider's code.
        code: String,
        /// Its message.
        message: String,
    },
    /// Refused for good.
    Permanent {
        /// The provider's code (or the HTTP status).
        code: String,
        /// Its message.
        message: String,
    },
}

/// What a provider knows of a text whose hand-off outcome was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// It has it.
    Found(Accepted),
    /// It does not: sending it is safe.
    NotFound,
    /// It could not say now; ask again later.
    Unknown(String),
}

/// An SMS provider.
pub trait SmsProvider: Send + Sync {
    /// Hands a text off.
    fn send(
        &self,
        request: &SendRequest,
    ) -> impl Future<Output = Result<Accepted, SendError>> + Send;

    /// Whether the provider has `request`'s text, handed off at or after `since`.
    fn lookup(&self, request: &SendRequest, since: Millis) -> impl Future<Output = Lookup> + Send;
}

/// Either provider, chosen per business number by its provider account.
#[derive(Debug, Clone)]
pub enum AnyProvider {
    /// Twilio's REST API.
    Twilio(twilio::TwilioClient),
    /// The in-process simulator.
    Simulator(simulator::Simulator),
}

impl AnyProvider {
    /// The provider of `account` (`None`: a number without one, which texts through a
    /// simulator with default settings). Twilio clients share `http`'s connections;
    /// simulators report to `reports`.
    pub fn for_account(
        account: Option<&ProviderAccount>,
        http: &reqwest::Client,
        reports: &tokio::sync::mpsc::UnboundedSender<simulator::SimulatorReport>,
    ) -> Self {
        match account {
            Some(account) if account.provider == ProviderKind::Twilio => {
                Self::Twilio(twilio::TwilioClient::new(
                    http.clone(),
                    account.base_url.as_deref(),
                    account.account_sid.as_deref().unwrap_or_default(),
                    account.auth_token.as_deref().unwrap_or_default(),
                ))
            }
            account => Self::Simulator(simulator::Simulator::new(
                account.and_then(|a| a.simulator).unwrap_or_default(),
                reports.clone(),
            )),
        }
    }

    /// Its name on delivery records.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Twilio(_) => "twilio",
            Self::Simulator(_) => "simulator",
        }
    }
}

impl SmsProvider for AnyProvider {
    async fn send(&self, request: &SendRequest) -> Result<Accepted, SendError> {
        match self {
            Self::Twilio(p) => p.send(request).await,
            Self::Simulator(p) => p.send(request).await,
        }
    }

    async fn lookup(&self, request: &SendRequest, since: Millis) -> Lookup {
        match self {
            Self::Twilio(p) => p.lookup(request, since).await,
            Self::Simulator(p) => p.lookup(request, since).await,
        }
    }
}
