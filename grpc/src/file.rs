//! `grpc` entries of an agents file: `grpc: host:port` (or an `http://` / `https://` URL),
//! `tls: true` or `{ca, domain}` (`ca` read relative to the agents file's folder), and
//! `timeout` in milliseconds. The static checks (keys, address form) are the compiler's
//! (`prism_compiler::agents_file`); this builds the agent.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prism_agents::{AgentInfo, SharedAgent};
use serde_json::{Map, Value as Json};

use crate::agent::{GrpcAgent, Target, Tls};
use crate::error::TargetError;

/// Builds the `grpc` agent of an agents-file entry (the runtime's [`AgentKind`] hook).
///
/// [`AgentKind`]: prism_agents::AgentKind
pub fn from_entry(
    info: AgentInfo,
    entry: &Map<String, Json>,
    dir: Option<&Path>,
) -> Result<SharedAgent, String> {
    let target = target(entry, dir)?;
    let agent = GrpcAgent::new(info, &target).map_err(|e| e.to_string())?;
    Ok(Arc::new(agent))
}

/// The target an entry describes.
pub fn target(entry: &Map<String, Json>, dir: Option<&Path>) -> Result<Target, String> {
    let address = entry
        .get("grpc")
        .and_then(Json::as_str)
        .ok_or("`grpc` must be an address such as 127.0.0.1:50051")?
        .trim()
        .to_string();
    let timeout = match entry.get("timeout") {
        None => None,
        Some(v) => Some(Duration::from_millis(
            v.as_u64()
                .filter(|n| *n > 0)
                .ok_or("`timeout` must be a whole number of ms")?,
        )),
    };
    let tls = match entry.get("tls") {
        None | Some(Json::Bool(false)) => None,
        Some(Json::Bool(true)) => Some(Tls::default()),
        Some(Json::Object(t)) => {
            let ca_pem = match t.get("ca").and_then(Json::as_str) {
                None => None,
                Some(file) => {
                    let path = dir.map_or_else(|| Path::new(file).to_path_buf(), |d| d.join(file));
                    Some(
                        std::fs::read(&path)
                            .map_err(|source| TargetError::Ca { path, source }.to_string())?,
                    )
                }
            };
            Some(Tls {
                ca_pem,
                domain: t.get("domain").and_then(Json::as_str).map(str::to_string),
            })
        }
        Some(_) => return Err("`tls` is true, false or {ca, domain}".into()),
    };
    Ok(Target {
        address,
        tls,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(v: Json) -> Map<String, Json> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn entries_become_targets() {
        let t = target(
            &entry(json!({"grpc": "127.0.0.1:50051", "timeout": 250})),
            None,
        );
        assert_eq!(
            t,
            Ok(Target {
                address: "127.0.0.1:50051".into(),
                tls: None,
                timeout: Some(Duration::from_millis(250)),
            })
        );
        let t = target(&entry(json!({"grpc": "h:1", "tls": true})), None);
        assert_eq!(t.map(|t| t.tls), Ok(Some(Tls::default())));
        let dir = std::env::temp_dir().join(format!("prism-grpc-ca-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join("ca.pem"), "PEM");
        let t = target(
            &entry(json!({"grpc": "h:1", "tls": {"ca": "ca.pem", "domain": "agents.test"}})),
            Some(&dir),
        );
        assert_eq!(
            t.map(|t| t.tls),
            Ok(Some(Tls {
                ca_pem: Some(b"PEM".to_vec()),
                domain: Some("agents.test".into()),
            }))
        );
        let _ = std::fs::remove_dir_all(&dir);
        let err = target(
            &entry(json!({"grpc": "h:1", "tls": {"ca": "missing.pem"}})),
            None,
        );
        assert!(err.is_err_and(|e| e.contains("missing.pem")));
    }

    #[test]
    fn a_bad_address_is_refused_when_the_file_is_read() {
        let r = from_entry(
            AgentInfo::new("a", Vec::new()),
            &entry(json!({"grpc": "exa mple:1"})),
            None,
        );
        assert!(r.is_err_and(|e| e.contains("cannot be used")));
    }
}
