//! Edition resolution, the enforcer (license.md "Edition resolution").

use std::fmt;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::claims::Claims;
use crate::edition::{Edition, Feature};
use crate::lookup::{EnvLookup, FoundKey, KeySource, Locations, find_key, process_env};
use crate::timefmt::format_rfc3339;
use crate::trusted::TrustedKey;
use crate::verify::verify;

/// What became of the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// No key was found: silent open source.
    None,
    /// An authentic, unexpired key: edition = tier.
    Active,
    /// An authentic key past its `exp`: open source.
    Expired,
    /// A key that failed verification (or a license file that could not be read): open source.
    Invalid,
}

impl State {
    /// `none`, `active`, `expired` or `invalid`.
    pub fn id(self) -> &'static str {
        match self {
            State::None => "none",
            State::Active => "active",
            State::Expired => "expired",
            State::Invalid => "invalid",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The resolved license of a process: the edition it runs as and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    /// The effective edition.
    pub edition: Edition,
    /// What became of the key.
    pub state: State,
    /// Where the key came from (`None` when no key was found).
    pub source: Option<KeySource>,
    /// The authenticated claims (active or expired keys).
    pub claims: Option<Claims>,
    /// Why a present key is not used (expired or invalid): the verification message, or
    /// `License expired on <RFC 3339 UTC>`.
    pub reason: Option<String>,
    /// Remarks for `status` (a shadowed variable, a license file others can read).
    pub notes: Vec<String>,
}

impl License {
    /// Open source with no key.
    pub fn open_source() -> License {
        License {
            edition: Edition::OpenSource,
            state: State::None,
            source: None,
            claims: None,
            reason: None,
            notes: Vec::new(),
        }
    }

    /// True if the effective edition grants `feature`.
    pub fn grants(&self, feature: Feature) -> bool {
        self.edition.grants(feature)
    }

    /// Finds the key in `env` / `locations` and resolves it.
    pub fn detect(
        env: EnvLookup<'_>,
        locations: &Locations,
        trusted: &TrustedKey,
        now: i64,
    ) -> License {
        resolve(find_key(env, locations), trusted, now)
    }

    /// The license of this process: the process environment, the platform's locations, the
    /// compiled-in trusted key and the system clock, computed once.
    pub fn current() -> &'static License {
        static CURRENT: OnceLock<License> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let env: EnvLookup<'_> = &process_env;
            License::detect(
                env,
                &Locations::from_env(env),
                &TrustedKey::compiled(),
                now_unix(),
            )
        })
    }

    /// For a present key that is not active: `license from <source> not used: <reason>`.
    pub fn not_used_reason(&self) -> Option<String> {
        match (&self.source, &self.reason) {
            (Some(source), Some(reason)) if self.state != State::Active => {
                Some(format!("license from {source} not used: {reason}"))
            }
            _ => None,
        }
    }

    /// The stderr warning for a present key that is not active, e.g.
    /// `warning: license from PRISM_LICENSE_KEY not used: Invalid signature — running as Prism
    /// Open Source`; `None` when there is no key or it is active.
    pub fn warning(&self) -> Option<String> {
        self.not_used_reason().map(|why| {
            format!(
                "warning: {why} — running as {}",
                Edition::OpenSource.product_name()
            )
        })
    }

    /// Writes [`License::warning`] to `err`, at most once per process (across all calls).
    /// Call it from every command that builds or runs plans. Write errors are ignored.
    pub fn warn_once(&self, err: &mut dyn Write) {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if let Some(line) = self.warning()
            && !WARNED.swap(true, Ordering::SeqCst)
        {
            let _ = writeln!(err, "{line}");
        }
    }
}

/// Resolves a found key (or none) into the effective license at `now` (Unix seconds).
/// Never fails: every problem yields open source with a reason.
pub fn resolve(found: Option<FoundKey>, trusted: &TrustedKey, now: i64) -> License {
    let Some(FoundKey { source, key, notes }) = found else {
        return License::open_source();
    };
    let mut license = License {
        source: Some(source),
        notes,
        ..License::open_source()
    };
    let verdict = key.and_then(|key| verify(&key, trusted).map_err(|e| e.to_string()));
    match verdict {
        Err(reason) => {
            license.state = State::Invalid;
            license.reason = Some(reason);
        }
        Ok(claims) if claims.is_expired_at(now) => {
            license.state = State::Expired;
            license.reason = Some(format!("License expired on {}", format_rfc3339(claims.exp)));
            license.claims = Some(claims);
        }
        Ok(claims) => {
            license.state = State::Active;
            license.edition = claims.edition();
            license.claims = Some(claims);
        }
    }
    license
}

