//! A minimal HTTP/1.1 client for the CLI's admin commands, which talk to a running server on
//! its (usually local, plain-HTTP) listen address.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL is not `http://host:port`.
    #[error("server `{0}` is not an http://HOST:PORT address")]
    BadUrl(String),
    /// The server could not be reached.
    #[error("cannot reach the server at {address}: {source}")]
    Connect {
        /// Where.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// The answer was not HTTP.
    #[error("the server's answer is not HTTP: {0}")]
    Malformed(String),
    /// The request took too long.
    #[error("the server did not answer within {0:?}")]
    Timeout(Duration),
}

/// An answer: status, headers and body.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Sends `method path` with an optional bearer token and JSON body to `server`
/// (`http://127.0.0.1:8080`).
pub async fn request(
    server: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<Answer, ClientError> {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = vec![("Accept", "application/json")];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    send(server, method, path, &headers, payload.as_bytes()).await
}

/// Sends any request: `headers` as given, `body` as raw bytes (a Content-Length is added).
pub async fn send(
    server: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Answer, ClientError> {
    let timeout = Duration::from_secs(60);
    let exchange = async {
        let authority = server
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/'))
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| ClientError::BadUrl(server.to_string()))?;
        let mut stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|source| ClientError::Connect { address: authority.to_string(), source })?;
        let mut head =
            format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let io = |source| ClientError::Connect { address: authority.to_string(), source };
        stream.write_all(head.as_bytes()).await.map_err(io)?;
        stream.write_all(body).await.map_err(io)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.map_err(io)?;
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| ClientError::Malformed("no header end".into()))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut body = raw[split + 4..].to_vec();
        let status =
            head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| {
                ClientError::Malformed(head.lines().next().unwrap_or("").to_string())
            })?;
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            body =
                dechunk(&body).ok_or_else(|| ClientError::Malformed("bad chunked body".into()))?;
        }
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        Ok(Answer { status, headers, body })
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| ClientError::Timeout(timeout))?
}

impl Answer {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(
            std::str::from_utf8(&data[..line_end]).ok()?.split(';').next()?.trim(),
            16,
        )
        .ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
