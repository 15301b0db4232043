//! The private key-value state each connector keeps through the host (`kv-get`/`kv-set`/
//! `kv-delete`): cursors, tokens, ids already seen.
//!
//! A call never writes to the store directly: its writes are collected in [`KvWrites`] (and
//! read back by the same call), and they reach the store only with the call's outcome — in the
//! same transaction as a webhook's or a poll's events — so a call that fails, or whose events
//! cannot be committed, leaves nothing behind. The store implements [`KvStore`] to persist it;
//! [`MemoryKv`] serves `plugin test` and unit tests.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// Longest key a connector may use; keys name things, they do not hold data.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value: enough for tokens, cursors and small id sets, small enough to keep one
/// connector from filling the database.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// A boxed future, so that [`KvStore`] can be used as a trait object.
pub type KvFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, KvError>> + Send + 'a>>;

/// Why a state operation failed; the message reaches the connector.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The key is empty or too long.
    #[error("key must be 1 to {MAX_KEY_BYTES} bytes, got {0}")]
    BadKey(usize),
    /// The value is too large.
    #[error("value must be at most {MAX_VALUE_BYTES} bytes, got {0}")]
    TooLarge(usize),
    /// The connector would hold more than its quota.
    #[error("key-value quota exceeded: {0}")]
    Quota(String),
    /// The backing store failed.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
}

/// How much state one connector may keep, in entries and bytes (keys and values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvQuota {
    /// Entries.
    pub max_keys: u64,
    /// Bytes of keys and values together.
    pub max_bytes: u64,
}

impl Default for KvQuota {
    fn default() -> Self {
        // Cursors, tokens and a window of seen ids fit many times over; a connector that needs
        // more is storing data the customer store should hold.
        KvQuota { max_keys: 10_000, max_bytes: 16 << 20 }
    }
}

/// What a connector holds: entries and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvUsage {
    /// Entries.
    pub keys: u64,
    /// Bytes of keys and values.
    pub bytes: u64,
}

/// The writes of one call, in key order: `Some(value)` sets, `None` deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvWrites(pub BTreeMap<String, Option<Vec<u8>>>);

impl KvWrites {
    /// No write at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Per-connector key-value state.
pub trait KvStore: Send + Sync {
    /// Reads `key` of `connector`.
    fn get<'a>(&'a self, connector: &'a str, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>>;
    /// The entries and bytes `connector` holds, for its quota; `keys` names the keys a call is
    /// about to write, whose stored sizes are reported in `existing` (key → bytes).
    fn usage<'a>(
        &'a self,
        connector: &'a str,
        keys: &'a [String],
    ) -> KvFuture<'a, (KvUsage, HashMap<String, u64>)>;
    /// Writes what a call wrote, all of it or nothing.
    fn apply<'a>(&'a self, connector: &'a str, writes: &'a KvWrites) -> KvFuture<'a, ()>;
}

/// Checks the limits every [`KvStore`] shares.
pub fn check(key: &str, value: Option<&[u8]>) -> Result<(), KvError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(KvError::BadKey(key.len()));
    }
    match value {
        Some(value) if value.len() > MAX_VALUE_BYTES => Err(KvError::TooLarge(value.len())),
        _ => Ok(()),
    }
}

/// Whether `writes` keep `connector` within `quota`, given what it holds (`usage`) and the
/// stored sizes of the keys written (`existing`).
pub fn within_quota(
    quota: KvQuota,
    usage: KvUsage,
    existing: &HashMap<String, u64>,
    writes: &KvWrites,
) -> Result<(), KvError> {
    let (mut keys, mut bytes) = (usage.keys as i128, usage.bytes as i128);
    for (key, value) in &writes.0 {
        if let Some(old) = existing.get(key) {
            keys -= 1;
            bytes -= i128::from(*old);
        }
        if let Some(value) = value {
            keys += 1;
            bytes += (key.len() + value.len()) as i128;
        }
    }
    if keys > i128::from(quota.max_keys) {
        return Err(KvError::Quota(format!(
            "{keys} entries, above the connector's limit of {} (kv_max_keys)",
            quota.max_keys
        )));
    }
    if bytes > i128::from(quota.max_bytes) {
        return Err(KvError::Quota(format!(
            "{bytes} bytes, above the connector's limit of {} (kv_max_bytes)",
            quota.max_bytes
        )));
    }
    Ok(())
}

