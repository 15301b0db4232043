//! Prometheus metrics: per connector requests, errors, call latency and events by kind; store
//! commit latency; dead letters; delivery addresses geocoded.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a connector call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// Connector id.
    pub connector: String,
    /// `webhook`, `poll`, `send` or `geocode`.
    pub call: String,
    /// `ok`, `rejected` (the connector refused the input) or `failed`.
    pub outcome: String,
}

/// Labels of a connector.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConnectorLabels {
    /// Connector id.
    pub connector: String,
}

/// Labels of stored events.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// Connector id.
    pub connector: String,
    /// `contact`, `interaction`, `order`, `shipment`, `consent`.
    pub kind: String,
}

/// Labels of a geocoding answer.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GeocodeLabels {
    /// `placed`, `not_found`, `failed` (the address, for good) or `unavailable` (the geocoder,
    /// retried later).
    pub result: String,
}

fn latency_histogram() -> Histogram {
    // 100 µs to ~50 s.
    Histogram::new(exponential_buckets(0.0001, 2.5, 15))
}

/// Every metric the host exports.
pub struct Metrics {
    registry: Registry,
    /// Connector calls.
    pub calls: Family<CallLabels, Counter>,
    /// Connector call latency (seconds).
    pub call_seconds: Family<ConnectorLabels, Histogram, fn() -> Histogram>,
    /// Events stored.
    pub events: Family<EventLabels, Counter>,
    /// Store commit latency (seconds).
    pub commit_seconds: Histogram,
    /// Requests sent to dead letters.
    pub dead_letters: Family<ConnectorLabels, Counter>,
    /// Delivery addresses asked of a geocoder, by result.
    pub geocoded: Family<GeocodeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let calls = Family::<CallLabels, Counter>::default();
        let call_seconds =
            Family::<ConnectorLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            );
        let events = Family::<EventLabels, Counter>::default();
        let commit_seconds = latency_histogram();
        let dead_letters = Family::<ConnectorLabels, Counter>::default();
        registry.register("connector_calls", "Connector calls by outcome", calls.clone());
        registry.register("connector_call_seconds", "Connector call latency", call_seconds.clone());
        registry.register("events", "Events stored by kind", events.clone());
        registry.register(
            "store_commit_seconds",
            "Latency of committing a webhook's or poll's events",
            commit_seconds.clone(),
        );
        registry.register("dead_letters", "Requests kept in dead letters", dead_letters.clone());
        let geocoded = Family::<GeocodeLabels, Counter>::default();
        registry.register("geocoded", "Delivery addresses asked of a geocoder", geocoded.clone());
        Metrics { registry, calls, call_seconds, events, commit_seconds, dead_letters, geocoded }
    }
}

impl Metrics {
    /// Counts a call.
    pub fn call(&self, connector: &str, call: &str, outcome: &str, seconds: f64) {
        self.calls
            .get_or_create(&CallLabels {
                connector: connector.into(),
                call: call.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.call_seconds
            .get_or_create(&ConnectorLabels { connector: connector.into() })
            .observe(seconds);
    }

    /// Counts a geocoding answer.
    pub fn geocoded(&self, result: &str) {
        self.geocoded.get_or_create(&GeocodeLabels { result: result.into() }).inc();
    }

    /// Counts stored events.
    pub fn stored(&self, connector: &str, kinds: &[&'static str]) {
        for kind in kinds {
            self.events
                .get_or_create(&EventLabels { connector: connector.into(), kind: (*kind).into() })
                .inc();
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