/// The system clock in Unix seconds (0 if it is before 1970).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edition::Tier;
    use crate::issue::issue;
    use ed25519_dalek::SigningKey;

    fn setup(exp: i64) -> (TrustedKey, String) {
        let sk = SigningKey::from_bytes(&[11; 32]);
        let claims = Claims {
            tier: Tier::EnterprisePlus,
            org: "O".into(),
            sub: "S".into(),
            iat: 1000,
            exp,
            cluster: None,
        };
        (TrustedKey::from(sk.verifying_key()), issue(&sk, &claims))
    }

    fn env_key(key: &str) -> Option<FoundKey> {
        Some(FoundKey {
            source: KeySource::Env("PRISM_LICENSE_KEY"),
            key: Ok(key.to_owned()),
            notes: Vec::new(),
        })
    }

    #[test]
    fn no_key_is_silent_open_source() {
        let l = resolve(None, &TrustedKey::placeholder(), 0);
        assert_eq!(l, License::open_source());
        assert_eq!(l.warning(), None);
    }

    #[test]
    fn active_expired_boundary_and_future_iat() {
        let (tk, key) = setup(2000);
        let l = resolve(env_key(&key), &tk, 1999);
        assert_eq!(
            (l.state, l.edition),
            (State::Active, Edition::EnterprisePlus)
        );
        assert!(l.grants(Feature::MultiRegion));
        assert_eq!(l.warning(), None);
        // iat in the future is accepted.
        assert_eq!(resolve(env_key(&key), &tk, 0).state, State::Active);
        let l = resolve(env_key(&key), &tk, 2000);
        assert_eq!((l.state, l.edition), (State::Expired, Edition::OpenSource));
        assert_eq!(
            l.reason.as_deref(),
            Some("License expired on 1970-01-01T00:33:20Z")
        );
        assert!(l.claims.is_some());
        assert_eq!(
            l.warning().as_deref(),
            Some(
                "warning: license from PRISM_LICENSE_KEY not used: License expired on \
                 1970-01-01T00:33:20Z — running as Prism Open Source"
            )
        );
        let (tk, key) = setup(0);
        assert_eq!(resolve(env_key(&key), &tk, i64::MAX).state, State::Active);
    }

    #[test]
    fn invalid_keys_and_unreadable_sources() {
        let (tk, key) = setup(0);
        let l = resolve(env_key(&key), &TrustedKey::placeholder(), 0);
        assert_eq!((l.state, l.edition), (State::Invalid, Edition::OpenSource));
        assert_eq!(
            l.reason.as_deref(),
            Some("License public key not configured")
        );
        let l = resolve(env_key(&key.replace('.', "")), &tk, 0);
        assert_eq!(
            l.warning().as_deref(),
            Some(
                "warning: license from PRISM_LICENSE_KEY not used: Invalid license key format: \
                 expected payload.signature — running as Prism Open Source"
            )
        );
        let found = FoundKey {
            source: KeySource::EnvFile("/nope".into()),
            key: Err("license file not found: /nope".into()),
            notes: Vec::new(),
        };
        let l = resolve(Some(found), &tk, 0);
        assert_eq!(l.state, State::Invalid);
        assert_eq!(
            l.not_used_reason().as_deref(),
            Some("license from /nope not used: license file not found: /nope")
        );
    }

    #[test]
    fn warn_once_writes_at_most_one_line() {
        let (tk, _) = setup(0);
        let l = resolve(env_key("x.y"), &tk, 0);
        let mut err = Vec::new();
        l.warn_once(&mut err);
        l.warn_once(&mut err);
        let text = String::from_utf8(err).expect("utf8");
        assert!(text.lines().count() <= 1, "{text}");
    }
}
