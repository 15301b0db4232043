//! The ~1 KB order body the runtime benchmark sends, and the typed parse both sides run: inside
//! the `bench-json` guest and natively in the host, so the two timings compare like with like.

use serde::Deserialize;

/// A Shopify `orders/create` body, trimmed to the fields a connector reads.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct ShopifyOrder {
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub currency: String,
    pub total_price: String,
    pub financial_status: Option<String>,
    pub customer: Option<Customer>,
    pub line_items: Vec<LineItem>,
    pub shipping_address: Option<Address>,
}

/// The buyer.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Customer {
    pub id: u64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// One line of the order.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct LineItem {
    pub sku: Option<String>,
    pub title: String,
    pub quantity: u32,
    pub price: String,
}

/// Where it goes.
#[derive(Debug, Deserialize)]
#[allow(missing_docs)]
pub struct Address {
    pub address1: Option<String>,
    pub city: Option<String>,
    pub zip: Option<String>,
    pub country_code: Option<String>,
}

/// Parses the body.
pub fn parse(body: &[u8]) -> Result<ShopifyOrder, serde_json::Error> {
    serde_json::from_slice(body)
}

/// `"12.99"` as minor units (1299); amounts in this benchmark always have two decimals.
pub fn minor_units(price: &str) -> i64 {
    let (units, cents) = price.split_once('.').unwrap_or((price, "0"));
    units.parse::<i64>().unwrap_or(0) * 100 + cents.parse::<i64>().unwrap_or(0)
}

/// A body of about 1 KB, shaped like Shopify's documented `orders/create` example.
pub const BODY: &str = r##"{"id":820982911946154508,"admin_graphql_api_id":"gid://shopify/Order/820982911946154508","name":"#9999","email":"jon@example.com","phone":"+33612345678","created_at":"2026-11-22T10:15:00-05:00","updated_at":"2026-11-22T10:15:01-05:00","currency":"EUR","total_price":"403.00","subtotal_price":"393.00","total_tax":"0.00","financial_status":"paid","fulfillment_status":null,"customer":{"id":115310627314723954,"email":"jon@example.com","first_name":"Jon","last_name":"Doe","state":"disabled","verified_email":true},"line_items":[{"id":866550311766439020,"sku":"IPOD-342-N","title":"IPod Nano - 8GB","quantity":1,"price":"199.00","vendor":null,"taxable":true},{"id":141249953214522974,"sku":"IPOD-342-R","title":"IPod Nano - 8GB (red)","quantity":1,"price":"194.00","vendor":null,"taxable":true}],"shipping_address":{"first_name":"Steve","last_name":"Shipper","address1":"123 Shipping Street","city":"Shippington","zip":"40003","country":"France","country_code":"FR","phone":"555-555-SHIP"},"note":null,"tags":"","test":false}"##;
