//! Each [`Spec`] as its provider sends it: the payload shaped like the connector's fixtures
//! (`plugins/<name>/fixtures/`), signed the way that provider signs, at the public URL the
//! connectors are configured for.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use switchboard::model::HttpRequest;

use super::people::PRODUCTS;
use super::spec::{
    Address, Lines, MailRoute, Posting, ShopCustomer, ShopOrder, Spec, StripePayment, Tracking,
    WebEvent, total,
};

/// Where the providers are told to send their webhooks.
const PUBLIC: &str = "https://crm.example.com";
/// The shop's own number on Twilio.
const SHOP_NUMBER: &str = "+33755512345";

pub const TELEGRAM_SECRET: &str = "bench-telegram-secret";
pub const WHATSAPP_SECRET: &str = "bench-whatsapp-app-secret";
pub const TWILIO_TOKEN: &str = "bench-twilio-auth-token";
pub const MAILGUN_KEY: &str = "bench-mailgun-signing-key";
pub const POSTMARK: (&str, &str) = ("postmark-hook", "bench-postmark-password");
pub const SENDGRID: (&str, &str) = ("sendgrid-hook", "bench-sendgrid-password");
pub const SHOPIFY_SECRET: &str = "bench-shopify-client-secret";
pub const SHOP_DOMAIN: &str = "atelier-lumiere.myshopify.com";
pub const STRIPE_SECRET: &str = "whsec_bench";
pub const WEB_SECRET: &str = "bench-web-signing-secret";
pub const TILL_SECRET: &str = "bench-till-signing-secret";
pub const GOOGLE_TOKEN: &str = "bench-push-token";
pub const AFTERSHIP_SECRET: &str = "bench-aftership-secret";
pub const EASYPOST_SECRET: &str = "bench-easypost-secret";

