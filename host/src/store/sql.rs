//! One way to run SQL on either backend: [`Conn`] is a connection to SQLite (rusqlite, run
//! synchronously on the thread that owns it) or PostgreSQL (sqlx), and every query of the
//! store goes through its [`execute`](Conn::execute), [`all`](Conn::all),
//! [`optional`](Conn::optional) and [`one`](Conn::one), with parameters as [`Value`]s and rows
//! decoded into tuples ([`FromRow`]).
//!
//! Queries are written once, in the SQL both backends share, with PostgreSQL's `$1`
//! placeholders (rewritten to SQLite's `?1`). The few that differ (lists of values, locks) ask
//! [`Conn::backend`] and pass the backend's own text.
//!
//! **Why not one sqlx `Any` pool.** sqlx's SQLite driver sends every statement to a worker
//! thread and back: ~25 µs a statement on this machine against ~2.5 µs for the same prepared
//! statement through rusqlite on the connection's own thread (`/tmp` bench in the issue note of
//! the write-path work), and the `Any` driver also lost type information (a `NULL` float sent
//! as `float4`). SQLite now runs on rusqlite behind a writer thread; PostgreSQL stays on sqlx.

use std::borrow::Cow;

use sqlx::Row as _;
use sqlx::postgres::{PgArguments, PgRow};

use super::{Backend, StoreError};

/// A statement parameter, typed even when it is `NULL` (PostgreSQL needs the type).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// A 64-bit integer (also flags, as 0/1).
    Int(Option<i64>),
    /// A float.
    Real(Option<f64>),
    /// Text.
    Text(Option<&'a str>),
    /// Bytes.
    Blob(Option<&'a [u8]>),
    /// A list of integers: a JSON array on SQLite (read with `json_each`), a `bigint[]` on
    /// PostgreSQL (read with `= ANY`).
    Ints(&'a [i64]),
    /// A list of strings, likewise (`text[]` on PostgreSQL).
    Texts(&'a [String]),
}

/// Converts a Rust value into a [`Value`].
pub(crate) trait ToValue {
    /// The parameter.
    fn value(&self) -> Value<'_>;
}

impl ToValue for i64 {
    fn value(&self) -> Value<'_> {
        Value::Int(Some(*self))
    }
}
impl ToValue for Option<i64> {
    fn value(&self) -> Value<'_> {
        Value::Int(*self)
    }
}
impl ToValue for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(Some(i64::from(*self)))
    }
}
impl ToValue for f64 {
    fn value(&self) -> Value<'_> {
        Value::Real(Some(*self))
    }
}
impl ToValue for Option<f64> {
    fn value(&self) -> Value<'_> {
        Value::Real(*self)
    }
}
impl ToValue for str {
    fn value(&self) -> Value<'_> {
        Value::Text(Some(self))
    }
}
impl<T: ToValue + ?Sized> ToValue for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}
impl ToValue for String {
    fn value(&self) -> Value<'_> {
        Value::Text(Some(self))
    }
}
impl ToValue for Option<String> {
    fn value(&self) -> Value<'_> {
        Value::Text(self.as_deref())
    }
}
impl ToValue for Option<&str> {
    fn value(&self) -> Value<'_> {
        Value::Text(*self)
    }
}
impl ToValue for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(Some(self))
    }
}
impl ToValue for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(Some(self))
    }
}
impl ToValue for Vec<i64> {
    fn value(&self) -> Value<'_> {
        Value::Ints(self)
    }
}
impl ToValue for Vec<String> {
    fn value(&self) -> Value<'_> {
        Value::Texts(self)
    }
}

/// The parameters of a statement: `params![a, b, c]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$($crate::store::sql::ToValue::value(&$value)),*]
    };
}
pub(crate) use params;

/// A column type both backends can decode.
pub(crate) trait Column: Sized {
    /// From a SQLite row.
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self>;
    /// From a PostgreSQL row.
    fn postgres(row: &PgRow, index: usize) -> Result<Self, sqlx::Error>;
}

macro_rules! column {
    ($($ty:ty),*) => {$(
        impl Column for $ty {
            fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
                row.get(index)
            }
            fn postgres(row: &PgRow, index: usize) -> Result<Self, sqlx::Error> {
                row.try_get(index)
            }
        }
    )*};
}
column!(f64, Option<f64>, String, Option<String>, Vec<u8>, Option<Vec<u8>>);

