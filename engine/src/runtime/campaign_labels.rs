//! Campaign labels and campaigns kept together. Before campaigns were resources, a campaign
//! was only the label on a business number; every label without a campaign of that name
//! gets one — at start (the migration of stored labels) and whenever a number is written (a
//! number given a new label). A label's new campaign serves replies in the first such
//! number's queue; everything else starts at its default. Each campaign's `number_ids` is
//! kept equal to the numbers carrying its name.

use std::collections::BTreeMap;

use super::{Engine, EngineError};
use crate::catalog::CatalogError;
use crate::domain::campaign::Campaign;
use crate::domain::{Name, Number, NumberId};
use crate::store::{ResourceKind, Store};

impl Engine {
    /// Makes a campaign for every number label that has none, and sets each campaign's
    /// numbers to those carrying its name. Returns how many campaigns it made. Safe to run in
    /// several processes at once: a campaign another made first is used.
    pub async fn adopt_campaign_labels(&self) -> Result<usize, EngineError> {
        let numbers = self.every::<Number>().await?;
        let mut labels: BTreeMap<String, (Name, Vec<&Number>)> = BTreeMap::new();
        for number in &numbers {
            labels
                .entry(number.campaign.as_str().to_lowercase())
                .or_insert_with(|| (number.campaign.clone(), Vec::new()))
                .1
                .push(number);
        }
        let mut made = 0;
        for campaign in self.every::<Campaign>().await? {
            let key = campaign.name.as_str().to_lowercase();
            let carrying: Vec<NumberId> = labels
                .get(&key)
                .map(|(_, numbers)| numbers.iter().map(|n| n.id.clone()).collect())
                .unwrap_or_default();
            self.set_senders(&campaign, carrying).await?;
        }
        for (key, (name, carrying)) in labels {
            let ids: Vec<NumberId> = carrying.iter().map(|n| n.id.clone()).collect();
            let existing = self
                .store()
                .config_find_unique(ResourceKind::Campaign, "name", &key)
                .await?;
            if existing.is_some() {
                continue;
            }
            let campaign = Campaign::for_label(name, carrying[0].queue_id.clone(), ids);
            match self.catalog().create(campaign).await {
                Ok(_) => made += 1,
                // Another process (or a request) made it meanwhile.
                Err(CatalogError::UniqueTaken { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if made > 0 {
            tracing::info!(campaigns = made, "campaign labels made campaigns");
        }
        Ok(made)
    }

    /// Sets a campaign's numbers to `numbers` (those carrying its name), if they differ.
    async fn set_senders(
        &self,
        campaign: &Campaign,
        mut numbers: Vec<NumberId>,
    ) -> Result<(), EngineError> {
        numbers.sort();
        let mut current = campaign.number_ids.clone();
        current.sort();
        if current == numbers {
            return Ok(());
        }
        let result = self
            .catalog()
            .update::<Campaign>(campaign.id.as_str(), |mut stored| {
                stored.number_ids = numbers.clone();
                Ok(stored)
            })
            .await;
        match result {
            // Deleted meanwhile: nothing to keep.
            Ok(_) | Err(CatalogError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
