//! The 17 test vectors of `tests/data/license/vectors.json` (a copy of `shared/license/`;
//! license.md "Test vectors"), through
//! `verify`, `resolve`, `prism license verify --public-key … --at …`, and re-issued with a
//! throw-away key pair.

use std::path::PathBuf;

use base64::Engine as _;
use ed25519_dalek::SigningKey;
use prism_license::cli::{Context, LicenseCommand, run_with};
use prism_license::issue::sign_payload_text;
use prism_license::{
    Edition, FoundKey, KeySource, LicenseError, Locations, State, TrustedKey, issue, resolve,
    verify,
};
use serde_json::Value;

struct Vector {
    name: String,
    key: String,
    valid: bool,
    edition: Option<String>,
    reasons: Option<Vec<String>>,
    cluster: Option<String>,
}

struct Vectors {
    public_key: String,
    generated_at: i64,
    vectors: Vec<Vector>,
}

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/license/vectors.json")
}

fn load() -> Vectors {
    let path = vectors_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the license test vectors are missing: cannot read {} ({e}); they live in \
             tests/data/license/vectors.json (a copy of shared/license/vectors.json)",
            path.display()
        )
    });
    let doc: Value = serde_json::from_str(&text).expect("vectors.json is JSON");
    let str_field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    let vectors = doc["vectors"]
        .as_array()
        .expect("vectors[]")
        .iter()
        .map(|v| {
            let expect = &v["expect"];
            Vector {
                name: str_field(v, "name").expect("name"),
                key: str_field(v, "key").expect("key"),
                valid: expect["valid"].as_bool().expect("expect.valid"),
                edition: str_field(expect, "edition"),
                reasons: str_field(expect, "reason")
                    .map(|r| r.split('|').map(str::to_owned).collect()),
                cluster: str_field(expect, "cluster"),
            }
        })
        .collect();
    Vectors {
        public_key: str_field(&doc, "publicKeySpkiDerB64").expect("publicKeySpkiDerB64"),
        generated_at: doc["generatedAt"].as_i64().expect("generatedAt"),
        vectors,
    }
}

/// `expect.reason` alternatives: exact, or a prefix written as `Invalid payload` for
/// `Invalid payload encoding`.
fn reason_ok(message: &str, reasons: &[String]) -> bool {
    reasons
        .iter()
        .any(|r| message == r || message.starts_with(r.as_str()))
}

fn env_source(key: &str) -> Option<FoundKey> {
    Some(FoundKey {
        source: KeySource::Env("PRISM_LICENSE_KEY"),
        key: Ok(key.to_owned()),
        notes: Vec::new(),
    })
}

#[test]
fn there_are_17_vectors_and_the_test_key_is_the_known_one() {
    let v = load();
    assert_eq!(v.vectors.len(), 17);
    assert_eq!(
        v.public_key,
        prism_license::trusted::TEST_PUBLIC_KEY_SPKI_B64,
        "the crate's test key constant matches vectors.json"
    );
}

#[test]
fn every_vector_through_verify_and_resolve() {
    let v = load();
    let trusted = TrustedKey::from_spki_b64(&v.public_key);
    assert!(trusted.verifying_key().is_ok());
    for vector in &v.vectors {
        let name = &vector.name;
        let verdict = verify(&vector.key, &trusted);
        assert_eq!(verdict.is_ok(), vector.valid, "{name}: {verdict:?}");
        match (&verdict, &vector.reasons) {
            (Err(e), Some(reasons)) => {
                assert!(
                    reason_ok(&e.to_string(), reasons),
                    "{name}: {e} not in {reasons:?}"
                );
            }
            (Err(e), None) => assert_eq!(*e, LicenseError::LegacyPrefix, "{name}"),
            (Ok(_), Some(reasons)) => panic!("{name}: valid, expected {reasons:?}"),
            (Ok(_), None) => {}
        }

        let license = resolve(env_source(&vector.key), &trusted, v.generated_at);
        let want = vector.edition.as_deref().unwrap_or("opensource");
        assert_eq!(license.edition.id(), want, "{name}");
        let state = match (&verdict, license.edition) {
            (Err(_), _) => State::Invalid,
            (Ok(_), Edition::OpenSource) => State::Expired,
            (Ok(_), _) => State::Active,
        };
        assert_eq!(license.state, state, "{name}");
        if state != State::Active {
            let warning = license.warning().expect("a present, unused key warns");
            assert!(
                warning.starts_with("warning: license from PRISM_LICENSE_KEY not used: ")
                    && warning.ends_with(" — running as Prism Open Source"),
                "{name}: {warning}"
            );
        }
        if let Some(cluster) = &vector.cluster {
            let claims = license.claims.as_ref().expect("claims");
            assert_eq!(claims.cluster.as_ref(), Some(cluster), "{name}");
        }
    }
}

