//! When a schedule fires: pure functions of a [`ScheduleSpec`], the stored
//! [`ScheduleState`] and the current time (passed in, so tests fix it).
//!
//! - [`first_run`]: a schedule taken on for the first time fires at its next time after now
//!   (cron: the next match at or after `start`; interval: `start` and every interval after
//!   it, or one interval after now without `start`). Times before that are not "missed":
//!   nothing was scheduled yet.
//! - [`resume`]: on (re)start, the due times from the stored next run up to now were
//!   missed; the `missed` policy picks which of them run now.
//! - [`next_after`]: after a fire, the next time on the schedule's grid that is still in
//!   the future (a late wake-up fires once, then the grid goes on).
//!
//! Every function honours `end` (no run after it) and `maxRuns` (counted in
//! [`ScheduleState::runs`]); `None` means the schedule has ended.

use chrono::{DateTime, Duration, Utc};
use prism_store::ScheduleState;

use crate::spec::{Every, Missed, ScheduleSpec};

/// At most this many missed times are examined (and, with `missed: all`, run) when catching
/// up, so a 1 s interval after a long downtime cannot flood the server.
pub const MAX_CATCH_UP: usize = 10_000;

/// What to do on (re)start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// Missed times to run now, oldest first (their `scheduledFor`).
    pub run: Vec<DateTime<Utc>>,
    /// How many due times were missed.
    pub missed: usize,
    /// More than [`MAX_CATCH_UP`] were missed (`missed` counts only that many).
    pub capped: bool,
    /// The next time after now, if the schedule goes on.
    pub next: Option<DateTime<Utc>>,
}

/// Milliseconds since the epoch → UTC time.
pub fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// The next time strictly after `t` on the schedule's own grid (cron: the next match in its
/// zone; interval: `t` + interval). Ignores `start`, `end` and `maxRuns`.
fn raw_after(spec: &ScheduleSpec, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match &spec.every {
        Every::Cron { cron, tz, .. } => cron
            .find_next_occurrence(&t.with_timezone(tz), false)
            .ok()
            .map(|z| z.with_timezone(&Utc)),
        Every::Interval(d) => t.checked_add_signed(*d),
    }
}

/// The first grid time after `from` that is also after `now`.
fn grid_after(
    spec: &ScheduleSpec,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match &spec.every {
        Every::Cron { .. } => raw_after(spec, from.max(now)),
        Every::Interval(d) => {
            let step = d.num_milliseconds().max(1);
            let behind = (now - from).num_milliseconds();
            let k = if behind < 0 { 1 } else { behind / step + 1 };
            from.checked_add_signed(Duration::milliseconds(step.checked_mul(k)?))
        }
    }
}

/// `t` if the schedule may still fire then with `runs` runs behind it.
fn admit(spec: &ScheduleSpec, t: Option<DateTime<Utc>>, runs: u64) -> Option<DateTime<Utc>> {
    let t = t?;
    if spec.end.is_some_and(|end| t > end) || spec.max_runs.is_some_and(|max| runs >= max) {
        return None;
    }
    Some(t)
}

/// When a schedule taken on at `now` (no stored state) first fires.
pub fn first_run(spec: &ScheduleSpec, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let t = match (&spec.every, spec.start) {
        (Every::Cron { cron, tz, .. }, Some(start)) if start > now => cron
            .find_next_occurrence(&start.with_timezone(tz), true)
            .ok()
            .map(|z| z.with_timezone(&Utc)),
        (Every::Cron { .. }, _) => raw_after(spec, now),
        (Every::Interval(_), Some(start)) if start > now => Some(start),
        (Every::Interval(_), Some(start)) => grid_after(spec, start, now),
        (Every::Interval(d), None) => now.checked_add_signed(*d),
    };
    admit(spec, t, 0)
}

