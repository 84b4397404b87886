//! Offline verification of a license key (license.md "Verification"): a pure function with
//! the spec's check order and exact messages.

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use ed25519_dalek::Signature;
use serde_json::Value;

use crate::claims::Claims;
use crate::trusted::TrustedKey;

/// Prefixes of the deprecated, unsigned Parallax keys.
pub const LEGACY_PREFIXES: [&str; 3] = ["PARALLAX-ENT-", "PARALLAX-PLUS-", "PARALLAX-ENTERPRISE-"];

/// base64url (RFC 4648 §5): unpadded on output, padding tolerated on input.
pub(crate) const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a key was not accepted; `Display` is the spec's exact message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseError {
    /// Check 1: an old `PARALLAX-…-` key without a signature.
    #[error(
        "Legacy prefix-based license key detected. Prefix keys are deprecated and no longer grant enterprise features."
    )]
    LegacyPrefix,
    /// Check 2: not exactly two `.`-separated parts.
    #[error("Invalid license key format: expected payload.signature")]
    Format,
    /// Check 3: an empty payload or signature.
    #[error("Invalid license key format: empty payload or signature")]
    EmptyPart,
    /// Check 4: the trusted key is still the placeholder.
    #[error("License public key not configured")]
    PublicKeyNotConfigured,
    /// Check 4: the trusted key is not a valid Ed25519 key.
    #[error("Invalid public key")]
    InvalidPublicKey,
    /// Check 5: the signature is not base64url, not 64 bytes, or does not verify.
    #[error("Invalid signature")]
    InvalidSignature,
    /// Check 6: the payload is not base64url, not UTF-8 or not a JSON object.
    #[error("Invalid payload encoding")]
    InvalidPayload,
    /// Check 7: `iss` is not `parallax` (the offending value).
    #[error("Invalid issuer: {0}")]
    InvalidIssuer(String),
    /// Check 8: `v` is not 1 (the offending value).
    #[error("Unsupported schema version: {0}")]
    UnsupportedVersion(String),
    /// Check 9: `tier` is not `enterprise` or `enterprise-plus` (the offending value).
    #[error("Invalid tier: {0}")]
    InvalidTier(String),
    /// Check 10: `org` absent, empty or not a string.
    #[error("Missing org field")]
    MissingOrg,
    /// Check 10: `sub` absent, empty or not a string.
    #[error("Missing sub field")]
    MissingSub,
    /// Check 10: `iat` absent or not an integer.
    #[error("Missing iat field")]
    MissingIat,
    /// Check 10: `exp` absent or not an integer.
    #[error("Missing exp field")]
    MissingExp,
}

