//! Recorded HTTP requests (`.http` files): how connector authors and tests replay a provider's
//! webhook without the provider.
//!
//! The format is the request as it went over the wire: a request line, headers, a blank line
//! and the body.
//!
//! ```text
//! POST /hooks/hello?x=1 HTTP/1.1
//! Host: crm.example.com
//! Content-Type: application/x-www-form-urlencoded
//!
//! id=form-1&email=ann%40example.com
//! ```
//!
//! Lines of the head may end in LF or CRLF. With a `Content-Length` header the body is exactly
//! that many bytes; without one, it is the rest of the file with one trailing newline removed
//! (editors add one, and a signature covers the bytes the provider sent).

use crate::model::HttpRequest;

/// Why a recorded request could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordedError {
    /// The file is empty or has no request line.
    #[error("line 1: expected a request line such as `POST /hooks/hello HTTP/1.1`")]
    MissingRequestLine,
    /// The request line is malformed.
    #[error("line 1: `{0}` is not a request line; expected `METHOD TARGET [HTTP/1.1]`")]
    BadRequestLine(String),
    /// A header line has no colon.
    #[error("line {line}: `{text}` is not a header; expected `Name: value`")]
    BadHeader {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// `Content-Length` is not a number or is longer than the body.
    #[error("Content-Length `{declared}` does not fit the body of {actual} bytes")]
    BadContentLength {
        /// The header value.
        declared: String,
        /// Bytes after the blank line.
        actual: usize,
    },
    /// A recorded response has no status line.
    #[error(
        "expected a status line such as `HTTP/1.1 200 OK` (after an optional `METHOD URL` line)"
    )]
    MissingStatusLine,
    /// A recorded response's status line is malformed.
    #[error("`{0}` is not a status line such as `HTTP/1.1 200 OK`")]
    BadStatusLine(String),
    /// The target is relative and there is no `Host` header to make the public URL from.
    #[error(
        "the request target `{0}` is a path but there is no Host header to build the public URL"
    )]
    NoHost(String),
}

/// A recorded request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Upper case method.
    pub method: String,
    /// The target as written (a path with query, or an absolute URL).
    pub target: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// Parses the bytes of a `.http` file.
    pub fn parse(bytes: &[u8]) -> Result<Self, RecordedError> {
        let mut lines = Lines { rest: bytes, number: 0 };
        // Blank lines and `#` comments before the request line are skipped.
        let request_line = loop {
            match lines.next() {
                None => return Err(RecordedError::MissingRequestLine),
                Some(line) if line.trim().is_empty() || line.starts_with('#') => continue,
                Some(line) => break line,
            }
        };
        let mut words = request_line.split_whitespace();
        let (Some(method), Some(target)) = (words.next(), words.next()) else {
            return Err(RecordedError::BadRequestLine(request_line));
        };
        if !method.bytes().all(|b| b.is_ascii_alphabetic()) || words.nth(1).is_some() {
            return Err(RecordedError::BadRequestLine(request_line));
        }
        let (method, target) = (method.to_ascii_uppercase(), target.to_string());
        let (headers, body) = head_and_body(lines)?;
        Ok(Recorded { method, target, headers, body })
    }

    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The headers to send when replaying the request to a server: all but `Host` and
    /// `Content-Length`, which the sending client sets for its own connection and body.
    pub fn forwardable_headers(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case("host") && !n.eq_ignore_ascii_case("content-length")
            })
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    /// The request as a connector receives it when mounted at `/hooks/{connector}`. The public
    /// URL is the absolute target, or `https://{Host}{target}`; `public_url` overrides it.
    pub fn to_request(
        &self,
        connector: &str,
        public_url: Option<&str>,
    ) -> Result<HttpRequest, RecordedError> {
        let url = match public_url {
            Some(url) => url.to_string(),
            None if self.target.starts_with("http://") || self.target.starts_with("https://") => {
                self.target.clone()
            }
            None => {
                let host = self
                    .header("host")
                    .ok_or_else(|| RecordedError::NoHost(self.target.clone()))?;
                format!("https://{host}{}", self.target)
            }
        };
        Ok(HttpRequest {
            method: self.method.clone(),
            route: route(&url, connector),
            url,
            headers: self.headers.clone(),
            body: self.body.clone(),
            // Received now: `plugin test --now` and replays set an earlier time.
            received_at: crate::store::now_millis(),
        })
    }
}

