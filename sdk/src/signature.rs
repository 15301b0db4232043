//! Webhook signature checks: HMAC-SHA1 and HMAC-SHA256 over the provider's signed bytes,
//! compared in constant time, with the signature given in hex or base64.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use hmac::{Hmac, Mac};

use crate::ConnectorError;

/// How the provider encodes the signature it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Hexadecimal, either case (Mailgun, Shopify's `X-Hub-Signature`).
    Hex,
    /// Base64, standard or URL-safe alphabet (Twilio, Shopify).
    Base64,
}

/// The hash under the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1 (Twilio).
    Sha1,
    /// HMAC-SHA256 (Mailgun, Shopify, most others).
    Sha256,
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature is not valid hex or base64.
    #[error("signature is not valid {0:?}")]
    Undecodable(Encoding),
    /// The signature decodes but does not match.
    #[error("signature does not match")]
    Mismatch,
}

impl From<SignatureError> for ConnectorError {
    fn from(error: SignatureError) -> Self {
        ConnectorError::Unauthorized(error.to_string())
    }
}

/// Computes the HMAC of `message` under `key`.
pub fn hmac(algorithm: Algorithm, key: &[u8], message: &[u8]) -> Vec<u8> {
    match algorithm {
        Algorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, message).finalize().into_bytes().to_vec(),
        Algorithm::Sha256 => {
            mac::<Hmac<sha2::Sha256>>(key, message).finalize().into_bytes().to_vec()
        }
    }
}

/// Checks the signature a provider puts in header `name` over the request's raw body — the
/// common scheme (GitHub's `X-Hub-Signature-256: sha256=<hex>`, Meta's, Shopify's base64
/// `X-Shopify-Hmac-Sha256`): the HMAC under `secret`, written in `encoding` after `prefix`
/// (`"sha256="`, or `""`). A missing header or a wrong signature is
/// [`ConnectorError::Unauthorized`].
///
/// ```ignore
/// signature::verify_body(&request, "X-Hub-Signature-256", "sha256=", Algorithm::Sha256,
///     secret.as_bytes(), Encoding::Hex)?;
/// ```
pub fn verify_body(
    request: &crate::HttpRequest,
    name: &str,
    prefix: &str,
    algorithm: Algorithm,
    secret: &[u8],
    encoding: Encoding,
) -> Result<(), ConnectorError> {
    let value = request
        .header(name)
        .ok_or_else(|| ConnectorError::Unauthorized(format!("missing {name}")))?
        .trim();
    let signature = value.strip_prefix(prefix).ok_or_else(|| {
        ConnectorError::Unauthorized(format!("{name} does not start with `{prefix}`"))
    })?;
    verify(algorithm, secret, &request.body, signature, encoding)?;
    Ok(())
}

/// Checks a timestamped signature header in Stripe's format, `t=<unix seconds>,v1=<hex>[,v1=…]`:
/// some `v1` must be the HMAC-SHA256 under `secret` of `"{t}." + body` (`t` exactly as sent),
/// and `t` must be within `tolerance_secs` of now, so a captured request cannot be replayed
/// later. Stripe signs this way (`Stripe-Signature`), and so do the shop's own systems for the
/// web and till connectors (`Switchboard-Signature`). Several `v1` let a sender roll its
/// secret; other schemes (`v0`) are ignored. A timestamp too far in the future is refused like
/// a stale one: it would let a captured request be replayed for that long. Returns `t`.
pub fn verify_timestamped(
    header: &str,
    secret: &[u8],
    body: &[u8],
    tolerance_secs: i64,
) -> Result<i64, ConnectorError> {
    verify_timestamped_at(header, secret, body, tolerance_secs, crate::time::now_millis() / 1000)
}

