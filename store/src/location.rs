//! Where a store lives: `sqlite:PATH`, `postgres://…`, or the default SQLite file
//! `<data dir>/prism/prism.db`.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Result, StoreError};

/// The environment variable naming the store when neither a flag nor the directive does.
pub const STORE_ENV: &str = "PRISM_STORE";

/// A parsed store address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl Location {
    /// Parses `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(url: &str) -> Result<Location> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::BadUrl(url.to_string()));
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        Err(StoreError::BadUrl(url.to_string()))
    }

    /// The default store: `<data dir>/prism/prism.db` (`$XDG_DATA_HOME`, else
    /// `~/.local/share` on Linux; `~/Library/Application Support` on macOS).
    pub fn default_sqlite() -> Result<Location> {
        let dir = dirs::data_dir().ok_or(StoreError::NoDataDir)?;
        Ok(Location::Sqlite(dir.join("prism").join("prism.db")))
    }

    /// `url` if given, else `$PRISM_STORE` (when set and not empty), else the default store.
    pub fn resolve(url: Option<&str>) -> Result<Location> {
        match url {
            Some(u) => Location::parse(u),
            None => match std::env::var(STORE_ENV) {
                Ok(u) if !u.trim().is_empty() => Location::parse(&u),
                _ => Location::default_sqlite(),
            },
        }
    }
}

/// Shown to users: the SQLite path, or the PostgreSQL URL without its password.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            Location::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_store_urls() {
        assert_eq!(
            Location::parse("sqlite:/tmp/x.db").ok(),
            Some(Location::Sqlite("/tmp/x.db".into()))
        );
        assert_eq!(
            Location::parse("sqlite:rel/x.db").ok(),
            Some(Location::Sqlite("rel/x.db".into()))
        );
        assert!(matches!(
            Location::parse("postgres://u@h/db"),
            Ok(Location::Postgres(_))
        ));
        assert!(matches!(
            Location::parse("sqlite:"),
            Err(StoreError::BadUrl(_))
        ));
        assert!(matches!(
            Location::parse("mysql://h"),
            Err(StoreError::BadUrl(_))
        ));
    }

    #[test]
    fn display_hides_the_password() {
        let l = Location::parse("postgres://prism:secret@127.0.0.1:5432/prism?sslmode=disable");
        assert_eq!(
            l.map(|l| l.to_string()).ok().as_deref(),
            Some("postgres://prism:***@127.0.0.1:5432/prism?sslmode=disable")
        );
    }
}
