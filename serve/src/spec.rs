//! A schedule directive in typed form: what fires (a cron expression in a time zone, or a
//! fixed interval), within which window, how often at most, and the `missed`/`overlap`
//! policies. Built from the normalised directive config the compiler validated; the same
//! cron parser and zone database are used ([`prism_compiler::pattern::directives`]).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use prism_compiler::pattern::directives::{interval_ms, parse_cron, parse_rfc3339, parse_timezone};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// What makes a schedule fire.
#[derive(Debug, Clone)]
pub enum Every {
    /// A cron expression evaluated in a time zone (DST gaps and overlaps as croner resolves
    /// them: a fixed-time job that falls in a gap runs at the first instant after it, and
    /// once, at the earlier instant, in an overlap; interval-like expressions run on both).
    Cron {
        /// The expression as written.
        expr: String,
        /// The parsed expression.
        cron: Box<croner::Cron>,
        /// The zone its fields are read in.
        tz: Tz,
    },
    /// A fixed interval (≥ 1 s), on a grid anchored at `start` (or where serving began).
    Interval(Duration),
}

/// What to do with runs that were due while nothing served the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Missed {
    /// Drop them; go on at the next future time (default).
    #[default]
    Skip,
    /// Run once now for all of them (as the latest one).
    Once,
    /// Run each of them now, one after another, oldest first.
    All,
}

/// What to do when a run is due while the previous one is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    /// Do not start it (default).
    #[default]
    Skip,
    /// Start it when the running one ends.
    Queue,
    /// Start it anyway, concurrently.
    Allow,
}

impl Missed {
    /// The word used in patterns and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Missed::Skip => "skip",
            Missed::Once => "once",
            Missed::All => "all",
        }
    }
}

impl Overlap {
    /// The word used in patterns and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Queue => "queue",
            Overlap::Allow => "allow",
        }
    }
}

/// A typed `schedule` directive.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    /// Cron or interval.
    pub every: Every,
    /// No run before this time.
    pub start: Option<DateTime<Utc>>,
    /// No run after this time.
    pub end: Option<DateTime<Utc>>,
    /// At most this many runs in all (counted across restarts).
    pub max_runs: Option<u64>,
    /// The `missed` policy.
    pub missed: Missed,
    /// The `overlap` policy.
    pub overlap: Overlap,
    /// The input each run gets (before validation and defaults).
    pub input: Json,
    /// A short hash of the directive, part of the state key: editing the schedule starts
    /// its state afresh.
    pub fingerprint: String,
}

/// A schedule directive that cannot be served (the compiler normally rejects these first).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Neither `cron` nor `interval`, or both.
    #[error("Either cron or interval is required")]
    NoTrigger,
    /// Both `cron` and `interval`.
    #[error("cron and interval are mutually exclusive")]
    BothTriggers,
    /// The cron expression does not parse.
    #[error("Invalid cron expression: {expr} ({why})")]
    Cron {
        /// The expression.
        expr: String,
        /// Why.
        why: String,
    },
    /// The interval is not a duration of at least 1 s.
    #[error("interval must be at least 1s")]
    Interval,
    /// The time zone is not in the tz database.
    #[error("unknown timezone {0}")]
    Timezone(String),
    /// `start`/`end` is not RFC 3339.
    #[error("`{key}` must be an RFC 3339 time, found {value}")]
    Time {
        /// `start` or `end`.
        key: &'static str,
        /// What was found.
        value: String,
    },
    /// A policy or count with a value outside its set.
    #[error("`{key}` must be {allowed}, found {value}")]
    Value {
        /// The key.
        key: &'static str,
        /// What is allowed.
        allowed: &'static str,
        /// What was found.
        value: String,
    },
}

impl ScheduleSpec {
    /// Reads a schedule directive: a cron string, or the normalised mapping
    /// `{cron | interval, timezone, start, end, maxRuns, missed, overlap, input}`.
    pub fn from_config(config: &Json) -> Result<ScheduleSpec, SpecError> {
        let fingerprint = {
            let digest = Sha256::digest(config.to_string().as_bytes());
            digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
        };
        let empty = serde_json::Map::new();
        let (map, cron) = match config {
            Json::String(expr) => (&empty, Some(Json::String(expr.clone()))),
            Json::Object(map) => (map, map.get("cron").cloned()),
            _ => return Err(SpecError::NoTrigger),
        };
        let tz = match map.get("timezone") {
            None | Some(Json::Null) => Tz::UTC,
            Some(v) => v
                .as_str()
                .and_then(parse_timezone)
                .ok_or_else(|| SpecError::Timezone(v.to_string()))?,
        };
        let every = trigger(cron, map.get("interval"), tz)?;
        let time = |key: &'static str| -> Result<Option<DateTime<Utc>>, SpecError> {
            match map.get(key) {
                None | Some(Json::Null) => Ok(None),
                Some(v) => v
                    .as_str()
                    .and_then(parse_rfc3339)
                    .map(Some)
                    .ok_or(SpecError::Time {
                        key,
                        value: v.to_string(),
                    }),
            }
        };
        let max_runs = match map.get("maxRuns") {
            None | Some(Json::Null) => None,
            Some(v) => Some(v.as_u64().filter(|n| *n >= 1).ok_or(SpecError::Value {
                key: "maxRuns",
                allowed: "a whole number ≥ 1",
                value: v.to_string(),
            })?),
        };
        let word =
            |key: &'static str, allowed: &'static str| -> Result<Option<String>, SpecError> {
                match map.get(key) {
                    None | Some(Json::Null) => Ok(None),
                    Some(Json::String(s)) if allowed.split(" | ").any(|a| a == s) => {
                        Ok(Some(s.clone()))
                    }
                    Some(v) => Err(SpecError::Value {
                        key,
                        allowed,
                        value: v.to_string(),
                    }),
                }
            };
        let missed = match word("missed", "skip | once | all")?.as_deref() {
            Some("once") => Missed::Once,
            Some("all") => Missed::All,
            _ => Missed::Skip,
        };
        let overlap = match word("overlap", "skip | queue | allow")?.as_deref() {
            Some("queue") => Overlap::Queue,
            Some("allow") => Overlap::Allow,
            _ => Overlap::Skip,
        };
        Ok(ScheduleSpec {
            every,
            start: time("start")?,
            end: time("end")?,
            max_runs,
            missed,
            overlap,
            input: map
                .get("input")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({})),
            fingerprint,
        })
    }

    /// A short description for logs: `cron "0 2 * * *" (Europe/Berlin)` or `every 15m`.
    pub fn describe(&self) -> String {
        match &self.every {
            Every::Cron { expr, tz, .. } => format!("cron \"{expr}\" ({tz})"),
            Every::Interval(d) => format!("every {}", human_duration(*d)),
        }
    }
}

