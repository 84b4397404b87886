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

/// The keys of `schedule`.
pub const SCHEDULE_KEYS: &[&str] = &[
    "cron", "interval", "timezone", "start", "end", "maxRuns", "missed", "overlap", "input",
];
/// What a schedule does about runs it missed (`missed`).
pub const SCHEDULE_MISSED: &[&str] = &["skip", "once", "all"];
/// What a schedule does when a run is due while one is running (`overlap`).
pub const SCHEDULE_OVERLAP: &[&str] = &["skip", "queue", "allow"];
/// The keys of `persistence`.
pub const PERSISTENCE_KEYS: &[&str] = &["store", "retention"];
/// The keys of `versioning`.
pub const VERSIONING_KEYS: &[&str] = &["keepHistory", "rollback"];

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
    check_spanned(kind, value, key_span, value_span, &|_| None, diags)
}

/// [`check`], with the span of each setting's value (`span_of("timezone")`) where the source
/// has one (YAML mappings), so a diagnostic points at the setting rather than the directive.
pub fn check_spanned(
    kind: DirectiveKind,
    value: &Value,
    key_span: Span,
    value_span: Span,
    span_of: &dyn Fn(&str) -> Option<Span>,
    diags: &mut Vec<Diagnostic>,
) -> Option<Directive> {
    let before = diags.len();
    let config = match kind {
        DirectiveKind::Schedule => schedule(value, value_span, span_of, diags),
        DirectiveKind::Persistence => persistence(value, value_span, diags),
        DirectiveKind::Versioning => versioning(value, value_span, diags),
    };
    // `persistence: false` / `@persist false` asks for nothing: no directive to license.
    if kind == DirectiveKind::Persistence && value == &Value::Bool(false) {
        return None;
    }
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

fn schedule(
    value: &Value,
    span: Span,
    span_of: &dyn Fn(&str) -> Option<Span>,
    diags: &mut Vec<Diagnostic>,
) -> Value {
    let at = |key: &str| span_of(key).unwrap_or(span);
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
    unknown_keys(map, SCHEDULE_KEYS, "schedule", span, diags);
    schedule_trigger(map, span, &at, diags);
    if let Some(tz) = map.get("timezone") {
        match tz.as_str() {
            Some(name) if is_timezone(name) => {}
            _ => diags.push(
                invalid(format!("unknown timezone {tz}"), at("timezone"))
                    .with_help("use an IANA time zone name such as `UTC` or `Europe/Berlin`"),
            ),
        }
    }
    schedule_window(map, &at, diags);
    if let Some(input) = map.get("input")
        && !input.is_object()
    {
        diags.push(invalid("`schedule.input` must be a mapping", at("input")));
    }
    let mut out = map.clone();
    out.entry("timezone").or_insert_with(|| Value::from("UTC"));
    out.entry("missed").or_insert_with(|| Value::from("skip"));
    out.entry("overlap").or_insert_with(|| Value::from("skip"));
    Value::Object(out)
}

/// A schedule's trigger: `cron` (a valid expression) or `interval` (at least a second), one
/// of the two.
fn schedule_trigger(
    map: &serde_json::Map<String, Value>,
    span: Span,
    at: &dyn Fn(&str) -> Span,
    diags: &mut Vec<Diagnostic>,
) {
    match (map.get("cron"), map.get("interval")) {
        (None, None) => diags.push(invalid("Either cron or interval is required", span)),
        (Some(_), Some(_)) => diags.push(invalid("cron and interval are mutually exclusive", span)),
        (Some(Value::String(cron)), None) => {
            if let Err(why) = check_cron(cron) {
                diags.push(invalid(
                    format!("Invalid cron expression: {cron} ({why})"),
                    at("cron"),
                ));
            }
        }
        (Some(other), None) => diags.push(invalid(
            format!("Invalid cron expression: {other} (not a string)"),
            at("cron"),
        )),
        (None, Some(interval)) => match interval_ms(interval) {
            Some(ms) if ms >= 1000 => {}
            Some(_) => diags.push(invalid("interval must be at least 1s", at("interval"))),
            None => diags.push(invalid(
                format!("invalid interval {interval}: use 90s, 15m, 2h, 1d or milliseconds"),
                at("interval"),
            )),
        },
    }
}

/// A schedule's window and policies: `start`/`end` (RFC 3339, `end` later), `maxRuns`,
/// `missed` and `overlap`.
fn schedule_window(
    map: &serde_json::Map<String, Value>,
    at: &dyn Fn(&str) -> Span,
    diags: &mut Vec<Diagnostic>,
) {
    let mut times = [None, None];
    for (slot, key) in times.iter_mut().zip(["start", "end"]) {
        if let Some(t) = map.get(key) {
            *slot = t.as_str().and_then(parse_rfc3339);
            if slot.is_none() {
                diags.push(invalid(
                    format!("`{key}` must be an RFC 3339 time, found {t}"),
                    at(key),
                ));
            }
        }
    }
    if let [Some(start), Some(end)] = times
        && end <= start
    {
        diags.push(invalid("`end` must be later than `start`", at("end")));
    }
    if let Some(n) = map.get("maxRuns")
        && n.as_u64().is_none_or(|n| n < 1)
    {
        diags.push(invalid(
            format!("`maxRuns` must be a whole number ≥ 1, found {n}"),
            at("maxRuns"),
        ));
    }
    for (key, allowed) in [("missed", SCHEDULE_MISSED), ("overlap", SCHEDULE_OVERLAP)] {
        if let Some(v) = map.get(key)
            && !v.as_str().is_some_and(|s| allowed.contains(&s))
        {
            diags.push(invalid(
                format!("`{key}` must be one of {}, found {v}", allowed.join(", ")),
                at(key),
            ));
        }
    }
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
    unknown_keys(map, PERSISTENCE_KEYS, "persistence", span, diags);
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
    unknown_keys(map, VERSIONING_KEYS, "versioning", span, diags);
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

/// Parses a cron expression the way `prism serve` evaluates it: 5 fields (6 with leading
/// seconds), lists, ranges, steps, month and day names, `@hourly @daily @weekly @monthly
/// @yearly` (and `@annually`, `@midnight`). Croner's extensions (`L`, `W`, `#`, `+`) are
/// accepted too. The error is the `<why>` of `Invalid cron expression: X (<why>)`.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    use croner::parser::{CronParser, Seconds, Year};
    let expr = expr.trim();
    let expr = if expr.eq_ignore_ascii_case("@midnight") {
        "@daily"
    } else {
        expr
    };
    if let Some(m) = expr.strip_prefix('@') {
        const MACROS: &[&str] = &["hourly", "daily", "weekly", "monthly", "yearly", "annually"];
        if !MACROS.iter().any(|k| k.eq_ignore_ascii_case(m)) {
            return Err(format!(
                "unknown macro @{m}; use @hourly, @daily, @weekly, @monthly or @yearly"
            ));
        }
    } else {
        let n = expr.split_whitespace().count();
        if n != 5 && n != 6 {
            return Err(format!("expected 5 fields (or 6 with seconds), found {n}"));
        }
    }
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build();
    let cron = parser.parse(expr).map_err(|e| {
        let why = cron_error_text(e);
        match bad_cron_field(&parser, expr) {
            Some((name, field)) => format!("{name} `{field}`: {why}"),
            None => why,
        }
    })?;
    // Impossible dates (`0 0 31 2 *`) parse but never fire.
    let reference = chrono::DateTime::<chrono::Utc>::from_timestamp(946_684_800, 0);
    if let Some(t) = reference
        && cron.find_next_occurrence(&t, false).is_err()
    {
        return Err("it matches no date".to_string());
    }
    Ok(cron)
}

fn cron_error_text(e: croner::errors::CronError) -> String {
    use croner::errors::CronError;
    let text = match e {
        CronError::EmptyPattern => "empty expression".to_string(),
        CronError::InvalidPattern(m)
        | CronError::IllegalCharacters(m)
        | CronError::ComponentError(m) => m,
        other => other.to_string(),
    };
    let text = text
        .trim_end_matches('.')
        .replace("CronPattern contains", "contains");
    let mut chars = text.chars();
    chars
        .next()
        .map_or(text.clone(), |c| c.to_lowercase().chain(chars).collect())
}

/// The first field that is invalid on its own (every other field `*`), with its name.
fn bad_cron_field<'e>(
    parser: &croner::parser::CronParser,
    expr: &'e str,
) -> Option<(&'static str, &'e str)> {
    const FIVE: [&str; 5] = ["minute", "hour", "day of month", "month", "day of week"];
    const SIX: [&str; 6] = [
        "second",
        "minute",
        "hour",
        "day of month",
        "month",
        "day of week",
    ];
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let names: &[&str] = match fields.len() {
        5 => &FIVE,
        6 => &SIX,
        _ => return None,
    };
    (0..fields.len()).find_map(|i| {
        let alone: Vec<&str> = (0..fields.len())
            .map(|j| if i == j { fields[i] } else { "*" })
            .collect();
        parser
            .parse(&alone.join(" "))
            .is_err()
            .then(|| (names[i], fields[i]))
    })
}

