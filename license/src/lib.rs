//! Offline verification of Prism license keys, edition resolution and gating
//! (`shared/spec/license.md`).
//!
//! Open-source Prism is complete for local work; a license key adds the production directives
//! `schedule`, `persistence` and `versioning`. This crate
//! - verifies keys offline ([`verify`]: Ed25519 over `base64url(payload).base64url(signature)`,
//!   the spec's check order and messages),
//! - finds the key ([`find_key`]: environment, `PRISM_LICENSE_FILE`, user file, system file) and
//!   resolves the edition ([`resolve`], [`License::current`]),
//! - gates the three directives ([`License::check`] → [`Denial`] with the stable codes
//!   `prism::license::schedule|persistence|versioning`),
//! - installs keys ([`install()`]) and issues them for the vendor ([`issue()`]),
//! - implements `prism license status|verify|install|issue` ([`cli`]).
//!
//! Nothing here panics on user input, touches the network or limits agents.

#![warn(missing_docs)]

pub mod claims;
pub mod cli;
pub mod edition;
pub mod gate;
pub mod install;
pub mod issue;
pub mod lookup;
pub mod resolve;
pub mod timefmt;
pub mod trusted;
pub mod verify;

pub use claims::Claims;
pub use edition::{Edition, Feature, Tier};
pub use gate::{Denial, Directive, UPGRADE_URL, denial};
pub use install::{InstallError, InstallOptions, install};
pub use issue::{IssueError, issue, parse_private_key, read_private_key};
pub use lookup::{FoundKey, KeySource, Locations, find_key};
pub use resolve::{License, State, now_unix, resolve};
pub use trusted::TrustedKey;
pub use verify::{LicenseError, verify};
