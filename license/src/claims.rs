//! The claims of a license key payload (license.md "Key format") and checks 7–10 of verification.

use serde_json::{Map, Value};

use crate::edition::{Edition, Tier};
use crate::verify::LicenseError;

/// The required issuer.
pub const ISSUER: &str = "parallax";
/// The only supported schema version.
pub const SCHEMA_VERSION: i64 = 1;

/// The authenticated claims of a key. `iss` and `v` are implied (`parallax`, `1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The tier, which decides the edition.
    pub tier: Tier,
    /// Organisation display name (non-empty).
    pub org: String,
    /// Customer / subscription id (non-empty).
    pub sub: String,
    /// Issued at, Unix seconds (may lie in the future: clocks drift).
    pub iat: i64,
    /// Expires at, Unix seconds; `0` means never.
    pub exp: i64,
    /// The deployment the key was issued for; shown, not enforced.
    pub cluster: Option<String>,
}

impl Claims {
    /// The edition the key grants while active.
    pub fn edition(&self) -> Edition {
        self.tier.edition()
    }

    /// The expiry instant, or `None` for a key that never expires (`exp == 0`).
    pub fn expires_at(&self) -> Option<i64> {
        (self.exp != 0).then_some(self.exp)
    }

    /// True if the key is expired at `now` (Unix seconds): `exp ≠ 0` and `now ≥ exp`.
    pub fn is_expired_at(&self, now: i64) -> bool {
        self.expires_at().is_some_and(|exp| now >= exp)
    }

    /// Reads claims from a decoded payload object, applying checks 7–10 in order.
    /// Unknown fields are ignored.
    pub fn from_json(obj: &Map<String, Value>) -> Result<Claims, LicenseError> {
        match obj.get("iss") {
            Some(Value::String(s)) if s == ISSUER => {}
            other => return Err(LicenseError::InvalidIssuer(describe(other))),
        }
        match obj.get("v").and_then(Value::as_i64) {
            Some(SCHEMA_VERSION) => {}
            _ => return Err(LicenseError::UnsupportedVersion(describe(obj.get("v")))),
        }
        let tier = match obj.get("tier") {
            Some(Value::String(s)) => s
                .parse::<Tier>()
                .map_err(|_| LicenseError::InvalidTier(s.clone()))?,
            other => return Err(LicenseError::InvalidTier(describe(other))),
        };
        let org = non_empty_string(obj, "org").ok_or(LicenseError::MissingOrg)?;
        let sub = non_empty_string(obj, "sub").ok_or(LicenseError::MissingSub)?;
        let iat = integer(obj, "iat").ok_or(LicenseError::MissingIat)?;
        let exp = integer(obj, "exp").ok_or(LicenseError::MissingExp)?;
        let cluster = non_empty_string(obj, "cluster");
        Ok(Claims {
            tier,
            org,
            sub,
            iat,
            exp,
            cluster,
        })
    }

    /// The compact JSON payload text, fields in the order of the spec's table
    /// (`iss, v, tier, org, sub, iat, exp[, cluster]`) — byte-identical to the payloads of the
    /// test vectors for the same claims.
    pub fn to_json(&self) -> String {
        let mut obj = Map::new();
        obj.insert("iss".into(), ISSUER.into());
        obj.insert("v".into(), SCHEMA_VERSION.into());
        obj.insert("tier".into(), self.tier.id().into());
        obj.insert("org".into(), self.org.clone().into());
        obj.insert("sub".into(), self.sub.clone().into());
        obj.insert("iat".into(), self.iat.into());
        obj.insert("exp".into(), self.exp.into());
        if let Some(cluster) = &self.cluster {
            obj.insert("cluster".into(), cluster.clone().into());
        }
        Value::Object(obj).to_string()
    }
}

