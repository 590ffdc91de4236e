//! The metrics' contract: the registry, `docs/metrics.md` and the dashboards and rules
//! name the same families.

use std::collections::BTreeMap;

/// The families `docs/metrics.md` documents: name → (type, labels).
fn documented() -> BTreeMap<String, (String, Vec<String>)> {
    let doc = include_str!("../../../docs/metrics.md");
    doc.lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`').to_owned();
            let labels = cells[3]
                .split(',')
                .map(|l| l.trim().trim_matches('`').to_owned())
                .filter(|l| !l.is_empty() && l != "—")
                .collect();
            (name, (cells[2].to_owned(), labels))
        })
        .collect()
}

/// The dashboards and Prometheus rules the project ships, by file name.
const DASHBOARDS_AND_RULES: [(&str, &str); 5] = [
    (
        "wallboard.json",
        include_str!("../../../dashboards/wallboard.json"),
    ),
    (
        "agents.json",
        include_str!("../../../dashboards/agents.json"),
    ),
    (
        "operations.json",
        include_str!("../../../dashboards/operations.json"),
    ),
    (
        "prometheus/recording.yml",
        include_str!("../../../dashboards/prometheus/recording.yml"),
    ),
    (
        "prometheus/alerts.yml",
        include_str!("../../../dashboards/prometheus/alerts.yml"),
    ),
];

/// The names in a PromQL-bearing text: runs of letters, digits, `_` and `:`.
fn names(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|t| !t.is_empty())
}

/// The registry, `docs/metrics.md` and the dashboards and rules name the same families:
/// every metric a panel or rule reads is exported and documented, every recording rule
/// one reads is defined, and every documented family is read by a panel or a rule.
#[test]
fn dashboards_and_rules_use_exactly_the_documented_families() {
    let documented = documented();
    let recorded: std::collections::BTreeSet<&str> = DASHBOARDS_AND_RULES[3]
        .1
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(str::trim)
        .collect();
    assert!(!recorded.is_empty());
    let mut used = std::collections::BTreeSet::new();
    for (file, text) in DASHBOARDS_AND_RULES {
        for name in names(text) {
            if name.contains(':') {
                // A recording rule (level:metric:operations).
                if name.matches(':').count() == 2 && name.contains("switchboard") {
                    assert!(
                        recorded.contains(name),
                        "{file} reads {name}, never recorded"
                    );
                }
                continue;
            }
            if !(name.starts_with("switchboard_") || name.starts_with("process_")) {
                continue;
            }
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    let base = name.strip_suffix(suffix)?;
                    (documented.get(base)?.0 == "histogram").then_some(base)
                })
                .unwrap_or(name);
            assert!(
                documented.contains_key(family),
                "{file} reads {name}, which /metrics does not serve"
            );
            used.insert(family.to_owned());
        }
    }
    let unused: Vec<_> = documented.keys().filter(|n| !used.contains(*n)).collect();
    assert!(unused.is_empty(), "no dashboard or rule reads {unused:?}");
}

/// Every family on `/metrics` is documented with its type and labels, and every
/// documented family is on `/metrics` from start-up (before any event).
#[test]
fn the_registry_and_docs_metrics_md_agree() {
    let metrics = super::Metrics::new();
    metrics.touch_queue("q1");
    metrics.touch_team(&crate::domain::Team {
        id: crate::domain::TeamId::parse("t1").unwrap(),
        name: crate::domain::Name::parse("name", "T").unwrap(),
        away_reasons: crate::domain::default_away_reasons(),
    });
    // The HTTP families' labels are route patterns, known once a request is counted
    // (the first scrape counts itself).
    metrics
        .http_requests
        .with_label_values(&["/metrics", "GET", "2xx"]);
    metrics
        .http_request_duration
        .with_label_values(&["/metrics", "GET"]);
    // Store operations are known once called.
    metrics.store_call("conversation_commit", std::time::Duration::ZERO, None);
    metrics
        .store_errors
        .with_label_values(&["conversation_commit", "timeout"]);
    metrics.set_queue_team("q1", "t1");
    metrics
        .queue_alert_threshold
        .with_label_values(&["q1", "unclaimed"]);
    metrics.touch_agent("ann");
    metrics
        .outbound_handoff
        .with_label_values(&["simulator", "accepted"]);
    metrics
        .outbound_delivery
        .with_label_values(&["simulator", "delivered"]);
    // Codes are known once recorded.
    metrics.dispositions.with_label_values(&["q1", "sale"]);
    let page = metrics.render();
    let mut served: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for family in metrics.registry.gather() {
        let kind = format!("{:?}", family.get_field_type()).to_lowercase();
        let labels = family
            .get_metric()
            .first()
            .map(|m| m.get_label().iter().map(|l| l.name().to_owned()).collect())
            .unwrap_or_default();
        served.insert(family.name().to_owned(), (kind, labels));
    }
    let documented = documented();
    assert_eq!(
        served.keys().collect::<Vec<_>>(),
        documented.keys().collect::<Vec<_>>(),
        "families served vs documented"
    );
    for (name, (kind, labels)) in &documented {
        let (served_kind, served_labels) = &served[name];
        assert_eq!(served_kind, kind, "{name}'s type");
        // A family whose labels no event has filled yet shows none; the ones at zero
        // from start-up show theirs.
        if !served_labels.is_empty() {
            let mut a = served_labels.clone();
            let mut b = labels.clone();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{name}'s labels");
        }
    }
    for name in super::ALL {
        assert!(documented.contains_key(name), "{name} is not documented");
    }
    assert!(page.contains(r#"switchboard_offers_total{outcome="expired",queue="q1"} 0"#));
    assert!(page.contains(r#"switchboard_messages_total{direction="inbound"} 0"#));
}
