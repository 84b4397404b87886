//! The licensed plan directives of §3: `schedule`, `persistence` and `versioning`, from YAML
//! keys or `.prism` header tags. Each is validated here and kept with the span of its key or
//! tag, so license gating can put its diagnostic there.

use serde::Serialize;
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::pattern::codes;
use crate::span::Span;

/// Which directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectiveKind {
    /// `schedule` / `@schedule`.
    Schedule,
    /// `persistence` / `@persist`.
    Persistence,
    /// `versioning` / `@versioning`.
    Versioning,
}

impl DirectiveKind {
    /// The YAML key (`schedule`, `persistence`, `versioning`).
    pub fn key(self) -> &'static str {
        match self {
            DirectiveKind::Schedule => "schedule",
            DirectiveKind::Persistence => "persistence",
            DirectiveKind::Versioning => "versioning",
        }
    }
}

/// A validated directive in normalised form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Directive {
    /// Which directive.
    pub kind: DirectiveKind,
    /// Normalised settings (`{"cron": …}`, `{"store": …}`, `{"keepHistory": …}`, …).
    pub config: Value,
    /// The span of the key or tag.
    pub span: Span,
}

fn invalid(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(codes::DIRECTIVE_INVALID, message, span)
}

/// Validates a directive value (JSON from YAML or a header tag). `key_span` is where the key
/// or tag is, `value_span` where its value is.
pub fn check(
    kind: DirectiveKind,
    value: &Value,
    key_span: Span,
    value_span: Span,
    diags: &mut Vec<Diagnostic>,
) -> Option<Directive> {
    let before = diags.len();
    let config = match kind {
        DirectiveKind::Schedule => schedule(value, value_span, diags),
        DirectiveKind::Persistence => persistence(value, value_span, diags),
        DirectiveKind::Versioning => versioning(value, value_span, diags),
    };
    (!diags[before..].iter().any(Diagnostic::is_error)).then_some(Directive {
        kind,
        config,
        span: key_span,
    })
}

fn unknown_keys(
    map: &serde_json::Map<String, Value>,
    allowed: &[&str],
    what: &str,
    span: Span,
    diags: &mut Vec<Diagnostic>,
) {
    for k in map.keys() {
        if !allowed.contains(&k.as_str()) {
            let mut d = Diagnostic::error(
                codes::UNKNOWN_KEY,
                format!("unknown key `{k}` in `{what}`"),
                span,
            );
            d = match crate::pattern::check::suggest(k, allowed.iter().copied()) {
                Some(s) => d.with_help(format!("did you mean `{s}`?")),
                None => d.with_help(format!("allowed keys: {}", allowed.join(", "))),
            };
            diags.push(d);
        }
    }
}

