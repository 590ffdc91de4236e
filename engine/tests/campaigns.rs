//! Campaign labels stored before campaigns were resources become campaigns when the engine
//! starts: one per label (ignoring case), serving replies in its first number's queue,
//! sending from every number carrying it; a label that already has its campaign keeps it.

use engine::catalog::Catalog;
use engine::domain::campaign::Campaign;
use engine::domain::{Name, Number, NumberId, PhoneNumber};
use engine::runtime::{Clock, Engine, EngineConfig};
use engine::store::{AnyStore, MemoryStore};

mod common;
use common::{Setup, configure, queue_id};

#[actix_rt::test]
async fn stored_labels_become_campaigns_at_start() {
    let store = AnyStore::Memory(MemoryStore::new());
    configure(
        &store,
        Setup {
            agents: &[("ann", 1)],
            offer_timeout_secs: 30,
            disposition_required: false,
        },
    )
    .await;
    // Stored as an older Switchboard would have: labels only (no engine running).
    let catalog = Catalog::new(store.clone());
    let template = catalog.get::<Number>("n1").await.unwrap().resource;
    for (id, phone, label) in [
        ("n2", "+15550100001", "SPRING"),
        ("n3", "+15550100002", "Fall"),
    ] {
        catalog
            .create(Number {
                id: NumberId::parse(id).unwrap(),
                phone: PhoneNumber::parse("phone", phone).unwrap(),
                campaign: Name::parse("campaign", label).unwrap(),
                ..template.clone()
            })
            .await
            .unwrap();
    }

    let engine = Engine::start(store.clone(), Clock::system(), EngineConfig::default());
    engine.recover().await.unwrap();
    let mut campaigns: Vec<Campaign> = catalog
        .list::<Campaign>(None, 100)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|s| s.resource)
        .collect();
    campaigns.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    let summary: Vec<(String, Vec<String>)> = campaigns
        .iter()
        .map(|c| {
            let mut numbers: Vec<String> = c.number_ids.iter().map(ToString::to_string).collect();
            numbers.sort();
            (c.name.as_str().to_owned(), numbers)
        })
        .collect();
    // n1 ("Spring") and n2 ("SPRING") share one campaign, named as the first number has it.
    assert_eq!(
        summary,
        vec![
            ("Fall".to_owned(), vec!["n3".to_owned()]),
            ("Spring".to_owned(), vec!["n1".to_owned(), "n2".to_owned()]),
        ]
    );
    assert!(campaigns.iter().all(|c| c.queue_id == queue_id()));

    // Starting again makes nothing new.
    assert_eq!(engine.adopt_campaign_labels().await.unwrap(), 0);
    assert_eq!(
        catalog
            .list::<Campaign>(None, 100)
            .await
            .unwrap()
            .items
            .len(),
        2
    );
}
