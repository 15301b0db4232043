//! The operator's list of hosts a connector may call: `https://api.example.com`,
//! `https://*.myshopify.com`, `http://127.0.0.1:8080`.

use std::fmt;
use std::str::FromStr;

/// One allowed destination: a scheme, a host (optionally `*.` + a domain) and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Scheme,
    host: HostPattern,
    port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Exact(String),
    /// `*.example.com`: any subdomain of `example.com` (at any depth), not the domain itself.
    Subdomains(String),
}

/// Why an `allowed_hosts` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid allowed host `{entry}`: {reason}")]
pub struct AllowedHostError {
    entry: String,
    reason: &'static str,
}

impl FromStr for AllowedHost {
    type Err = AllowedHostError;

    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        let error = |reason| AllowedHostError { entry: entry.to_string(), reason };
        let (scheme, rest) = entry
            .split_once("://")
            .ok_or_else(|| error("expected scheme://host[:port], e.g. https://api.example.com"))?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(error("the scheme must be http or https")),
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@']) {
            return Err(error("give only scheme, host and port: no path, query or user"));
        }
        let (host, port) = split_host_port(authority)
            .ok_or_else(|| error("the port is not a number from 1 to 65535"))?;
        let host = host.to_ascii_lowercase();
        let host = if let Some(domain) = host.strip_prefix("*.") {
            if !valid_host(domain) {
                return Err(error("the host is not a valid name or IP address"));
            }
            HostPattern::Subdomains(domain.to_string())
        } else if host.contains('*') {
            return Err(error(
                "`*` is only allowed as the first label, as in https://*.example.com",
            ));
        } else if valid_host(&host) {
            HostPattern::Exact(host)
        } else {
            return Err(error("the host is not a valid name or IP address"));
        };
        let port = port.unwrap_or(match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        });
        Ok(AllowedHost { scheme, host, port })
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        match &self.host {
            HostPattern::Exact(host) => write!(f, "{scheme}://{host}:{}", self.port),
            HostPattern::Subdomains(domain) => write!(f, "{scheme}://*.{domain}:{}", self.port),
        }
    }
}

impl AllowedHost {
    /// Whether a request to `uri` goes to this destination. A URI without a scheme is taken as
    /// https, the scheme the HTTP layer defaults to.
    pub fn allows(&self, uri: &http::Uri) -> bool {
        let scheme = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("http") => Scheme::Http,
            Some("https") | None => Scheme::Https,
            Some(_) => return false,
        };
        let Some(host) = uri.host() else { return false };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        });
        if scheme != self.scheme || port != self.port {
            return false;
        }
        match &self.host {
            HostPattern::Exact(allowed) => host == *allowed,
            HostPattern::Subdomains(domain) => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain.as_str())
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            }
        }
    }
}

/// Whether any entry of `allowed` lets a request go to `uri`.
pub fn is_allowed(allowed: &[AllowedHost], uri: &http::Uri) -> bool {
    allowed.iter().any(|a| a.allows(uri))
}

fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    match port {
        None => Some((host, None)),
        Some(port) => port.parse::<u16>().ok().filter(|p| *p != 0).map(|p| (host, Some(p))),
    }
}

fn valid_host(host: &str) -> bool {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entry: &str, uri: &str) -> bool {
        entry.parse::<AllowedHost>().unwrap().allows(&uri.parse().unwrap())
    }

    #[test]
    fn exact_hosts_match_scheme_host_and_port() {
        assert!(allowed("https://api.example.com", "https://api.example.com/v1/x?y=1"));
        assert!(allowed("https://API.example.com", "https://api.EXAMPLE.com:443/"));
        assert!(!allowed("https://api.example.com", "http://api.example.com/"));
        assert!(!allowed("https://api.example.com", "https://api.example.com:8443/"));
        assert!(!allowed("https://api.example.com", "https://api.example.com.evil.io/"));
        assert!(allowed("http://127.0.0.1:8080", "http://127.0.0.1:8080/x"));
        assert!(!allowed("http://127.0.0.1:8080", "http://127.0.0.1:8081/x"));
        assert!(allowed("http://[::1]:9000", "http://[::1]:9000/"));
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        assert!(allowed("https://*.myshopify.com", "https://shop-1.myshopify.com/admin"));
        assert!(allowed("https://*.myshopify.com", "https://a.b.myshopify.com/"));
        assert!(!allowed("https://*.myshopify.com", "https://myshopify.com/"));
        assert!(!allowed("https://*.myshopify.com", "https://evilmyshopify.com/"));
    }

    #[test]
    fn bad_entries_say_why() {
        for (entry, reason) in [
            ("api.example.com", "expected scheme"),
            ("ftp://example.com", "http or https"),
            ("https://example.com/path", "no path"),
            ("https://ex*ample.com", "first label"),
            ("https://example.com:99999", "port"),
            ("https://exa mple.com", "valid name"),
        ] {
            let error = entry.parse::<AllowedHost>().unwrap_err().to_string();
            assert!(error.contains(reason) && error.contains(entry), "{entry}: {error}");
        }
    }
}