/// The request `spec` makes, signed as of now; `serial` keeps single-use values (Mailgun's
/// token) unique across runs of the same timeline.
pub fn request(spec: &Spec, at: i64, serial: u64) -> HttpRequest {
    match spec {
        Spec::Telegram { user, first, last, username, locale, message, text, shared } => {
            let mut from =
                json!({"id": user, "is_bot": false, "first_name": first, "language_code": locale});
            if let Some(last) = last {
                from["last_name"] = json!(last);
            }
            if let Some(username) = username {
                from["username"] = json!(username);
            }
            let mut chat = from.clone();
            chat["type"] = json!("private");
            for key in ["is_bot", "language_code"] {
                chat.as_object_mut().unwrap().remove(key);
            }
            let mut msg =
                json!({"message_id": message, "from": from, "chat": chat, "date": at / 1000});
            match shared {
                Some(phone) => {
                    msg["contact"] = json!({"phone_number": phone, "first_name": first,
                        "last_name": last, "user_id": user});
                }
                None => msg["text"] = json!(text),
            }
            let body = json!({"update_id": 850_000_000 + message, "message": msg}).to_string();
            post(
                "telegram",
                "",
                &[
                    ("Content-Type", "application/json"),
                    ("X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET),
                ],
                body.into_bytes(),
            )
        }
        Spec::WhatsApp { wa_id, name, id, text } => {
            let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
                "value": {"messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                    "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                    "messages": [{"from": wa_id, "id": id, "timestamp": (at / 1000).to_string(),
                        "type": "text", "text": {"body": text}}]},
                "field": "messages"}]}]})
            .to_string();
            let signature =
                format!("sha256={}", hex::encode(hmac_sha256(WHATSAPP_SECRET, body.as_bytes())));
            post(
                "whatsapp",
                "",
                &[("Content-Type", "application/json"), ("X-Hub-Signature-256", &signature)],
                body.into_bytes(),
            )
        }
        Spec::Sms { sid, from, body } => twilio(
            "/sms",
            &[
                ("ToCountry", "FR"),
                ("SmsMessageSid", sid),
                ("NumMedia", "0"),
                ("SmsSid", sid),
                ("SmsStatus", "received"),
                ("Body", body),
                ("FromCountry", ""),
                ("To", SHOP_NUMBER),
                ("MessagingServiceSid", "MG9752274e9e519418a7406176694466fa"),
                ("NumSegments", "1"),
                ("MessageSid", sid),
                ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                ("From", from),
                ("ApiVersion", "2010-04-01"),
            ],
        ),
        Spec::Call { sid, from, completed } => {
            let duration = completed.map(|d| d.to_string());
            let mut form = vec![
                ("Called", SHOP_NUMBER),
                ("Direction", "inbound"),
                ("CallSid", sid.as_str()),
                ("To", SHOP_NUMBER),
                ("ToCountry", "FR"),
                ("CallStatus", if completed.is_some() { "completed" } else { "ringing" }),
                ("From", from.as_str()),
                ("AccountSid", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                ("Caller", from.as_str()),
                ("ApiVersion", "2010-04-01"),
            ];
            if let Some(duration) = &duration {
                form.push(("CallDuration", duration));
            }
            twilio(if completed.is_some() { "/voice/status" } else { "/voice" }, &form)
        }
        Spec::Callback { id, name, phone, preferred } => {
            let body = form(&[
                ("name", name),
                ("phone", phone),
                ("preferred_time", preferred),
                ("request_id", id),
            ]);
            post(
                "twilio",
                "/callback",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                body.into_bytes(),
            )
        }
        Spec::Mail(mail) => {
            let date = rfc2822(at);
            let from_header = format!("{} <{}>", encoded_word(&mail.from_name), mail.from);
            let mime = format!(
                "From: {from_header}\r\nTo: Atelier Lumière <support@atelier-lumiere.example>\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
                encoded_word(&mail.subject),
                mail.message_id,
                mail.body.replace('\n', "\r\n"),
            );
            match mail.route {
                MailRoute::Postmark => {
                    let body = json!({
                        "FromName": mail.from_name, "MessageStream": "inbound", "From": mail.from,
                        "FromFull": {"Email": mail.from, "Name": mail.from_name, "MailboxHash": ""},
                        "To": "\"Support\" <support@inbound.postmarkapp.com>",
                        "ToFull": [{"Email": "support@inbound.postmarkapp.com", "Name": "Support", "MailboxHash": ""}],
                        "Subject": mail.subject, "MessageID": format!("{:x}-pm", serial + 0x1000_0000),
                        "Date": date, "TextBody": mail.body, "HtmlBody": "", "StrippedTextReply": "",
                        "Headers": [{"Name": "Message-ID", "Value": format!("<{}>", mail.message_id)},
                                    {"Name": "MIME-Version", "Value": "1.0"}],
                        "Attachments": []
                    })
                    .to_string();
                    let auth = basic(POSTMARK);
                    post(
                        "email",
                        "/postmark",
                        &[("Content-Type", "application/json"), ("Authorization", &auth)],
                        body.into_bytes(),
                    )
                }
                MailRoute::Mailgun => {
                    let timestamp = (now() / 1000).to_string();
                    // Single use: Mailgun's tokens are 50 hex digits.
                    let spread =
                        u128::from(serial).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
                    let token = format!("{serial:018x}{spread:032x}");
                    let signature = hex::encode(hmac_sha256(
                        MAILGUN_KEY,
                        format!("{timestamp}{token}").as_bytes(),
                    ));
                    let parts = [
                        ("recipient", "support@atelier-lumiere.example"),
                        ("sender", mail.from.as_str()),
                        ("subject", mail.subject.as_str()),
                        ("from", from_header.as_str()),
                        ("body-mime", mime.as_str()),
                        ("timestamp", timestamp.as_str()),
                        ("token", token.as_str()),
                        ("signature", signature.as_str()),
                    ];
                    let (content_type, body) = multipart(&parts);
                    post("email", "/mailgun", &[("Content-Type", &content_type)], body)
                }
                MailRoute::Sendgrid => {
                    let envelope =
                        json!({"to": ["support@atelier-lumiere.example"], "from": mail.from})
                            .to_string();
                    let parts = [
                        ("headers", "Received: by mx.sendgrid.net"),
                        ("to", "support@atelier-lumiere.example"),
                        ("from", from_header.as_str()),
                        ("subject", mail.subject.as_str()),
                        ("envelope", envelope.as_str()),
                        ("charsets", r#"{"to":"UTF-8","subject":"UTF-8","from":"UTF-8"}"#),
                        ("SPF", "pass"),
                        ("email", mime.as_str()),
                    ];
                    let (content_type, body) = multipart(&parts);
                    let auth = basic(SENDGRID);
                    post(
                        "email",
                        "/sendgrid",
                        &[("Content-Type", &content_type), ("Authorization", &auth)],
                        body,
                    )
                }
            }
        }
        Spec::Order(order) => {
            let webhook = format!("b54557e4-bdd9-4b37-8a5f-{serial:012x}");
            shopify("orders/create", order_json(order, at).to_string(), &webhook)
        }
        Spec::Customer { webhook, customer } => {
            let mut body = customer_json(customer, at);
            body["orders_count"] = json!(0);
            shopify("customers/update", body.to_string(), webhook)
        }
        Spec::Stripe(payment) => stripe(payment, at),
        Spec::Web(event) => web(event, at),
        Spec::Till(sale) => {
            let amount = total(&sale.lines);
            let tenders = if sale.card {
                json!([{"method": "card", "amount": cents(amount), "card_last4": "4242"}])
            } else {
                json!([{"method": "cash", "amount": cents(amount + 500)}])
            };
            let customer = if sale.phone.is_none()
                && sale.email.is_none()
                && sale.loyalty.is_none()
                && sale.visitor.is_none()
            {
                Value::Null
            } else {
                json!({"phone": sale.phone, "email": sale.email, "loyalty_card": sale.loyalty,
                       "name": sale.name, "web_visitor": sale.visitor})
            };
            let body = json!({
                "sale_id": sale.id, "store_id": "PAR01", "till_id": "3", "occurred_at": rfc3339(at),
                "currency": "EUR", "total": cents(amount), "lines": line_items(&sale.lines),
                "tenders": tenders, "change": if sale.card { "0.00".to_string() } else { cents(500) },
                "customer": customer, "cart_token": sale.cart,
            })
            .to_string();
            switchboard_signed("till", TILL_SECRET, body)
        }
        Spec::Lead(lead) => {
            let mut body = json!({
                "lead_id": lead.id, "kind": if lead.call { "call" } else { "message" }, "name": lead.name,
                "listing": "Atelier Lumière – Lyon Presqu'île", "source": "maps", "occurred_at": rfc3339(at),
            });
            if let Some(phone) = &lead.phone {
                body["phone"] = json!(phone);
            }
            if let Some(email) = &lead.email {
                body["email"] = json!(email);
            }
            if let Some(message) = &lead.message {
                body["message"] = json!(message);
            }
            if lead.call {
                body["duration_secs"] = json!(60 + at % 300);
            }
            post(
                "google-business",
                &format!("/lead?token={GOOGLE_TOKEN}"),
                &[("Content-Type", "application/json")],
                body.to_string().into_bytes(),
            )
        }
        Spec::Tracking(tracking) if tracking.aftership => aftership(tracking, at),
        Spec::Tracking(tracking) => easypost(tracking, at),
        Spec::Ozon(_) => unreachable!("Ozon is polled: see `posting`"),
    }
}

