//! Retention of execution records (§3): `30d`, `1000` or `{maxAge, maxRecords}`, applied
//! per pattern after each write.

use serde_json::Value;

use crate::error::{Result, StoreError};

/// How many records of a pattern to keep. The default keeps all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Delete records that started longer ago than this.
    pub max_age_ms: Option<u64>,
    /// Keep only the newest this many.
    pub max_records: Option<u64>,
}

impl Retention {
    /// Keeps everything.
    pub const KEEP_ALL: Retention = Retention {
        max_age_ms: None,
        max_records: None,
    };

    /// Reads a `retention` value: a duration (`30d`, `12h`), a count (`1000`, `"1000"`) or
    /// `{maxAge, maxRecords}`; `None` keeps all.
    pub fn from_json(value: Option<&Value>) -> Result<Retention> {
        let bad = |v: &Value| {
            StoreError::BadRecord(format!(
                "retention must be a duration (30d), a count (1000) or {{maxAge, maxRecords}}, found {v}"
            ))
        };
        let Some(value) = value else {
            return Ok(Retention::KEEP_ALL);
        };
        match value {
            Value::Null => Ok(Retention::KEEP_ALL),
            Value::Number(n) => match n.as_u64() {
                Some(n) if n >= 1 => Ok(Retention {
                    max_records: Some(n),
                    ..Retention::KEEP_ALL
                }),
                _ => Err(bad(value)),
            },
            Value::String(s) => {
                if let Ok(n) = s.trim().parse::<u64>() {
                    return if n >= 1 {
                        Ok(Retention {
                            max_records: Some(n),
                            ..Retention::KEEP_ALL
                        })
                    } else {
                        Err(bad(value))
                    };
                }
                Ok(Retention {
                    max_age_ms: Some(duration_ms(s).ok_or_else(|| bad(value))?),
                    ..Retention::KEEP_ALL
                })
            }
            Value::Object(m) => {
                if m.keys().any(|k| k != "maxAge" && k != "maxRecords") {
                    return Err(bad(value));
                }
                let max_age_ms = match m.get("maxAge") {
                    None | Some(Value::Null) => None,
                    Some(a) => Some(a.as_str().and_then(duration_ms).ok_or_else(|| bad(value))?),
                };
                let max_records = match m.get("maxRecords") {
                    None | Some(Value::Null) => None,
                    Some(n) => Some(n.as_u64().filter(|n| *n >= 1).ok_or_else(|| bad(value))?),
                };
                Ok(Retention {
                    max_age_ms,
                    max_records,
                })
            }
            _ => Err(bad(value)),
        }
    }

    /// Whether this keeps every record.
    pub fn keeps_all(&self) -> bool {
        self.max_age_ms.is_none() && self.max_records.is_none()
    }
}

fn duration_ms(text: &str) -> Option<u64> {
    let d = humantime::parse_duration(text.trim()).ok()?;
    u64::try_from(d.as_millis()).ok().filter(|ms| *ms > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_three_forms() {
        let r = |v: Value| Retention::from_json(Some(&v)).ok();
        assert_eq!(
            r(json!("30d")),
            Some(Retention {
                max_age_ms: Some(30 * 86_400_000),
                max_records: None
            })
        );
        assert_eq!(
            r(json!(1000)),
            Some(Retention {
                max_age_ms: None,
                max_records: Some(1000)
            })
        );
        assert_eq!(
            r(json!("1000")),
            Some(Retention {
                max_age_ms: None,
                max_records: Some(1000)
            })
        );
        assert_eq!(
            r(json!({"maxAge": "12h", "maxRecords": 5})),
            Some(Retention {
                max_age_ms: Some(12 * 3_600_000),
                max_records: Some(5)
            })
        );
        assert_eq!(Retention::from_json(None).ok(), Some(Retention::KEEP_ALL));
        for bad in [
            json!(0),
            json!("soon"),
            json!({"maxAge": 5}),
            json!([1]),
            json!({"x": 1}),
        ] {
            assert!(Retention::from_json(Some(&bad)).is_err(), "{bad}");
        }
    }
}