/// How a wrong claim value is shown in a message: strings bare, other JSON as JSON text,
/// an absent field as `(missing)`.
fn describe(value: Option<&Value>) -> String {
    match value {
        None => "(missing)".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn non_empty_string(obj: &Map<String, Value>, field: &str) -> Option<String> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn integer(obj: &Map<String, Value>, field: &str) -> Option<i64> {
    obj.get(field).and_then(Value::as_i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Result<Claims, String> {
        let Value::Object(obj) = v else {
            return Err("not an object".into());
        };
        Claims::from_json(&obj).map_err(|e| e.to_string())
    }

    fn base() -> Value {
        json!({"iss":"parallax","v":1,"tier":"enterprise","org":"O","sub":"S","iat":1,"exp":0})
    }

    fn with(field: &str, value: Option<Value>) -> Value {
        let mut v = base();
        if let Value::Object(obj) = &mut v {
            match value {
                Some(value) => obj.insert(field.into(), value),
                None => obj.remove(field),
            };
        }
        v
    }

    #[test]
    fn accepts_minimal_and_ignores_unknown_fields() {
        let c = check(with("features", Some(json!(["x"])))).expect("valid");
        assert_eq!(c.tier, Tier::Enterprise);
        assert_eq!(c.expires_at(), None);
        assert!(!c.is_expired_at(i64::MAX));
        assert_eq!(c.cluster, None);
    }

    #[test]
    fn messages_for_each_field() {
        let cases = [
            ("iss", Some(json!("x")), "Invalid issuer: x"),
            ("iss", None, "Invalid issuer: (missing)"),
            ("iss", Some(json!(7)), "Invalid issuer: 7"),
            ("v", Some(json!(2)), "Unsupported schema version: 2"),
            ("v", Some(json!("1")), "Unsupported schema version: 1"),
            ("v", Some(json!(1.0)), "Unsupported schema version: 1.0"),
            ("v", None, "Unsupported schema version: (missing)"),
            ("tier", Some(json!("free")), "Invalid tier: free"),
            (
                "tier",
                Some(json!("opensource")),
                "Invalid tier: opensource",
            ),
            ("tier", None, "Invalid tier: (missing)"),
            ("org", None, "Missing org field"),
            ("org", Some(json!("")), "Missing org field"),
            ("org", Some(json!(3)), "Missing org field"),
            ("sub", Some(json!(null)), "Missing sub field"),
            ("iat", Some(json!("1")), "Missing iat field"),
            ("iat", Some(json!(1.5)), "Missing iat field"),
            ("exp", None, "Missing exp field"),
        ];
        for (field, value, msg) in cases {
            assert_eq!(
                check(with(field, value.clone())),
                Err(msg.into()),
                "{field} {value:?}"
            );
        }
    }

    #[test]
    fn check_order_issuer_before_version_before_tier() {
        let v = json!({"iss":"x","v":9,"tier":"free"});
        assert_eq!(check(v), Err("Invalid issuer: x".into()));
        let v = json!({"iss":"parallax","v":9,"tier":"free"});
        assert_eq!(check(v), Err("Unsupported schema version: 9".into()));
        let v = json!({"iss":"parallax","v":1,"tier":"free"});
        assert_eq!(check(v), Err("Invalid tier: free".into()));
        let v = json!({"iss":"parallax","v":1,"tier":"enterprise"});
        assert_eq!(check(v), Err("Missing org field".into()));
    }

    #[test]
    fn expiry_boundary() {
        let c = check(with("exp", Some(json!(100)))).expect("valid");
        assert!(!c.is_expired_at(99));
        assert!(c.is_expired_at(100));
    }

    #[test]
    fn json_round_trip() {
        let c = check(with("cluster", Some(json!("c1")))).expect("valid");
        let text = c.to_json();
        assert_eq!(
            text,
            r#"{"iss":"parallax","v":1,"tier":"enterprise","org":"O","sub":"S","iat":1,"exp":0,"cluster":"c1"}"#
        );
        assert_eq!(check(serde_json::from_str(&text).expect("json")), Ok(c));
    }
}