fn schedule(value: &Value, span: Span, diags: &mut Vec<Diagnostic>) -> Value {
    let map = match value {
        Value::String(cron) => {
            if let Err(why) = check_cron(cron) {
                diags.push(invalid(
                    format!("Invalid cron expression: {cron} ({why})"),
                    span,
                ));
            }
            return serde_json::json!({ "cron": cron });
        }
        Value::Object(m) => m,
        _ => {
            diags.push(invalid("Either cron or interval is required", span));
            return Value::Null;
        }
    };
    unknown_keys(
        map,
        &[
            "cron", "interval", "timezone", "start", "end", "maxRuns", "missed", "overlap", "input",
        ],
        "schedule",
        span,
        diags,
    );
    match (map.get("cron"), map.get("interval")) {
        (None, None) => diags.push(invalid("Either cron or interval is required", span)),
        (Some(_), Some(_)) => diags.push(invalid("cron and interval are mutually exclusive", span)),
        (Some(Value::String(cron)), None) => {
            if let Err(why) = check_cron(cron) {
                diags.push(invalid(
                    format!("Invalid cron expression: {cron} ({why})"),
                    span,
                ));
            }
        }
        (Some(other), None) => diags.push(invalid(
            format!("Invalid cron expression: {other} (not a string)"),
            span,
        )),
        (None, Some(interval)) => match interval_ms(interval) {
            Some(ms) if ms >= 1000 => {}
            Some(_) => diags.push(invalid("interval must be at least 1s", span)),
            None => diags.push(invalid(
                format!("invalid interval {interval}: use 90s, 15m, 2h, 1d or milliseconds"),
                span,
            )),
        },
    }
    if let Some(tz) = map.get("timezone") {
        match tz.as_str() {
            Some(name) if is_timezone(name) => {}
            _ => diags.push(invalid(format!("unknown timezone {tz}"), span)),
        }
    }
    for key in ["start", "end"] {
        if let Some(t) = map.get(key)
            && !t.as_str().is_some_and(is_rfc3339)
        {
            diags.push(invalid(
                format!("`{key}` must be an RFC 3339 time, found {t}"),
                span,
            ));
        }
    }
    if let Some(n) = map.get("maxRuns")
        && n.as_u64().is_none_or(|n| n < 1)
    {
        diags.push(invalid(
            format!("`maxRuns` must be a whole number ≥ 1, found {n}"),
            span,
        ));
    }
    for (key, allowed) in [
        ("missed", ["skip", "once", "all"]),
        ("overlap", ["skip", "queue", "allow"]),
    ] {
        if let Some(v) = map.get(key)
            && !v.as_str().is_some_and(|s| allowed.contains(&s))
        {
            diags.push(invalid(
                format!("`{key}` must be one of {}, found {v}", allowed.join(", ")),
                span,
            ));
        }
    }
    if let Some(input) = map.get("input")
        && !input.is_object()
    {
        diags.push(invalid("`schedule.input` must be a mapping", span));
    }
    let mut out = map.clone();
    out.entry("timezone").or_insert_with(|| Value::from("UTC"));
    out.entry("missed").or_insert_with(|| Value::from("skip"));
    out.entry("overlap").or_insert_with(|| Value::from("skip"));
    Value::Object(out)
}

fn persistence(value: &Value, span: Span, diags: &mut Vec<Diagnostic>) -> Value {
    let map = match value {
        Value::Bool(b) => return serde_json::json!({ "enabled": b }),
        Value::Object(m) => m,
        other => {
            diags.push(invalid(
                format!("`persistence` must be true or {{store, retention}}, found {other}"),
                span,
            ));
            return Value::Null;
        }
    };
    unknown_keys(map, &["store", "retention"], "persistence", span, diags);
    if let Some(store) = map.get("store") {
        let ok = store.as_str().is_some_and(|s| {
            s.strip_prefix("sqlite:").is_some_and(|p| !p.is_empty())
                || s.starts_with("postgres://")
                || s.starts_with("postgresql://")
        });
        if !ok {
            diags.push(invalid(
                format!("`store` must be sqlite:PATH or postgres://…, found {store}"),
                span,
            ));
        }
    }
    if let Some(r) = map.get("retention") {
        let ok = match r {
            Value::Number(n) => n.as_u64().is_some_and(|n| n >= 1),
            Value::String(s) => duration_ms(s).is_some() || s.parse::<u64>().is_ok_and(|n| n >= 1),
            Value::Object(m) => {
                m.keys().all(|k| k == "maxAge" || k == "maxRecords")
                    && m.get("maxAge")
                        .is_none_or(|a| a.as_str().is_some_and(|s| duration_ms(s).is_some()))
                    && m.get("maxRecords")
                        .is_none_or(|n| n.as_u64().is_some_and(|n| n >= 1))
            }
            _ => false,
        };
        if !ok {
            diags.push(invalid(
                format!("`retention` must be a duration (30d), a count (1000) or {{maxAge, maxRecords}}, found {r}"),
                span,
            ));
        }
    }
    let mut out = map.clone();
    out.insert("enabled".into(), Value::Bool(true));
    Value::Object(out)
}

fn versioning(value: &Value, span: Span, diags: &mut Vec<Diagnostic>) -> Value {
    let map = match value {
        Value::Bool(b) => return serde_json::json!({ "enabled": b }),
        Value::Object(m) => m,
        other => {
            diags.push(invalid(
                format!("`versioning` must be true or {{keepHistory, rollback}}, found {other}"),
                span,
            ));
            return Value::Null;
        }
    };
    unknown_keys(map, &["keepHistory", "rollback"], "versioning", span, diags);
    if let Some(n) = map.get("keepHistory")
        && n.as_u64().is_none_or(|n| n < 1)
    {
        diags.push(invalid(
            format!("`keepHistory` must be a whole number ≥ 1, found {n}"),
            span,
        ));
    }
    if let Some(v) = map.get("rollback") {
        match v.as_str().map(semver::Version::parse) {
            Some(Ok(_)) => diags.push(Diagnostic::warning(
                codes::DIRECTIVE_INVALID,
                format!("`rollback: {v}` runs that stored version, not this source"),
                span,
            )),
            _ => diags.push(invalid(
                format!("`rollback` must be a semver version, found {v}"),
                span,
            )),
        }
    }
    let mut out = map.clone();
    out.insert("enabled".into(), Value::Bool(true));
    Value::Object(out)
}