/// Headers in order, as written.
type Headers = Vec<(String, String)>;

/// The headers after the first line of a message, up to the blank line, and the body after it:
/// `Content-Length` bytes when it says, else the rest less one trailing newline.
fn head_and_body(mut lines: Lines<'_>) -> Result<(Headers, Vec<u8>), RecordedError> {
    let mut headers = Vec::new();
    loop {
        let line_number = lines.number + 1;
        match lines.next() {
            None => break,
            Some(line) if line.is_empty() => break,
            Some(line) => {
                let Some((name, value)) = line.split_once(':') else {
                    return Err(RecordedError::BadHeader { line: line_number, text: line });
                };
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
    }
    let rest = lines.rest;
    let length = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("content-length"));
    let body = match length {
        Some((_, declared)) => {
            let n: usize = declared.parse().map_err(|_| RecordedError::BadContentLength {
                declared: declared.clone(),
                actual: rest.len(),
            })?;
            rest.get(..n)
                .ok_or_else(|| RecordedError::BadContentLength {
                    declared: declared.clone(),
                    actual: rest.len(),
                })?
                .to_vec()
        }
        None => {
            let trimmed = rest.strip_suffix(b"\n").unwrap_or(rest);
            trimmed.strip_suffix(b"\r").unwrap_or(trimmed).to_vec()
        }
    };
    Ok((headers, body))
}

/// A provider's recorded answer (`.http`, as a request is recorded): a status line
/// (`HTTP/1.1 200 OK`), headers, a blank line and the body, optionally after a line naming the
/// request it answers (`POST https://api.example.com/v1/messages`, the URL a prefix).
///
/// ```text
/// POST https://api.telegram.org/bot123:abc/sendMessage
/// HTTP/1.1 200 OK
/// Content-Type: application/json
///
/// {"ok": true, "result": {"message_id": 77}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedResponse {
    /// The request it answers: method and URL prefix; `None` answers any request.
    pub answers: Option<(String, String)>,
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl RecordedResponse {
    /// Parses the bytes of a recorded response.
    pub fn parse(bytes: &[u8]) -> Result<Self, RecordedError> {
        let mut lines = Lines { rest: bytes, number: 0 };
        let mut first = loop {
            match lines.next() {
                None => return Err(RecordedError::MissingStatusLine),
                Some(line) if line.trim().is_empty() || line.starts_with('#') => continue,
                Some(line) => break line,
            }
        };
        let mut answers = None;
        if !first.starts_with("HTTP/") {
            let mut words = first.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(method), Some(url), None)
                    if method.bytes().all(|b| b.is_ascii_alphabetic()) =>
                {
                    answers = Some((method.to_ascii_uppercase(), url.to_string()));
                }
                _ => return Err(RecordedError::BadStatusLine(first)),
            }
            first = lines.next().ok_or(RecordedError::MissingStatusLine)?;
        }
        let status = first
            .strip_prefix("HTTP/")
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|code| code.parse::<u16>().ok())
            .filter(|code| (100..600).contains(code))
            .ok_or_else(|| RecordedError::BadStatusLine(first.clone()))?;
        let (headers, body) = head_and_body(lines)?;
        Ok(RecordedResponse { answers, status, headers, body })
    }

    /// Whether it answers `method` to `url`.
    pub fn answers(&self, method: &str, url: &str) -> bool {
        self.answers.as_ref().is_none_or(|(m, prefix)| {
            m.eq_ignore_ascii_case(method) && url.starts_with(prefix.as_str())
        })
    }
}

