//! Placing orders' delivery addresses on the map, after they are stored.
//!
//! Any connector may report an order with a delivery address; a connector that declares the
//! `geocode` capability (the bundled `google-business`, with its `geocoder_url`) places it. The
//! work happens off the webhook path, one address at a time (Nominatim's public instance allows
//! one request a second), and an address already placed is not asked again. A failed attempt
//! is logged and left: the order is stored either way, and its next state tries again.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::model::{ConnectorError, Event};
use crate::registry::Registry;
use crate::runtime::CallError;
use crate::store::Store;

/// How many orders may wait to be geocoded; beyond that new ones are skipped (and logged).
const QUEUE: usize = 10_000;

/// Queues orders for the geocoding worker.
#[derive(Clone)]
pub struct Geocoder {
    queue: mpsc::Sender<(String, String)>,
}

impl Geocoder {
    /// Starts the worker.
    pub fn start(store: Store, registry: Arc<Registry>) -> Geocoder {
        let (queue, mut jobs) = mpsc::channel::<(String, String)>(QUEUE);
        tokio::spawn(async move {
            while let Some((connector, provider_id)) = jobs.recv().await {
                place(&store, &registry, &connector, &provider_id).await;
            }
        });
        Geocoder { queue }
    }

    /// Queues the orders among `events` (just stored for `connector`) that have a delivery
    /// address.
    pub fn orders_stored(&self, connector: &str, events: &[Event]) {
        for event in events {
            if let Event::Order(order) = event
                && order.delivery_address.is_some()
                && self.queue.try_send((connector.to_string(), order.provider_id.clone())).is_err()
            {
                tracing::warn!(
                    connector,
                    order = order.provider_id,
                    "geocoding queue full: order not placed"
                );
            }
        }
    }
}

async fn place(store: &Store, registry: &Registry, connector: &str, provider_id: &str) {
    let address = match store.address_to_geocode(connector, provider_id).await {
        Ok(Some(address)) => address,
        Ok(None) => return,
        Err(error) => {
            tracing::warn!(connector, order = provider_id, %error, "could not read the order to geocode");
            return;
        }
    };
    let Ok(parsed) = serde_json::from_str::<crate::model::Address>(&address) else {
        return;
    };
    let geocoders = registry
        .all()
        .into_iter()
        .filter_map(|slot| slot.serving())
        .filter(|loaded| loaded.manifest().capabilities.geocode);
    for geocoder in geocoders {
        match geocoder.geocode(parsed.clone()).await {
            Ok(point) => {
                let id = geocoder.id();
                match store
                    .set_order_location(connector, provider_id, &address, point.as_ref(), id)
                    .await
                {
                    Ok(()) => tracing::debug!(
                        connector,
                        order = provider_id,
                        geocoder = id,
                        found = point.is_some(),
                        "order geocoded"
                    ),
                    Err(error) => {
                        tracing::warn!(connector, order = provider_id, %error, "could not store the order's location")
                    }
                }
                return;
            }
            // Not configured to geocode (no `geocoder_url`): the next geocoder may be.
            Err(CallError::Connector { error: ConnectorError::Unsupported(_), .. }) => continue,
            Err(error) => {
                tracing::warn!(connector, order = provider_id, geocoder = geocoder.id(), %error, "geocoding failed");
                return;
            }
        }
    }
}
