//! Vendor signing: issuing keys in the format [`crate::verify`] accepts.
//!
//! Private key files are read by [`read_private_key`] in these formats:
//! - **PKCS#8 PEM** (`-----BEGIN PRIVATE KEY-----`, as written by
//!   `openssl genpkey -algorithm ed25519`) — the format the spec names;
//! - PKCS#8 DER (the same, binary);
//! - a raw 32-byte Ed25519 seed (binary file of exactly 32 bytes).
//!
//! Ed25519 signing is deterministic: the same private key and claims give the same key.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signer as _, SigningKey};

use crate::claims::Claims;
use crate::verify::BASE64URL;

/// Why a private key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The file could not be read.
    #[error("cannot read private key file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is neither PKCS#8 (PEM or DER) Ed25519 nor a raw 32-byte seed.
    #[error(
        "{path} is not an Ed25519 private key (expected PKCS#8 PEM, PKCS#8 DER or a raw 32-byte seed)"
    )]
    Format {
        /// The file.
        path: PathBuf,
    },
}

/// Signs `claims` and returns the key `base64url(payload).base64url(signature)`.
pub fn issue(signing_key: &SigningKey, claims: &Claims) -> String {
    sign_payload_text(signing_key, &BASE64URL.encode(claims.to_json()))
}

/// Signs an already encoded payload text as it will appear in the key and returns
/// `payload.signature`. Lower level than [`issue`]: nothing checks that the payload is valid.
pub fn sign_payload_text(signing_key: &SigningKey, payload: &str) -> String {
    let signature = signing_key.sign(payload.as_bytes());
    format!("{payload}.{}", BASE64URL.encode(signature.to_bytes()))
}

/// Reads an Ed25519 private key file (see the module docs for the formats).
pub fn read_private_key(path: &Path) -> Result<SigningKey, IssueError> {
    let bytes = std::fs::read(path).map_err(|source| IssueError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_private_key(&bytes).ok_or_else(|| IssueError::Format {
        path: path.to_owned(),
    })
}

/// Parses the bytes of a private key file: PKCS#8 PEM, PKCS#8 DER or a raw 32-byte seed.
pub fn parse_private_key(bytes: &[u8]) -> Option<SigningKey> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN")
    {
        return SigningKey::from_pkcs8_pem(text.trim()).ok();
    }
    if let Ok(seed) = <[u8; 32]>::try_from(bytes) {
        return Some(SigningKey::from_bytes(&seed));
    }
    SigningKey::from_pkcs8_der(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edition::Tier;
    use crate::trusted::TrustedKey;
    use crate::verify::verify;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;

    fn claims() -> Claims {
        Claims {
            tier: Tier::EnterprisePlus,
            org: "Acme \"Ünïcode\" Ltd".into(),
            sub: "sub_42".into(),
            iat: 1_700_000_000,
            exp: 1_800_000_000,
            cluster: Some("eu-1".into()),
        }
    }

    #[test]
    fn issued_keys_verify() {
        let sk = SigningKey::from_bytes(&[9; 32]);
        let key = issue(&sk, &claims());
        assert_eq!(key.matches('.').count(), 1);
        assert!(!key.contains('='));
        assert_eq!(key, issue(&sk, &claims()), "deterministic");
        let tk = TrustedKey::from(sk.verifying_key());
        assert_eq!(verify(&key, &tk), Ok(claims()));
    }

    #[test]
    fn reads_all_three_formats() {
        let sk = SigningKey::from_bytes(&[7; 32]);
        let dir = tempfile::tempdir().expect("tempdir");
        let pem = sk.to_pkcs8_pem(LineEnding::LF).expect("pem");
        let der = sk.to_pkcs8_der().expect("der");
        let files = [
            ("k.pem", pem.as_bytes().to_vec()),
            ("k.der", der.as_bytes().to_vec()),
            ("k.seed", sk.to_bytes().to_vec()),
        ];
        for (name, bytes) in files {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).expect("write");
            let read = read_private_key(&path).expect(name);
            assert_eq!(read.to_bytes(), sk.to_bytes(), "{name}");
        }
    }

    #[test]
    fn rejects_other_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad");
        std::fs::write(
            &path,
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        )
        .expect("write");
        let e = read_private_key(&path).expect_err("not a private key");
        assert!(
            e.to_string().contains("is not an Ed25519 private key"),
            "{e}"
        );
        std::fs::write(&path, [1u8; 31]).expect("write");
        assert!(read_private_key(&path).is_err());
        let e = read_private_key(&dir.path().join("missing")).expect_err("missing");
        assert!(
            e.to_string().starts_with("cannot read private key file"),
            "{e}"
        );
    }
}
