//! The trusted public key (license.md "The trusted public key").
//!
//! The production key is a constant in this file: the SPKI DER of an Ed25519 public key,
//! base64 (`MCowBQYDK2VwAyEA` + the 32 raw key bytes). The project owner generates the key pair
//! (for example `openssl genpkey -algorithm ed25519 -out prism-license.pem` then
//! `openssl pkey -in prism-license.pem -pubout -outform DER | base64`) and pastes the public
//! half into [`PRODUCTION_PUBLIC_KEY_SPKI_B64`]; the private key never enters the repository.
//! Until then the constant is [`PLACEHOLDER_PUBLIC_KEY`] and every key verifies as
//! `License public key not configured` (open source).
//!
//! There is no run-time override: no environment variable, flag or file changes the key that
//! grants an edition. The cargo feature `test-key` swaps in the public test key of
//! `shared/license/vectors.json` for test suites; `build.rs` refuses it in release builds.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::{DecodePublicKey, EncodePublicKey};

use crate::verify::LicenseError;

/// The value of the production key constant until the owner sets it.
pub const PLACEHOLDER_PUBLIC_KEY: &str = "UNCONFIGURED-PRISM-LICENSE-PUBLIC-KEY";

/// The production trusted key (SPKI DER, base64), or [`PLACEHOLDER_PUBLIC_KEY`].
pub const PRODUCTION_PUBLIC_KEY_SPKI_B64: &str = PLACEHOLDER_PUBLIC_KEY;

/// The public test key of `shared/license/vectors.json` (grants nothing in release builds).
pub const TEST_PUBLIC_KEY_SPKI_B64: &str =
    "MCowBQYDK2VwAyEAGUhn7PVs3OS7uObTvY0O46HBBVl7oV5b78tjrzJ0NDA=";

/// The key compiled into this build: the production constant, or with the `test-key` feature
/// (test suites only) the test key.
pub const COMPILED_PUBLIC_KEY_SPKI_B64: &str = if cfg!(feature = "test-key") {
    TEST_PUBLIC_KEY_SPKI_B64
} else {
    PRODUCTION_PUBLIC_KEY_SPKI_B64
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Placeholder,
    Invalid,
    Key(VerifyingKey),
}

/// A public key that license keys are checked against. Construction never fails: a placeholder
/// or malformed key is kept and reported by [`crate::verify`] at its step 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey(State);

impl TrustedKey {
    /// The key compiled into this build ([`COMPILED_PUBLIC_KEY_SPKI_B64`]).
    pub fn compiled() -> TrustedKey {
        TrustedKey::from_spki_b64(COMPILED_PUBLIC_KEY_SPKI_B64)
    }

    /// The unconfigured placeholder.
    pub fn placeholder() -> TrustedKey {
        TrustedKey(State::Placeholder)
    }

    /// A key from base64 SPKI DER (padding optional, surrounding whitespace ignored).
    /// [`PLACEHOLDER_PUBLIC_KEY`] or an empty text gives the placeholder; anything that is not an
    /// Ed25519 SPKI of a valid, non-weak point is kept as invalid.
    pub fn from_spki_b64(text: &str) -> TrustedKey {
        let text = text.trim();
        if text.is_empty() || text == PLACEHOLDER_PUBLIC_KEY {
            return TrustedKey::placeholder();
        }
        let der = STANDARD
            .decode(text)
            .or_else(|_| STANDARD_NO_PAD.decode(text));
        match der {
            Ok(der) => TrustedKey::from_spki_der(&der),
            Err(_) => TrustedKey(State::Invalid),
        }
    }

    /// A key from SPKI DER bytes.
    pub fn from_spki_der(der: &[u8]) -> TrustedKey {
        match VerifyingKey::from_public_key_der(der) {
            Ok(key) => TrustedKey::from(key),
            Err(_) => TrustedKey(State::Invalid),
        }
    }

    /// The verifying key, or the step-4 error (`License public key not configured` /
    /// `Invalid public key`).
    pub fn verifying_key(&self) -> Result<&VerifyingKey, LicenseError> {
        match &self.0 {
            State::Placeholder => Err(LicenseError::PublicKeyNotConfigured),
            State::Invalid => Err(LicenseError::InvalidPublicKey),
            State::Key(key) => Ok(key),
        }
    }

    /// True for the unconfigured placeholder.
    pub fn is_placeholder(&self) -> bool {
        self.0 == State::Placeholder
    }
}

impl From<VerifyingKey> for TrustedKey {
    /// Wraps a verifying key; a weak (small-order) key is kept as invalid.
    fn from(key: VerifyingKey) -> TrustedKey {
        if key.is_weak() {
            TrustedKey(State::Invalid)
        } else {
            TrustedKey(State::Key(key))
        }
    }
}

/// The base64 SPKI DER text of a public key: the form of the key constant and of
/// `prism license verify --public-key`.
pub fn spki_b64(key: &VerifyingKey) -> String {
    match key.to_public_key_der() {
        Ok(der) => STANDARD.encode(der.as_bytes()),
        // Encoding a 32-byte key into a fixed SPKI structure cannot fail; fall back to the
        // well-known prefix + raw bytes, which is the same DER.
        Err(_) => {
            let mut der = vec![
                0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
            ];
            der.extend_from_slice(key.as_bytes());
            STANDARD.encode(der)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_key_parses_and_round_trips() {
        let key = TrustedKey::from_spki_b64(TEST_PUBLIC_KEY_SPKI_B64);
        let vk = key.verifying_key().expect("valid test key");
        assert_eq!(spki_b64(vk), TEST_PUBLIC_KEY_SPKI_B64);
        assert!(TEST_PUBLIC_KEY_SPKI_B64.starts_with("MCowBQYDK2VwAyEA"));
        let unpadded = TEST_PUBLIC_KEY_SPKI_B64.trim_end_matches('=');
        assert_eq!(TrustedKey::from_spki_b64(unpadded), key);
    }

    #[test]
    fn placeholder_and_invalid() {
        assert!(TrustedKey::from_spki_b64(PLACEHOLDER_PUBLIC_KEY).is_placeholder());
        assert!(TrustedKey::from_spki_b64("  ").is_placeholder());
        for bad in ["not base64!", "MCowBQYDK2VwAyEA", "AAAA"] {
            assert_eq!(
                TrustedKey::from_spki_b64(bad).verifying_key(),
                Err(LicenseError::InvalidPublicKey),
                "{bad}"
            );
        }
        // The identity point is a valid encoding but a weak (small-order) key.
        let mut weak = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, 1,
        ];
        weak.extend_from_slice(&[0; 31]);
        assert_eq!(
            TrustedKey::from_spki_der(&weak).verifying_key(),
            Err(LicenseError::InvalidPublicKey)
        );
    }

    #[test]
    fn compiled_key_is_the_production_constant_unless_test_key() {
        if cfg!(feature = "test-key") {
            assert_eq!(COMPILED_PUBLIC_KEY_SPKI_B64, TEST_PUBLIC_KEY_SPKI_B64);
        } else {
            assert_eq!(COMPILED_PUBLIC_KEY_SPKI_B64, PRODUCTION_PUBLIC_KEY_SPKI_B64);
            assert_eq!(
                TrustedKey::compiled().is_placeholder(),
                PRODUCTION_PUBLIC_KEY_SPKI_B64 == PLACEHOLDER_PUBLIC_KEY
            );
        }
    }
}