/// A provider simulated by recorded responses (`plugin test --responses DIR`): each request a
/// connector makes gets the first recording that answers it — one naming its request answers
/// once, one naming none answers any — and every request is kept, to be shown.
#[derive(Debug, Default)]
pub struct Recordings {
    /// (file name, response, used).
    responses: std::sync::Mutex<Vec<(String, RecordedResponse, bool)>>,
    requests: std::sync::Mutex<Vec<OutboundRequest>>,
}

/// A request a connector made while recordings answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// Method.
    pub method: String,
    /// URL.
    pub url: String,
    /// Bytes of its body.
    pub body_size: usize,
    /// The recording that answered it, if one did.
    pub answered_by: Option<String>,
}

impl Recordings {
    /// The `.http` files of `dir`, in the order of their names.
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, String> {
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "http"))
            .collect();
        files.sort();
        let mut responses = Vec::new();
        for file in files {
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let response =
                RecordedResponse::parse(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
            let name = file.file_name().unwrap_or_default().to_string_lossy().into_owned();
            responses.push((name, response, false));
        }
        Ok(Recordings { responses: std::sync::Mutex::new(responses), ..Default::default() })
    }

    /// The answer to a request (`None`: no recording answers it), and the request kept.
    pub fn answer(&self, method: &str, url: &str, body_size: usize) -> Option<RecordedResponse> {
        let mut responses = self.responses.lock().unwrap_or_else(|e| e.into_inner());
        let found = responses
            .iter_mut()
            .find(|(_, r, used)| r.answers(method, url) && !(*used && r.answers.is_some()));
        let answer = found.map(|(name, response, used)| {
            *used = true;
            (name.clone(), response.clone())
        });
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).push(OutboundRequest {
            method: method.to_string(),
            url: url.to_string(),
            body_size,
            answered_by: answer.as_ref().map(|(name, _)| name.clone()),
        });
        answer.map(|(_, response)| response)
    }

    /// The requests made so far.
    pub fn requests(&self) -> Vec<OutboundRequest> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The lines of a file's head, counted for error messages.
struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
}

impl Iterator for Lines<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.iter().position(|&b| b == b'\n').unwrap_or(self.rest.len());
        let line = &self.rest[..end];
        self.rest = self.rest.get(end + 1..).unwrap_or(&[]);
        self.number += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some(String::from_utf8_lossy(line).into_owned())
    }
}