/// When a schedule fires: its `cron` expression (in `tz`) or its `interval` (at least one
/// second), exactly one of the two.
fn trigger(cron: Option<Json>, interval: Option<&Json>, tz: Tz) -> Result<Every, SpecError> {
    Ok(match (cron, interval) {
        (None, None) => return Err(SpecError::NoTrigger),
        (Some(_), Some(_)) => return Err(SpecError::BothTriggers),
        (Some(expr), None) => {
            let expr = expr.as_str().map(str::to_string).ok_or(SpecError::Cron {
                expr: expr.to_string(),
                why: "not a string".into(),
            })?;
            let cron = parse_cron(&expr).map_err(|why| SpecError::Cron {
                expr: expr.clone(),
                why,
            })?;
            Every::Cron {
                expr,
                cron: Box::new(cron),
                tz,
            }
        }
        (None, Some(interval)) => match interval_ms(interval) {
            Some(ms) if ms >= 1000 => Every::Interval(
                Duration::try_milliseconds(i64::try_from(ms).map_err(|_| SpecError::Interval)?)
                    .ok_or(SpecError::Interval)?,
            ),
            _ => return Err(SpecError::Interval),
        },
    })
}

/// `1s`, `90s`, `15m`, `2h`, `1d`, or milliseconds when not whole seconds.
pub fn human_duration(d: Duration) -> String {
    let ms = d.num_milliseconds();
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 && s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_cron_strings_and_mappings() {
        let s = ScheduleSpec::from_config(&json!("0 2 * * *")).expect("valid");
        assert!(matches!(s.every, Every::Cron { tz: Tz::UTC, .. }));
        assert_eq!(s.missed, Missed::Skip);
        assert_eq!(s.overlap, Overlap::Skip);
        assert_eq!(s.describe(), "cron \"0 2 * * *\" (UTC)");

        let s = ScheduleSpec::from_config(&json!({
            "interval": "15m", "timezone": "Europe/Berlin", "maxRuns": 3,
            "missed": "all", "overlap": "queue", "input": {"x": 1},
            "start": "2024-01-01T00:00:00+01:00", "end": "2024-02-01T00:00:00Z"
        }))
        .expect("valid");
        assert!(matches!(s.every, Every::Interval(d) if d == Duration::minutes(15)));
        assert_eq!(s.max_runs, Some(3));
        assert_eq!(s.missed, Missed::All);
        assert_eq!(s.overlap, Overlap::Queue);
        assert_eq!(s.input, json!({"x": 1}));
        assert_eq!(
            s.start.map(|t| t.to_rfc3339()).as_deref(),
            Some("2023-12-31T23:00:00+00:00")
        );
        assert_eq!(s.describe(), "every 15m");
    }

    #[test]
    fn refuses_what_the_compiler_refuses() {
        let err = |v: Json| {
            ScheduleSpec::from_config(&v)
                .expect_err("invalid")
                .to_string()
        };
        assert_eq!(err(json!({})), "Either cron or interval is required");
        assert_eq!(
            err(json!({"cron": "@daily", "interval": "1h"})),
            "cron and interval are mutually exclusive"
        );
        assert_eq!(
            err(json!({"interval": "999"})),
            "interval must be at least 1s"
        );
        assert_eq!(
            err(json!({"cron": "61 * * * *"})),
            "Invalid cron expression: 61 * * * * (minute `61`: number out of bounds)"
        );
        assert_eq!(
            err(json!({"interval": "1s", "timezone": "Moon/Tranquility"})),
            "unknown timezone \"Moon/Tranquility\""
        );
        assert_eq!(
            err(json!({"interval": "1s", "overlap": "sometimes"})),
            "`overlap` must be skip | queue | allow, found \"sometimes\""
        );
    }

    #[test]
    fn editing_a_schedule_changes_its_fingerprint() {
        let a = ScheduleSpec::from_config(&json!({"interval": "1s"})).expect("valid");
        let b = ScheduleSpec::from_config(&json!({"interval": "2s"})).expect("valid");
        let a2 = ScheduleSpec::from_config(&json!({"interval": "1s"})).expect("valid");
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_eq!(a.fingerprint, a2.fingerprint);
        assert_eq!(a.fingerprint.len(), 8);
    }

    #[test]
    fn durations_read_back() {
        assert_eq!(human_duration(Duration::seconds(1)), "1s");
        assert_eq!(human_duration(Duration::seconds(90)), "90s");
        assert_eq!(human_duration(Duration::hours(2)), "2h");
        assert_eq!(human_duration(Duration::milliseconds(1500)), "1500ms");
    }
}
