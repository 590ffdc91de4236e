//! Contacts: the mini CRM card of a customer's number (name, email, address, time zone,
//! date of birth, external ids, custom fields), kept as runtime state keyed by the E.164
//! number. Every number that ever texted has a card, empty until someone fills it in.
//!
//! Opt-out state is part of the card but written only by the SMS channel's compliance
//! (STOP/START), never by a PATCH. Opt-outs stored through this process are also numbered in
//! memory ([`Contacts::stop_mark`]), so that the outbox can tell without a store round trip
//! whether one was stored while it was preparing a hand-off.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::directory::Directory;
use crate::domain::PhoneNumber;
use crate::routing::Millis;
use crate::store::{AnyStore, Store, StoreError};

/// The runtime-state kind contacts are stored under.
pub const KIND: &str = "contact";

/// A contact card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Postal address, free text.
    #[serde(default)]
    pub address: Option<String>,
    /// IANA time zone, e.g. `America/Chicago`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Ids of the contact in other systems, by system.
    #[serde(default)]
    pub external_ids: BTreeMap<String, String>,
    /// Custom fields (templates can use them as `{{contact.<field>}}`).
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// Business numbers (ids) the contact opted out of by STOP, with when.
    #[serde(default)]
    pub opted_out: BTreeMap<String, Millis>,
    /// Business numbers (ids) Switchboard has texted the contact from: the first text from
    /// a number carries its opt-out footer.
    #[serde(default)]
    pub texted_from: std::collections::BTreeSet<String>,
    /// When the card last changed (0: never).
    #[serde(default)]
    pub updated_at: Millis,
}

/// A change to a card: absent fields stay, `Some(None)` clears, maps merge key by key (a
/// `None` value removes the key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPatch {
    /// See [`Contact::name`].
    pub name: Option<Option<String>>,
    /// See [`Contact::email`].
    pub email: Option<Option<String>>,
    /// See [`Contact::address`].
    pub address: Option<Option<String>>,
    /// See [`Contact::time_zone`].
    pub time_zone: Option<Option<String>>,
    /// See [`Contact::date_of_birth`].
    pub date_of_birth: Option<Option<String>>,
    /// See [`Contact::external_ids`].
    pub external_ids: BTreeMap<String, Option<String>>,
    /// See [`Contact::custom_fields`].
    pub custom_fields: BTreeMap<String, Option<String>>,
}

impl Contact {
    /// Applies a patch at `now`.
    pub fn apply(&mut self, patch: ContactPatch, now: Millis) {
        let set = |field: &mut Option<String>, change: Option<Option<String>>| {
            if let Some(value) = change {
                *field = value;
            }
        };
        set(&mut self.name, patch.name);
        set(&mut self.email, patch.email);
        set(&mut self.address, patch.address);
        set(&mut self.time_zone, patch.time_zone);
        set(&mut self.date_of_birth, patch.date_of_birth);
        merge(&mut self.external_ids, patch.external_ids);
        merge(&mut self.custom_fields, patch.custom_fields);
        self.updated_at = now;
    }
}

fn merge(map: &mut BTreeMap<String, String>, changes: BTreeMap<String, Option<String>>) {
    for (key, value) in changes {
        match value {
            Some(value) => map.insert(key, value),
            None => map.remove(&key),
        };
    }
}

/// Reads and changes contact cards. Cloning shares it.
#[derive(Debug, Clone)]
pub struct Contacts {
    store: AnyStore,
    directory: Directory,
    // Card changes are read-modify-write: one at a time in this process, so that two edits
    // of different fields both land.
    writing: Arc<tokio::sync::Mutex<()>>,
    /// Opt-outs stored through this process: the mark of the newest, by account and phone.
    stops: Arc<dashmap::DashMap<(String, String), u64>>,
    /// The mark the next opt-out stored here gets.
    next_stop: Arc<std::sync::atomic::AtomicU64>,
}

