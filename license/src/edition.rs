//! Editions, tiers and the features table of license.md ("Editions and features").

use std::fmt;
use std::str::FromStr;

/// The edition a process runs as. Features come from the edition, never from the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Edition {
    /// Prism Open Source: the whole toolchain for local work; no key needed.
    OpenSource,
    /// Prism Enterprise: adds the production directives (`schedule`, `persistence`, `versioning`).
    Enterprise,
    /// Prism Enterprise Plus: everything of Enterprise plus the listed-only extras.
    EnterprisePlus,
}

impl Edition {
    /// Every edition, from open source upwards.
    pub const ALL: [Edition; 3] = [
        Edition::OpenSource,
        Edition::Enterprise,
        Edition::EnterprisePlus,
    ];

    /// The stable machine id: `opensource`, `enterprise` or `enterprise-plus`.
    pub fn id(self) -> &'static str {
        match self {
            Edition::OpenSource => "opensource",
            Edition::Enterprise => "enterprise",
            Edition::EnterprisePlus => "enterprise-plus",
        }
    }

    /// The short display name: `Open Source`, `Enterprise`, `Enterprise Plus`.
    pub fn name(self) -> &'static str {
        match self {
            Edition::OpenSource => "Open Source",
            Edition::Enterprise => "Enterprise",
            Edition::EnterprisePlus => "Enterprise Plus",
        }
    }

    /// The product name: `Prism Open Source`, `Prism Enterprise`, `Prism Enterprise Plus`.
    pub fn product_name(self) -> &'static str {
        match self {
            Edition::OpenSource => "Prism Open Source",
            Edition::Enterprise => "Prism Enterprise",
            Edition::EnterprisePlus => "Prism Enterprise Plus",
        }
    }

    /// True if this edition grants `feature`.
    pub fn grants(self, feature: Feature) -> bool {
        feature.minimum_edition() <= self
    }

    /// Every feature this edition grants, in [`Feature::ALL`] order.
    pub fn features(self) -> impl Iterator<Item = Feature> {
        Feature::ALL
            .iter()
            .copied()
            .filter(move |f| self.grants(*f))
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The `tier` claim of a key: the edition it grants. Open source is not a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// `enterprise`
    Enterprise,
    /// `enterprise-plus`
    EnterprisePlus,
}

