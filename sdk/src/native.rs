//! The host's side of the contract when a connector runs natively (`cargo test` on the
//! developer's machine) instead of in the Switchboard sandbox: config, key-value state, the
//! clock, logging and outbound HTTP come from the mock host a test installs
//! ([`crate::testing::MockHost`], feature `testing`). Outside a test that installed one, a host
//! call panics and says so; a log line goes to stderr.

use std::cell::RefCell;
use std::collections::BTreeMap;

pub use crate::wit::switchboard::connector::host::{HostError, LogLevel};

use crate::http::{HttpError, Response};

/// An outbound request a connector made, as the mock host saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRequest {
    /// Upper case method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// Headers in the order set, names as written.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

#[cfg_attr(not(any(test, feature = "testing")), allow(dead_code))]
impl SentRequest {
    /// The first value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An answer the mock host gives to requests whose method and URL match.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// `None`: any method.
    pub method: Option<String>,
    /// The URL starts with this (`""`: any URL).
    pub url_prefix: String,
    pub response: Response,
    /// How many more requests it answers (`None`: any number).
    pub remaining: Option<usize>,
}

/// What the mock host holds for one test (one thread).
#[derive(Debug, Default)]
pub(crate) struct State {
    pub config: BTreeMap<String, String>,
    pub kv: BTreeMap<String, Vec<u8>>,
    pub now: Option<i64>,
    pub logs: Vec<(LogLevel, String)>,
    pub rules: Vec<Rule>,
    pub requests: Vec<SentRequest>,
}

thread_local! {
    pub(crate) static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
}

const NO_HOST: &str = "this connector called the Switchboard host outside the sandbox: a native \
    test installs a mock host first (`switchboard_sdk::testing::MockHost`, with the SDK's \
    `testing` feature in [dev-dependencies])";

fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|state| match state.borrow_mut().as_mut() {
        Some(state) => f(state),
        None => panic!("{NO_HOST}"),
    })
}

/// Longest key-value key, as the host allows.
const MAX_KEY: usize = 256;
/// Largest key-value value, as the host allows.
const MAX_VALUE: usize = 64 * 1024;

pub(crate) fn log(level: LogLevel, message: &str) -> Result<(), HostError> {
    let installed = STATE.with(|state| {
        state.borrow_mut().as_mut().map(|s| s.logs.push((level, message.to_string()))).is_some()
    });
    if !installed {
        eprintln!("[{level:?}] {message}");
    }
    Ok(())
}

pub(crate) fn config(key: &str) -> Option<String> {
    with(|s| s.config.get(key).cloned())
}

fn check_key(key: &str) -> Result<(), HostError> {
    if key.is_empty() || key.len() > MAX_KEY {
        return Err(HostError::InvalidKey(format!("a key is 1 to {MAX_KEY} bytes")));
    }
    Ok(())
}

pub(crate) fn kv_get(key: &str) -> Result<Option<Vec<u8>>, HostError> {
    check_key(key)?;
    Ok(with(|s| s.kv.get(key).cloned()))
}

pub(crate) fn kv_set(key: &str, value: &[u8]) -> Result<(), HostError> {
    check_key(key)?;
    if value.len() > MAX_VALUE {
        return Err(HostError::TooLarge(format!("a value is at most {MAX_VALUE} bytes")));
    }
    with(|s| s.kv.insert(key.to_string(), value.to_vec()));
    Ok(())
}

pub(crate) fn kv_delete(key: &str) -> Result<(), HostError> {
    check_key(key)?;
    with(|s| s.kv.remove(key));
    Ok(())
}

/// The mock clock, if a test set one.
pub(crate) fn now() -> Option<i64> {
    STATE.with(|state| state.borrow().as_ref().and_then(|s| s.now))
}

/// Answers an outbound request from the installed rules, first match first; records it.
pub(crate) fn send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Response, HttpError> {
    with(|s| {
        s.requests.push(SentRequest {
            method: method.to_string(),
            url: url.to_string(),
            headers: headers.to_vec(),
            body: body.to_vec(),
        });
        let rule = s.rules.iter_mut().find(|rule| {
            rule.remaining != Some(0)
                && rule.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                && url.starts_with(&rule.url_prefix)
        });
        match rule {
            Some(rule) => {
                if let Some(remaining) = rule.remaining.as_mut() {
                    *remaining -= 1;
                }
                Ok(rule.response.clone())
            }
            None => Err(HttpError::Refused(format!(
                "the mock host has no recorded response for {method} {url}"
            ))),
        }
    })
}
