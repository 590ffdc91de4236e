//! Which conversation each customer has open with each business number, as far as this
//! process knows — so that a customer's text goes straight to its conversation's commit, one
//! Redis round trip, instead of asking the store first.
//!
//! It is a guess, never the truth: the commit carries an [`OpenGuard`](crate::store::OpenGuard)
//! that the store checks atomically with the write, and a wrong guess (another process closed
//! or opened the conversation) stores nothing and answers the right conversation, which is
//! learned here. So a stale entry costs one round trip more, never a misplaced text. Entries
//! exist for open conversations only: committing a closed state removes its entry.

use dashmap::DashMap;

use crate::conversation::Conversation;
use crate::domain::ConversationId;

/// Open conversations by customer, then business number.
#[derive(Default)]
pub(super) struct OpenConversations {
    /// Keyed by customer phone; a customer texts few numbers, so a short list per customer
    /// (number id, conversation) is smaller and as fast as a second map.
    by_customer: DashMap<String, Vec<(String, ConversationId)>, foldhash::fast::RandomState>,
}

impl OpenConversations {
    /// The customer's open conversation with the number, if this process knows one.
    pub(super) fn guess(&self, number_id: &str, customer: &str) -> Option<ConversationId> {
        let entries = self.by_customer.get(customer)?;
        entries
            .iter()
            .find(|(number, _)| number == number_id)
            .map(|(_, id)| id.clone())
    }

    /// Takes note of a conversation's committed (or recovered) state: an open one is the
    /// customer's open conversation with its number, a closed one no longer is.
    pub(super) fn observe(&self, conversation: &Conversation) {
        let number_id = conversation.number_id().as_str();
        let customer = conversation.customer().as_str();
        if conversation.is_open() {
            self.learn(number_id, customer, Some(conversation.id().clone()));
        } else {
            self.forget(number_id, customer, conversation.id());
        }
    }

    /// Records what the store answered: the customer's open conversation with the number is
    /// `holder` (none when `None`).
    pub(super) fn learn(&self, number_id: &str, customer: &str, holder: Option<ConversationId>) {
        let Some(holder) = holder else {
            if let Some(mut entries) = self.by_customer.get_mut(customer) {
                entries.retain(|(number, _)| number != number_id);
            }
            self.by_customer
                .remove_if(customer, |_, entries| entries.is_empty());
            return;
        };
        let mut entries = self.by_customer.entry(customer.to_owned()).or_default();
        match entries.iter_mut().find(|(number, _)| number == number_id) {
            Some(entry) => entry.1 = holder,
            None => entries.push((number_id.to_owned(), holder)),
        }
    }

    /// Forgets the customer's entry for the number if it is conversation `id`.
    fn forget(&self, number_id: &str, customer: &str, id: &ConversationId) {
        if let Some(mut entries) = self.by_customer.get_mut(customer) {
            entries.retain(|(number, held)| !(number == number_id && held == id));
        }
        self.by_customer
            .remove_if(customer, |_, entries| entries.is_empty());
    }

    /// How many customers have an entry.
    #[cfg(test)]
    fn customers(&self) -> usize {
        self.by_customer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> ConversationId {
        ConversationId::parse(text.to_owned()).expect("a valid id")
    }

    #[test]
    fn a_learned_conversation_is_guessed_for_its_number_only() {
        let open = OpenConversations::default();
        open.learn("n1", "+15550001", Some(id("c1")));
        open.learn("n2", "+15550001", Some(id("c2")));
        assert_eq!(open.guess("n1", "+15550001"), Some(id("c1")));
        assert_eq!(open.guess("n2", "+15550001"), Some(id("c2")));
        assert_eq!(open.guess("n3", "+15550001"), None);
        assert_eq!(open.guess("n1", "+15550002"), None);
    }

    #[test]
    fn learning_none_or_another_holder_replaces_the_guess() {
        let open = OpenConversations::default();
        open.learn("n1", "+15550001", Some(id("c1")));
        open.learn("n1", "+15550001", Some(id("c9")));
        assert_eq!(open.guess("n1", "+15550001"), Some(id("c9")));
        open.learn("n1", "+15550001", None);
        assert_eq!(open.guess("n1", "+15550001"), None);
        assert_eq!(open.customers(), 0, "an empty entry does not linger");
    }

    #[test]
    fn forgetting_another_conversation_leaves_the_guess() {
        let open = OpenConversations::default();
        open.learn("n1", "+15550001", Some(id("c2")));
        // An older conversation of the same customer closing does not unlearn the newer one.
        open.forget("n1", "+15550001", &id("c1"));
        assert_eq!(open.guess("n1", "+15550001"), Some(id("c2")));
        open.forget("n1", "+15550001", &id("c2"));
        assert_eq!(open.guess("n1", "+15550001"), None);
        assert_eq!(open.customers(), 0);
    }
}