impl Tier {
    /// The claim's spelling: `enterprise` or `enterprise-plus`.
    pub fn id(self) -> &'static str {
        self.edition().id()
    }

    /// The edition this tier grants.
    pub fn edition(self) -> Edition {
        match self {
            Tier::Enterprise => Edition::Enterprise,
            Tier::EnterprisePlus => Edition::EnterprisePlus,
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Error for an unknown tier, edition or feature id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`")]
pub struct UnknownId {
    /// What was being parsed: `tier`, `edition` or `feature`.
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
}

impl FromStr for Tier {
    type Err = UnknownId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "enterprise" => Ok(Tier::Enterprise),
            "enterprise-plus" => Ok(Tier::EnterprisePlus),
            _ => Err(UnknownId {
                kind: "tier",
                value: s.to_owned(),
            }),
        }
    }
}

impl FromStr for Edition {
    type Err = UnknownId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Edition::ALL
            .into_iter()
            .find(|e| e.id() == s)
            .ok_or_else(|| UnknownId {
                kind: "edition",
                value: s.to_owned(),
            })
    }
}

macro_rules! features {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $min:ident;)*) => {
        /// A feature of the features table, spelled as the spec spells its id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Feature {
            $($(#[$doc])* $variant,)*
        }

        impl Feature {
            /// Every feature: the three enforced directive features first, then the other
            /// licensed ones, then the open-source toolchain.
            pub const ALL: &'static [Feature] = &[$(Feature::$variant,)*];

            /// The id as the spec spells it, e.g. `scheduled_patterns`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Feature::$variant => $id,)*
                }
            }

            /// The lowest edition that grants this feature.
            pub fn minimum_edition(self) -> Edition {
                match self {
                    $(Feature::$variant => Edition::$min,)*
                }
            }
        }
    };
}

features! {
    /// `schedule` directive, `prism serve` (enforced).
    ScheduledPatterns = "scheduled_patterns", Enterprise;
    /// `persistence` directive, `prism history` (enforced).
    Persistence = "persistence", Enterprise;
    /// `versioning` directive, `prism publish/versions/rollback`, `run NAME@VERSION` (enforced).
    PatternVersioning = "pattern_versioning", Enterprise;
    /// Comes with `persistence`.
    ExecutionHistory = "execution_history", Enterprise;
    /// Listed for `status`; not checked.
    MetricsStorage = "metrics_storage", Enterprise;
    /// Listed for `status`; not checked.
    HighAvailability = "high_availability", Enterprise;
    /// Listed for `status`; not checked.
    DistributedExecution = "distributed_execution", Enterprise;
    /// Listed for `status`; not checked.
    BackupRestore = "backup_restore", Enterprise;
    /// Listed for `status`; not checked.
    MultiUser = "multi_user", Enterprise;
    /// Listed for `status`; not checked.
    Rbac = "rbac", Enterprise;
    /// Listed for `status`; not checked.
    SsoIntegration = "sso_integration", Enterprise;
    /// Listed for `status`; not checked.
    ApiKeys = "api_keys", Enterprise;
    /// Listed for `status`; not checked.
    AuditLogging = "audit_logging", Enterprise;
    /// Listed for `status`; not checked.
    MtlsSecurity = "mtls_security", Enterprise;
    /// Listed for `status`; not checked.
    WebDashboard = "web_dashboard", Enterprise;
    /// Enterprise Plus only; listed only.
    MultiRegion = "multi_region", EnterprisePlus;
    /// Enterprise Plus only; listed only.
    AdvancedAnalytics = "advanced_analytics", EnterprisePlus;
    /// Enterprise Plus only; listed only.
    PatternMarketplace = "pattern_marketplace", EnterprisePlus;
    /// Enterprise Plus only; listed only.
    PrioritySupport247 = "priority_support_24_7", EnterprisePlus;
    /// The whole toolchain, every edition.
    UnlimitedAgents = "unlimited_agents", OpenSource;
    /// The whole toolchain, every edition.
    AllPatterns = "all_patterns", OpenSource;
    /// The whole toolchain, every edition.
    PrismDsl = "prism_dsl", OpenSource;
    /// The whole toolchain, every edition.
    YamlPatterns = "yaml_patterns", OpenSource;
    /// The whole toolchain, every edition.
    CliFull = "cli_full", OpenSource;
    /// The whole toolchain, every edition.
    Lsp = "lsp", OpenSource;
    /// The whole toolchain, every edition.
    LocalExecution = "local_execution", OpenSource;
    /// The whole toolchain, every edition.
    InMemoryExecution = "in_memory_execution", OpenSource;
}

impl Feature {
    /// True for the three features the toolchain enforces (the directives of patterns.md §3).
    pub fn is_enforced(self) -> bool {
        matches!(
            self,
            Feature::ScheduledPatterns | Feature::Persistence | Feature::PatternVersioning
        )
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Feature {
    type Err = UnknownId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Feature::ALL
            .iter()
            .copied()
            .find(|f| f.id() == s)
            .ok_or_else(|| UnknownId {
                kind: "feature",
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_the_spec() {
        let os: Vec<_> = Edition::OpenSource.features().map(Feature::id).collect();
        assert_eq!(
            os,
            [
                "unlimited_agents",
                "all_patterns",
                "prism_dsl",
                "yaml_patterns",
                "cli_full",
                "lsp",
                "local_execution",
                "in_memory_execution"
            ]
        );
        assert_eq!(Edition::Enterprise.features().count(), 8 + 15);
        assert_eq!(
            Edition::EnterprisePlus.features().count(),
            Feature::ALL.len()
        );
        assert_eq!(Feature::ALL.len(), 27);
        for f in ["scheduled_patterns", "persistence", "pattern_versioning"] {
            let f: Feature = f.parse().expect("known feature");
            assert!(f.is_enforced());
            assert!(!Edition::OpenSource.grants(f));
            assert!(Edition::Enterprise.grants(f));
            assert!(Edition::EnterprisePlus.grants(f));
        }
        assert!(!Edition::Enterprise.grants(Feature::PrioritySupport247));
        assert!(Edition::EnterprisePlus.grants(Feature::MultiRegion));
        assert_eq!(Feature::ALL.iter().filter(|f| f.is_enforced()).count(), 3);
    }

    #[test]
    fn ids_round_trip() {
        for f in Feature::ALL {
            assert_eq!(f.id().parse::<Feature>(), Ok(*f));
        }
        for e in Edition::ALL {
            assert_eq!(e.id().parse::<Edition>(), Ok(e));
        }
        assert_eq!("enterprise-plus".parse::<Tier>(), Ok(Tier::EnterprisePlus));
        assert!("free".parse::<Tier>().is_err());
        assert!("opensource".parse::<Tier>().is_err());
        assert_eq!(
            "nope".parse::<Feature>().map_err(|e| e.to_string()),
            Err("unknown feature `nope`".to_owned())
        );
    }
}
