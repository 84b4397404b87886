//! Schema migrations, shared by both backends: the SQL below is valid in SQLite and
//! PostgreSQL alike. `schema_version` holds one row per applied migration; a database whose
//! newest row is above [`LATEST`] was written by a newer prism and is refused.

/// The `schema_version` table.
pub(crate) const SCHEMA_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    version BIGINT PRIMARY KEY,
    applied_at BIGINT NOT NULL
)";

/// Migration `i + 1` is `MIGRATIONS[i]`. Never edit a released entry; append a new one.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: execution records, pattern versions, schedule state.
    "CREATE TABLE execution_records (
        id TEXT PRIMARY KEY,
        pattern TEXT NOT NULL,
        version TEXT NOT NULL,
        status TEXT NOT NULL,
        trigger_kind TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        ended_at BIGINT,
        duration_ms BIGINT,
        confidence DOUBLE PRECISION,
        record TEXT NOT NULL
    );
    CREATE INDEX execution_records_by_pattern ON execution_records (pattern, started_at);
    CREATE INDEX execution_records_by_start ON execution_records (started_at);
    CREATE TABLE pattern_versions (
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        plan TEXT NOT NULL,
        source TEXT NOT NULL,
        file_name TEXT NOT NULL,
        author TEXT NOT NULL,
        published_at BIGINT NOT NULL,
        active BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (name, version)
    );
    CREATE TABLE schedule_state (
        key TEXT PRIMARY KEY,
        next_run_ms BIGINT,
        runs BIGINT NOT NULL,
        last_run_ms BIGINT,
        last_status TEXT,
        updated_at BIGINT NOT NULL
    );",
    // 2: retention walks a pattern's records newest first by (started_at, id).
    "CREATE INDEX execution_records_by_pattern_start_id
        ON execution_records (pattern, started_at, id);
    DROP INDEX execution_records_by_pattern;",
    // 3: one row per completed node of a run, keyed (execution id, node), written as the run
    // goes (a distributed run writes each through an activity that may run twice).
    "CREATE TABLE execution_nodes (
        execution_id TEXT NOT NULL,
        node TEXT NOT NULL,
        status TEXT NOT NULL,
        written_at BIGINT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (execution_id, node)
    );",
];

/// The newest schema version this build knows.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;