// PostgreSQL types a literal integer (`SELECT 3 AS rank`) as `int4`: either width reads as i64.
impl Column for i64 {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn postgres(row: &PgRow, index: usize) -> Result<Self, sqlx::Error> {
        row.try_get::<i64, _>(index).or_else(|_| row.try_get::<i32, _>(index).map(i64::from))
    }
}

impl Column for Option<i64> {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn postgres(row: &PgRow, index: usize) -> Result<Self, sqlx::Error> {
        row.try_get::<Option<i64>, _>(index)
            .or_else(|_| row.try_get::<Option<i32>, _>(index).map(|v| v.map(i64::from)))
    }
}

impl Column for bool {
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        Ok(row.get::<_, i64>(index)? != 0)
    }
    fn postgres(row: &PgRow, index: usize) -> Result<Self, sqlx::Error> {
        Ok(row.try_get::<i64, _>(index)? != 0)
    }
}

/// A row decoded as a tuple of [`Column`]s.
pub(crate) trait FromRow: Sized {
    /// From a SQLite row.
    fn sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
    /// From a PostgreSQL row.
    fn postgres(row: &PgRow) -> Result<Self, sqlx::Error>;
}

macro_rules! from_row {
    ($(($($name:ident $index:tt),+)),* $(,)?) => {$(
        impl<$($name: Column),+> FromRow for ($($name,)+) {
            fn sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(($($name::sqlite(row, $index)?,)+))
            }
            fn postgres(row: &PgRow) -> Result<Self, sqlx::Error> {
                Ok(($($name::postgres(row, $index)?,)+))
            }
        }
    )*};
}
from_row!(
    (A 0),
    (A 0, B 1),
    (A 0, B 1, C 2),
    (A 0, B 1, C 2, D 3),
    (A 0, B 1, C 2, D 3, E 4),
    (A 0, B 1, C 2, D 3, E 4, F 5),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16, R 17),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16, R 17, S 18),
    (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16, R 17, S 18, T 19),
);

/// A connection to either backend.
pub(crate) enum Conn<'c> {
    /// SQLite, used on the thread that owns it.
    Sqlite(&'c mut rusqlite::Connection),
    /// PostgreSQL.
    Postgres(&'c mut sqlx::PgConnection),
}

impl Conn<'_> {
    /// Which backend it is.
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs a statement; the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, params: &[Value<'_>]) -> Result<u64, StoreError> {
        match self {
            Conn::Sqlite(conn) => {
                let mut statement = prepare(conn, sql)?;
                bind(&mut statement, params)?;
                Ok(statement.raw_execute().map_err(sqlite_error)? as u64)
            }
            Conn::Postgres(conn) => {
                let done = postgres_query(sql, params).execute(&mut **conn).await?;
                Ok(done.rows_affected())
            }
        }
    }

    /// Every row of a query.
    pub async fn all<T: FromRow>(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
    ) -> Result<Vec<T>, StoreError> {
        match self {
            Conn::Sqlite(conn) => {
                let mut statement = prepare(conn, sql)?;
                bind(&mut statement, params)?;
                let mut rows = statement.raw_query();
                let mut found = Vec::new();
                while let Some(row) = rows.next().map_err(sqlite_error)? {
                    found.push(T::sqlite(row).map_err(sqlite_error)?);
                }
                Ok(found)
            }
            Conn::Postgres(conn) => {
                let rows = postgres_query(sql, params).fetch_all(&mut **conn).await?;
                rows.iter().map(|row| T::postgres(row).map_err(StoreError::from)).collect()
            }
        }
    }

    /// The first row of a query, if any.
    pub async fn optional<T: FromRow>(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
    ) -> Result<Option<T>, StoreError> {
        match self {
            Conn::Sqlite(conn) => {
                let mut statement = prepare(conn, sql)?;
                bind(&mut statement, params)?;
                let mut rows = statement.raw_query();
                match rows.next().map_err(sqlite_error)? {
                    Some(row) => Ok(Some(T::sqlite(row).map_err(sqlite_error)?)),
                    None => Ok(None),
                }
            }
            Conn::Postgres(conn) => {
                let row = postgres_query(sql, params).fetch_optional(&mut **conn).await?;
                row.as_ref().map(|row| T::postgres(row).map_err(StoreError::from)).transpose()
            }
        }
    }

    /// The one row a query returns; none is an error.
    pub async fn one<T: FromRow>(
        &mut self,
        sql: &str,
        params: &[Value<'_>],
    ) -> Result<T, StoreError> {
        self.optional(sql, params)
            .await?
            .ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))
    }

    /// Runs statements that take no parameters, separated by `;` (transaction control).
    pub async fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(conn) => conn.execute_batch(sql).map_err(sqlite_error),
            Conn::Postgres(conn) => {
                use sqlx::Executor as _;
                conn.execute(sqlx::AssertSqlSafe(sql)).await?;
                Ok(())
            }
        }
    }
}