/// [`verify_timestamped`] as of `now_secs` (Unix seconds) rather than the clock: what a
/// request's [`received_at`](crate::HttpRequest::received_at) says, so that a replayed request
/// is judged as of when the provider sent it.
pub fn verify_timestamped_at(
    header: &str,
    secret: &[u8],
    body: &[u8],
    tolerance_secs: i64,
    now_secs: i64,
) -> Result<i64, ConnectorError> {
    let unauthorized = |m: String| ConnectorError::Unauthorized(m);
    if tolerance_secs <= 0 {
        return Err(ConnectorError::Config(format!(
            "the signature tolerance must be a positive number of seconds, not {tolerance_secs}"
        )));
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) if timestamp.is_some() => {
                return Err(unauthorized(format!("signature header has two `t=` (`{value}`)")));
            }
            Some(("t", value)) => timestamp = Some(value.trim()),
            Some(("v1", value)) => signatures.push(value.trim()),
            _ => {}
        }
    }
    let text =
        timestamp.ok_or_else(|| unauthorized("signature header has no `t=` timestamp".into()))?;
    let seconds =
        text.parse::<i64>().ok().filter(|_| text.bytes().all(|b| b.is_ascii_digit())).ok_or_else(
            || unauthorized(format!("signature timestamp `t={text}` is not unix seconds")),
        )?;
    if signatures.is_empty() {
        return Err(unauthorized("signature header has no `v1=` signature".into()));
    }
    let mut signed = format!("{text}.").into_bytes();
    signed.extend_from_slice(body);
    let expected = hmac(Algorithm::Sha256, secret, &signed);
    let matches =
        signatures.iter().filter_map(|s| hex::decode(s).ok()).any(|s| secrets_equal(&s, &expected));
    if !matches {
        return Err(unauthorized(
            "signature does not match the body under the signing secret".into(),
        ));
    }
    let now = now_secs;
    if now.abs_diff(seconds) > tolerance_secs.unsigned_abs() {
        let age = i128::from(now) - i128::from(seconds);
        return Err(unauthorized(format!(
            "signature timestamp is {age} s from now, outside the {tolerance_secs} s tolerance"
        )));
    }
    Ok(seconds)
}

/// [`verify_timestamped`] on `request`'s header `header` (`Stripe-Signature`,
/// `Switchboard-Signature`), as of when the host received the request (a replay keeps that
/// time); a request without the header is unauthorized.
pub fn verify_timestamped_request(
    request: &crate::HttpRequest,
    header: &str,
    secret: &[u8],
    tolerance_secs: i64,
) -> Result<i64, ConnectorError> {
    let value = request
        .header(header)
        .ok_or_else(|| ConnectorError::Unauthorized(format!("missing {header}")))?;
    verify_timestamped_at(value, secret, &request.body, tolerance_secs, received_secs(request))
}

/// When the host received `request`, in Unix seconds (the clock, for a request built by hand
/// without the time).
pub fn received_secs(request: &crate::HttpRequest) -> i64 {
    if request.received_at > 0 {
        request.received_at / 1000
    } else {
        crate::time::now_millis() / 1000
    }
}

/// Checks the scheme the shop's own systems sign with (the web site, the tills):
/// `Switchboard-Signature: t=…,v1=…` as [`verify_timestamped`], under the connector's
/// `signing_secret`, within its `tolerance_secs` (default 300).
pub fn verify_switchboard_signature(request: &crate::HttpRequest) -> Result<i64, ConnectorError> {
    let secret = crate::host::require_config("signing_secret")?;
    let tolerance = crate::host::config_or("tolerance_secs", 300)?;
    verify_timestamped_request(request, "Switchboard-Signature", secret.as_bytes(), tolerance)
}

/// Checks that `signature` (as the provider sent it) is the HMAC of `message` under `key`.
/// The comparison takes the same time wherever the first differing byte is.
pub fn verify(
    algorithm: Algorithm,
    key: &[u8],
    message: &[u8],
    signature: &str,
    encoding: Encoding,
) -> Result<(), SignatureError> {
    let signature = signature.trim();
    let expected = match encoding {
        Encoding::Hex => {
            hex::decode(signature).map_err(|_| SignatureError::Undecodable(encoding))?
        }
        Encoding::Base64 => STANDARD
            .decode(signature)
            .or_else(|_| URL_SAFE.decode(signature))
            .map_err(|_| SignatureError::Undecodable(encoding))?,
    };
    let verified = match algorithm {
        Algorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, message).verify_slice(&expected),
        Algorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, message).verify_slice(&expected),
    };
    verified.map_err(|_| SignatureError::Mismatch)
}