/// The path below `/hooks/{connector}` (`/` at the mount point itself); a URL outside the mount
/// point keeps its whole path.
pub fn route(url: &str, connector: &str) -> String {
    let after_scheme = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path_and_query = after_scheme.find('/').map(|i| &after_scheme[i..]).unwrap_or("/");
    let path = path_and_query.split(['?', '#']).next().unwrap_or("/");
    let mount = format!("/hooks/{connector}");
    match path.strip_prefix(&mount) {
        Some("") => "/".into(),
        Some(rest) if rest.starts_with('/') => rest.into(),
        _ => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_responses_answer_their_request_once_and_others_always() {
        let named = RecordedResponse::parse(
            b"POST https://api.example.com/v1/messages\nHTTP/1.1 201 Created\nContent-Type: application/json\n\n{\"id\": \"m-1\"}\n",
        )
        .unwrap();
        assert_eq!(
            named.answers,
            Some(("POST".into(), "https://api.example.com/v1/messages".into()))
        );
        assert_eq!((named.status, named.body.as_slice()), (201, &b"{\"id\": \"m-1\"}"[..]));
        assert!(named.answers("post", "https://api.example.com/v1/messages?x=1"));
        assert!(!named.answers("GET", "https://api.example.com/v1/messages"));
        let any = RecordedResponse::parse(b"HTTP/1.1 503 Service Unavailable\n\n").unwrap();
        assert!(any.answers.is_none() && any.answers("GET", "https://x"));
        assert!(matches!(
            RecordedResponse::parse(b"HTTP/1.1 OK\n\n"),
            Err(RecordedError::BadStatusLine(_))
        ));
        assert!(matches!(RecordedResponse::parse(b""), Err(RecordedError::MissingStatusLine)));

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("1-send.http"),
            "POST https://api.example.com/v1/\nHTTP/1.1 200 OK\n\n{}",
        )
        .unwrap();
        std::fs::write(dir.path().join("2-else.http"), "HTTP/1.1 404 Not Found\n\n").unwrap();
        let recordings = Recordings::from_dir(dir.path()).unwrap();
        assert_eq!(
            recordings.answer("POST", "https://api.example.com/v1/messages", 10).unwrap().status,
            200
        );
        assert_eq!(
            recordings.answer("POST", "https://api.example.com/v1/messages", 10).unwrap().status,
            404
        );
        assert_eq!(recordings.requests().len(), 2);
        assert_eq!(recordings.requests()[0].answered_by.as_deref(), Some("1-send.http"));
    }

    #[test]
    fn parses_head_and_body_with_crlf_or_lf() {
        let text = "POST /hooks/twilio/sms?x=1 HTTP/1.1\r\nHost: crm.example.com\r\nX-Twilio-Signature: abc=\r\n\r\nFrom=%2B1&Body=hi\n";
        let recorded = Recorded::parse(text.as_bytes()).unwrap();
        assert_eq!(recorded.method, "POST");
        assert_eq!(recorded.header("x-twilio-signature"), Some("abc="));
        assert_eq!(recorded.body, b"From=%2B1&Body=hi");
        let request = recorded.to_request("twilio", None).unwrap();
        assert_eq!(request.url, "https://crm.example.com/hooks/twilio/sms?x=1");
        assert_eq!(request.route, "/sms");
        let lf = Recorded::parse(text.replace("\r\n", "\n").as_bytes()).unwrap();
        assert_eq!(lf, recorded);
    }

    #[test]
    fn content_length_bounds_the_body() {
        let text = "POST https://h.example/hooks/x HTTP/1.1\nContent-Length: 3\n\nabcdef";
        let recorded = Recorded::parse(text.as_bytes()).unwrap();
        assert_eq!(recorded.body, b"abc");
        assert_eq!(recorded.to_request("x", None).unwrap().route, "/");
        let too_long = "POST / HTTP/1.1\nContent-Length: 30\n\nabc";
        assert!(matches!(
            Recorded::parse(too_long.as_bytes()),
            Err(RecordedError::BadContentLength { actual: 3, .. })
        ));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(Recorded::parse(b"\n\n"), Err(RecordedError::MissingRequestLine));
        assert!(matches!(Recorded::parse(b"POST\n"), Err(RecordedError::BadRequestLine(_))));
        let bad = Recorded::parse(b"POST / HTTP/1.1\nHost: a\nnot a header\n\n").unwrap_err();
        assert_eq!(
            bad.to_string(),
            "line 3: `not a header` is not a header; expected `Name: value`"
        );
        let no_host = Recorded::parse(b"GET /hooks/x HTTP/1.1\n\n").unwrap();
        assert!(matches!(no_host.to_request("x", None), Err(RecordedError::NoHost(_))));
    }

    #[test]
    fn routes_are_relative_to_the_mount_point() {
        assert_eq!(route("https://a/hooks/tg", "tg"), "/");
        assert_eq!(route("https://a/hooks/tg/", "tg"), "/");
        assert_eq!(route("https://a/hooks/tg/x/y?q=1", "tg"), "/x/y");
        assert_eq!(route("https://a/hooks/tgx/y", "tg"), "/hooks/tgx/y");
    }
}
