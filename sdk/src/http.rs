//! A small blocking HTTP client for calling provider APIs, over `wasi:http` through `wstd`.
//!
//! The host only lets a connector reach the hosts its operator listed in `allowed_hosts`; a
//! refused request fails with [`HttpError::Refused`] naming the host.
//!
//! ```ignore
//! let reply: Value = http::post("https://api.example.com/v1/messages")
//!     .bearer(&token)
//!     .json(&json!({ "to": to, "text": text }))
//!     .send()?
//!     .error_for_status()?
//!     .json()?;
//! ```

use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
#[cfg(target_arch = "wasm32")]
use wstd::http::{Body, Client, Request};

use crate::ConnectorError;

/// Why an outbound request failed before a response arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request could not be built (bad URL, header or body).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The host refused it: the destination is not in the connector's `allowed_hosts`.
    #[error("request refused by the host: {0}")]
    Refused(String),
    /// The network or the provider failed.
    #[error("request failed: {0}")]
    Failed(String),
}

impl From<HttpError> for ConnectorError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::Invalid(_) => ConnectorError::BadRequest(error.to_string()),
            HttpError::Refused(_) => ConnectorError::Config(error.to_string()),
            HttpError::Failed(_) => ConnectorError::Transient(error.to_string()),
        }
    }
}

/// A response, read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers, names lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ConnectorError::Transient(format!(
                "provider answered {} with unexpected JSON: {e}",
                self.status
            ))
        })
    }

    /// Turns a non-2xx answer into the matching [`ConnectorError`]: 401/403 are
    /// [`Config`](ConnectorError::Config) (the credentials are wrong), 408/429/5xx are
    /// [`Transient`](ConnectorError::Transient), other 4xx are
    /// [`BadRequest`](ConnectorError::BadRequest).
    pub fn error_for_status(self) -> Result<Self, ConnectorError> {
        let detail = || {
            // At most 500 bytes, cut at a character boundary (a provider's error may be in
            // any language).
            let body = self.text();
            let mut end = body.len().min(500);
            while !body.is_char_boundary(end) {
                end -= 1;
            }
            format!("provider answered {}: {}", self.status, &body[..end])
        };
        match self.status {
            200..=299 => Ok(self),
            401 | 403 => Err(ConnectorError::Config(detail())),
            408 | 429 | 500..=599 => Err(ConnectorError::Transient(detail())),
            _ => Err(ConnectorError::BadRequest(detail())),
        }
    }
}

/// The URL of the `rel="next"` link of an RFC 8288 `Link` header, as cursor-paginated APIs send
/// it (`<https://…?page_info=abc>; rel="next", <…>; rel="previous"`).
pub fn next_link(link_header: &str) -> Option<String> {
    link_header.split(',').find_map(|link| {
        let (target, params) = link.trim().split_once(';')?;
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        params
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .any(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim().trim_matches('"').split_whitespace().any(|r| r == "next")
            })
            .then(|| url.to_string())
    })
}

/// A request being built.
#[derive(Debug, Clone)]
#[must_use = "a request does nothing until `send` is called"]
pub struct RequestBuilder {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    timeout: Option<Duration>,
}

/// Starts a `GET`.
pub fn get(url: &str) -> RequestBuilder {
    request("GET", url)
}

/// Starts a `POST`.
pub fn post(url: &str) -> RequestBuilder {
    request("POST", url)
}