/// `column` is one of the list parameter `$n` ([`Value::Ints`] or [`Value::Texts`]), in the
/// backend's spelling.
pub(crate) fn in_list(backend: Backend, column: &str, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("{column} IN (SELECT value FROM json_each(${n}))"),
        Backend::Postgres => format!("{column} = ANY(${n})"),
    }
}

/// A parameter owned by a query being built, lent as a [`Value`] when it runs.
#[derive(Debug, Clone)]
pub(crate) enum Owned {
    Int(Option<i64>),
    Text(Option<String>),
}

impl Owned {
    pub fn value(&self) -> Value<'_> {
        match self {
            Owned::Int(v) => Value::Int(*v),
            Owned::Text(v) => Value::Text(v.as_deref()),
        }
    }
}

/// Parameters of a query built piece by piece: [`push`](Params::push) answers the
/// placeholder to write.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(pub Vec<Owned>);

impl Params {
    /// Adds a parameter; its placeholder, `$n`.
    pub fn push(&mut self, value: Owned) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    /// The parameters, to run the query with.
    pub fn values(&self) -> Vec<Value<'_>> {
        self.0.iter().map(Owned::value).collect()
    }
}

/// `$1`, `$2`… as SQLite's numbered `?1`, `?2`…: the same parameter may appear several times
/// and in any order. `$` inside string literals is left alone.
pub(crate) fn sqlite_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '$' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn prepare<'c>(
    conn: &'c rusqlite::Connection,
    sql: &str,
) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
    conn.prepare_cached(&sqlite_placeholders(sql)).map_err(sqlite_error)
}

fn bind(statement: &mut rusqlite::Statement<'_>, params: &[Value<'_>]) -> Result<(), StoreError> {
    use rusqlite::types::Null;
    for (i, value) in params.iter().enumerate() {
        let index = i + 1;
        let bound = match value {
            Value::Int(Some(v)) => statement.raw_bind_parameter(index, v),
            Value::Real(Some(v)) => statement.raw_bind_parameter(index, v),
            Value::Text(Some(v)) => statement.raw_bind_parameter(index, v),
            Value::Blob(Some(v)) => statement.raw_bind_parameter(index, v),
            Value::Int(None) | Value::Real(None) | Value::Text(None) | Value::Blob(None) => {
                statement.raw_bind_parameter(index, Null)
            }
            Value::Ints(list) => statement.raw_bind_parameter(index, json_list(list)),
            Value::Texts(list) => statement.raw_bind_parameter(index, json_list(list)),
        };
        bound.map_err(sqlite_error)?;
    }
    Ok(())
}

fn json_list<T: serde::Serialize>(list: &[T]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".into())
}

fn postgres_query<'q>(
    sql: &'q str,
    params: &'q [Value<'q>],
) -> sqlx::query::Query<'q, sqlx::Postgres, PgArguments> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for value in params {
        query = match *value {
            Value::Int(v) => query.bind(v),
            Value::Real(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Blob(v) => query.bind(v),
            Value::Ints(list) => query.bind(list),
            Value::Texts(list) => query.bind(list),
        };
    }
    query
}

/// A rusqlite error as the store's: constraint and busy errors keep the codes
/// [`super::is_retryable`] and callers look for.
pub(crate) fn sqlite_error(error: rusqlite::Error) -> StoreError {
    StoreError::Sqlite(error.to_string(), sqlite_code(&error))
}

fn sqlite_code(error: &rusqlite::Error) -> Option<i32> {
    match error {
        rusqlite::Error::SqliteFailure(failure, _) => Some(failure.extended_code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_placeholders;

    #[test]
    fn placeholders_are_numbered_for_sqlite() {
        assert_eq!(
            sqlite_placeholders("UPDATE t SET a = $2 WHERE id = $1 AND b = $2"),
            "UPDATE t SET a = ?2 WHERE id = ?1 AND b = ?2"
        );
        assert_eq!(sqlite_placeholders("SELECT '$1', $1"), "SELECT '$1', ?1");
        assert_eq!(sqlite_placeholders("SELECT 1"), "SELECT 1");
    }
}
