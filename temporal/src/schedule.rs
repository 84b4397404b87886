//! `schedule` directives as Temporal schedules. What maps: a cron expression (5 fields or
//! the `@daily`-style names) with its IANA time zone, an interval (phased to `start`),
//! `start`/`end`, `maxRuns` (the schedule's remaining actions), `overlap` (skip → skip,
//! queue → buffer all, allow → allow all) and `missed` (skip → the shortest catch-up window,
//! all → a year). What does not: a cron with a seconds field and `missed: once` (Temporal
//! catches up every missed run inside its window, or none), refused with a diagnostic.

use std::time::Duration;

use prism_serve::spec::{Every, Missed, Overlap, ScheduleSpec};
use serde_json::Value as Json;

/// Temporal's shortest catch-up window: `missed: skip`.
pub const SKIP_CATCHUP: Duration = Duration::from_secs(10);

/// The catch-up window of `missed: all`.
pub const ALL_CATCHUP: Duration = Duration::from_secs(365 * 24 * 3600);

/// Temporal's overlap policies that schedules use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapPolicy {
    /// Do not start a run while one is going.
    Skip,
    /// Start each when the previous ends.
    BufferAll,
    /// Start it anyway.
    AllowAll,
}

/// What fires the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fire {
    /// A cron expression (read in [`MappedSchedule::timezone`]).
    Cron(String),
    /// Every `every`, offset by `phase` from the Unix epoch.
    Interval {
        /// The interval.
        every: Duration,
        /// The offset.
        phase: Duration,
    },
}

/// A `schedule` directive as a Temporal schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedSchedule {
    /// The schedule id: `prism-<pattern>`.
    pub id: String,
    /// What fires it.
    pub fire: Fire,
    /// IANA zone name.
    pub timezone: String,
    /// No run before (RFC 3339).
    pub start: Option<String>,
    /// No run after (RFC 3339).
    pub end: Option<String>,
    /// `maxRuns`.
    pub remaining_actions: Option<u64>,
    /// `overlap`.
    pub overlap: OverlapPolicy,
    /// `missed`.
    pub catchup_window: Duration,
    /// The input of each run.
    pub input: Json,
}

/// Why a schedule directive cannot become a Temporal schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleRefusal {
    /// The directive itself is invalid.
    #[error("invalid schedule: {0}")]
    Invalid(String),
    /// A cron expression with a seconds field.
    #[error(
        "cron `{0}` has a seconds field, which Temporal schedules do not take; use 5 fields or `interval`"
    )]
    Seconds(String),
    /// `missed: once`.
    #[error(
        "`missed: once` has no Temporal equivalent (a schedule catches up every missed run inside its window, or none); use `skip` or `all`"
    )]
    MissedOnce,
}

/// Maps the `schedule` directive `config` of the pattern `name`.
pub fn map_schedule(name: &str, config: &Json) -> Result<MappedSchedule, ScheduleRefusal> {
    let spec =
        ScheduleSpec::from_config(config).map_err(|e| ScheduleRefusal::Invalid(e.to_string()))?;
    let timezone = match config.get("timezone").and_then(Json::as_str) {
        Some(tz) => tz.to_string(),
        None => "UTC".to_string(),
    };
    let fire = match &spec.every {
        Every::Cron { expr, .. } => {
            let fields = expr.split_whitespace().count();
            if fields == 6 && !expr.trim_start().starts_with('@') {
                return Err(ScheduleRefusal::Seconds(expr.clone()));
            }
            Fire::Cron(expr.trim().to_string())
        }
        Every::Interval(d) => {
            let every = d
                .to_std()
                .map_err(|e| ScheduleRefusal::Invalid(e.to_string()))?;
            let phase = match spec.start {
                Some(start) => {
                    let ms = start
                        .timestamp_millis()
                        .rem_euclid(every.as_millis() as i64);
                    Duration::from_millis(ms as u64)
                }
                None => Duration::ZERO,
            };
            Fire::Interval { every, phase }
        }
    };
    let catchup_window = match spec.missed {
        Missed::Skip => SKIP_CATCHUP,
        Missed::All => ALL_CATCHUP,
        Missed::Once => return Err(ScheduleRefusal::MissedOnce),
    };
    Ok(MappedSchedule {
        id: format!("prism-{name}"),
        fire,
        timezone,
        start: spec.start.map(|t| t.to_rfc3339()),
        end: spec.end.map(|t| t.to_rfc3339()),
        remaining_actions: spec.max_runs,
        overlap: match spec.overlap {
            Overlap::Skip => OverlapPolicy::Skip,
            Overlap::Queue => OverlapPolicy::BufferAll,
            Overlap::Allow => OverlapPolicy::AllowAll,
        },
        catchup_window,
        input: spec.input,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cron_zone_window_and_policies_map() {
        let m = map_schedule(
            "nightly",
            &json!({"cron": "0 2 * * *", "timezone": "Europe/Berlin", "maxRuns": 3,
                    "overlap": "queue", "missed": "all", "input": {"q": 1},
                    "end": "2030-01-01T00:00:00Z"}),
        )
        .expect("maps");
        assert_eq!(m.id, "prism-nightly");
        assert_eq!(m.fire, Fire::Cron("0 2 * * *".into()));
        assert_eq!(m.timezone, "Europe/Berlin");
        assert_eq!(m.remaining_actions, Some(3));
        assert_eq!(m.overlap, OverlapPolicy::BufferAll);
        assert_eq!(m.catchup_window, ALL_CATCHUP);
        assert_eq!(m.input, json!({"q": 1}));
        assert_eq!(m.end.as_deref(), Some("2030-01-01T00:00:00+00:00"));
        let plain = map_schedule("p", &json!("@hourly")).expect("maps");
        assert_eq!(plain.fire, Fire::Cron("@hourly".into()));
        assert_eq!(plain.timezone, "UTC");
        assert_eq!(plain.overlap, OverlapPolicy::Skip);
        assert_eq!(plain.catchup_window, SKIP_CATCHUP);
    }

    #[test]
    fn intervals_are_phased_to_their_start() {
        let m = map_schedule(
            "i",
            &json!({"interval": "15m", "start": "2026-01-01T00:05:00Z", "overlap": "allow"}),
        )
        .expect("maps");
        assert_eq!(
            m.fire,
            Fire::Interval {
                every: Duration::from_secs(900),
                phase: Duration::from_secs(300),
            }
        );
        assert_eq!(m.overlap, OverlapPolicy::AllowAll);
    }

    #[test]
    fn what_temporal_cannot_express_is_refused() {
        assert_eq!(
            map_schedule("s", &json!("*/10 * * * * *")),
            Err(ScheduleRefusal::Seconds("*/10 * * * * *".into()))
        );
        assert_eq!(
            map_schedule("m", &json!({"cron": "0 * * * *", "missed": "once"})),
            Err(ScheduleRefusal::MissedOnce)
        );
        assert!(matches!(
            map_schedule("x", &json!({"interval": "15m", "cron": "0 * * * *"})),
            Err(ScheduleRefusal::Invalid(_))
        ));
        let why = map_schedule("m", &json!({"cron": "0 * * * *", "missed": "once"}))
            .expect_err("refused")
            .to_string();
        assert!(
            why.contains("`missed: once` has no Temporal equivalent"),
            "{why}"
        );
    }
}
