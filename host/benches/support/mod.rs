//! What the benchmarks share.

use sqlx::{Connection, Executor};
use switchboard::store::Backend;

/// The stores a benchmark runs on, by name: a SQLite file in `dir` always, and a fresh
/// PostgreSQL database when `SWITCHBOARD_TEST_DATABASE_URL` names a server.
#[allow(dead_code)]
pub async fn databases(bench: &str, dir: &std::path::Path) -> Vec<(&'static str, String)> {
    let mut targets =
        vec![("sqlite", format!("sqlite://{}", dir.join(format!("{bench}.db")).display()))];
    if let Ok(base) = std::env::var("SWITCHBOARD_TEST_DATABASE_URL") {
        let name = format!("switchboard_bench_{bench}_{}", std::process::id());
        targets.push(("postgres", fresh_postgres(&base, &name).await));
    } else {
        println!("(PostgreSQL skipped: SWITCHBOARD_TEST_DATABASE_URL is not set)");
    }
    targets
}

/// A new database named `name` on the server of `base` (dropped first if it exists).
pub async fn fresh_postgres(base: &str, name: &str) -> String {
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(base).await.unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .await
        .unwrap();
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

/// Customers, users and a team, then per customer an e-mail address and a mobile number, one
/// conversation with ten interactions over one to three channels, and for one customer in ten a
/// paid order with a line: all in a few set-based statements.
#[allow(dead_code)]
pub async fn bulk_load(backend: Backend, url: &str, customers: i64, agents: i64) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let series = |n: i64| match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) SELECT n FROM s"
        ),
        Backend::Postgres => format!("SELECT n FROM generate_series(1, {n}) AS s(n)"),
    };
    let customers_series = series(customers);
    let interactions_series = series(customers * 10);
    let orders_series = series(customers / 10);
    let agents_series = series(agents);
    // Conversation n belongs to customer n; status by n % 10: 0-2 open, 3 pending, else
    // resolved; assignee 1 + n % 20, none for every fifth open one.
    let status =
        "CASE WHEN n % 10 < 3 THEN 'open' WHEN n % 10 = 3 THEN 'pending' ELSE 'resolved' END";
    let assignee =
        format!("CASE WHEN n % 10 < 3 AND n % 5 = 0 THEN NULL ELSE 1 + n % {agents} END");
    let channel = "CASE n % 3 WHEN 0 THEN 'email' WHEN 1 THEN 'whatsapp' ELSE 'telegram' END";
    let base_ms: i64 = 1_790_000_000_000;
    let statements = [
        format!(
            "INSERT INTO users (id, email, name, role, active, away, created_at, updated_at) \
             SELECT n, 'agent' || n || '@bench.example', 'Agent ' || n, 'agent', 1, 0, 0, 0 FROM ({agents_series}) AS g"
        ),
        "INSERT INTO teams (id, name, created_at) VALUES (1, 'Support', 0)".to_string(),
        format!(
            "INSERT INTO team_members (team_id, user_id) SELECT 1, n FROM ({agents_series}) AS g"
        ),
        format!(
            "INSERT INTO customers (id, created_at, display_name) SELECT n, 0, 'Bulk ' || n FROM ({customers_series}) AS g"
        ),
        format!(
            "INSERT INTO conversations (id, customer_id, status, priority, assignee_id, team_id, opened_connector, \
             opened_channel, created_at, updated_at, last_message_at, last_message_preview, last_message_direction, \
             last_message_channel, last_inbound_at, waiting_since, resolved_at, reopened_count) \
             SELECT n, n, {status}, 'normal', {assignee}, 1, {channel}, {channel}, {base_ms} + n * 1000, {base_ms} + n * 1000, \
             {base_ms} + n * 1000 + 9000, 'Message 10', 'inbound', {channel}, {base_ms} + n * 1000 + 9000, \
             CASE WHEN n % 10 < 3 THEN {base_ms} + n * 1000 ELSE NULL END, \
             CASE WHEN n % 10 > 3 THEN {base_ms} + n * 1000 + 10000 ELSE NULL END, 0 \
             FROM ({customers_series}) AS g"
        ),
        format!(
            "INSERT INTO conversation_channels (conversation_id, connector_id, channel) \
             SELECT n, {channel}, {channel} FROM ({customers_series}) AS g"
        ),
        // Interaction i belongs to conversation (and customer) 1 + (i - 1) / 10.
        format!(
            "INSERT INTO interactions (connector_id, provider_id, customer_id, linked_by, kind, direction, channel, \
             body, occurred_at, attachments, attributes, content_hash, created_at, conversation_id) \
             SELECT 'whatsapp', 'wamid.' || n, 1 + (n - 1) / 10, 'bulk', 'message', \
             CASE WHEN n % 2 = 0 THEN 'outbound' ELSE 'inbound' END, 'whatsapp', 'Message ' || (1 + (n - 1) % 10), \
             {base_ms} + (1 + (n - 1) / 10) * 1000 + ((n - 1) % 10) * 1000, '[]', '[]', '', 0, 1 + (n - 1) / 10 \
             FROM ({interactions_series}) AS g"
        ),
        format!(
            "INSERT INTO contact_points (customer_id, kind, value, raw, verified, source_connector, first_seen, last_seen) \
             SELECT n, 'email', 'bulk' || n || '@example.com', 'bulk' || n || '@example.com', 1, 'email', {base_ms}, {base_ms} \
             FROM ({customers_series}) AS g"
        ),
        format!(
            "INSERT INTO contact_points (customer_id, kind, value, raw, verified, source_connector, first_seen, last_seen) \
             SELECT n, 'phone', '+336' || (10000000 + n), '06 ' || (10000000 + n), 1, 'whatsapp', {base_ms}, {base_ms} \
             FROM ({customers_series}) AS g"
        ),
        format!(
            "INSERT INTO orders (id, connector_id, provider_id, customer_id, linked_by, number, status, total_minor, \
             currency, placed_at, updated_at, attributes, content_hash, created_at) \
             SELECT n, 'shopify', 'order-' || n, n * 10, 'bulk', '#' || n, 'paid', 2590, 'EUR', {base_ms} + n * 10000, \
             {base_ms} + n * 10000, '[]', '', 0 FROM ({orders_series}) AS g"
        ),
        format!(
            "INSERT INTO order_lines (order_id, position, sku, name, quantity, unit_price_minor, currency) \
             SELECT n, 0, 'MUG-1', 'Mug', 2, 1295, 'EUR' FROM ({orders_series}) AS g"
        ),
    ];
    let mut tx = conn.begin().await.unwrap();
    for statement in statements {
        tx.execute(sqlx::AssertSqlSafe(statement)).await.unwrap();
    }
    tx.commit().await.unwrap();
    if backend == Backend::Postgres {
        for table in ["users", "teams", "customers", "conversations", "orders"] {
            conn.execute(sqlx::AssertSqlSafe(format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            )))
            .await
            .unwrap();
        }
    }
    // As an operator's periodic maintenance would: `PRAGMA optimize` on SQLite; autovacuum on
    // PostgreSQL, which also marks pages all-visible so that index-only scans stay index-only.
    match backend {
        Backend::Sqlite => conn.execute("ANALYZE").await.unwrap(),
        Backend::Postgres => conn.execute("VACUUM ANALYZE").await.unwrap(),
    };
}
