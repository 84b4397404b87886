//! The control plane Prism serves for Parallax agents: the registry and the agent gateway on
//! one listener (`prism serve --registry ADDR`, `prism run --registry ADDR`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::Server;

use crate::directory::Directory;
use crate::error::ServeError;
use crate::gateway::GatewayService;
use crate::proto::gateway::agent_gateway_server::AgentGatewayServer;
use crate::proto::registry::registry_server::RegistryServer;
use crate::registry::RegistryService;

/// How often expired leases are swept (so `Watch` hears of them promptly).
const SWEEP: Duration = Duration::from_secs(1);

/// A running registry and gateway.
pub struct ControlPlane {
    directory: Arc<Directory>,
    address: SocketAddr,
    stop: CancellationToken,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for ControlPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlPlane")
            .field("address", &self.address)
            .finish()
    }
}

impl ControlPlane {
    /// Listens on `address` (`host:port`; port 0 picks a free one) and serves `Registry` and
    /// `AgentGateway`, keeping their agents in `directory`.
    pub async fn start(address: &str, directory: Arc<Directory>) -> Result<Self, ServeError> {
        let (host, port) = address
            .trim()
            .rsplit_once(':')
            .ok_or_else(|| ServeError::Address(address.to_string()))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(ServeError::Address(address.to_string()));
        }
        let bind = |source| ServeError::Bind {
            address: address.to_string(),
            source,
        };
        let listener = tokio::net::TcpListener::bind(address.trim())
            .await
            .map_err(bind)?;
        let local = listener.local_addr().map_err(bind)?;
        let stop = CancellationToken::new();
        let router = Server::builder()
            .add_service(RegistryServer::new(RegistryService::new(
                directory.clone(),
                stop.clone(),
            )))
            .add_service(AgentGatewayServer::new(GatewayService::new(
                directory.clone(),
                stop.clone(),
            )));
        let incoming = TcpListenerStream::new(listener);
        let shutdown = stop.clone();
        let sweeper = directory.clone();
        let server = tokio::spawn(async move {
            let serve =
                router.serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned());
            let sweep = async {
                loop {
                    tokio::time::sleep(SWEEP).await;
                    sweeper.expire();
                }
            };
            tokio::select! {
                _ = serve => {}
                () = sweep => {}
            }
        });
        Ok(ControlPlane {
            directory,
            address: local,
            stop,
            server,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The live agents.
    pub fn directory(&self) -> &Arc<Directory> {
        &self.directory
    }

    /// Stops serving: gateway streams end (their calls fail), the listener closes.
    pub async fn stop(self) {
        self.stop.cancel();
        self.directory
            .close_all("Prism stopped serving the gateway");
        let mut server = self.server;
        if tokio::time::timeout(Duration::from_secs(2), &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }
}
