//! The offers a conversation has out, kept in its document. Offers themselves live in the
//! queue actor's memory and die with the process; the journal, though, has every
//! `offer.created`, and a desktop (or a supervisor's board) that saw one waits for its end.
//! Each offer event is committed with the conversation, so the document knows exactly which
//! offers the journal left open, and recovery ends them (`offer.rescinded`, reason
//! `restarted`) before the conversation is offered again.

use std::collections::BTreeMap;

use super::Conversation;
use crate::domain::AgentId;

/// Offers made and not yet answered: offer id to the agent offered.
pub type OpenOffers = BTreeMap<String, AgentId>;

impl Conversation {
    /// An offer of it to `agent` went out.
    pub fn offer_opened(&mut self, offer: &str, agent: &AgentId) {
        self.open_offers.insert(offer.to_owned(), agent.clone());
    }

    /// An offer of it was answered, expired or taken back (an unknown id changes nothing).
    pub fn offer_closed(&mut self, offer: &str) {
        self.open_offers.remove(offer);
    }

    /// Offers out and not yet answered, as the journal knows them.
    pub fn open_offers(&self) -> &OpenOffers {
        &self.open_offers
    }

    /// Ends every open offer (the process that made them is gone) and says which they were.
    pub fn close_every_offer(&mut self) -> OpenOffers {
        std::mem::take(&mut self.open_offers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation() -> Conversation {
        Conversation::open(crate::conversation::fixtures::opening(0), 1_000).0
    }

    #[test]
    fn offers_open_and_close_by_id() {
        let mut c = conversation();
        let ann = AgentId::parse("ann").unwrap();
        let bob = AgentId::parse("bob").unwrap();
        c.offer_opened("of_sales_1-a", &ann);
        c.offer_opened("of_sales_2-b", &bob);
        c.offer_closed("of_sales_1-a");
        c.offer_closed("of_sales_9-z");
        assert_eq!(c.open_offers().len(), 1);
        let closed = c.close_every_offer();
        assert_eq!(closed.get("of_sales_2-b"), Some(&bob));
        assert!(c.open_offers().is_empty());
    }

    #[test]
    fn no_open_offers_leave_the_document_as_it_was() {
        let c = conversation();
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("open_offers"), "{json}");
        let back: Conversation = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }
}