/// On (re)start with stored `state`: the missed times and which of them run now, and the
/// next future time.
pub fn resume(spec: &ScheduleSpec, state: &ScheduleState, now: DateTime<Utc>) -> Resume {
    let ended = Resume {
        run: Vec::new(),
        missed: 0,
        capped: false,
        next: None,
    };
    let Some(next) = admit(spec, state.next_run_ms.and_then(from_ms), state.runs) else {
        return ended;
    };
    if next > now {
        return Resume {
            next: Some(next),
            ..ended
        };
    }
    let mut due = Vec::new();
    let mut t = Some(next);
    while let Some(at) = t.filter(|at| *at <= now && spec.end.is_none_or(|end| *at <= end)) {
        if due.len() == MAX_CATCH_UP {
            break;
        }
        due.push(at);
        t = raw_after(spec, at);
    }
    let capped = due.len() == MAX_CATCH_UP && t.is_some_and(|at| at <= now);
    let remaining = spec.max_runs.map_or(usize::MAX, |max| {
        usize::try_from(max.saturating_sub(state.runs)).unwrap_or(usize::MAX)
    });
    let run: Vec<_> = match spec.missed {
        Missed::Skip => Vec::new(),
        Missed::Once => due.last().copied().into_iter().collect(),
        Missed::All => due.iter().copied().take(remaining).collect(),
    };
    let runs = state.runs + run.len() as u64;
    let last = due.last().copied().unwrap_or(next);
    Resume {
        missed: due.len(),
        capped,
        next: admit(spec, grid_after(spec, last, now), runs),
        run,
    }
}

