//! Config parsing snapshots: each `tests/config/NAME.toml` beside its expected report in
//! `NAME.expected` (set `UPDATE_EXPECTED=1` to rewrite them after an intended change).

use std::path::Path;

fn env(name: &str) -> Option<String> {
    match name {
        "SWITCHBOARD_ADMIN_TOKEN" => Some("admin-token-0123456789".into()),
        "SHOPIFY_SECRET" => Some("shpss_0123".into()),
        "DB_PASSWORD" => Some("p4ss".into()),
        _ => None,
    }
}

/// What a file parses to, as stable text: a summary of the config or every problem.
fn report(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let name = Path::new(path.file_name().unwrap());
    match switchboard::config::parse(&text, name, &env) {
        Err(error) => format!("{error}\n"),
        Ok(config) => {
            let mut out = format!(
                "listen {} public_url {:?} body_limit {} log {:?}\nstore {}\nregion {:?} blocked {:?} limits {:?}\ngeocoding {:?}\ntokens {:?}\n",
                config.server.listen,
                config.server.public_url,
                config.server.body_limit,
                config.server.log_format,
                switchboard::store::redact_url(config.store_url.expose()),
                config.identity.default_region,
                config.identity.blocked,
                config.identity.limits,
                config.geocoding.interval,
                config.api_tokens,
            );
            for c in &config.connectors {
                out.push_str(&format!(
                    "connector {} plugin {} enabled {} hosts {:?} poll {:?} memory {} deadline {:?} config {:?}\n",
                    c.id,
                    c.plugin.display(),
                    c.enabled,
                    c.allowed_hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    c.poll_interval,
                    c.memory_limit,
                    c.deadline,
                    c.config,
                ));
            }
            out
        }
    }
}

#[test]
fn config_files_match_their_expected_reports() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let actual = report(&path);
        let expected_path = path.with_extension("expected");
        if std::env::var_os("UPDATE_EXPECTED").is_some() {
            std::fs::write(&expected_path, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!("{} is missing; run with UPDATE_EXPECTED=1", expected_path.display())
        });
        assert_eq!(actual, expected, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 4);
}

#[test]
fn secrets_never_show_in_debug_output() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/config/valid.toml"),
    )
    .unwrap();
    let config = switchboard::config::parse(&text, Path::new("valid.toml"), &env).unwrap();
    let debug = format!("{config:?}");
    // Issue 14 #15: the database password in the store URL too (it used to show).
    for secret in ["shpss_0123", "admin-token-0123456789", "p4ss"] {
        assert!(!debug.contains(secret), "`{secret}` shows: {debug}");
    }
    assert!(debug.contains("<redacted>"));
}

#[test]
fn the_annotated_example_and_the_demo_config_are_valid() {
    for name in ["switchboard.toml", "demo.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let config =
            switchboard::config::parse(&text, &path, &|_| Some("0123456789abcdef0123".into()));
        assert!(config.is_ok(), "{}", config.unwrap_err());
    }
}
