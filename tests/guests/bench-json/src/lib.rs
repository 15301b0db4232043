//! Turns a ~1 KB Shopify-shaped order body into an order event, as a real connector would: the
//! runtime benchmark's per-call workload.
use switchboard_bench_order::{minor_units, parse};
use switchboard_sdk::prelude::*;
use switchboard_sdk::time::parse_rfc3339;

struct BenchJson;

impl Connector for BenchJson {
    fn manifest() -> Manifest {
        Manifest::new("bench-json", "0.1.0", "Benchmark order parser").channel("shop").webhook()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        let order = parse(&request.body).map_err(|e| ConnectorError::BadRequest(e.to_string()))?;
        let mut contact = Contact::new().email(order.email.as_deref().unwrap_or(""));
        contact = contact.phone(order.phone.as_deref().unwrap_or(""));
        if let Some(customer) = &order.customer {
            contact = contact.external("shopify:customer", &customer.id.to_string()).names(
                customer.first_name.as_deref().unwrap_or(""),
                customer.last_name.as_deref().unwrap_or(""),
            );
        }
        let total = Money::new(minor_units(&order.total_price), &order.currency);
        let mut event = Order::new(&order.id.to_string(), contact, total)
            .number(&order.name)
            .status(OrderStatus::Paid)
            .at(parse_rfc3339(&order.created_at)?, parse_rfc3339(&order.updated_at)?);
        for line in &order.line_items {
            let price = Money::new(minor_units(&line.price), &order.currency);
            event = event.line(
                OrderLine::new(&line.title, line.quantity, price)
                    .sku(line.sku.as_deref().unwrap_or("")),
            );
        }
        Ok(WebhookOutcome::ok([event]))
    }
}

export_connector!(BenchJson);
