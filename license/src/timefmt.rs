//! RFC 3339 timestamps in UTC for expiry dates, without a date-time dependency.
//!
//! Only what the license module needs: formatting Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`, and
//! parsing the user-facing time arguments (`--at`, `--exp`): RFC 3339 date-times with `Z` or a
//! numeric offset (fractional seconds are truncated), bare dates `YYYY-MM-DD` (midnight UTC) and
//! Unix seconds.

/// Days since 1970-01-01 of a proleptic Gregorian civil date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats Unix seconds as an RFC 3339 UTC timestamp, e.g. `2036-11-20T00:31:54Z`.
pub fn format_rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Parses exactly `n` ASCII digits.
fn digits(s: &str, n: usize) -> Option<i64> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn parse_date(s: &str) -> Option<i64> {
    let (y, rest) = s.split_once('-')?;
    let (m, d) = rest.split_once('-')?;
    let (y, m, d) = (digits(y, 4)?, digits(m, 2)?, digits(d, 2)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Parses `HH:MM:SS[.frac]` into seconds of the day.
fn parse_clock(s: &str) -> Option<i64> {
    let (hms, frac) = match s.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (s, None),
    };
    if let Some(frac) = frac
        && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let mut it = hms.split(':');
    let h = digits(it.next()?, 2)?;
    let m = digits(it.next()?, 2)?;
    let sec = digits(it.next()?, 2)?;
    if it.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    // A leap second is folded into the next second.
    Some(h * 3600 + m * 60 + sec)
}

/// Parses an RFC 3339 date-time (`2036-11-20T00:31:54Z`, `…+02:00`, `t`/space separator allowed)
/// into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let sep = s.find(['T', 't', ' '])?;
    let days = parse_date(&s[..sep])?;
    let rest = &s[sep + 1..];
    let (clock, offset) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, off) = rest.split_at(at);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        let (oh, om) = (digits(oh, 2)?, digits(om, 2)?);
        if oh > 23 || om > 59 {
            return None;
        }
        (clock, sign * (oh * 3600 + om * 60))
    };
    Some(days * 86_400 + parse_clock(clock)? - offset)
}

/// Parses a user-given point in time: Unix seconds, an RFC 3339 date-time, or a date
/// `YYYY-MM-DD` (midnight UTC).
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    if let Some(days) = parse_date(s) {
        return days.checked_mul(86_400);
    }
    parse_rfc3339(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_795_393_914), "2026-11-23T00:31:54Z");
        assert_eq!(format_rfc3339(2_110_753_914), "2036-11-20T00:31:54Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
        // Signed claims may hold any integer: the extremes must not overflow.
        assert!(format_rfc3339(i64::MAX).ends_with('Z'));
        assert!(format_rfc3339(i64::MIN).ends_with('Z'));
    }

    #[test]
    fn parses_what_it_formats() {
        for t in [
            0,
            1,
            951_782_400,
            1_795_393_914,
            2_110_753_914,
            4_102_444_800,
            -86_401,
        ] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t), "{t}");
        }
    }

    #[test]
    fn parses_offsets_fractions_dates_and_seconds() {
        assert_eq!(
            parse_rfc3339("2026-11-23T02:31:54+02:00"),
            Some(1_795_393_914)
        );
        assert_eq!(
            parse_rfc3339("2026-11-22T23:31:54.999-01:00"),
            Some(1_795_393_914)
        );
        assert_eq!(parse_time("1795393914"), Some(1_795_393_914));
        assert_eq!(parse_time("2026-11-23"), Some(1_795_392_000));
        assert_eq!(parse_time(" 2026-11-23t00:31:54z "), Some(1_795_393_914));
    }

    #[test]
    fn rejects_nonsense() {
        for s in [
            "",
            "tomorrow",
            "2026-13-01",
            "2026-02-29",
            "2026-11-23T24:00:00Z",
            "2026-11-23T00:31Z",
            "2026-11-23T00:31:54",
            "2026-11-23T00:31:54.Z",
            "2026-11-23T00:31:54+2:00",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_time(s), None, "{s}");
        }
    }
}
