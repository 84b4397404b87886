//! Parallax agents answer Prism patterns. Agents written with Parallax's SDKs serve the gRPC
//! service `parallax.confidence.ConfidenceAgent`, register with `parallax.registry.Registry`,
//! or connect to `parallax.gateway.AgentGateway`; this crate speaks all three:
//!
//! - the `grpc` agent kind of agents files ([`GrpcAgent`], built by [`install`]'s hook):
//!   `Analyze` per task, `GetCapabilities` when the file lists none, `HealthCheck` for
//!   patterns that ask for healthy agents;
//! - [`ControlPlane`]: our registry (leases that expire) and gateway (tasks down a stream) on
//!   one listener, whose agents ([`Directory`]) join every run as agents from a file do.
//!
//! The `.proto` files under `proto/` are our own, with Parallax's packages, names and field
//! numbers; they are compiled by `protox`, so no `protoc` is needed.

mod agent;
mod convert;
mod directory;
mod error;
mod file;
mod gateway;
pub mod proto;
mod registry;
mod server;

pub use agent::{GrpcAgent, Target, Tls};
pub use convert::{from_struct, from_value, to_struct, to_value};
pub use directory::{DEFAULT_TTL, Directory};
pub use error::{ServeError, TargetError};
pub use file::from_entry;
pub use gateway::{GatewayAgent, GatewayService};
pub use registry::RegistryService;
pub use server::ControlPlane;

/// Lets agents files use `grpc:` agents (registers the kind with the runtime's loader).
pub fn install() {
    prism_agents::register_agent_kind("grpc", file::from_entry);
}