/// An Ozon posting as `/v3/posting/fbs/list` lists it.
pub fn posting(posting: &Posting, at: i64) -> Value {
    let products: Vec<Value> = posting
        .lines
        .iter()
        .map(|(product, quantity)| {
            let (sku, name, price) = PRODUCTS[*product];
            json!({"price": format!("{}.000000", price), "offer_id": sku, "name": name,
                   "sku": 1_148_814_963 + *product as u64, "quantity": quantity, "mandatory_mark": [],
                   "currency_code": "RUB", "is_blr_traceable": false, "is_marketplace_buyout": false})
        })
        .collect();
    json!({
        "posting_number": posting.number, "order_id": 680_420_041, "order_number": posting.order_number,
        "status": "awaiting_deliver", "substatus": "posting_created",
        "delivery_method": {"id": 21_321_684_811_000_u64, "name": "Ozon Логистика самостоятельно, Москва",
            "warehouse_id": 21_321_684_811_000_u64, "warehouse": "Стим Тойс Нахабино", "tpl_provider_id": 24,
            "tpl_provider": "Ozon Логистика"},
        "tracking_number": "", "tpl_integration_type": "ozon", "in_process_at": rfc3339_utc(at),
        "shipment_date": rfc3339_utc(at + 86_400_000),
        "customer": {
            "address": {"address_tail": "ул. Ленина, д. 5, кв. 12", "city": "Москва", "comment": "",
                "country": "Россия", "district": "", "latitude": 55.751244, "longitude": 37.618423,
                "provider_pvz_code": "", "pvz_code": 0, "region": "Москва", "zip_code": "101000"},
            "customer_email": posting.email.clone().unwrap_or_default(),
            "customer_id": posting.buyer.unwrap_or(0),
            "name": posting.name,
            "phone": posting.phone.clone().unwrap_or_default(),
        },
        "products": products,
        "addressee": posting.addressee.as_ref().map(|(name, phone)| json!({"name": name, "phone": phone})),
        "barcodes": null, "analytics_data": null, "financial_data": null, "is_express": false,
    })
}

