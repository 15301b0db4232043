//! The rules a connector's manifest must follow, checked when the host loads it.

use crate::model::Manifest;

/// Longest connector id: it appears in URLs (`/hooks/{id}`), logs and metric labels.
const MAX_ID_LEN: usize = 64;

/// Every problem with `manifest`, each saying what is wrong and what is expected; empty when
/// it is valid.
pub fn validate(manifest: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    let id = &manifest.id;
    if id.is_empty() {
        problems.push(
            "id is empty; expected lower case letters, digits and `-`, e.g. `telegram`".into(),
        );
    } else if id.len() > MAX_ID_LEN
        || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || id.starts_with('-')
        || id.ends_with('-')
    {
        problems.push(format!(
            "id `{id}` is not valid; expected 1 to {MAX_ID_LEN} lower case letters, digits and `-`, \
             not starting or ending with `-`, e.g. `telegram`"
        ));
    }
    if let Err(error) = semver::Version::parse(&manifest.version) {
        problems.push(format!(
            "version `{}` is not a semantic version ({error}); expected e.g. `1.2.0`",
            manifest.version
        ));
    }
    if manifest.display_name.trim().is_empty() {
        problems.push("display name is empty; expected a name for people, e.g. `Telegram`".into());
    }
    if manifest.channels.is_empty() {
        problems.push("no channels; expected at least one, e.g. `sms`".into());
    }
    for channel in &manifest.channels {
        if channel.is_empty()
            || !channel
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            problems.push(format!(
                "channel `{channel}` is not valid; expected lower case letters, digits, `-` or `_`"
            ));
        }
    }
    for namespace in &manifest.namespaces {
        let own_wildcard = namespace.strip_suffix(":*").is_some_and(|prefix| prefix == id);
        let valid = namespace.split_once(':').is_some_and(|(issuer, kind)| {
            let part = |p: &str| {
                !p.is_empty()
                    && p.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    })
            };
            part(issuer) && part(kind)
        });
        if !(valid || own_wildcard) {
            problems.push(format!(
                "namespace `{namespace}` is not valid; expected `issuer:kind` in lower case \
                 letters, digits, `-` or `_`, e.g. `telegram:user`"
            ));
        }
    }
    let caps = manifest.capabilities;
    if !(caps.webhook || caps.poll || caps.send) {
        problems.push("no capabilities; expected at least one of webhook, poll, send".into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Capabilities;

    fn manifest(id: &str, version: &str) -> Manifest {
        Manifest {
            id: id.into(),
            version: version.into(),
            display_name: "Telegram".into(),
            channels: vec!["telegram".into()],
            capabilities: Capabilities { webhook: true, poll: false, send: true, geocode: false },
            namespaces: vec!["telegram:user".into()],
        }
    }

    #[test]
    fn a_good_manifest_passes() {
        assert!(validate(&manifest("telegram", "1.2.0")).is_empty());
        assert!(validate(&manifest("google-business", "0.1.0-beta.1")).is_empty());
    }

    #[test]
    fn every_problem_is_named() {
        let mut bad = manifest("Bad Id!", "one");
        bad.display_name = " ".into();
        bad.channels.clear();
        bad.capabilities = Capabilities::default();
        bad.namespaces = vec!["Telegram User".into(), "telegram".into(), "other:*".into()];
        let problems = validate(&bad);
        assert_eq!(problems.len(), 8, "{problems:#?}");
        assert!(problems[0].contains("`Bad Id!`"));
        assert!(problems[1].contains("`one`"));
        assert!(problems[4].contains("`Telegram User`"));
        assert!(problems[6].contains("`other:*`"));
        assert!(problems[7].contains("capabilities"));
    }
}
