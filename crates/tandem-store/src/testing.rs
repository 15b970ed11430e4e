//! Throwaway databases for tests, shared by this crate's conformance suite and the API
//! tests (cargo feature `testing`).
//!
//! Which backend a test runs on is decided once, by the environment: with
//! `TANDEM_TEST_DATABASE_URL` set to a `postgres://` URL every [`TestDatabase`] is a fresh
//! schema in that database; without it, a fresh SQLite file in a temporary folder. So
//! `cargo test` needs nothing running, and CI runs the very same tests on PostgreSQL.
//! If the variable is set, PostgreSQL must be reachable: a missing database fails the
//! test, it never skips it.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};
use tempfile::TempDir;
use uuid::Uuid;

use crate::{Backend, Store, StoreError};

/// The environment variable naming the PostgreSQL database tests run against.
pub const DATABASE_URL_ENV: &str = "TANDEM_TEST_DATABASE_URL";

/// How long to wait for PostgreSQL before declaring it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The backend tests run on: `"postgres"` if [`DATABASE_URL_ENV`] is set, else `"sqlite"`.
///
/// Matches [`Store::backend_name`] of the store a [`TestDatabase`] gives.
pub fn backend_under_test() -> &'static str {
    match postgres_url() {
        Some(_) => "postgres",
        None => "sqlite",
    }
}

/// An empty database of its own for one test, removed when dropped.
///
/// Keep it alive for as long as the test uses the database: declare it before the store
/// (or server) built on it, so that it is dropped after them.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL to connect to; hand it to [`crate::connect`] or to the server's settings.
    pub url: String,
    cleanup: Cleanup,
}

/// What dropping a [`TestDatabase`] removes.
#[derive(Debug)]
enum Cleanup {
    /// The temporary folder holding the SQLite file; removed when this is dropped.
    Sqlite(#[expect(dead_code, reason = "held only to be dropped")] TempDir),
    /// A schema in the shared PostgreSQL database, dropped over `admin_url`.
    Postgres { admin_url: String, schema: String },
}

impl TestDatabase {
    /// Makes an empty database on the backend under test (see the module docs).
    ///
    /// Tables are not created: [`TestDatabase::store`] or [`crate::connect`] migrate.
    ///
    /// # Panics
    ///
    /// If [`DATABASE_URL_ENV`] is set but is not a `postgres:` URL or PostgreSQL cannot be
    /// reached, or if no temporary folder can be made.
    pub async fn create() -> Self {
        match postgres_url() {
            Some(admin_url) => Self::create_postgres(admin_url).await,
            None => Self::create_sqlite(),
        }
    }

    /// Connects to this database and migrates it: a ready, empty store.
    ///
    /// # Panics
    ///
    /// If connecting or migrating fails.
    pub async fn store(&self) -> Arc<dyn Store> {
        match crate::connect(&self.url).await {
            Ok(store) => store,
            Err(e) => panic!(
                "cannot open the test database on {}: {e}",
                backend_under_test()
            ),
        }
    }

    /// How many rows `table` holds, counted over a connection of its own: for tests that
    /// check what no store method shows, such as the rows a cascade removed.
    ///
    /// # Panics
    ///
    /// If `table` is not a plain lower-case name, or the query fails.
    pub async fn count_rows(&self, table: &str) -> i64 {
        assert!(
            !table.is_empty() && table.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "not a table name: {table:?}"
        );
        // Checked just above to be a bare identifier, so it cannot inject.
        let sql = AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        let counted: Result<i64, StoreError> = async {
            Ok(match Backend::from_url(&self.url)? {
                Backend::Sqlite => {
                    let mut conn = SqliteConnection::connect(&self.url).await?;
                    sqlx::query_scalar(sql).fetch_one(&mut conn).await?
                }
                Backend::Postgres => {
                    let mut conn = PgConnection::connect(&self.url).await?;
                    sqlx::query_scalar(sql).fetch_one(&mut conn).await?
                }
            })
        }
        .await;
        counted.unwrap_or_else(|e| panic!("cannot count the rows of {table}: {e}"))
    }

    /// Runs one raw SQL statement over a connection of its own and returns the number
    /// of rows it affected: for tests that try what the stores never do, such as
    /// changing an audit row.
    pub async fn execute(&self, sql: &str) -> Result<u64, StoreError> {
        let sql = AssertSqlSafe(sql.to_owned());
        let affected = match Backend::from_url(&self.url)? {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::connect(&self.url).await?;
                sqlx::query(sql).execute(&mut conn).await?.rows_affected()
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await?;
                sqlx::query(sql).execute(&mut conn).await?.rows_affected()
            }
        };
        Ok(affected)
    }

    /// The names of the tables in this database (its schema on PostgreSQL), sorted: for
    /// tests that check what DDL made or dropped.
    pub async fn tables(&self) -> Vec<String> {
        self.catalog(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            "SELECT tablename::text FROM pg_tables \
             WHERE schemaname = current_schema() ORDER BY tablename",
            None,
        )
        .await
    }

    /// The column names of `table`, sorted; none if there is no such table.
    pub async fn columns(&self, table: &str) -> Vec<String> {
        self.catalog(
            "SELECT name FROM pragma_table_info(?1) ORDER BY name",
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY column_name",
            Some(table),
        )
        .await
    }