/// After firing at `fired` (with `runs` runs now counted): the next time on the grid that
/// is after `now`.
pub fn next_after(
    spec: &ScheduleSpec,
    fired: DateTime<Utc>,
    now: DateTime<Utc>,
    runs: u64,
) -> Option<DateTime<Utc>> {
    admit(spec, grid_after(spec, fired, now), runs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("test time")
    }

    fn spec(config: serde_json::Value) -> ScheduleSpec {
        ScheduleSpec::from_config(&config).expect("valid schedule")
    }

    /// The first `n` fire times from `now` on, as a fresh schedule would fire them on time.
    fn fires(spec: &ScheduleSpec, now: &str, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut t = first_run(spec, at(now));
        while let Some(fire) = t {
            if out.len() == n {
                break;
            }
            out.push(fire.to_rfc3339());
            t = next_after(spec, fire, fire, out.len() as u64);
        }
        out
    }

    fn state(next: &str, runs: u64) -> ScheduleState {
        ScheduleState {
            next_run_ms: Some(at(next).timestamp_millis()),
            runs,
            ..ScheduleState::default()
        }
    }

    #[test]
    fn five_field_cron_in_utc() {
        let s = spec(json!("0 2 * * *"));
        assert_eq!(
            fires(&s, "2024-05-01T03:00:00Z", 2),
            ["2024-05-02T02:00:00+00:00", "2024-05-03T02:00:00+00:00"]
        );
        // Exactly on a match: the next one (the current instant is not re-fired).
        assert_eq!(
            fires(&s, "2024-05-01T02:00:00Z", 1),
            ["2024-05-02T02:00:00+00:00"]
        );
    }

    #[test]
    fn six_field_cron_has_seconds() {
        let s = spec(json!({"cron": "*/20 * * * * *"}));
        assert_eq!(
            fires(&s, "2024-05-01T10:00:05Z", 3),
            [
                "2024-05-01T10:00:20+00:00",
                "2024-05-01T10:00:40+00:00",
                "2024-05-01T10:01:00+00:00"
            ]
        );
    }

    #[test]
    fn names_and_macros() {
        let s = spec(json!({"cron": "0 9 * * MON-FRI"}));
        // 2024-05-03 is a Friday: Friday 09:00, then Monday.
        assert_eq!(
            fires(&s, "2024-05-03T08:00:00Z", 2),
            ["2024-05-03T09:00:00+00:00", "2024-05-06T09:00:00+00:00"]
        );
        let s = spec(json!({"cron": "@monthly"}));
        assert_eq!(
            fires(&s, "2024-01-15T00:00:00Z", 2),
            ["2024-02-01T00:00:00+00:00", "2024-03-01T00:00:00+00:00"]
        );
    }

    #[test]
    fn cron_reads_wall_clock_time_in_its_zone() {
        let s = spec(json!({"cron": "0 9 * * *", "timezone": "Europe/Berlin"}));
        // 09:00 CET is 08:00Z in winter, 09:00 CEST is 07:00Z in summer.
        assert_eq!(
            fires(&s, "2024-01-10T00:00:00Z", 1),
            ["2024-01-10T08:00:00+00:00"]
        );
        assert_eq!(
            fires(&s, "2024-07-10T00:00:00Z", 1),
            ["2024-07-10T07:00:00+00:00"]
        );
    }

    #[test]
    fn dst_spring_forward_gap_runs_after_the_gap() {
        // Europe/Berlin, 2024-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
        let s = spec(json!({"cron": "30 2 * * *", "timezone": "Europe/Berlin"}));
        assert_eq!(
            fires(&s, "2024-03-30T12:00:00Z", 3),
            [
                // The first real instant after the gap: 03:00 CEST.
                "2024-03-31T01:00:00+00:00",
                // Then 02:30 CEST again.
                "2024-04-01T00:30:00+00:00",
                "2024-04-02T00:30:00+00:00"
            ]
        );
    }

    #[test]
    fn dst_fall_back_overlap_runs_a_fixed_time_once() {
        // Europe/Berlin, 2024-10-27: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let s = spec(json!({"cron": "30 2 * * *", "timezone": "Europe/Berlin"}));
        assert_eq!(
            fires(&s, "2024-10-26T12:00:00Z", 2),
            [
                // Once, at the earlier instant (02:30 CEST) …
                "2024-10-27T00:30:00+00:00",
                // … and not again at 02:30 CET (01:30Z); next day 02:30 CET.
                "2024-10-28T01:30:00+00:00"
            ]
        );
        // An interval-like expression runs in both halves of the repeated hour.
        let s = spec(json!({"cron": "*/30 * * * *", "timezone": "Europe/Berlin"}));
        assert_eq!(
            fires(&s, "2024-10-27T00:10:00Z", 4),
            [
                "2024-10-27T00:30:00+00:00",
                "2024-10-27T01:00:00+00:00",
                "2024-10-27T01:30:00+00:00",
                "2024-10-27T02:00:00+00:00"
            ]
        );
    }

    #[test]
    fn dst_in_new_york() {
        // 2024-03-10: 02:00 EST → 03:00 EDT. A daily 01:30 job keeps its wall-clock time.
        let s = spec(json!({"cron": "30 1 * * *", "timezone": "America/New_York"}));
        assert_eq!(
            fires(&s, "2024-03-09T12:00:00Z", 2),
            ["2024-03-10T06:30:00+00:00", "2024-03-11T05:30:00+00:00"]
        );
    }

    #[test]
    fn interval_grid() {
        let s = spec(json!({"interval": "15m"}));
        assert_eq!(
            fires(&s, "2024-05-01T10:00:00Z", 2),
            ["2024-05-01T10:15:00+00:00", "2024-05-01T10:30:00+00:00"]
        );
        // A future start is the first run; a past one anchors the grid.
        let s = spec(json!({"interval": "1h", "start": "2024-05-01T12:00:00Z"}));
        assert_eq!(
            fires(&s, "2024-05-01T10:07:00Z", 1),
            ["2024-05-01T12:00:00+00:00"]
        );
        assert_eq!(
            fires(&s, "2024-05-01T14:07:00Z", 1),
            ["2024-05-01T15:00:00+00:00"]
        );
        // Milliseconds are accepted.
        let s = spec(json!({"interval": 1500}));
        assert_eq!(
            fires(&s, "2024-05-01T10:00:00Z", 1),
            ["2024-05-01T10:00:01.500+00:00"]
        );
    }

    #[test]
    fn cron_start_is_inclusive() {
        let s = spec(json!({"cron": "0 * * * *", "start": "2024-05-01T12:00:00Z"}));
        assert_eq!(
            fires(&s, "2024-05-01T09:30:00Z", 1),
            ["2024-05-01T12:00:00+00:00"]
        );
    }

    #[test]
    fn max_runs_ends_the_schedule() {
        let s = spec(json!({"interval": "1s", "maxRuns": 3}));
        assert_eq!(fires(&s, "2024-05-01T10:00:00Z", 10).len(), 3);
        assert_eq!(
            resume(
                &s,
                &state("2024-05-01T10:00:05Z", 3),
                at("2024-05-01T10:00:00Z")
            )
            .next,
            None
        );
    }

    #[test]
    fn end_ends_the_schedule() {
        let s = spec(json!({"interval": "1m", "end": "2024-05-01T10:03:00Z"}));
        assert_eq!(
            fires(&s, "2024-05-01T10:00:00Z", 10),
            [
                "2024-05-01T10:01:00+00:00",
                "2024-05-01T10:02:00+00:00",
                "2024-05-01T10:03:00+00:00"
            ]
        );
        assert_eq!(first_run(&s, at("2024-05-01T10:03:30Z")), None);
    }

    #[test]
    fn on_time_resume_is_not_missed() {
        let s = spec(json!({"interval": "1m"}));
        let r = resume(
            &s,
            &state("2024-05-01T10:05:00Z", 4),
            at("2024-05-01T10:04:10Z"),
        );
        assert!(r.run.is_empty());
        assert_eq!(r.missed, 0);
        assert_eq!(r.next, Some(at("2024-05-01T10:05:00Z")));
    }

    #[test]
    fn missed_skip_once_all() {
        let base = json!({"interval": "1m"});
        let down = state("2024-05-01T10:00:00Z", 2);
        let now = at("2024-05-01T10:03:30Z"); // 10:00, :01, :02, :03 were missed
        let with = |missed: &str| {
            let mut c = base.clone();
            c["missed"] = json!(missed);
            resume(&spec(c), &down, now)
        };
        let skip = with("skip");
        assert_eq!((skip.run.len(), skip.missed), (0, 4));
        assert_eq!(skip.next, Some(at("2024-05-01T10:04:00Z")));
        let once = with("once");
        assert_eq!(once.run, [at("2024-05-01T10:03:00Z")]);
        assert_eq!(once.next, Some(at("2024-05-01T10:04:00Z")));
        let all = with("all");
        assert_eq!(
            all.run,
            [
                at("2024-05-01T10:00:00Z"),
                at("2024-05-01T10:01:00Z"),
                at("2024-05-01T10:02:00Z"),
                at("2024-05-01T10:03:00Z")
            ]
        );
        assert_eq!(all.next, Some(at("2024-05-01T10:04:00Z")));
        assert!(!all.capped);
    }

    #[test]
    fn missed_all_respects_max_runs_and_end() {
        let s = spec(json!({"interval": "1m", "missed": "all", "maxRuns": 4}));
        let r = resume(
            &s,
            &state("2024-05-01T10:00:00Z", 2),
            at("2024-05-01T10:03:30Z"),
        );
        assert_eq!(
            r.run,
            [at("2024-05-01T10:00:00Z"), at("2024-05-01T10:01:00Z")]
        );
        assert_eq!(r.next, None, "maxRuns reached by the catch-up");

        let s = spec(json!({"interval": "1m", "missed": "all", "end": "2024-05-01T10:01:30Z"}));
        let r = resume(
            &s,
            &state("2024-05-01T10:00:00Z", 0),
            at("2024-05-01T10:03:30Z"),
        );
        assert_eq!(
            r.run,
            [at("2024-05-01T10:00:00Z"), at("2024-05-01T10:01:00Z")]
        );
        assert_eq!(r.next, None, "past the end");
    }

    #[test]
    fn missed_cron_runs_in_its_zone() {
        let s = spec(json!({"cron": "0 2 * * *", "timezone": "Europe/Berlin", "missed": "all"}));
        let r = resume(
            &s,
            &state("2024-03-30T01:00:00Z", 0),
            at("2024-04-01T12:00:00Z"),
        );
        assert_eq!(
            r.run,
            [
                at("2024-03-30T01:00:00Z"),
                // 02:00 does not exist on 2024-03-31 in Berlin: 03:00 CEST.
                at("2024-03-31T01:00:00Z"),
                at("2024-04-01T00:00:00Z")
            ]
        );
        assert_eq!(r.next, Some(at("2024-04-02T00:00:00Z")));
    }

    #[test]
    fn a_long_downtime_is_capped() {
        let s = spec(json!({"interval": "1s", "missed": "all"}));
        let r = resume(
            &s,
            &state("2024-05-01T00:00:00Z", 0),
            at("2024-05-02T00:00:00.5Z"),
        );
        assert!(r.capped);
        assert_eq!(r.missed, MAX_CATCH_UP);
        assert_eq!(r.run.len(), MAX_CATCH_UP);
        assert_eq!(r.next, Some(at("2024-05-02T00:00:01Z")));
    }

    #[test]
    fn a_late_wake_up_fires_once() {
        let s = spec(json!({"interval": "10s"}));
        let fired = at("2024-05-01T10:00:00Z");
        assert_eq!(
            next_after(&s, fired, at("2024-05-01T10:00:35Z"), 1),
            Some(at("2024-05-01T10:00:40Z"))
        );
        let s = spec(json!({"cron": "* * * * *"}));
        assert_eq!(
            next_after(&s, fired, at("2024-05-01T10:02:30Z"), 1),
            Some(at("2024-05-01T10:03:00Z"))
        );
    }

    #[test]
    fn an_ended_state_stays_ended() {
        let s = spec(json!({"interval": "1s"}));
        let ended = ScheduleState {
            next_run_ms: None,
            runs: 7,
            ..ScheduleState::default()
        };
        assert_eq!(resume(&s, &ended, at("2024-05-01T10:00:00Z")).next, None);
    }
}
