//! The store's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store URL is neither `sqlite:PATH` nor `postgres://…`.
    #[error("unsupported store `{0}`: use sqlite:PATH or postgres://…")]
    BadUrl(String),
    /// No data directory for the default store path.
    #[error("no data directory for the default store: set `store: sqlite:PATH` or pass --store")]
    NoDataDir,
    /// The SQLite file's directory could not be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An SQLite error.
    #[error("SQLite store {}: {source}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The driver's error.
        source: rusqlite::Error,
    },
    /// A PostgreSQL error.
    #[error("PostgreSQL store: {0}")]
    Postgres(#[from] postgres::Error),
    /// The database was migrated by a newer prism.
    #[error(
        "the store's schema version {found} is newer than this prism supports ({supported}); upgrade prism"
    )]
    SchemaTooNew {
        /// The version in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// An execution record lacks a field the store indexes.
    #[error("execution record: {0}")]
    BadRecord(String),
    /// A stored value does not fit (a count over i64, bad JSON, …).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// A record id prefix matched several records.
    #[error("`{0}` matches several records; give more of the id")]
    AmbiguousId(String),
    /// A version is not semver.
    #[error("`{0}` is not a semver version (like 1.2.0)")]
    BadVersion(String),
    /// A version range is not a semver requirement.
    #[error("`{0}` is not a version or a semver range (like ^1.2 or >=1, <2)")]
    BadRange(String),
    /// Publishing other content under a stored version.
    #[error(
        "{name}@{version} is already published with different content (hash {stored}); bump the version"
    )]
    VersionConflict {
        /// Pattern name.
        name: String,
        /// The version.
        version: String,
        /// The hash of the stored content.
        stored: String,
    },
    /// A background thread of the PostgreSQL backend panicked.
    #[error("the store's worker thread stopped unexpectedly")]
    Worker,
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// True for SQLite's "busy"/"locked" answers that its busy handler does not wait out:
    /// a connection that opens while the last one to close still cleans up the WAL, or while
    /// another runs recovery (<https://sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode>).
    /// The operation failed whole (each write is one transaction), so it may be tried again.
    pub(crate) fn is_busy(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            )
        )
    }
}
