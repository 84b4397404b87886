//! The agents that joined while Prism runs: registered with the registry (each under a lease
//! that expires unless renewed) or connected through the gateway (kept while their stream
//! lives and heartbeats arrive). Each run takes the agents live when it starts
//! ([`AgentSource`]); `ListAgents`, `GetAgent` and `Watch` read the same list.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use prism_agents::{AgentSource, SharedAgent};
use tokio::sync::{Notify, broadcast};

use crate::gateway::Session;
use crate::proto::registry::AgentRegistration;
use crate::proto::registry::watch_event::EventType;

/// A lease lasts this long when the registration names no `ttl` (the SDKs renew every 30 s).
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// The shortest and longest lease granted.
const TTL_RANGE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(86_400));

/// How an agent joined.
pub(crate) enum Via {
    /// Registered: called at its endpoint while the lease lasts.
    Registry {
        lease: String,
        ttl: Duration,
        expires: Instant,
    },
    /// Connected through the gateway: called down its stream.
    Gateway { session: Arc<Session> },
}

struct Entry {
    registration: AgentRegistration,
    agent: SharedAgent,
    via: Via,
}

/// A change, as `Watch` reports it.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub kind: EventType,
    pub registration: AgentRegistration,
}

/// The live agents of a registry and gateway.
pub struct Directory {
    entries: Mutex<Vec<Entry>>,
    changes: broadcast::Sender<Change>,
    joined: Notify,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("agents", &self.names())
            .finish()
    }
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Arc<Directory> {
        Arc::new(Directory {
            entries: Mutex::new(Vec::new()),
            changes: broadcast::channel(256).0,
            joined: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn tell(&self, kind: EventType, registration: &AgentRegistration) {
        let _ = self.changes.send(Change {
            kind,
            registration: registration.clone(),
        });
        self.joined.notify_waiters();
    }

    /// Adds or replaces (same id) an agent; tells watchers.
    fn put(&self, registration: AgentRegistration, agent: SharedAgent, via: Via) {
        let kind = {
            let mut entries = self.lock();
            let entry = Entry {
                registration: registration.clone(),
                agent,
                via,
            };
            match entries
                .iter_mut()
                .find(|e| e.registration.id == registration.id)
            {
                Some(old) => {
                    if let Via::Gateway { session } = &old.via {
                        session.close("the agent joined again");
                    }
                    *old = entry;
                    EventType::Modified
                }
                None => {
                    entries.push(entry);
                    EventType::Added
                }
            }
        };
        self.tell(kind, &registration);
    }

    /// Registers an agent under a new lease of `ttl` (the default when `None` or zero);
    /// returns the lease id.
    pub(crate) fn register(
        &self,
        mut registration: AgentRegistration,
        agent: SharedAgent,
        ttl: Option<Duration>,
    ) -> (String, Duration) {
        let ttl = lease_ttl(ttl);
        let lease = format!("lease-{}", uuid::Uuid::now_v7());
        registration.registered_at = Some(SystemTime::now().into());
        registration.ttl = prost_types::Duration::try_from(ttl).ok();
        self.put(
            registration,
            agent,
            Via::Registry {
                lease: lease.clone(),
                ttl,
                expires: Instant::now() + ttl,
            },
        );
        (lease, ttl)
    }

    /// Extends a lease by `ttl` (else its own); `None` when the lease is unknown or expired.
    pub(crate) fn renew(
        &self,
        lease_id: &str,
        ttl: Option<Duration>,
    ) -> Option<(String, Duration)> {
        self.expire();
        let mut entries = self.lock();
        entries.iter_mut().find_map(|e| match &mut e.via {
            Via::Registry {
                lease,
                ttl: own,
                expires,
            } if lease == lease_id => {
                if ttl.is_some_and(|t| !t.is_zero()) {
                    *own = lease_ttl(ttl);
                    e.registration.ttl = prost_types::Duration::try_from(*own).ok();
                }
                *expires = Instant::now() + *own;
                Some((e.registration.id.clone(), *own))
            }
            _ => None,
        })
    }

    /// Removes the registered agent `id`; false when there is none.
    pub(crate) fn unregister(&self, id: &str) -> bool {
        let removed = {
            let mut entries = self.lock();
            let at = entries
                .iter()
                .position(|e| e.registration.id == id && matches!(e.via, Via::Registry { .. }));
            at.map(|i| entries.remove(i))
        };
        match removed {
            Some(e) => {
                self.tell(EventType::Deleted, &e.registration);
                true
            }
            None => false,
        }
    }

    /// Adds an agent connected through the gateway.
    pub(crate) fn connect(
        &self,
        registration: AgentRegistration,
        agent: SharedAgent,
        session: Arc<Session>,
    ) {
        self.put(registration, agent, Via::Gateway { session });
    }

    /// Removes a gateway agent whose stream ended, unless it has connected again since.
    pub(crate) fn disconnect(&self, id: &str, serial: u64) {
        let removed = {
            let mut entries = self.lock();
            let at = entries.iter().position(|e| {
                e.registration.id == id
                    && matches!(&e.via, Via::Gateway { session } if session.serial == serial)
            });
            at.map(|i| entries.remove(i))
        };
        if let Some(e) = removed {
            self.tell(EventType::Deleted, &e.registration);
        }
    }

    /// The gateway session of agent `id`, if it is connected.
    pub(crate) fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.lock().iter().find_map(|e| match &e.via {
            Via::Gateway { session } if e.registration.id == id => Some(session.clone()),
            _ => None,
        })
    }

    /// Removes the registrations whose lease ran out; tells watchers.
    pub fn expire(&self) {
        let now = Instant::now();
        let gone: Vec<Entry> = {
            let mut entries = self.lock();
            let (expired, kept): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut *entries)
                .into_iter()
                .partition(|e| matches!(e.via, Via::Registry { expires, .. } if expires <= now));
            *entries = kept;
            expired
        };
        for e in gone {
            self.tell(EventType::Deleted, &e.registration);
        }
    }

    /// Every live agent's registration, in the order they joined.
    pub fn list(&self) -> Vec<AgentRegistration> {
        self.expire();
        self.lock().iter().map(|e| e.registration.clone()).collect()
    }

    /// The registration of agent `id`.
    pub fn get(&self, id: &str) -> Option<AgentRegistration> {
        self.expire();
        self.lock()
            .iter()
            .find(|e| e.registration.id == id)
            .map(|e| e.registration.clone())
    }

    /// The names of the live agents.
    pub fn names(&self) -> Vec<String> {
        self.lock()
            .iter()
            .map(|e| e.agent.info().name.clone())
            .collect()
    }

    /// Waits until at least `n` agents are live, or `within` has passed; returns how many are.
    pub async fn wait_for(&self, n: usize, within: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let joined = self.joined.notified();
            tokio::pin!(joined);
            joined.as_mut().enable();
            let live = self.list().len();
            if live >= n {
                return live;
            }
            if tokio::time::timeout_at(deadline, joined).await.is_err() {
                return self.list().len();
            }
        }
    }

    /// Listens to changes.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Ends every gateway session (shutdown): their pending calls fail at once.
    pub fn close_all(&self, why: &str) {
        for e in self.lock().iter() {
            if let Via::Gateway { session } = &e.via {
                session.close(why);
            }
        }
    }
}

