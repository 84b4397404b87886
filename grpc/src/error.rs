//! What can go wrong before any call: an agent address that cannot be used, a control plane
//! that cannot listen.

use std::path::PathBuf;

/// An agent's address or TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The address is not `host:port` or a URL.
    #[error("the address `{address}` cannot be used: {why}")]
    Address {
        /// The address as written.
        address: String,
        /// Why.
        why: String,
    },
    /// The TLS settings are refused.
    #[error("TLS for `{address}`: {why}")]
    Tls {
        /// The address as written.
        address: String,
        /// Why.
        why: String,
    },
    /// The `tls.ca` file cannot be read.
    #[error("cannot read the certificate authority {path}: {source}")]
    Ca {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The registry and gateway cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// `ADDR` is not `host:port`.
    #[error("--registry {0}: expected host:port, e.g. 127.0.0.1:50051")]
    Address(String),
    /// The address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}
