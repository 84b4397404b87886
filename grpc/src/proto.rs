//! The Parallax protocol as generated from `proto/*.proto`: messages (prost) and the clients
//! and servers of `ConfidenceAgent`, `Registry` and `AgentGateway` (tonic).

#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// `parallax.confidence`: the service every agent serves.
pub mod confidence {
    tonic::include_proto!("parallax.confidence");
}

/// `parallax.registry`: agents register, renew their lease and leave.
pub mod registry {
    tonic::include_proto!("parallax.registry");
}

/// `parallax.gateway`: agents behind NAT open a stream and receive tasks on it.
pub mod gateway {
    tonic::include_proto!("parallax.gateway");
}