fn now() -> i64 {
    switchboard::store::now_millis()
}

fn post(
    connector: &str,
    route_and_query: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> HttpRequest {
    let url = format!("{PUBLIC}/hooks/{connector}{route_and_query}");
    let mut all = vec![("Host".to_string(), "crm.example.com".to_string())];
    all.extend(headers.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    HttpRequest {
        method: "POST".into(),
        route: switchboard::recorded::route(&url, connector),
        url,
        headers: all,
        body,
        received_at: now(),
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// A Twilio form post, signed: base64 HMAC-SHA1 under the auth token of the URL followed by
/// every parameter sorted by name, as name + value.
fn twilio(route: &str, fields: &[(&str, &str)]) -> HttpRequest {
    let url = format!("{PUBLIC}/hooks/twilio{route}");
    let mut sorted = fields.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut signed = url.clone();
    for (name, value) in sorted {
        signed.push_str(name);
        signed.push_str(value);
    }
    let signature = base64(&hmac_sha1(TWILIO_TOKEN.as_bytes(), signed.as_bytes()));
    post(
        "twilio",
        route,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("X-Twilio-Signature", &signature),
        ],
        form(fields).into_bytes(),
    )
}

fn hmac_sha256(key: &str, message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn basic((user, password): (&str, &str)) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

/// `t=<now>,v1=<hex HMAC-SHA256 of "{t}.{body}">`: Stripe's scheme, which the shop's own
/// systems (web site, tills) use too.
fn timestamped(secret: &str, body: &str) -> String {
    let t = now() / 1000;
    format!("t={t},v1={}", hex::encode(hmac_sha256(secret, format!("{t}.{body}").as_bytes())))
}

fn switchboard_signed(connector: &str, secret: &str, body: String) -> HttpRequest {
    let signature = timestamped(secret, &body);
    post(
        connector,
        "",
        &[
            ("Content-Type", "application/json"),
            ("User-Agent", "atelier-lumiere-site/4.2"),
            ("Switchboard-Signature", &signature),
        ],
        body.into_bytes(),
    )
}

fn multipart(parts: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "------------------------9f2c6a31a8e4d0b7";
    let mut body = String::new();
    for (name, value) in parts {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body.into_bytes())
}

/// An RFC 2047 encoded word for a header value that is not ASCII.
fn encoded_word(text: &str) -> String {
    if text.is_ascii() {
        return if text.contains([',', '"', '(']) {
            format!("\"{}\"", text.replace('"', ""))
        } else {
            text.to_string()
        };
    }
    format!("=?UTF-8?B?{}?=", base64(text.as_bytes()))
}

fn datetime(at: i64) -> chrono::DateTime<chrono::FixedOffset> {
    let offset = chrono::FixedOffset::east_opt(3600).unwrap();
    chrono::DateTime::from_timestamp_millis(at).unwrap().with_timezone(&offset)
}

fn rfc3339(at: i64) -> String {
    datetime(at).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn rfc3339_utc(at: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn rfc2822(at: i64) -> String {
    datetime(at).to_rfc2822()
}

fn cents(amount: i64) -> String {
    format!("{}.{:02}", amount / 100, amount % 100)
}

fn line_items(lines: &Lines) -> Vec<Value> {
    lines
        .iter()
        .map(|(product, quantity)| {
            let (sku, name, price) = PRODUCTS[*product];
            json!({"sku": sku, "name": name, "quantity": quantity, "unit_price": cents(price)})
        })
        .collect()
}

fn address_json(address: &Address) -> Value {
    json!({"first_name": address.first, "address1": address.line1, "phone": address.phone,
           "city": address.city, "zip": address.zip, "province": null, "country": "France",
           "last_name": address.last, "address2": null, "company": address.company,
           "latitude": null, "longitude": null, "name": format!("{} {}", address.first, address.last),
           "country_code": "FR", "province_code": null})
}

fn customer_json(customer: &ShopCustomer, at: i64) -> Value {
    json!({"id": customer.id, "email": customer.email, "created_at": rfc3339(at - 3_600_000),
           "updated_at": rfc3339(at), "first_name": customer.first, "last_name": customer.last,
           "state": "enabled", "note": null, "verified_email": true, "multipass_identifier": null,
           "tax_exempt": false, "tags": "", "currency": "EUR", "phone": customer.phone, "addresses": [],
           "tax_exemptions": [], "email_marketing_consent": null, "sms_marketing_consent": null,
           "admin_graphql_api_id": format!("gid://shopify/Customer/{}", customer.id), "default_address": null})
}

fn order_json(order: &ShopOrder, at: i64) -> Value {
    let amount = cents(total(&order.lines));
    let items: Vec<Value> = order
        .lines
        .iter()
        .enumerate()
        .map(|(n, (product, quantity))| {
            let (sku, name, price) = PRODUCTS[*product];
            json!({"id": 866_550_311_766_439_020_u64 + n as u64, "fulfillable_quantity": quantity,
                   "fulfillment_service": "manual", "fulfillment_status": null, "gift_card": false,
                   "grams": 200, "name": name, "price": cents(price), "product_exists": true,
                   "quantity": quantity, "requires_shipping": true, "sku": sku, "taxable": true,
                   "title": name, "total_discount": "0.00", "vendor": "Atelier"})
        })
        .collect();
    json!({
        "id": order.id, "admin_graphql_api_id": format!("gid://shopify/Order/{}", order.id),
        "buyer_accepts_marketing": false, "cancel_reason": null, "cancelled_at": null,
        "confirmed": true, "contact_email": order.email, "created_at": rfc3339(at),
        "currency": "EUR", "current_subtotal_price": amount, "current_total_price": amount,
        "customer_locale": order.locale, "email": order.email, "financial_status": "paid",
        "fulfillment_status": null, "name": order.number,
        "order_number": order.number.trim_start_matches('#').parse::<u64>().unwrap_or(0),
        "phone": order.phone, "presentment_currency": "EUR", "processed_at": rfc3339(at),
        "source_name": "web", "subtotal_price": amount, "tags": "", "test": false,
        "total_discounts": "0.00", "total_line_items_price": amount, "total_price": amount,
        "total_tax": "0.00", "updated_at": rfc3339(at + 2000),
        "billing_address": order.bill_to.as_ref().map(address_json),
        "customer": order.customer.as_ref().map(|c| customer_json(c, at)),
        "line_items": items,
        "shipping_address": order.ship_to.as_ref().map(address_json),
        "shipping_lines": [{"code": "Colissimo", "price": "0.00", "source": "shopify", "title": "Colissimo"}],
        "refunds": [], "fulfillments": []
    })
}

fn shopify(topic: &str, body: String, webhook_id: &str) -> HttpRequest {
    let signature = base64(&hmac_sha256(SHOPIFY_SECRET, body.as_bytes()));
    let triggered = rfc3339_utc(now());
    post(
        "shopify",
        "",
        &[
            ("Content-Type", "application/json"),
            ("X-Shopify-Topic", topic),
            ("X-Shopify-Hmac-Sha256", &signature),
            ("X-Shopify-Shop-Domain", SHOP_DOMAIN),
            ("X-Shopify-API-Version", "2025-10"),
            ("X-Shopify-Webhook-Id", webhook_id),
            ("X-Shopify-Triggered-At", &triggered),
        ],
        body.into_bytes(),
    )
}

fn stripe(payment: &StripePayment, at: i64) -> HttpRequest {
    let object = if payment.session {
        json!({
            "id": format!("cs_live_{}", payment.intent.trim_start_matches("pi_")), "object": "checkout.session",
            "amount_subtotal": payment.amount, "amount_total": payment.amount,
            "client_reference_id": payment.order, "created": at / 1000 - 3, "currency": "eur",
            "customer": payment.customer,
            "customer_details": {"email": payment.email, "name": payment.name, "phone": payment.phone,
                                 "tax_exempt": "none", "tax_ids": []},
            "livemode": true, "metadata": {}, "mode": "payment", "payment_intent": payment.intent,
            "payment_method_types": ["card"], "payment_status": "paid", "status": "complete",
        })
    } else {
        let metadata = match &payment.order {
            Some(order) => json!({"order_number": order, "shop": SHOP_DOMAIN}),
            None => json!({}),
        };
        let mut intent = json!({
            "id": payment.intent, "object": "payment_intent", "amount": payment.amount,
            "amount_capturable": 0, "amount_received": payment.amount, "capture_method": "automatic_async",
            "created": at / 1000 - 2, "currency": "eur", "customer": payment.customer,
            "description": payment.order.as_ref().map(|o| format!("Order {o}")),
            "livemode": true, "metadata": metadata, "payment_method_types": ["card"],
            "receipt_email": payment.email, "status": "succeeded",
        });
        if let Some((name, phone)) = &payment.shipping {
            intent["shipping"] = json!({"name": name, "phone": phone, "carrier": null, "tracking_number": null,
                "address": {"city": "Lyon", "country": "FR", "line1": "3 place Bellecour", "postal_code": "69002"}});
        }
        intent
    };
    let kind =
        if payment.session { "checkout.session.completed" } else { "payment_intent.succeeded" };
    let body = json!({
        "id": payment.event, "object": "event", "api_version": "2025-09-30.clover", "created": at / 1000,
        "data": {"object": object}, "livemode": true, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null}, "type": kind,
    })
    .to_string();
    let signature = timestamped(STRIPE_SECRET, &body);
    post(
        "stripe",
        "",
        &[
            ("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
            ("Content-Type", "application/json; charset=utf-8"),
            ("Stripe-Signature", &signature),
        ],
        body.into_bytes(),
    )
}

fn web(event: &WebEvent, at: i64) -> HttpRequest {
    let mut body = json!({"event_id": event.id, "type": event.kind, "visitor_id": event.visitor,
                          "occurred_at": rfc3339_utc(at)});
    for (key, value) in [("email", &event.email), ("phone", &event.phone), ("name", &event.name)] {
        if let Some(value) = value {
            body[key] = json!(value);
        }
    }
    if let Some((token, lines)) = &event.cart {
        body["cart"] = json!({"token": token, "currency": "EUR", "items": line_items(lines)});
    }
    if let Some(product) = event.product {
        let (sku, name, price) = PRODUCTS[product];
        body["product"] = json!({"sku": sku, "name": name, "price": cents(price), "currency": "EUR",
                                 "url": format!("https://atelier-lumiere.example/p/{}", sku.to_lowercase())});
    }
    if let Some((text, conversation)) = &event.chat {
        body["message"] = json!({"text": text, "conversation_id": conversation});
    }
    switchboard_signed("web", WEB_SECRET, body.to_string())
}

fn aftership(tracking: &Tracking, at: i64) -> HttpRequest {
    let order = tracking.order.clone().unwrap_or_default();
    let body = json!({
        "event": "tracking_update", "event_id": format!("{}-evt", tracking.id), "is_tracking_first_tag": false,
        "msg": {"id": tracking.id, "tracking_number": tracking.code, "title": format!("Order {order}"),
            "slug": tracking.carrier, "active": true, "tag": "InTransit", "subtag": "InTransit_001",
            "order_id": order, "order_number": order.trim_start_matches('#'), "customer_name": tracking.name,
            "emails": tracking.emails, "smses": tracking.smses, "origin_country_iso3": "FRA",
            "destination_country_iso3": "FRA", "updated_at": rfc3339(at),
            "checkpoints": [{"slug": tracking.carrier, "city": "Paris", "location": "Paris, FR",
                "country_iso3": "FRA", "message": "Votre colis est pris en charge par La Poste",
                "tag": "InTransit", "checkpoint_time": rfc3339(at)}]},
        "ts": at / 1000,
    })
    .to_string();
    let signature = base64(&hmac_sha256(AFTERSHIP_SECRET, body.as_bytes()));
    post(
        "aftership",
        "",
        &[("Content-Type", "application/json"), ("aftership-hmac-sha256", &signature)],
        body.into_bytes(),
    )
}

fn easypost(tracking: &Tracking, at: i64) -> HttpRequest {
    let body = json!({
        "object": "Event", "id": format!("evt_{}", &tracking.id[4..28]), "mode": "production",
        "description": "tracker.updated", "created_at": rfc3339_utc(at), "updated_at": rfc3339_utc(at),
        "result": {"object": "Tracker", "id": tracking.id, "mode": "production", "tracking_code": tracking.code,
            "status": "in_transit", "status_detail": "arrived_at_facility", "created_at": rfc3339_utc(at - 3_600_000),
            "updated_at": rfc3339_utc(at), "carrier": tracking.carrier,
            "tracking_details": [{"object": "TrackingDetail", "message": "Parcel accepted", "status": "in_transit",
                "datetime": rfc3339_utc(at), "tracking_location": {"object": "TrackingLocation", "city": "PARIS",
                "state": null, "country": "FR", "zip": "75001"}}]},
    })
    .to_string();
    let signature =
        format!("hmac-sha256-hex={}", hex::encode(hmac_sha256(EASYPOST_SECRET, body.as_bytes())));
    post(
        "easypost",
        "",
        &[("Content-Type", "application/json"), ("X-Hmac-Signature", &signature)],
        body.into_bytes(),
    )
}

/// HMAC-SHA1, for Twilio's signature.
fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Twilio's published example ("Validating requests"): the signature it documents.
pub fn sha1_self_check() -> bool {
    let signed = "https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212";
    base64(&hmac_sha1(b"12345", signed.as_bytes())) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
}
