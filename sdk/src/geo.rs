//! Geocoding through a Nominatim-compatible API (`/search?format=jsonv2`), the OpenStreetMap
//! geocoder that many services and self-hosted instances speak.
//!
//! Nominatim's usage policy asks for an identifying `User-Agent` and at most one request per
//! second on the public instance; the host geocodes one address at a time.

use serde::Deserialize;

use crate::{Address, ConnectorError, GeoPoint, http};

#[derive(Deserialize)]
struct Place {
    lat: String,
    lon: String,
    display_name: Option<String>,
}

/// The structured-search query for `address`: street, city, postal code, state and country
/// code, each only when known. `None` when the address has nothing to search by.
pub fn nominatim_query(address: &Address) -> Option<String> {
    let street = [address.line1.as_deref(), address.line2.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if !street.is_empty() {
        pairs.push(("street", street));
    }
    for (key, value) in
        [("city", &address.city), ("postalcode", &address.postal_code), ("state", &address.region)]
    {
        if let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            pairs.push((key, value.to_string()));
        }
    }
    if pairs.is_empty() {
        return None;
    }
    if let Some(country) = address.country.as_deref().map(str::trim).filter(|c| c.len() == 2) {
        pairs.push(("countrycodes", country.to_ascii_lowercase()));
    }
    pairs.push(("format", "jsonv2".into()));
    pairs.push(("limit", "1".into()));
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Some(crate::form::encode(&pairs))
}

/// Places `address` with the Nominatim-compatible API at `base_url` (e.g.
/// `https://nominatim.openstreetmap.org`); `None` when it finds no such place.
pub fn nominatim(base_url: &str, address: &Address) -> Result<Option<GeoPoint>, ConnectorError> {
    let Some(query) = nominatim_query(address) else {
        return Ok(None);
    };
    let url = format!("{}/search?{query}", base_url.trim_end_matches('/'));
    let places: Vec<Place> = http::get(&url)
        .header("User-Agent", "Switchboard customer platform (geocoding delivery addresses)")
        .header("Accept", "application/json")
        .send()?
        .error_for_status()?
        .json()?;
    let Some(place) = places.into_iter().next() else {
        return Ok(None);
    };
    let coordinate = |value: &str, what: &str| {
        value.trim().parse::<f64>().map_err(|_| {
            ConnectorError::Transient(format!(
                "geocoder answered a {what} that is not a number: `{value}`"
            ))
        })
    };
    Ok(Some(GeoPoint {
        latitude: coordinate(&place.lat, "latitude")?,
        longitude: coordinate(&place.lon, "longitude")?,
        display_name: place.display_name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_query_uses_what_the_address_has() {
        let address = Address {
            name: Some("Ann Lee".into()),
            line1: Some("12 rue de la République".into()),
            line2: None,
            city: Some("Lyon".into()),
            region: None,
            postal_code: Some("69002".into()),
            country: Some("FR".into()),
            phone: None,
            email: None,
        };
        assert_eq!(
            nominatim_query(&address).unwrap(),
            "street=12+rue+de+la+R%C3%A9publique&city=Lyon&postalcode=69002&countrycodes=fr&format=jsonv2&limit=1"
        );
        let empty = Address { line1: None, city: None, postal_code: None, ..address };
        assert_eq!(nominatim_query(&empty), None);
    }
}