/// State in memory, lost when the process ends.
#[derive(Debug, Default)]
pub struct MemoryKv {
    entries: Mutex<HashMap<(String, String), Vec<u8>>>,
}

impl MemoryKv {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Vec<u8>>> {
        // A panic elsewhere cannot leave a HashMap half-updated: keep serving.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl KvStore for MemoryKv {
    fn get<'a>(&'a self, connector: &'a str, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            check(key, None)?;
            Ok(self.entries().get(&(connector.to_string(), key.to_string())).cloned())
        })
    }

    fn usage<'a>(
        &'a self,
        connector: &'a str,
        keys: &'a [String],
    ) -> KvFuture<'a, (KvUsage, HashMap<String, u64>)> {
        Box::pin(async move {
            let entries = self.entries();
            let mut usage = KvUsage::default();
            let mut existing = HashMap::new();
            for ((owner, key), value) in entries.iter() {
                if owner != connector {
                    continue;
                }
                let size = (key.len() + value.len()) as u64;
                usage.keys += 1;
                usage.bytes += size;
                if keys.contains(key) {
                    existing.insert(key.clone(), size);
                }
            }
            Ok((usage, existing))
        })
    }

    fn apply<'a>(&'a self, connector: &'a str, writes: &'a KvWrites) -> KvFuture<'a, ()> {
        Box::pin(async move {
            let mut entries = self.entries();
            for (key, value) in &writes.0 {
                let id = (connector.to_string(), key.clone());
                match value {
                    Some(value) => entries.insert(id, value.clone()),
                    None => entries.remove(&id),
                };
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writes(list: &[(&str, Option<&[u8]>)]) -> KvWrites {
        KvWrites(list.iter().map(|(k, v)| (k.to_string(), v.map(<[u8]>::to_vec))).collect())
    }

    #[tokio::test]
    async fn connectors_do_not_see_each_other() {
        let kv = MemoryKv::new();
        kv.apply("a", &writes(&[("cursor", Some(b"1"))])).await.unwrap();
        assert_eq!(kv.get("a", "cursor").await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(kv.get("b", "cursor").await.unwrap(), None);
        kv.apply("a", &writes(&[("cursor", None)])).await.unwrap();
        kv.apply("a", &writes(&[("cursor", None)])).await.unwrap();
        assert_eq!(kv.get("a", "cursor").await.unwrap(), None);
    }

    #[test]
    fn limits_are_enforced() {
        assert_eq!(check("", None), Err(KvError::BadKey(0)));
        let big = vec![0; MAX_VALUE_BYTES + 1];
        assert_eq!(check("k", Some(&big)), Err(KvError::TooLarge(MAX_VALUE_BYTES + 1)));
    }

    #[test]
    fn quotas_count_what_a_call_replaces_once() {
        let quota = KvQuota { max_keys: 2, max_bytes: 100 };
        let usage = KvUsage { keys: 2, bytes: 60 };
        let existing = HashMap::from([("a".to_string(), 30u64)]);
        // Replacing an entry keeps the count.
        assert!(within_quota(quota, usage, &existing, &writes(&[("a", Some(&[0; 39]))])).is_ok());
        // A third entry is one too many.
        let error = within_quota(quota, usage, &existing, &writes(&[("c", Some(b"1"))]));
        assert!(matches!(error, Err(KvError::Quota(m)) if m.contains("kv_max_keys")));
        // Deleting one makes room.
        let ok = within_quota(quota, usage, &existing, &writes(&[("a", None), ("c", Some(b"1"))]));
        assert!(ok.is_ok());
        let error = within_quota(quota, usage, &existing, &writes(&[("a", Some(&[0; 80]))]));
        assert!(matches!(error, Err(KvError::Quota(m)) if m.contains("kv_max_bytes")));
    }
}
