//! Big payloads kept small: an execution record travels through Temporal's history twice (as
//! the workflow's result and as the input of the activity that stores it), and Temporal refuses
//! a payload over 2 MB. A record grows by some 300 bytes per agent result, so one of 10,000
//! agents is about 3 MB of JSON; records over [`PACK_ABOVE`] travel gzip-compressed (records
//! repeat their keys and compress about tenfold), base64-encoded behind a [`PACKED`] prefix.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// Texts longer than this (bytes) are packed.
pub const PACK_ABOVE: usize = 256 * 1024;

/// The prefix of a packed text (a JSON text never starts with it).
pub const PACKED: &str = "prism-gzip-base64:";

/// The text to send: `json` itself, or packed when it is long.
pub fn pack(json: String) -> String {
    if json.len() <= PACK_ABOVE {
        return json;
    }
    let mut gz = GzEncoder::new(Vec::with_capacity(json.len() / 8), Compression::default());
    // Writing to a `Vec` cannot fail; if it ever did, the text goes unpacked.
    match gz.write_all(json.as_bytes()).and_then(|()| gz.finish()) {
        Ok(bytes) => format!("{PACKED}{}", STANDARD.encode(bytes)),
        Err(_) => json,
    }
}

/// The JSON text of a received payload (packed or not).
pub fn unpack(text: &str) -> Result<String, String> {
    let Some(b64) = text.strip_prefix(PACKED) else {
        return Ok(text.to_string());
    };
    let bytes = STANDARD
        .decode(b64)
        .map_err(|e| format!("a packed record is not base64: {e}"))?;
    let mut json = String::new();
    GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut json)
        .map_err(|e| format!("a packed record does not decompress: {e}"))?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_travel_as_they_are() {
        let json = r#"{"id":"r","status":"completed"}"#.to_string();
        assert_eq!(pack(json.clone()), json);
        assert_eq!(unpack(&json).as_deref(), Ok(json.as_str()));
    }

    #[test]
    fn a_record_of_15000_agents_is_packed_below_temporals_limit_and_comes_back_whole() {
        let results: Vec<String> = (0..15_000)
            .map(|i| {
                format!(
                    r#"{{"agentId":"a{i:05}","agentName":"a{i:05}","capabilities":["analysis"],"result":"cat","confidence":0.7,"reasoning":null,"timestamp":1796438006153,"latencyMs":{},"status":"ok","attempts":1,"step":null}}"#,
                    i % 97
                )
            })
            .collect();
        let json = format!(r#"{{"id":"r","agentResults":[{}]}}"#, results.join(","));
        assert!(json.len() > 2_000_000, "the record is {} bytes", json.len());
        let packed = pack(json.clone());
        assert!(packed.starts_with(PACKED));
        assert!(packed.len() < 1_000_000, "packed to {} bytes", packed.len());
        assert_eq!(unpack(&packed), Ok(json));
    }

    #[test]
    fn a_damaged_packed_text_is_an_error() {
        assert!(unpack(&format!("{PACKED}not base64!")).is_err());
        assert!(unpack(&format!("{PACKED}{}", STANDARD.encode(b"not gzip"))).is_err());
    }
}
