// Conversions of what contract 0.2.0 added and later versions keep (payments, geocoding):
// `include!`d into those versions' modules after `common.rs`.

fn payment(p: wit::Payment) -> model::Payment {
    model::Payment {
        provider_id: p.provider_id,
        contact: p.contact.into(),
        order_ref: p.order_ref,
        status: match p.status {
            wit::PaymentStatus::Succeeded => model::PaymentStatus::Succeeded,
            wit::PaymentStatus::PartiallyRefunded => model::PaymentStatus::PartiallyRefunded,
            wit::PaymentStatus::Refunded => model::PaymentStatus::Refunded,
        },
        amount: p.amount.into(),
        refunded_minor: p.refunded_minor,
        occurred_at: p.occurred_at,
        attributes: attributes(p.attributes),
    }
}

impl From<wit::GeoPoint> for model::GeoPoint {
    fn from(p: wit::GeoPoint) -> Self {
        model::GeoPoint {
            latitude: p.latitude,
            longitude: p.longitude,
            display_name: p.display_name,
        }
    }
}