impl AgentSource for Directory {
    fn live_agents(&self) -> Vec<SharedAgent> {
        self.expire();
        self.lock().iter().map(|e| e.agent.clone()).collect()
    }
}

/// The lease granted for a requested `ttl`.
fn lease_ttl(ttl: Option<Duration>) -> Duration {
    match ttl {
        Some(t) if !t.is_zero() => t.clamp(TTL_RANGE.0, TTL_RANGE.1),
        _ => DEFAULT_TTL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prism_agents::AgentInfo;
    use prism_agents::local::{Behaviour, LocalAgent};

    fn agent(id: &str) -> (AgentRegistration, SharedAgent) {
        let reg = AgentRegistration {
            id: id.into(),
            name: id.into(),
            endpoint: "127.0.0.1:1".into(),
            capabilities: vec!["x".into()],
            ..Default::default()
        };
        let a = Arc::new(LocalAgent::new(
            AgentInfo::new(id, vec!["x".into()]),
            Behaviour::Echo { confidence: 0.5 },
            None,
        ));
        (reg, a)
    }

    #[test]
    fn leases_expire_unless_renewed() {
        let d = Directory::new();
        let (reg, a) = agent("a");
        let (lease, ttl) = d.register(reg, a, Some(Duration::from_millis(1)));
        assert_eq!(ttl, Duration::from_secs(1), "at least a second");
        let (reg, b) = agent("b");
        let (_, ttl) = d.register(reg, b, None);
        assert_eq!(ttl, DEFAULT_TTL);
        assert_eq!(d.names(), vec!["a", "b"]);
        assert!(d.renew(&lease, None).is_some());
        assert!(d.renew("lease-unknown", None).is_none());
        // Lease `a` runs out: it leaves the list, and watchers hear of it.
        let mut changes = d.subscribe();
        if let Some(e) = d.lock().iter_mut().find(|e| e.registration.id == "a")
            && let Via::Registry { expires, .. } = &mut e.via
        {
            *expires = Instant::now();
        }
        assert_eq!(d.live_agents().len(), 1);
        let change = changes.try_recv().ok();
        assert_eq!(
            change.map(|c| (c.kind, c.registration.id)),
            Some((EventType::Deleted, "a".to_string()))
        );
        assert!(d.renew(&lease, None).is_none(), "an expired lease is gone");
        assert!(d.unregister("b"));
        assert!(!d.unregister("b"));
        assert!(d.list().is_empty());
    }

    #[test]
    fn registering_again_replaces_the_agent() {
        let d = Directory::new();
        let (reg, a) = agent("a");
        let (first, _) = d.register(reg.clone(), a.clone(), None);
        let mut changes = d.subscribe();
        let (second, _) = d.register(reg, a, None);
        assert_ne!(first, second);
        assert_eq!(d.list().len(), 1);
        assert_eq!(
            changes.try_recv().ok().map(|c| c.kind),
            Some(EventType::Modified)
        );
        assert!(d.renew(&first, None).is_none());
        assert!(d.renew(&second, None).is_some());
    }
}