/// Starts a request with any method.
pub fn request(method: &str, url: &str) -> RequestBuilder {
    RequestBuilder {
        method: method.to_ascii_uppercase(),
        url: url.into(),
        headers: Vec::new(),
        body: Vec::new(),
        timeout: None,
    }
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Adds `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Adds HTTP basic authentication (Twilio, Mailgun).
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {credentials}"))
    }

    /// Sends `value` as a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        self.body = serde_json::to_vec(value).unwrap_or_default();
        self.header("content-type", "application/json")
    }

    /// Sends the pairs as an `application/x-www-form-urlencoded` body.
    pub fn form<'a>(mut self, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        self.body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// Sends raw bytes with the given content type.
    pub fn body(mut self, body: impl Into<Vec<u8>>, content_type: &str) -> Self {
        self.body = body.into();
        self.header("content-type", content_type)
    }

    /// Gives up waiting for the first byte of the answer after `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sends the request and reads the whole response. In a native test, the mock host answers
    /// it from its recorded responses.
    pub fn send(self) -> Result<Response, HttpError> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            crate::native::send(&self.method, &self.url, &self.headers, &self.body)
        }
        #[cfg(target_arch = "wasm32")]
        self.send_through_host()
    }

    #[cfg(target_arch = "wasm32")]
    fn send_through_host(self) -> Result<Response, HttpError> {
        let mut builder = Request::builder().method(self.method.as_str()).uri(self.url.as_str());
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        // A known length rather than chunked transfer: some provider APIs refuse chunked
        // request bodies.
        if !self.body.is_empty()
            && !self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            builder = builder.header("content-length", self.body.len().to_string());
        }
        // No body is sent as a stream that ends at once: `Body::from(vec![])` still waits for
        // the stream to take an empty write, which fails ("connection reset") when a quick
        // server has already answered and the host has closed the request body.
        let body = if self.body.is_empty() {
            Body::from_stream(futures_util::stream::empty::<bytes::Bytes>())
        } else {
            Body::from(self.body)
        };
        let request = builder.body(body).map_err(|e| HttpError::Invalid(e.to_string()))?;
        let mut client = Client::new();
        if let Some(timeout) = self.timeout {
            client.set_first_byte_timeout(timeout);
        }
        wstd::runtime::block_on(async move {
            let response = client.send(request).await.map_err(classify)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())
                })
                .collect();
            let mut body = response.into_body();
            let body = body.contents().await.map_err(classify)?.to_vec();
            Ok(Response { status, headers, body })
        })
    }
}

/// The host reports a refused destination as `internal-error` with its reason; anything else
/// is a network or provider failure.
#[cfg(target_arch = "wasm32")]
fn classify(error: wstd::http::Error) -> HttpError {
    use wstd::http::ErrorCode;
    for cause in error.chain() {
        if let Some(ErrorCode::InternalError(Some(message))) = cause.downcast_ref::<ErrorCode>()
            && message.contains("allowed_hosts")
        {
            return HttpError::Refused(message.clone());
        }
        if let Some(ErrorCode::HttpRequestDenied) = cause.downcast_ref::<ErrorCode>() {
            return HttpError::Refused("destination denied".into());
        }
    }
    HttpError::Failed(format!("{error:#}"))
}

#[cfg(test)]
mod tests {
    use super::{Response, next_link};
    use crate::ConnectorError;

    /// Issue 14 #14: a long non-ASCII error body cut at 500 bytes used to panic (a trap
    /// instead of a retryable error).
    #[test]
    fn a_long_non_ascii_error_body_is_cut_without_panicking() {
        let body = "é".repeat(400).into_bytes(); // 800 bytes; byte 500 is inside a character
        let response = Response { status: 503, headers: vec![], body };
        match response.error_for_status() {
            Err(ConnectorError::Transient(detail)) => {
                assert!(detail.starts_with("provider answered 503: é"), "{detail}");
                assert!(detail.len() <= "provider answered 503: ".len() + 500);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn next_link_is_found_among_others() {
        let header = "<https://shop.example/admin/api/2025-10/orders.json?limit=2&page_info=abc>; rel=\"previous\", <https://shop.example/admin/api/2025-10/orders.json?limit=2&page_info=def>; rel=\"next\"";
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://shop.example/admin/api/2025-10/orders.json?limit=2&page_info=def")
        );
        assert_eq!(next_link("<https://x/?p=1>; rel=\"previous\""), None);
        assert_eq!(next_link("<https://x/?p=2>; rel=next").as_deref(), Some("https://x/?p=2"));
        assert_eq!(next_link(""), None);
    }
}
