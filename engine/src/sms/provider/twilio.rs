//! Twilio's REST API (or any service speaking it): `POST
//! {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From`, `Body`,
//! `MediaUrl` (repeated) and `StatusCallback`, with HTTP basic auth (account SID, auth
//! token). Answers: 201 taken; 429 and 5xx retried; error 21610 means the customer
//! unsubscribed; other 4xx are permanent. A lost answer is looked up in the account's message
//! list (same `To`, `From` and body, created since the attempt) before anything is resent.

use std::time::Duration;

use serde::Deserialize;

use super::{Accepted, Lookup, SendError, SendRequest, SmsProvider};
use crate::outbox::DeliveryStatus;
use crate::routing::Millis;

/// Twilio's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// Twilio's "attempt to send to unsubscribed recipient".
pub const UNSUBSCRIBED: &str = "21610";

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// A Twilio account's REST client.
#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    messages_url: String,
    account_sid: String,
    auth_token: String,
}

impl std::fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioClient")
            .field("messages_url", &self.messages_url)
            .finish_non_exhaustive()
    }
}

/// The part of a message resource Switchboard reads.
#[derive(Debug, Deserialize)]
struct MessageResource {
    sid: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    date_created: Option<String>,
}

impl MessageResource {
    /// The text as taken: Twilio's id and status (`queued` when it says none Switchboard
    /// knows).
    fn accepted(self) -> Accepted {
        Accepted {
            provider_message_id: self.sid,
            status: self
                .status
                .as_deref()
                .and_then(delivery_status)
                .unwrap_or(DeliveryStatus::Queued),
        }
    }
}

/// The status a Twilio `MessageStatus` stands for (`None` for inbound ones).
pub fn delivery_status(status: &str) -> Option<DeliveryStatus> {
    Some(match status {
        "accepted" | "scheduled" | "queued" | "sending" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" | "read" => DeliveryStatus::Delivered,
        "undelivered" => DeliveryStatus::Undelivered,
        "failed" | "canceled" => DeliveryStatus::Failed,
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
struct MessageList {
    #[serde(default)]
    messages: Vec<MessageResource>,
}

/// Twilio's error body.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

impl TwilioClient {
    /// A client for `account_sid` at `base_url` (Twilio's own when `None`), sharing `http`'s
    /// connection pool.
    pub fn new(
        http: reqwest::Client,
        base_url: Option<&str>,
        account_sid: &str,
        auth_token: &str,
    ) -> Self {
        let base = base_url.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
        Self {
            http,
            messages_url: format!("{base}/2010-04-01/Accounts/{account_sid}/Messages.json"),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
        }
    }

    /// The HTTP client every Twilio account shares.
    pub fn http_client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds")
    }

    fn form(request: &SendRequest) -> Vec<(&'static str, &str)> {
        let mut form = vec![("To", request.to.as_str()), ("From", request.from.as_str())];
        // A picture alone (MMS without text) has no `Body`, as Twilio's API allows.
        if !request.body.is_empty() || request.media_urls.is_empty() {
            form.push(("Body", request.body.as_str()));
        }
        form.extend(
            request
                .media_urls
                .iter()
                .map(|url| ("MediaUrl", url.as_str())),
        );
        if let Some(callback) = &request.status_callback {
            form.push(("StatusCallback", callback.as_str()));
        }
        form
    }
}

/// The `Retry-After` header, in seconds.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn code_text(code: Option<serde_json::Value>, status: u16) -> String {
    match code {
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) if !s.is_empty() => s,
        _ => status.to_string(),
    }
}

impl SmsProvider for TwilioClient {
    async fn send(&self, request: &SendRequest) -> Result<Accepted, SendError> {
        let response = self
            .http
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&Self::form(request))
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    // Nothing reached Twilio: safe to try again as is.
                    SendError::Retry {
                        reason: format!("could not connect: {e}"),
                        after: None,
                    }
                } else {
                    SendError::Unknown {
                        reason: format!("no answer: {e}"),
                    }
                }
            })?;
        let status = response.status();
        if status.is_success() {
            let text = response.text().await.map_err(|e| SendError::Unknown {
                reason: format!("answer cut off: {e}"),
            })?;
            let message: MessageResource =
                serde_json::from_str(&text).map_err(|e| SendError::Unknown {
                    reason: format!("unreadable answer: {e}"),
                })?;
            return Ok(message.accepted());
        }
        let after = retry_after(&response);
        let body: ErrorBody = response.json().await.unwrap_or(ErrorBody {
            code: None,
            message: None,
        });
        let code = code_text(body.code, status.as_u16());
        let message = body
            .message
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(SendError::Retry {
                reason: format!("{} {code}: {message}", status.as_u16()),
                after,
            });
        }
        if code == UNSUBSCRIBED {
            return Err(SendError::OptedOut { code, message });
        }
        Err(SendError::Permanent { code, message })
    }

    async fn lookup(&self, request: &SendRequest, since: Millis) -> Lookup {
        let answer = self
            .http
            .get(&self.messages_url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .query(&[
                ("To", request.to.as_str()),
                ("From", request.from.as_str()),
                ("PageSize", "50"),
            ])
            .send()
            .await;
        let response = match answer {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => return Lookup::Unknown(format!("message list answered {}", r.status())),
            Err(e) => return Lookup::Unknown(format!("message list: {e}")),
        };
        let list: MessageList = match response.json().await {
            Ok(list) => list,
            Err(e) => return Lookup::Unknown(format!("message list unreadable: {e}")),
        };
        // Clocks differ: a minute's slack on the creation time.
        let earliest = since - 60_000;
        let found = list.messages.into_iter().find(|m| {
            m.body.as_deref() == Some(request.body.as_str())
                && m.to.as_deref().is_none_or(|to| to == request.to.as_str())
                && m.from
                    .as_deref()
                    .is_none_or(|from| from == request.from.as_str())
                && m.date_created
                    .as_deref()
                    .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
                    .is_none_or(|d| d.timestamp_millis() >= earliest)
        });
        match found {
            Some(m) => Lookup::Found(m.accepted()),
            None => Lookup::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    #[test]
    fn twilio_statuses_map() {
        assert_eq!(delivery_status("queued"), Some(Queued));
        assert_eq!(delivery_status("sent"), Some(Sent));
        assert_eq!(delivery_status("delivered"), Some(Delivered));
        assert_eq!(delivery_status("undelivered"), Some(Undelivered));
        assert_eq!(delivery_status("failed"), Some(Failed));
        assert_eq!(delivery_status("received"), None);
    }
}