impl Contacts {
    /// Contacts over `store`, keeping `directory`'s searchable names current.
    pub fn new(store: AnyStore, directory: Directory) -> Self {
        Self {
            store,
            directory,
            writing: Arc::default(),
            stops: Arc::default(),
            next_stop: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    /// A mark to compare later opt-outs with ([`Contacts::stopped_since`]).
    pub fn stop_mark(&self) -> u64 {
        self.next_stop.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether an opt-out of `phone` from `account` was stored through this process since
    /// `mark` was taken. Opt-outs stored by other processes are not seen here: the store is
    /// the truth, this only says when asking it again is worth a round trip.
    pub fn stopped_since(&self, phone: &PhoneNumber, account: &str, mark: u64) -> bool {
        self.stops
            .get(&(account.to_owned(), phone.as_str().to_owned()))
            .is_some_and(|stopped| *stopped >= mark)
    }

    /// The card of `phone` (empty when never filled in).
    pub async fn get(&self, phone: &PhoneNumber) -> Result<Contact, StoreError> {
        Ok(match self.store.runtime_get(KIND, phone.as_str()).await? {
            Some(body) => serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(format!("contact {phone}: {e}")))?,
            None => Contact::default(),
        })
    }

    /// Applies `patch` to the card of `phone`; returns the new card.
    pub async fn update(
        &self,
        phone: &PhoneNumber,
        patch: ContactPatch,
        now: Millis,
    ) -> Result<Contact, StoreError> {
        self.modify(phone, |card| card.apply(patch, now)).await
    }

    /// Records that `phone` opted out of (`Some(at)`) or back into (`None`) the texts of
    /// `account` (a provider account, or a number without one). Written before the keyword
    /// is acknowledged: every send path reads it.
    pub async fn set_opt_out(
        &self,
        phone: &PhoneNumber,
        account: &str,
        at: Option<Millis>,
    ) -> Result<Contact, StoreError> {
        let card = self
            .modify(phone, |card| match at {
                Some(at) => {
                    card.opted_out.entry(account.to_owned()).or_insert(at);
                }
                None => {
                    card.opted_out.remove(account);
                }
            })
            .await?;
        let key = (account.to_owned(), phone.as_str().to_owned());
        match at {
            // Numbered once stored: a hand-off that took its mark before this asks again.
            Some(_) => {
                let mark = self
                    .next_stop
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                self.stops.insert(key, mark);
            }
            None => {
                self.stops.remove(&key);
            }
        }
        Ok(card)
    }

    /// Records that `phone` got a text from number `number_id` (callers know it is the
    /// first: they read the card to decide the footer).
    pub async fn mark_texted(
        &self,
        phone: &PhoneNumber,
        number_id: &str,
    ) -> Result<(), StoreError> {
        self.modify(phone, |card| {
            card.texted_from.insert(number_id.to_owned());
        })
        .await
        .map(|_| ())
    }

    /// Whether `phone` has opted out of `account`'s texts.
    pub async fn opted_out(&self, phone: &PhoneNumber, account: &str) -> Result<bool, StoreError> {
        Ok(self.get(phone).await?.opted_out.contains_key(account))
    }

    /// Read, change and write one card, one change at a time in this process.
    async fn modify(
        &self,
        phone: &PhoneNumber,
        change: impl FnOnce(&mut Contact),
    ) -> Result<Contact, StoreError> {
        let _one_at_a_time = self.writing.lock().await;
        let mut card = self.get(phone).await?;
        change(&mut card);
        let body = serde_json::to_string(&card).expect("contacts serialise");
        self.store
            .runtime_put(KIND, phone.as_str(), &body, Vec::new())
            .await?;
        self.directory
            .set_contact_name(phone.as_str(), card.name.as_deref());
        Ok(card)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_sets_clears_and_merges() {
        let mut card = Contact {
            name: Some("Maria".into()),
            email: Some("m@example.com".into()),
            custom_fields: [("tier".into(), "gold".into()), ("pet".into(), "cat".into())].into(),
            ..Contact::default()
        };
        card.apply(
            ContactPatch {
                name: Some(Some("Maria Lopez".into())),
                email: Some(None),
                custom_fields: [("pet".into(), None), ("city".into(), Some("Austin".into()))]
                    .into(),
                ..ContactPatch::default()
            },
            42,
        );
        assert_eq!(card.name.as_deref(), Some("Maria Lopez"));
        assert_eq!(card.email, None);
        assert_eq!(
            card.custom_fields,
            [
                ("tier".into(), "gold".into()),
                ("city".into(), "Austin".into())
            ]
            .into()
        );
        assert_eq!(card.updated_at, 42);
    }

    #[tokio::test]
    async fn cards_persist_and_name_the_directory() {
        let store = AnyStore::Memory(crate::store::MemoryStore::new());
        let directory = Directory::new();
        let contacts = Contacts::new(store.clone(), directory);
        let phone = PhoneNumber::parse("phone", "+15550001111").unwrap();
        assert_eq!(contacts.get(&phone).await.unwrap(), Contact::default());
        let patch = ContactPatch {
            name: Some(Some("Ann".into())),
            ..ContactPatch::default()
        };
        contacts.update(&phone, patch, 7).await.unwrap();
        let again = Contacts::new(store, Directory::new());
        assert_eq!(
            again.get(&phone).await.unwrap().name.as_deref(),
            Some("Ann")
        );
    }

    #[tokio::test]
    async fn opt_outs_stored_here_are_seen_by_marks_taken_before_them() {
        let contacts = Contacts::new(
            AnyStore::Memory(crate::store::MemoryStore::new()),
            Directory::new(),
        );
        let ann = PhoneNumber::parse("phone", "+15550001111").unwrap();
        let bob = PhoneNumber::parse("phone", "+15550002222").unwrap();
        let before = contacts.stop_mark();
        contacts.set_opt_out(&ann, "acct", Some(5)).await.unwrap();
        assert!(contacts.stopped_since(&ann, "acct", before));
        assert!(
            !contacts.stopped_since(&ann, "other", before),
            "per account"
        );
        assert!(
            !contacts.stopped_since(&bob, "acct", before),
            "per customer"
        );
        let after = contacts.stop_mark();
        assert!(
            !contacts.stopped_since(&ann, "acct", after),
            "older than the mark"
        );
        // A START forgets it; a later STOP is seen again.
        contacts.set_opt_out(&ann, "acct", None).await.unwrap();
        assert!(!contacts.stopped_since(&ann, "acct", before));
        contacts.set_opt_out(&ann, "acct", Some(9)).await.unwrap();
        assert!(contacts.stopped_since(&ann, "acct", after));
    }
}
