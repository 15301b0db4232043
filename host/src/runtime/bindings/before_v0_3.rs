// Conversions of the shapes contracts 0.1.0 and 0.2.0 share and 0.3.0 changed (identifiers
// without provenance, addresses without e-mail, requests without a receipt time):
// `include!`d into those versions' modules after `common.rs`.

impl From<wit::Identifier> for model::Identifier {
    fn from(value: wit::Identifier) -> Self {
        match value {
            wit::Identifier::Email(value) => model::Identifier::Email { value },
            wit::Identifier::Phone(value) => model::Identifier::Phone { value },
            wit::Identifier::External(id) => {
                model::Identifier::External { namespace: id.namespace, value: id.value }
            }
        }
    }
}

impl From<model::Identifier> for wit::Identifier {
    fn from(value: model::Identifier) -> Self {
        match value {
            model::Identifier::Email { value } => wit::Identifier::Email(value),
            model::Identifier::Phone { value } => wit::Identifier::Phone(value),
            model::Identifier::External { namespace, value } => {
                wit::Identifier::External(wit::ExternalId { namespace, value })
            }
        }
    }
}

impl From<wit::Contact> for model::Contact {
    fn from(c: wit::Contact) -> Self {
        model::Contact {
            // No provenance before 0.3.0: declared, except a provider's own external ids.
            identifiers: c
                .identifiers
                .into_iter()
                .map(|i| model::ContactPoint::from(model::Identifier::from(i)))
                .collect(),
            display_name: c.display_name,
            given_name: c.given_name,
            family_name: c.family_name,
            locale: c.locale,
            attributes: attributes(c.attributes),
        }
    }
}

fn order(o: wit::Order) -> model::Order {
    model::Order {
        provider_id: o.provider_id,
        contact: o.contact.into(),
        number: o.number,
        status: order_status(o.status),
        lines: order_lines(o.lines),
        total: o.total.into(),
        placed_at: o.placed_at,
        updated_at: o.updated_at,
        delivery_address: o.delivery_address.map(|a| model::Address {
            name: a.name,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
            phone: a.phone,
            email: None,
        }),
        billing_address: None,
        attributes: attributes(o.attributes),
    }
}

impl From<model::HttpRequest> for wit::HttpRequest {
    fn from(r: model::HttpRequest) -> Self {
        wit::HttpRequest {
            method: r.method,
            url: r.url,
            route: r.route,
            headers: r
                .headers
                .into_iter()
                .map(|(name, value)| wit::Header { name, value })
                .collect(),
            body: r.body,
        }
    }
}

