//! Where orders are delivered: the queue of delivery addresses still to geocode (the orders
//! themselves, so nothing is lost across restarts and any host can work it), and the points a
//! geocoder found for them.

use super::sql::{Conn, params};
use super::{Store, StoreError, now_millis, read_job, write_job};
use crate::model::{Address, GeoPoint};
use serde::Serialize;

/// An order whose delivery address is still to be placed.
#[derive(Debug, Clone)]
pub struct PendingAddress {
    /// The order's row id.
    pub order_id: i64,
    /// The delivery address as stored; the answer is recorded only if it is still the same.
    pub stored: String,
    /// The same address, parsed.
    pub address: Address,
    /// How many attempts failed so far.
    pub attempts: i64,
}

/// What became of an address.
#[derive(Debug, Clone, PartialEq)]
pub enum GeocodeResult {
    /// The geocoder placed it.
    Found(GeoPoint),
    /// The geocoder knows no such place.
    NotFound,
    /// The geocoder failed on it for good (its error), and it is not asked again.
    Failed(String),
}

/// Where an order is delivered, as `GET /api/orders` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LocationView {
    /// `placed`, `not_found` or `failed`.
    #[schema(value_type = String)]
    pub status: &'static str,
    /// Degrees north, when placed.
    pub latitude: Option<f64>,
    /// Degrees east, when placed.
    pub longitude: Option<f64>,
    /// How the geocoder names the place it found.
    pub place_name: Option<String>,
    /// The geocoding connector that answered.
    pub geocoded_by: Option<String>,
    /// When it answered, milliseconds since the Unix epoch.
    pub geocoded_at: i64,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// `latitude, longitude, place_name, geocoded_by, geocoded_at, geocode_error`.
type LocationRow =
    (Option<f64>, Option<f64>, Option<String>, Option<String>, Option<i64>, Option<String>);

impl Store {
    /// The oldest orders whose delivery address is not placed yet, at most `limit`.
    pub async fn addresses_to_geocode(
        &self,
        limit: i64,
    ) -> Result<Vec<PendingAddress>, StoreError> {
        let rows: Vec<(i64, String, i64)> = self
            .read(read_job!(|conn| async move {
                conn.all(
                    "SELECT id, delivery_address, geocode_attempts FROM orders \
                     WHERE delivery_address IS NOT NULL AND geocoded_at IS NULL ORDER BY id LIMIT $1",
                    params![limit],
                )
                .await
            }))
            .await?;
        let mut pending = Vec::with_capacity(rows.len());
        for (order_id, stored, attempts) in rows {
            match serde_json::from_str::<Address>(&stored) {
                Ok(address) => pending.push(PendingAddress { order_id, stored, address, attempts }),
                // Written by this store, so this cannot happen short of a hand edit; such an
                // order must not block the queue.
                Err(error) => {
                    let failure = GeocodeResult::Failed(format!("unreadable address: {error}"));
                    self.record_geocode(order_id, &stored, "switchboard", &failure).await?;
                }
            }
        }
        Ok(pending)
    }

    /// Records what `geocoder` answered for the address `stored` of an order. `false` when the
    /// order's address changed meanwhile: the answer is dropped and the new address waits.
    pub async fn record_geocode(
        &self,
        order_id: i64,
        stored: &str,
        geocoder: &str,
        result: &GeocodeResult,
    ) -> Result<bool, StoreError> {
        let (point, error) = match result {
            GeocodeResult::Found(point) => (Some(point.clone()), None),
            GeocodeResult::NotFound => (None, None),
            GeocodeResult::Failed(error) => (None, Some(error.clone())),
        };
        let (stored, geocoder) = (stored.to_string(), geocoder.to_string());
        self.write(
            vec![],
            write_job!(|tx| {
                let (stored, geocoder, point, error) =
                    (stored.clone(), geocoder.clone(), point.clone(), error.clone());
                async move {
                    let done = tx
                        .execute(
                            "UPDATE orders SET latitude = $5, longitude = $6, place_name = $7, geocoded_by = $3, \
                             geocoded_at = $4, geocode_error = $8 WHERE id = $1 AND delivery_address = $2",
                            params![
                                order_id,
                                stored,
                                geocoder,
                                now_millis(),
                                point.as_ref().map(|p| p.latitude),
                                point.as_ref().map(|p| p.longitude),
                                point.as_ref().and_then(|p| p.display_name.clone()),
                                error
                            ],
                        )
                        .await?;
                    Ok(done == 1)
                }
            }),
        )
        .await
    }

    /// Counts a failed attempt at an order's address; it stays in the queue.
    pub async fn geocode_attempt_failed(&self, order_id: i64) -> Result<(), StoreError> {
        self.write(
            vec![],
            write_job!(|tx| async move {
                tx.execute(
                    "UPDATE orders SET geocode_attempts = geocode_attempts + 1 WHERE id = $1",
                    params![order_id],
                )
                .await?;
                Ok(())
            }),
        )
        .await
    }
}

/// Where order `id` is delivered, if a geocoder answered for its current address.
pub(super) async fn location_view(
    conn: &mut Conn<'_>,
    id: i64,
) -> Result<Option<LocationView>, StoreError> {
    let (latitude, longitude, place_name, geocoded_by, geocoded_at, error): LocationRow = conn
        .one(
            "SELECT latitude, longitude, place_name, geocoded_by, geocoded_at, geocode_error \
             FROM orders WHERE id = $1",
            params![id],
        )
        .await?;
    let Some(geocoded_at) = geocoded_at else { return Ok(None) };
    let status = match (latitude, &error) {
        (Some(_), _) => "placed",
        (None, Some(_)) => "failed",
        (None, None) => "not_found",
    };
    Ok(Some(LocationView {
        status,
        latitude,
        longitude,
        place_name,
        geocoded_by,
        geocoded_at,
        error,
    }))
}
