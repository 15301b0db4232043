//! Fresh databases for store tests: a SQLite file in a temporary directory always, and a new
//! PostgreSQL database when `SWITCHBOARD_TEST_DATABASE_URL` points at a server.
#![allow(dead_code)]

use switchboard::store::{Store, StoreConfig};

/// A database that exists for one test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A new SQLite database file.
pub fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    TestDb { url, _dir: Some(dir) }
}

/// A new PostgreSQL database, or `None` (with the reason printed) when no server is configured.
pub async fn postgres() -> Option<TestDb> {
    let Ok(base) = std::env::var("SWITCHBOARD_TEST_DATABASE_URL") else {
        // Straight to the file descriptor: libtest captures `eprintln!` of passing tests, and
        // the reason for a skip must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: SWITCHBOARD_TEST_DATABASE_URL is not set, so this PostgreSQL test does not run"
        );
        return None;
    };
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(&base).await.unwrap_or_else(|e| {
        panic!("SWITCHBOARD_TEST_DATABASE_URL={base} is set but unreachable: {e}")
    });
    // Databases left by earlier test processes go first (cargo runs test binaries one after
    // another, so another process's databases are not in use).
    static CLEANED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !CLEANED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        let stale: Vec<(String,)> = sqlx::query_as(
            "SELECT CAST(datname AS TEXT) FROM pg_database WHERE datname LIKE 'switchboard_test_%'",
        )
        .fetch_all(&mut admin)
        .await
        .unwrap();
        let own = format!("switchboard_test_{}_", std::process::id());
        for (name,) in stale.into_iter().filter(|(n,)| !n.starts_with(&own)) {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await;
        }
    }
    let name = format!(
        "switchboard_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    let (prefix, _) = base.rsplit_once('/').expect("the URL names a database");
    Some(TestDb { url: format!("{prefix}/{name}"), _dir: None })
}

/// The store's settings for a test database: French default region.
pub fn config(url: &str) -> StoreConfig {
    StoreConfig {
        url: url.to_string(),
        default_region: Some("FR".into()),
        ..StoreConfig::default()
    }
}

/// Opens (and migrates) a store on `db`.
pub async fn open(db: &TestDb) -> Store {
    Store::open(&config(&db.url)).await.unwrap()
}

/// Runs an async test body against SQLite and, when configured, PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::sqlite();
                super::$body($crate::common::open(&db).await, &db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::common::postgres().await else { return };
                super::$body($crate::common::open(&db).await, &db).await;
            }
        }
    };
}