    /// The names of `table`'s indexes that were made by name (not those SQLite makes
    /// for its own constraints, nor PostgreSQL's primary keys), sorted.
    pub async fn indexes(&self, table: &str) -> Vec<String> {
        self.catalog(
            "SELECT name FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL ORDER BY name",
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
             AND tablename = $1 AND indexname NOT LIKE '%_pkey' ORDER BY indexname",
            Some(table),
        )
        .await
    }

    /// The first column of a catalog query, per backend, with the table name as its
    /// parameter when one is given.
    async fn catalog(
        &self,
        sqlite: &'static str,
        postgres: &'static str,
        table: Option<&str>,
    ) -> Vec<String> {
        let listed: Result<Vec<String>, StoreError> = async {
            Ok(match Backend::from_url(&self.url)? {
                Backend::Sqlite => {
                    let mut conn = SqliteConnection::connect(&self.url).await?;
                    let mut query = sqlx::query_scalar(sqlite);
                    if let Some(table) = table {
                        query = query.bind(table);
                    }
                    query.fetch_all(&mut conn).await?
                }
                Backend::Postgres => {
                    let mut conn = PgConnection::connect(&self.url).await?;
                    let mut query = sqlx::query_scalar(postgres);
                    if let Some(table) = table {
                        query = query.bind(table);
                    }
                    query.fetch_all(&mut conn).await?
                }
            })
        }
        .await;
        listed.unwrap_or_else(|e| panic!("cannot read the catalog: {e}"))
    }

    fn create_sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tandem-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary folder for SQLite: {e}"));
        let path = dir.path().join("tandem.db");
        let url = format!("sqlite://{}", encode_path(&path.to_string_lossy()));
        Self {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    async fn create_postgres(admin_url: String) -> Self {
        if !matches!(Backend::from_url(&admin_url), Ok(Backend::Postgres)) {
            panic!(
                "{DATABASE_URL_ENV} must be a postgres:// URL, got {}",
                redact(&admin_url)
            );
        }
        let schema = format!("t_{}", Uuid::now_v7().simple());
        let mut conn = connect_admin(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "{DATABASE_URL_ENV} is set, but PostgreSQL at {} is unreachable: {e}",
                redact(&admin_url)
            )
        });
        // The name is `t_` and hex digits, so it needs no quoting and cannot inject.
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create test schema {schema}: {e}"));
        // Closing is a courtesy to the server; failing to say goodbye harms nothing.
        let _ = conn.close().await;

        // Every connection made from this URL starts with only the new schema on its
        // search path, so the migrations and all queries land there.
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        // The application name tags this database's connections, so that dropping it can
        // end any the test left open.
        let url = format!(
            "{admin_url}{separator}options=-c%20search_path%3D{schema}&application_name={schema}"
        );
        Self {
            url,
            cleanup: Cleanup::Postgres { admin_url, schema },
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, schema } = &self.cleanup else {
            // The SQLite folder goes with `TempDir`'s own drop.
            return;
        };
        // `Drop` cannot await, and blocking inside the test's runtime could stall it, so
        // the schema is dropped from a thread with a runtime of its own. A failure here
        // is reported, never raised: panicking in `drop` would abort a failing test.
        let dropped = std::thread::spawn({
            let (admin_url, schema) = (admin_url.clone(), schema.clone());
            move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(drop_schema(&admin_url, &schema))
            }
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test schema {schema}: {e}"),
            Err(_) => eprintln!("warning: dropping test schema {schema} panicked"),
        }
    }
}

/// The PostgreSQL URL from the environment, if one is set (an empty value counts as unset).
fn postgres_url() -> Option<String> {
    std::env::var(DATABASE_URL_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

async fn connect_admin(url: &str) -> Result<PgConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

async fn drop_schema(admin_url: &str, schema: &str) -> Result<(), String> {
    let mut conn = connect_admin(admin_url).await?;
    // A connection the test left open, possibly inside a transaction whose rollback never
    // ran (its runtime stopped first), would hold locks the drop waits for: end them.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = $1 AND pid <> pg_backend_pid()",
    )
    .bind(schema)
    .execute(&mut conn)
    .await
    .map_err(|e| e.to_string())?;
    // Should something still hold a lock, give up after a while rather than hang the run.
    sqlx::query("SET lock_timeout = '10s'")
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut conn)
    .await
    .map_err(|e| e.to_string())?;
    let _ = conn.close().await;
    Ok(())
}

/// Percent-encodes the characters that would end or alter the path part of a URL.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' | '?' | '#' | ' ' => out.push_str(&format!("%{:02X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The URL with its password, if any, replaced by `***`, fit for a panic message.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://ada:s3cret@db:5432/test?sslmode=disable"),
            "postgres://ada:***@db:5432/test?sslmode=disable"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert_eq!(redact("postgres:///test"), "postgres:///test");
    }

    #[test]
    fn url_path_characters_are_encoded() {
        assert_eq!(encode_path("/tmp/a b?c#d%e"), "/tmp/a%20b%3Fc%23d%25e");
    }
}