/// The SHA-256 digest of `data` in lower-case hex (body hashes such as Twilio's `bodySHA256`).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// Compares two secrets (tokens, passwords) in constant time for equal lengths.
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    // HMAC both under a fixed key so that the comparison is over equal-length digests and the
    // timing reveals nothing about a common prefix.
    let left = hmac(Algorithm::Sha256, b"switchboard-compare", a);
    mac::<Hmac<sha2::Sha256>>(b"switchboard-compare", b).verify_slice(&left).is_ok()
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> M {
    let mut mac = <M as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_signature_in_a_header_is_checked_in_one_call() {
        let body = br#"{"id":"m-1"}"#.to_vec();
        let good = format!("sha256={}", hex::encode(hmac(Algorithm::Sha256, b"s3cret", &body)));
        let request = |value: Option<&str>| crate::HttpRequest {
            method: "POST".into(),
            url: "https://crm.example.com/hooks/x".into(),
            route: "/".into(),
            headers: value
                .map(|v| crate::Header { name: "X-Hub-Signature-256".into(), value: v.into() })
                .into_iter()
                .collect(),
            body: body.clone(),
            received_at: 0,
        };
        let check = |value| {
            verify_body(
                &request(value),
                "x-hub-signature-256",
                "sha256=",
                Algorithm::Sha256,
                b"s3cret",
                Encoding::Hex,
            )
        };
        assert_eq!(check(Some(&good)), Ok(()));
        assert!(
            matches!(check(None), Err(ConnectorError::Unauthorized(m)) if m.contains("missing"))
        );
        assert!(
            matches!(check(Some(&good[7..])), Err(ConnectorError::Unauthorized(m)) if m.contains("sha256="))
        );
        let wrong = good.replace('a', "b");
        assert!(matches!(check(Some(&wrong)), Err(ConnectorError::Unauthorized(_))));
    }

    // RFC 4231 test case 2 and RFC 2202 test case 2 ("Jefe").
    const KEY: &[u8] = b"Jefe";
    const MESSAGE: &[u8] = b"what do ya want for nothing?";
    const SHA256_HEX: &str = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    const SHA1_HEX: &str = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";

    #[test]
    fn rfc_vectors_verify_in_hex_and_base64() {
        assert_eq!(hex::encode(hmac(Algorithm::Sha256, KEY, MESSAGE)), SHA256_HEX);
        verify(Algorithm::Sha256, KEY, MESSAGE, SHA256_HEX, Encoding::Hex).unwrap();
        verify(Algorithm::Sha256, KEY, MESSAGE, &SHA256_HEX.to_uppercase(), Encoding::Hex).unwrap();
        verify(Algorithm::Sha1, KEY, MESSAGE, SHA1_HEX, Encoding::Hex).unwrap();
        let b64 = STANDARD.encode(hex::decode(SHA1_HEX).unwrap());
        verify(Algorithm::Sha1, KEY, MESSAGE, &b64, Encoding::Base64).unwrap();
    }

    #[test]
    fn wrong_or_garbled_signatures_are_refused() {
        let mut wrong = SHA256_HEX.to_string();
        wrong.replace_range(63.., "4");
        assert_eq!(
            verify(Algorithm::Sha256, KEY, MESSAGE, &wrong, Encoding::Hex),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(Algorithm::Sha256, KEY, MESSAGE, "zz", Encoding::Hex),
            Err(SignatureError::Undecodable(Encoding::Hex))
        );
        // A truncated signature must not verify as a prefix.
        assert_eq!(
            verify(Algorithm::Sha256, KEY, MESSAGE, &SHA256_HEX[..32], Encoding::Hex),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            ConnectorError::from(SignatureError::Mismatch),
            ConnectorError::Unauthorized(_)
        ));
    }

    #[test]
    fn secrets_compare() {
        assert!(secrets_equal(b"token-1", b"token-1"));
        assert!(!secrets_equal(b"token-1", b"token-2"));
        assert!(!secrets_equal(b"token", b"token-1"));
    }

    #[test]
    fn timestamped_signatures_check_any_v1_and_the_age() {
        let now = crate::time::now_millis() / 1000;
        let sign = |t: i64, secret: &[u8]| {
            let mut message = format!("{t}.").into_bytes();
            message.extend_from_slice(b"{}");
            hex::encode(hmac(Algorithm::Sha256, secret, &message))
        };
        let header = format!("t={now},v1={},v1={}", sign(now, b"old"), sign(now, b"new"));
        assert_eq!(verify_timestamped(&header, b"new", b"{}", 300).unwrap(), now);
        assert!(verify_timestamped(&header, b"other", b"{}", 300).is_err());
        assert!(verify_timestamped(&header, b"new", b"{ }", 300).is_err());
        let old = format!("t={},v1={}", now - 301, sign(now - 301, b"new"));
        let error = verify_timestamped(&old, b"new", b"{}", 300).unwrap_err();
        assert!(matches!(&error, ConnectorError::Unauthorized(m) if m.contains("tolerance")));
        assert!(verify_timestamped(&old, b"new", b"{}", 400).is_ok());
        assert!(
            verify_timestamped(&format!("v1={}", sign(now, b"new")), b"new", b"{}", 300).is_err()
        );
        assert!(verify_timestamped(&format!("t={now}"), b"new", b"{}", 300).is_err());
    }

    #[test]
    fn timestamped_signature_edge_cases() {
        let now = crate::time::now_millis() / 1000;
        let sign = |t: &str| {
            let mut message = format!("{t}.").into_bytes();
            message.extend_from_slice(b"{}");
            hex::encode(hmac(Algorithm::Sha256, b"key", &message))
        };
        let check = |header: &str| verify_timestamped(header, b"key", b"{}", 300);
        let good = sign(&now.to_string());
        // Spaces around parts, a v0 entry and an undecodable v1 beside the good one.
        assert_eq!(check(&format!(" t={now} , v0=abc, v1=zz, v1={good} ")).unwrap(), now);
        // Only digits are unix seconds; and the timestamp is signed exactly as sent.
        let padded = format!("0{now}");
        assert_eq!(check(&format!("t={padded},v1={}", sign(&padded))).unwrap(), now);
        assert!(check(&format!("t={padded},v1={good}")).is_err());
        for t in [format!("+{now}"), "soon".into(), String::new()] {
            let error = check(&format!("t={t},v1={}", sign(&t))).unwrap_err();
            assert!(
                matches!(&error, ConnectorError::Unauthorized(m) if m.contains("unix seconds")),
                "{t}: {error:?}"
            );
        }
        // Only a v0 signature: nothing this scheme accepts.
        let error = check(&format!("t={now},v0={good}")).unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Unauthorized(m) if m.contains("no `v1=`")),
            "{error:?}"
        );
        // Two timestamps are ambiguous.
        assert!(check(&format!("t={now},t={now},v1={good}")).is_err());
        // Far in the future is refused like far in the past; extremes do not overflow.
        let future = (now + 301).to_string();
        let error = check(&format!("t={future},v1={}", sign(&future))).unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Unauthorized(m) if m.contains("tolerance")),
            "{error:?}"
        );
        let max = i64::MAX.to_string();
        assert!(check(&format!("t={max},v1={}", sign(&max))).is_err());
        // A tolerance that accepts nothing is a configuration error.
        let error =
            verify_timestamped(&format!("t={now},v1={good}"), b"key", b"{}", 0).unwrap_err();
        assert!(matches!(error, ConnectorError::Config(_)), "{error:?}");
    }
}