/// Checks directives against the pattern they belong to: `versioning` needs a semver
/// `version`; a schedule's `input` must give every required input field without a default.
pub fn check_with_pattern(
    directives: &[Directive],
    version: &str,
    version_span: Span,
    input: &Value,
    diags: &mut Vec<Diagnostic>,
) {
    for d in directives {
        match d.kind {
            DirectiveKind::Versioning if semver::Version::parse(version).is_err() => diags.push(
                invalid(format!("with `versioning`, `version` must be semver (like 1.2.0), found `{version}`"), version_span)
                    .with_secondary(d.span, "versioning is enabled here"),
            ),
            DirectiveKind::Schedule => {
                let given = d.config.get("input").and_then(Value::as_object);
                for field in required_without_default(input) {
                    if !given.is_some_and(|g| g.contains_key(&field)) {
                        diags.push(invalid(
                            format!("the schedule gives no `input.{field}`, which the pattern requires"),
                            d.span,
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

fn required_without_default(schema: &Value) -> Vec<String> {
    let required = schema.get("required").and_then(Value::as_array);
    let props = schema.get("properties").and_then(Value::as_object);
    let (Some(required), Some(props)) = (required, props) else {
        return Vec::new();
    };
    required
        .iter()
        .filter_map(Value::as_str)
        .filter(|f| props.get(*f).is_none_or(|p| p.get("default").is_none()))
        .map(str::to_string)
        .collect()
}

/// Milliseconds of `90s 15m 2h 1d 500ms`, or of a bare number of ms.
pub fn interval_ms(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => duration_ms(s).or_else(|| s.parse().ok()),
        _ => None,
    }
}

fn duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Checks a cron expression: 5 fields (6 with leading seconds), lists, ranges, steps, month
/// and day names, or one of `@hourly @daily @weekly @monthly @yearly`.
pub fn check_cron(expr: &str) -> Result<(), String> {
    let expr = expr.trim();
    if let Some(m) = expr.strip_prefix('@') {
        return match m {
            "hourly" | "daily" | "weekly" | "monthly" | "yearly" | "annually" | "midnight" => {
                Ok(())
            }
            _ => Err(format!("unknown macro @{m}")),
        };
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    const MONTHS: &[&str] = &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let specs: Vec<(&str, u32, u32, &[&str], u32)> = vec![
        ("minute", 0, 59, &[], 0),
        ("hour", 0, 23, &[], 0),
        ("day of month", 1, 31, &[], 0),
        ("month", 1, 12, MONTHS, 1),
        ("day of week", 0, 7, DAYS, 0),
    ];
    let (fields, specs) = match fields.len() {
        5 => (fields, specs),
        6 => {
            let mut s = vec![("second", 0, 59, &[][..], 0)];
            s.extend(specs);
            (fields, s)
        }
        n => return Err(format!("expected 5 fields (or 6 with seconds), found {n}")),
    };
    for (field, (what, lo, hi, names, base)) in fields.iter().zip(specs) {
        for item in field.split(',') {
            check_cron_item(item, lo, hi, names, base)
                .map_err(|e| format!("{what} `{field}`: {e}"))?;
        }
    }
    Ok(())
}

fn check_cron_item(item: &str, lo: u32, hi: u32, names: &[&str], base: u32) -> Result<(), String> {
    let (range, step) = match item.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (item, None),
    };
    if let Some(s) = step {
        match s.parse::<u32>() {
            Ok(n) if n >= 1 && n <= hi => {}
            _ => return Err(format!("bad step `{s}`")),
        }
    }
    if range == "*" || range == "?" {
        return Ok(());
    }
    let value = |t: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(t)) {
            return Ok(i as u32 + base);
        }
        match t.parse::<u32>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(v),
            Ok(v) => Err(format!("{v} is outside {lo}-{hi}")),
            Err(_) => Err(format!("`{t}` is not a number")),
        }
    };
    match range.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("range {a}-{b} runs backwards"));
            }
        }
        None => {
            value(range)?;
        }
    }
    Ok(())
}

