//! Which database a log lives in: [`DatabaseUrl`], parsed once where a
//! configuration file or a command line names it, and [`MigratePolicy`],
//! what opening it does about the schema.

use crate::Error;
use sqlx::postgres::PgConnectOptions;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A log database: a Postgres server or an embedded SQLite file.
///
/// Accepted forms:
/// * `postgres://…` or `postgresql://…`: a libpq-style URL, with libpq's
///   options in the query (`sslmode`, `sslrootcert`, `application_name`…);
///   checked by sqlx's parser here, so a malformed URL fails at start;
/// * `sqlite://PATH`, `sqlite:PATH`, or a bare path without a scheme.
///
/// Anything else that looks like a URL (`postgress://`, `mysql://`, `pg:`)
/// is an error naming the accepted schemes, never a file name.
#[derive(Clone)]
pub enum DatabaseUrl {
    Postgres(PostgresUrl),
    Sqlite(PathBuf),
}

/// A parsed Postgres URL (its text is kept for messages, with the password hidden).
#[derive(Clone)]
pub struct PostgresUrl {
    text: String,
    options: Box<PgConnectOptions>,
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({})", redact(&self.text))
    }
}

impl PostgresUrl {
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// The URL with any password replaced by `***`.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Postgres(pg) => f.write_str(&redact(&pg.text)),
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
        }
    }
}

fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { format!("{user}:***") } else { user.to_string() };
            format!("{scheme}://{hidden}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

impl FromStr for DatabaseUrl {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        if s.is_empty() {
            return Err(Error::Config("the database URL is empty".into()));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            let options =
                PgConnectOptions::from_str(s).map_err(|e| Error::Config(format!("database URL {}: {e}", redact(s))))?;
            return Ok(Self::Postgres(PostgresUrl { text: s.to_string(), options: Box::new(options) }));
        }
        if let Some(path) = s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(Error::Config("sqlite:// needs a file path".into()));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if let Some(scheme) = url_scheme(s) {
            return Err(Error::Config(format!(
                "unknown database URL scheme {scheme:?} in {}: use postgres://… (or postgresql://…) or sqlite://PATH",
                redact(s)
            )));
        }
        Ok(Self::Sqlite(PathBuf::from(s)))
    }
}

/// The scheme of `s` if it starts like a URL (`letters[+.-]*:`), not like a path.
fn url_scheme(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once(':')?;
    let looks_like_scheme = !scheme.is_empty()
        && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    // A one-letter "scheme" is a Windows drive (C:\…), a path.
    (looks_like_scheme && scheme.len() > 1).then_some(scheme)
}

impl DatabaseUrl {
    /// An embedded database at `path`.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self::Sqlite(path.into())
    }

    /// Makes a relative SQLite path relative to `base` (the directory of the
    /// configuration file that names it).
    pub fn resolve(&mut self, base: &Path) {
        if let Self::Sqlite(p) = self {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// `"postgres"` or `"sqlite"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// The URL as written in a configuration file (password included: for
    /// writing configuration only, never for logs — use `Display` there).
    pub fn to_config_string(&self) -> String {
        match self {
            Self::Postgres(pg) => pg.text.clone(),
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
        }
    }

    /// The policy this backend gets unless told otherwise: an embedded
    /// SQLite file belongs to this process and is migrated on the spot;
    /// a Postgres schema is applied by `sigstead migrate` (once per release,
    /// by the operator) and only checked at start.
    pub fn default_migrate_policy(&self) -> MigratePolicy {
        match self {
            Self::Postgres(_) => MigratePolicy::RequireCurrent,
            Self::Sqlite(_) => MigratePolicy::Apply,
        }
    }
}

impl<'de> serde::Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for DatabaseUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_config_string())
    }
}

/// What opening a store does about the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigratePolicy {
    /// Apply pending migrations, then check the schema.
    Apply,
    /// Only check that the schema is exactly this binary's; refuse otherwise.
    RequireCurrent,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_and_sqlite_forms_parse() {
        let pg: DatabaseUrl = "postgres://sigstead:secret@db:5432/sigstead?sslmode=verify-full".parse().unwrap();
        assert!(pg.is_postgres());
        assert_eq!(pg.default_migrate_policy(), MigratePolicy::RequireCurrent);
        assert_eq!(pg.to_string(), "postgres://sigstead:***@db:5432/sigstead?sslmode=verify-full");
        assert!(!format!("{pg:?}").contains("secret"));
        assert!(matches!("postgresql://db/x".parse::<DatabaseUrl>().unwrap(), DatabaseUrl::Postgres(_)));
        for (text, path) in
            [("sqlite://rekor.db", "rekor.db"), ("sqlite:/var/x.db", "/var/x.db"), ("./rekor.db", "./rekor.db")]
        {
            let DatabaseUrl::Sqlite(p) = text.parse::<DatabaseUrl>().unwrap() else { panic!("{text}") };
            assert_eq!(p, Path::new(path));
        }
        let mut rel: DatabaseUrl = "sqlite://rekor.db".parse().unwrap();
        rel.resolve(Path::new("/etc/sigstead"));
        assert_eq!(rel.to_config_string(), "sqlite:///etc/sigstead/rekor.db");
        assert_eq!(rel.default_migrate_policy(), MigratePolicy::Apply);
    }

    #[test]
    fn a_mistyped_scheme_is_an_error_not_a_file_name() {
        for bad in ["postgress://db/x", "mysql://db/x", "pg:db", "sqlit://x.db", "http://db"] {
            let err = bad.parse::<DatabaseUrl>().unwrap_err().to_string();
            assert!(err.contains("unknown database URL scheme") && err.contains("postgres://"), "{bad}: {err}");
        }
        assert!("".parse::<DatabaseUrl>().is_err());
        assert!("sqlite://".parse::<DatabaseUrl>().is_err());
        let err = "postgres://u:pw@db:notaport/x".parse::<DatabaseUrl>().unwrap_err().to_string();
        assert!(!err.contains(":pw@"), "the password stays out of messages: {err}");
    }
}