/// Checks a cron expression (see [`parse_cron`]).
pub fn check_cron(expr: &str) -> Result<(), String> {
    parse_cron(expr).map(|_| ())
}

/// The IANA time zone of that name (`Europe/Berlin`, `UTC`, `Etc/GMT+2`, …), from the tz
/// database compiled into `chrono-tz`.
pub fn parse_timezone(name: &str) -> Option<chrono_tz::Tz> {
    name.parse().ok()
}

/// IANA zone names known to the tz database (see [`parse_timezone`]).
pub fn is_timezone(name: &str) -> bool {
    parse_timezone(name).is_some()
}

/// An RFC 3339 time (`2024-01-31T12:00:00Z`, optional fraction, `±HH:MM` offset) as UTC.
pub fn parse_rfc3339(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// `2024-01-31T12:00:00Z`, with optional fraction and `±HH:MM` offset.
pub fn is_rfc3339(s: &str) -> bool {
    parse_rfc3339(s).is_some()
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
        for ok in [
            "0 2 * * *",
            "*/15 9-17 * JAN-MAR mon-fri",
            "0 0 2 * * *",
            "*/10 * * * * *",
            "0 9 * * 1,3,5",
            "0 0 1-7 * SUN",
            "@hourly",
            "@daily",
            "@weekly",
            "@monthly",
            "@yearly",
            "@midnight",
        ] {
            assert!(check_cron(ok).is_ok(), "{ok}: {:?}", check_cron(ok));
        }
        for bad in [
            "61 * * * *",
            "* * *",
            "* * * * * * *",
            "5-1 * * * *",
            "0 25 * * *",
            "0 0 * FOO *",
            "*/0 * * * *",
            "@fortnightly",
            "",
        ] {
            assert!(check_cron(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn cron_errors_say_why() {
        let why = |e: &str| check_cron(e).expect_err("invalid");
        assert_eq!(
            why("* * *"),
            "expected 5 fields (or 6 with seconds), found 3"
        );
        assert!(why("@fortnightly").starts_with("unknown macro @fortnightly"));
        assert_eq!(why("61 * * * *"), "minute `61`: number out of bounds");
        assert_eq!(
            why("0 0 * * * 5-1"),
            "day of week `5-1`: range out of bounds"
        );
        assert_eq!(
            why("0 0 * FOO *"),
            "month `FOO`: contains illegal character 'F' in part 'FOO'"
        );
        assert_eq!(why("*/0 * * * *"), "minute `*/0`: step cannot be zero");
        assert_eq!(why("0 0 31 2 *"), "it matches no date");
    }

    #[test]
    fn timezones_come_from_the_tz_database() {
        for tz in [
            "UTC",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+2",
        ] {
            assert!(is_timezone(tz), "{tz}");
        }
        for tz in ["Mars/Base", "Europe/Berlinn", "CEST-ish", ""] {
            assert!(!is_timezone(tz), "{tz}");
        }
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
        assert_eq!(
            errors(
                DirectiveKind::Schedule,
                json!({"interval": "1s", "start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00+01:00"})
            ),
            vec!["`end` must be later than `start`"]
        );
        assert_eq!(
            errors(
                DirectiveKind::Schedule,
                json!({"interval": "1s", "end": "tomorrow"})
            ),
            vec!["`end` must be an RFC 3339 time, found \"tomorrow\""]
        );
        assert_eq!(
            errors(
                DirectiveKind::Schedule,
                json!({"interval": "1s", "timezone": "Europe/Berlinn"})
            ),
            vec!["unknown timezone \"Europe/Berlinn\""]
        );
        assert_eq!(
            errors(DirectiveKind::Schedule, json!({"cron": "0 2 * * * * *"})),
            vec![
                "Invalid cron expression: 0 2 * * * * * (expected 5 fields (or 6 with seconds), found 7)"
            ]
        );
    }

    #[test]
    fn persistence_and_versioning() {
        assert!(errors(DirectiveKind::Persistence, json!(true)).is_empty());
        let mut diags = Vec::new();
        let off = check(
            DirectiveKind::Persistence,
            &json!(false),
            Span::new(0, 1),
            Span::new(0, 1),
            &mut diags,
        );
        assert!(off.is_none() && diags.is_empty(), "false is no directive");
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