/// IANA zone names: `UTC`, `GMT`, `Etc/…` and `Area/Location` with a known area. (We keep no
/// copy of the tz database; the runtime rejects a zone it cannot load.)
pub fn is_timezone(name: &str) -> bool {
    const AREAS: &[&str] = &[
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
        "Etc",
        "US",
        "Canada",
        "Brazil",
        "Chile",
        "Mexico",
    ];
    if matches!(name, "UTC" | "GMT" | "Z" | "Zulu" | "Universal") {
        return true;
    }
    let Some((area, rest)) = name.split_once('/') else {
        return false;
    };
    AREAS.contains(&area)
        && !rest.is_empty()
        && rest.split('/').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
        })
}

/// `2024-01-31T12:00:00Z`, with optional fraction and `±HH:MM` offset.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let num =
        |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok()).unwrap_or(99);
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return false;
    }
    if !matches!(b[10], b'T' | b't' | b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    if !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len() && digits(i + 1..i + 3) && b[i + 3] == b':' && digits(i + 4..i + 6)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(kind: DirectiveKind, v: Value) -> Vec<String> {
        let mut diags = Vec::new();
        check(kind, &v, Span::default(), Span::default(), &mut diags);
        diags.into_iter().map(|d| d.message).collect()
    }

    #[test]
    fn cron_expressions() {
        assert!(check_cron("0 2 * * *").is_ok());
        assert!(check_cron("*/15 9-17 * JAN-MAR mon-fri").is_ok());
        assert!(check_cron("0 0 2 * * *").is_ok());
        assert!(check_cron("@daily").is_ok());
        assert!(check_cron("61 * * * *").is_err());
        assert!(check_cron("* * *").is_err());
        assert!(check_cron("5-1 * * * *").is_err());
    }

    #[test]
    fn schedule_messages_follow_the_spec() {
        assert_eq!(
            errors(DirectiveKind::Schedule, json!({})),
            vec!["Either cron or interval is required"]
        );
        assert_eq!(
            errors(
                DirectiveKind::Schedule,
                json!({"cron": "* * * * *", "interval": "1m"})
            ),
            vec!["cron and interval are mutually exclusive"]
        );
        assert_eq!(
            errors(DirectiveKind::Schedule, json!({"interval": "500ms"})),
            vec!["interval must be at least 1s"]
        );
        assert!(
            errors(DirectiveKind::Schedule, json!("0 2 * *"))[0]
                .starts_with("Invalid cron expression: 0 2 * * (")
        );
        assert!(
            errors(
                DirectiveKind::Schedule,
                json!({"interval": "15m", "timezone": "Europe/Berlin"})
            )
            .is_empty()
        );
        assert_eq!(
            errors(
                DirectiveKind::Schedule,
                json!({"interval": "15m", "timezone": "Mars/Base"})
            )
            .len(),
            1
        );
        assert!(
            errors(
                DirectiveKind::Schedule,
                json!({"cron": "@hourly", "start": "2024-01-01T00:00:00Z"})
            )
            .is_empty()
        );
    }

    #[test]
    fn persistence_and_versioning() {
        assert!(errors(DirectiveKind::Persistence, json!(true)).is_empty());
        assert!(
            errors(
                DirectiveKind::Persistence,
                json!({"retention": "30d", "store": "sqlite:x.db"})
            )
            .is_empty()
        );
        assert_eq!(
            errors(DirectiveKind::Persistence, json!({"store": "redis://x"})).len(),
            1
        );
        assert!(errors(DirectiveKind::Versioning, json!({"keepHistory": 20})).is_empty());
        assert_eq!(
            errors(DirectiveKind::Versioning, json!({"keepHistory": 0})).len(),
            1
        );
    }

    #[test]
    fn rfc3339() {
        assert!(is_rfc3339("2024-02-29T12:30:00.5+01:00"));
        assert!(!is_rfc3339("2024-13-01T00:00:00Z"));
        assert!(!is_rfc3339("yesterday"));
    }
}
