//! The private key-value state each connector keeps through the host (`kv-get`/`kv-set`/
//! `kv-delete`): cursors, tokens, ids already seen. The store implements [`KvStore`] to persist
//! it; [`MemoryKv`] serves `plugin test` and unit tests.

use std::collections::HashMap;
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
    /// The backing store failed.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
}

/// Per-connector key-value state.
pub trait KvStore: Send + Sync {
    /// Reads `key` of `connector`.
    fn get<'a>(&'a self, connector: &'a str, key: &'a str) -> KvFuture<'a, Option<Vec<u8>>>;
    /// Writes `key` of `connector`.
    fn set<'a>(&'a self, connector: &'a str, key: &'a str, value: Vec<u8>) -> KvFuture<'a, ()>;
    /// Removes `key` of `connector`; a missing key is not an error.
    fn delete<'a>(&'a self, connector: &'a str, key: &'a str) -> KvFuture<'a, ()>;
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

    fn set<'a>(&'a self, connector: &'a str, key: &'a str, value: Vec<u8>) -> KvFuture<'a, ()> {
        Box::pin(async move {
            check(key, Some(&value))?;
            self.entries().insert((connector.to_string(), key.to_string()), value);
            Ok(())
        })
    }

    fn delete<'a>(&'a self, connector: &'a str, key: &'a str) -> KvFuture<'a, ()> {
        Box::pin(async move {
            check(key, None)?;
            self.entries().remove(&(connector.to_string(), key.to_string()));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connectors_do_not_see_each_other() {
        let kv = MemoryKv::new();
        kv.set("a", "cursor", b"1".to_vec()).await.unwrap();
        assert_eq!(kv.get("a", "cursor").await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(kv.get("b", "cursor").await.unwrap(), None);
        kv.delete("a", "cursor").await.unwrap();
        kv.delete("a", "cursor").await.unwrap();
        assert_eq!(kv.get("a", "cursor").await.unwrap(), None);
    }

    #[tokio::test]
    async fn limits_are_enforced() {
        let kv = MemoryKv::new();
        assert_eq!(kv.get("a", "").await, Err(KvError::BadKey(0)));
        let big = vec![0; MAX_VALUE_BYTES + 1];
        assert_eq!(kv.set("a", "k", big).await, Err(KvError::TooLarge(MAX_VALUE_BYTES + 1)));
    }
}