#[test]
fn every_vector_through_the_cli() {
    let v = load();
    let at = v.generated_at.to_string();
    for vector in &v.vectors {
        let cmd = LicenseCommand::Verify {
            key: vector.key.clone(),
            public_key: Some(v.public_key.clone()),
            at: Some(at.clone()),
            json: false,
        };
        let env = |_: &str| None;
        let mut stdin: &[u8] = b"";
        let mut ctx = Context {
            env: &env,
            locations: Locations::default(),
            // The built-in key plays no part: --public-key is given.
            trusted: TrustedKey::placeholder(),
            now: 0,
            stdin: &mut stdin,
        };
        let mut out = Vec::new();
        let code = run_with(cmd, &mut ctx, &mut out).expect("no usage error");
        let out = String::from_utf8(out).expect("utf8");
        let name = &vector.name;
        assert_eq!(code, u8::from(!vector.valid), "{name}: {out}");
        let want_prefix = match (vector.valid, vector.edition.as_deref()) {
            (false, _) => "invalid: ".to_owned(),
            (true, Some("opensource")) => "valid, but expired on ".to_owned(),
            (true, Some(edition)) => format!("valid: {edition} — org \"Test Corp\""),
            (true, None) => panic!("{name}: a valid vector without an edition"),
        };
        assert!(out.starts_with(&want_prefix), "{name}: {out}");
        if let Some(reasons) = &vector.reasons {
            let message = out.trim_end().trim_start_matches("invalid: ");
            assert!(reason_ok(message, reasons), "{name}: {out}");
        }
    }
}

#[test]
fn the_placeholder_key_grants_nothing() {
    let v = load();
    let placeholder = TrustedKey::placeholder();
    for vector in &v.vectors {
        let license = resolve(env_source(&vector.key), &placeholder, v.generated_at);
        assert_eq!(license.edition, Edition::OpenSource, "{}", vector.name);
        if vector.valid {
            assert_eq!(
                license.reason.as_deref(),
                Some("License public key not configured"),
                "{}",
                vector.name
            );
        }
    }
    if !cfg!(feature = "test-key") {
        assert_eq!(TrustedKey::compiled(), TrustedKey::placeholder());
    }
}

/// Keys issued by `issue` have byte-identical payloads to the authentic vectors, and payloads
/// re-signed with another key pair fail or pass exactly as the vectors do.
#[test]
fn issued_keys_match_the_vectors() {
    let v = load();
    let test_key = TrustedKey::from_spki_b64(&v.public_key);
    let vendor = SigningKey::from_bytes(&[0x5a; 32]);
    let ours = TrustedKey::from(vendor.verifying_key());
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for vector in &v.vectors {
        let name = &vector.name;
        let Some((payload, _)) = vector.key.split_once('.') else {
            continue;
        };
        if let Ok(claims) = verify(&vector.key, &test_key) {
            let reissued = issue(&vendor, &claims);
            let (our_payload, _) = reissued.split_once('.').expect("two parts");
            assert_eq!(
                our_payload, payload,
                "{name}: same claims, same payload text"
            );
            assert_eq!(verify(&reissued, &ours), Ok(claims), "{name}");
            assert!(
                verify(&reissued, &test_key).is_err(),
                "{name}: other signer"
            );
        } else if b64.decode(payload).is_ok()
            && name != "wrong-signer"
            && name != "tampered-payload"
        {
            // Authentic-but-bad claims: re-signed, they fail with the same message.
            let resigned = sign_payload_text(&vendor, payload);
            let ours_err = verify(&resigned, &ours).expect_err(name).to_string();
            let reasons = vector.reasons.as_ref().expect("reason");
            assert!(reason_ok(&ours_err, reasons), "{name}: {ours_err}");
        }
    }
    // The wrong-signer vector's payload is authentic content: re-signed by us it verifies.
    let wrong = v
        .vectors
        .iter()
        .find(|x| x.name == "wrong-signer")
        .expect("wrong-signer");
    let (payload, _) = wrong.key.split_once('.').expect("two parts");
    assert!(verify(&sign_payload_text(&vendor, payload), &ours).is_ok());
}