/// Verifies `key` against `trusted` and returns its claims. Pure: no clock (expiry is decided by
/// [`crate::resolve`]), no environment, no network.
///
/// The key is trimmed first. The Ed25519 signature is checked strictly over the ASCII bytes of
/// the payload text as it appears in the key, before the payload is decoded, so a tampered
/// payload reports `Invalid signature`.
pub fn verify(key: &str, trusted: &TrustedKey) -> Result<Claims, LicenseError> {
    let key = key.trim();
    // 1. Legacy prefix keys.
    if !key.contains('.') && LEGACY_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return Err(LicenseError::LegacyPrefix);
    }
    // 2. Exactly two parts.
    let mut parts = key.split('.');
    let (Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(LicenseError::Format);
    };
    // 3. No empty part.
    if payload.is_empty() || signature.is_empty() {
        return Err(LicenseError::EmptyPart);
    }
    // 4. A usable trusted key.
    let verifying_key = trusted.verifying_key()?;
    // 5. The signature, over the payload text.
    let signature = BASE64URL
        .decode(signature)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or(LicenseError::InvalidSignature)?;
    verifying_key
        .verify_strict(payload.as_bytes(), &signature)
        .map_err(|_| LicenseError::InvalidSignature)?;
    // 6. The payload: base64url → UTF-8 → JSON object.
    let object = BASE64URL
        .decode(payload)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|value| match value {
            Value::Object(object) => Some(object),
            _ => None,
        })
        .ok_or(LicenseError::InvalidPayload)?;
    // 7–10. The claims.
    Claims::from_json(&object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edition::Tier;
    use crate::issue::{issue, sign_payload_text};
    use ed25519_dalek::SigningKey;

    fn pair(seed: u8) -> (SigningKey, TrustedKey) {
        let sk = SigningKey::from_bytes(&[seed; 32]);
        let tk = TrustedKey::from(sk.verifying_key());
        (sk, tk)
    }

    fn claims() -> Claims {
        Claims {
            tier: Tier::Enterprise,
            org: "Org".into(),
            sub: "sub_1".into(),
            iat: 10,
            exp: 0,
            cluster: None,
        }
    }

    fn err(key: &str, trusted: &TrustedKey) -> String {
        match verify(key, trusted) {
            Ok(c) => panic!("unexpectedly valid: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn format_checks_come_before_the_trusted_key() {
        let placeholder = TrustedKey::placeholder();
        assert!(err("PARALLAX-PLUS-xyz", &placeholder).starts_with("Legacy prefix-based"));
        assert!(err("  PARALLAX-ENTERPRISE-xyz\n", &placeholder).starts_with("Legacy"));
        assert_eq!(
            err("PARALLAX-ENT-a.b.c", &placeholder),
            "Invalid license key format: expected payload.signature"
        );
        assert_eq!(
            err("", &placeholder),
            "Invalid license key format: expected payload.signature"
        );
        assert_eq!(
            err(".", &placeholder),
            "Invalid license key format: empty payload or signature"
        );
        assert_eq!(
            err("a.b", &placeholder),
            "License public key not configured"
        );
        let invalid = TrustedKey::from_spki_b64("AAAA");
        assert_eq!(err("a.b", &invalid), "Invalid public key");
    }

    #[test]
    fn signature_before_payload() {
        let (_, tk) = pair(1);
        // Garbage payload, garbage signature: the signature is reported.
        assert_eq!(err("!!!.AAAA", &tk), "Invalid signature");
        // A signature of the right length that does not verify.
        let sig = BASE64URL.encode([0u8; 64]);
        assert_eq!(err(&format!("e30.{sig}"), &tk), "Invalid signature");
        // Wrong length.
        let sig = BASE64URL.encode([0u8; 63]);
        assert_eq!(err(&format!("e30.{sig}"), &tk), "Invalid signature");
    }

    #[test]
    fn authentic_but_bad_payload() {
        let (sk, tk) = pair(2);
        for payload in [
            "!!!",
            &BASE64URL.encode([0xff, 0xfe]),
            &BASE64URL.encode("[1]"),
        ] {
            let key = sign_payload_text(&sk, payload);
            assert_eq!(err(&key, &tk), "Invalid payload encoding", "{payload}");
        }
        let key = sign_payload_text(&sk, &BASE64URL.encode(r#"{"iss":"x"}"#));
        assert_eq!(err(&key, &tk), "Invalid issuer: x");
    }

    #[test]
    fn padding_tolerated_and_signed_as_written() {
        let (sk, tk) = pair(3);
        // Pick claims whose JSON length is not a multiple of 3, so the encoding pads.
        let claims = ["O", "Or", "Org"]
            .into_iter()
            .map(|org| Claims {
                org: org.into(),
                ..claims()
            })
            .find(|c| c.to_json().len() % 3 != 0)
            .expect("one of three lengths pads");
        let padded = base64::engine::general_purpose::URL_SAFE.encode(claims.to_json());
        assert!(padded.ends_with('='));
        let key = sign_payload_text(&sk, &padded);
        assert_eq!(verify(&key, &tk), Ok(claims));
        // The same claims without padding are a different payload text: the signature fails.
        let (_, sig) = key.split_once('.').expect("two parts");
        let unpadded = format!("{}.{sig}", padded.trim_end_matches('='));
        assert_eq!(err(&unpadded, &tk), "Invalid signature");
    }

    #[test]
    fn round_trip_and_wrong_key() {
        let (sk, tk) = pair(4);
        let key = issue(&sk, &claims());
        assert_eq!(verify(&format!("\n {key} \t\n"), &tk), Ok(claims()));
        let (_, other) = pair(5);
        assert_eq!(err(&key, &other), "Invalid signature");
    }
}
