//! A well-behaved connector that touches every host import, so the runtime's plumbing can be
//! tested end to end: the webhook route picks what to exercise.
use switchboard_sdk::host::{LogLevel, kv};
use switchboard_sdk::prelude::*;
use switchboard_sdk::{http, time};

struct Probe;

impl Connector for Probe {
    fn manifest() -> Manifest {
        Manifest::new("probe", "1.2.3", "Probe")
            .channel("test")
            .namespace("probe:user")
            .webhook()
            .poll()
            .send()
    }

    fn handle_webhook(request: HttpRequest) -> Result<WebhookOutcome, ConnectorError> {
        match request.route.as_str() {
            "/echo" => {
                let body = json!({
                    "method": request.method,
                    "url": request.url,
                    "route": request.route,
                    "signature": request.header("x-signature"),
                    "body": request.text()?,
                });
                Ok(WebhookOutcome::respond(HttpResponse::json(200, &body), Vec::<Event>::new()))
            }
            "/config" => {
                let key = request.query().get("key").unwrap_or_default().to_string();
                let value = config(&key).unwrap_or_else(|| "<unset>".into());
                Ok(WebhookOutcome::respond(HttpResponse::text(200, &value), Vec::<Event>::new()))
            }
            "/kv" => {
                let hits = kv::get_string("hits")?.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                kv::set("hits", (hits + 1).to_string())?;
                if hits + 1 >= 3 {
                    kv::delete("hits")?;
                }
                Ok(WebhookOutcome::respond(
                    HttpResponse::text(200, &(hits + 1).to_string()),
                    Vec::<Event>::new(),
                ))
            }
            "/log" => {
                log(LogLevel::Info, "probe says hello through the host log");
                println!("probe line on stdout");
                eprintln!("probe line on stderr");
                Ok(WebhookOutcome::ok(Vec::<Event>::new()))
            }
            "/fetch" => {
                let upstream = require_config("upstream")?;
                let response =
                    http::get(&upstream).header("x-probe", "1").send()?.error_for_status()?;
                let contact = Contact::new().external("probe:user", "u-1");
                let event = Interaction::message("test", "fetch-1", contact).text(&response.text());
                Ok(WebhookOutcome::respond(HttpResponse::text(200, &response.text()), [event]))
            }
            "/events" => Ok(WebhookOutcome::ok(every_kind_of_event())),
            "/unauthorized" => Err(ConnectorError::Unauthorized("bad signature".into())),
            other => Err(ConnectorError::BadRequest(format!("unknown route {other}"))),
        }
    }

    fn poll(cursor: Option<String>) -> Result<PollOutcome, ConnectorError> {
        let n: u64 = match cursor {
            None => 0,
            Some(c) => {
                c.parse().map_err(|_| ConnectorError::BadRequest(format!("bad cursor {c}")))?
            }
        };
        let contact = Contact::new().email(&format!("poll{n}@example.com"));
        let event = Interaction::message("test", &format!("poll-{n}"), contact);
        Ok(PollOutcome::new([event], Some((n + 1).to_string())))
    }

    fn send(message: OutboundMessage) -> Result<Receipt, ConnectorError> {
        if message.to.is_empty() {
            return Err(ConnectorError::BadRequest("no recipient".into()));
        }
        let mut receipt = Receipt::new(&format!("sent-{}", message.text.len()));
        receipt.thread_id = message.thread_id;
        receipt.status = Some("queued".into());
        Ok(receipt)
    }
}

fn every_kind_of_event() -> Vec<Event> {
    let ann = || {
        Contact::new()
            .email("Ann.Lee@Example.com")
            .phone("+33 6 12 34 56 78")
            .external("probe:user", "42")
            .name("Ann Lee")
            .locale("fr-FR")
    };
    let at = time::parse_rfc3339("2026-11-22T10:00:00Z").unwrap_or(0);
    let order = Order::new("o-1", ann(), Money::new(2598, "eur"))
        .number("#1001")
        .status(OrderStatus::Paid)
        .line(OrderLine::new("Mug", 2, Money::new(1299, "EUR")).sku("MUG-1"))
        .at(at, at);
    vec![
        ann().update("c-1").into(),
        Interaction::message("test", "m-1", ann())
            .thread("t-1")
            .subject("Hi")
            .text("Hello")
            .at(at)
            .into(),
        order.into(),
        Shipment::new("s-1", "colissimo", "6A123", ShipmentStatus::InTransit)
            .for_order("o-1")
            .into(),
        Consent::new("k-1", ann(), "sms", ConsentState::OptOut).reason("replied STOP").into(),
    ]
}

export_connector!(Probe);
