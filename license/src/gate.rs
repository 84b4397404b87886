//! The gating rule (license.md "Gating rule"): the three enforced directives, their stable
//! diagnostic codes and the denial text the compiler, the CLI and the LSP show.

use std::fmt;

use crate::edition::{Edition, Feature};
use crate::resolve::{License, State};
use crate::timefmt::format_rfc3339;

/// Where to get a license: a build-time constant (override with `PRISM_UPGRADE_URL` at build time).
pub const UPGRADE_URL: &str = match option_env!("PRISM_UPGRADE_URL") {
    Some(url) => url,
    None => "https://parallax.ai/enterprise",
};

/// A licensed plan directive of patterns.md §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Directive {
    /// `schedule:` / `@schedule` → `scheduled_patterns`.
    Schedule,
    /// `persistence:` / `@persist` → `persistence`.
    Persistence,
    /// `versioning:` / `@versioning` → `pattern_versioning`.
    Versioning,
}

impl Directive {
    /// All three, in the spec's order.
    pub const ALL: [Directive; 3] = [
        Directive::Schedule,
        Directive::Persistence,
        Directive::Versioning,
    ];

    /// The YAML key: `schedule`, `persistence`, `versioning`.
    pub fn name(self) -> &'static str {
        match self {
            Directive::Schedule => "schedule",
            Directive::Persistence => "persistence",
            Directive::Versioning => "versioning",
        }
    }

    /// The feature that grants it.
    pub fn feature(self) -> Feature {
        match self {
            Directive::Schedule => Feature::ScheduledPatterns,
            Directive::Persistence => Feature::Persistence,
            Directive::Versioning => Feature::PatternVersioning,
        }
    }

    /// The stable diagnostic code: `prism::license::schedule|persistence|versioning`.
    pub fn code(self) -> &'static str {
        match self {
            Directive::Schedule => "prism::license::schedule",
            Directive::Persistence => "prism::license::persistence",
            Directive::Versioning => "prism::license::versioning",
        }
    }

    /// The directive of a YAML key or `.prism` header tag (with or without `@`):
    /// `schedule`, `persistence`/`persist`, `versioning`.
    pub fn from_name(name: &str) -> Option<Directive> {
        match name.strip_prefix('@').unwrap_or(name) {
            "schedule" => Some(Directive::Schedule),
            "persistence" | "persist" => Some(Directive::Persistence),
            "versioning" => Some(Directive::Versioning),
            _ => None,
        }
    }

    /// The directive whose feature a `prism` subcommand needs: `serve` → schedule,
    /// `history` → persistence, `publish`/`versions`/`rollback` → versioning.
    pub fn for_command(command: &str) -> Option<Directive> {
        match command {
            "serve" => Some(Directive::Schedule),
            "history" => Some(Directive::Persistence),
            "publish" | "versions" | "rollback" => Some(Directive::Versioning),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Directive::Schedule => "scheduled runs are an Enterprise feature",
            Directive::Persistence => "persisted execution history is an Enterprise feature",
            Directive::Versioning => "pattern versioning is an Enterprise feature",
        }
    }

    fn without_it(self) -> &'static str {
        match self {
            Directive::Schedule => "to run this pattern on demand with `prism run`",
            Directive::Persistence => "to run this pattern without keeping its execution history",
            Directive::Versioning => "to run this pattern from its source file",
        }
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A directive the edition does not grant: everything a diagnostic needs except the span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The refused directive.
    pub directive: Directive,
    /// `prism::license::…`
    pub code: &'static str,
    /// ``` `schedule` needs Prism Enterprise (feature `scheduled_patterns`) ```
    pub message: String,
    /// The text of the primary label (on the directive's key or header tag).
    pub label: String,
    /// `edition: Open Source (no license key found)`, `license from <source> not used: <reason>`
    /// or `license expired on <date>`.
    pub note: String,
    /// Help lines: how to get it (may contain a newline), then [`UPGRADE_URL`].
    pub help: Vec<String>,
}

impl Denial {
    /// The help lines joined by newlines, for diagnostics with a single help field (the
    /// [`Denial::note`] is then shown separately, e.g. as a secondary note or prefixed line).
    pub fn help_text(&self) -> String {
        self.help.join("\n")
    }

    /// The full text without a span, for commands that stop (`prism serve`, `history`, …):
    ///
    /// ```text
    /// error[prism::license::schedule]: `schedule` needs Prism Enterprise (feature `scheduled_patterns`)
    ///   = note: edition: Open Source (no license key found)
    ///   = help: install a key with …
    /// ```
    pub fn render(&self) -> String {
        let mut out = format!("error[{}]: {}\n", self.code, self.message);
        out.push_str(&format!("  = note: {}\n", self.note));
        for help in &self.help {
            let help = help.replace('\n', "\n          ");
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }
}

impl fmt::Display for Denial {
    /// The message only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The denial for `directive` under `license`, whether or not it is granted.
pub fn denial(directive: Directive, license: &License) -> Denial {
    let feature = directive.feature();
    let needs = feature.minimum_edition().product_name();
    let note = match (license.state, &license.claims) {
        (State::None, _) => format!("edition: {} (no license key found)", license.edition.name()),
        (State::Expired, Some(claims)) => {
            format!("license expired on {}", format_rfc3339(claims.exp))
        }
        _ => license
            .not_used_reason()
            .unwrap_or_else(|| format!("edition: {}", license.edition.name())),
    };
    Denial {
        directive,
        code: directive.code(),
        message: format!("`{directive}` needs {needs} (feature `{feature}`)"),
        label: directive.label().to_owned(),
        note,
        help: vec![
            format!(
                "install a key with `prism license install <KEY|FILE>` or set PRISM_LICENSE_KEY,\n\
                 or remove `{directive}` {}",
                directive.without_it()
            ),
            UPGRADE_URL.to_owned(),
        ],
    }
}

impl License {
    /// `Ok` if the edition grants the directive, else the [`Denial`] to report as an error.
    pub fn check(&self, directive: Directive) -> Result<(), Denial> {
        if self.grants(directive.feature()) {
            Ok(())
        } else {
            Err(denial(directive, self))
        }
    }

    /// For `prism serve|history|publish|versions|rollback`: `Ok` if allowed (or not a gated
    /// command), else the denial to print (with [`Denial::render`]) before stopping.
    pub fn check_command(&self, command: &str) -> Result<(), Denial> {
        Directive::for_command(command).map_or(Ok(()), |d| self.check(d))
    }

    /// Every directive of `directives` the edition does not grant (all of them are reported).
    pub fn denials(&self, directives: impl IntoIterator<Item = Directive>) -> Vec<Denial> {
        directives
            .into_iter()
            .filter_map(|d| self.check(d).err())
            .collect()
    }

    /// Whether `edition` is at least `required`.
    pub fn has_edition(&self, required: Edition) -> bool {
        self.edition >= required
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Claims;
    use crate::edition::Tier;
    use crate::lookup::KeySource;

    fn with(state: State, edition: Edition) -> License {
        let claims = Claims {
            tier: Tier::Enterprise,
            org: "O".into(),
            sub: "S".into(),
            iat: 0,
            exp: 1_795_390_314,
            cluster: None,
        };
        License {
            edition,
            state,
            source: Some(KeySource::Env("PRISM_LICENSE_KEY")),
            claims: matches!(state, State::Active | State::Expired).then_some(claims),
            reason: match state {
                State::Invalid => Some("Invalid signature".into()),
                State::Expired => Some("License expired on 2026-11-22T23:31:54Z".into()),
                _ => None,
            },
            notes: Vec::new(),
        }
    }

    #[test]
    fn codes_and_features() {
        let codes: Vec<_> = Directive::ALL.iter().map(|d| d.code()).collect();
        assert_eq!(
            codes,
            [
                "prism::license::schedule",
                "prism::license::persistence",
                "prism::license::versioning"
            ]
        );
        assert_eq!(
            Directive::from_name("@persist"),
            Some(Directive::Persistence)
        );
        assert_eq!(
            Directive::from_name("versioning"),
            Some(Directive::Versioning)
        );
        assert_eq!(Directive::from_name("agents"), None);
        assert_eq!(Directive::for_command("serve"), Some(Directive::Schedule));
        assert_eq!(
            Directive::for_command("rollback"),
            Some(Directive::Versioning)
        );
        assert_eq!(Directive::for_command("run"), None);
        for d in Directive::ALL {
            assert!(d.feature().is_enforced());
        }
    }

    #[test]
    fn granted_everywhere_in_enterprise() {
        for edition in [Edition::Enterprise, Edition::EnterprisePlus] {
            let l = with(State::Active, edition);
            assert!(l.denials(Directive::ALL).is_empty());
            assert_eq!(l.check_command("publish"), Ok(()));
        }
        assert_eq!(License::open_source().check_command("build"), Ok(()));
        assert_eq!(License::open_source().denials(Directive::ALL).len(), 3);
    }

    #[test]
    fn schedule_denial_matches_the_spec() {
        let d = License::open_source()
            .check(Directive::Schedule)
            .expect_err("denied");
        assert_eq!(d.code, "prism::license::schedule");
        assert_eq!(
            d.message,
            "`schedule` needs Prism Enterprise (feature `scheduled_patterns`)"
        );
        assert_eq!(d.label, "scheduled runs are an Enterprise feature");
        assert_eq!(d.note, "edition: Open Source (no license key found)");
        assert_eq!(
            d.help,
            [
                "install a key with `prism license install <KEY|FILE>` or set PRISM_LICENSE_KEY,\n\
                 or remove `schedule` to run this pattern on demand with `prism run`",
                "https://parallax.ai/enterprise"
            ]
        );
    }

    #[test]
    fn notes_for_found_keys() {
        let d = with(State::Invalid, Edition::OpenSource)
            .check(Directive::Persistence)
            .expect_err("denied");
        assert_eq!(
            d.note,
            "license from PRISM_LICENSE_KEY not used: Invalid signature"
        );
        let d = with(State::Expired, Edition::OpenSource)
            .check(Directive::Versioning)
            .expect_err("denied");
        assert_eq!(d.note, "license expired on 2026-11-22T23:31:54Z");
        assert_eq!(
            d.message,
            "`versioning` needs Prism Enterprise (feature `pattern_versioning`)"
        );
    }

    #[test]
    fn rendered_without_span() {
        let d = License::open_source()
            .check_command("serve")
            .expect_err("denied");
        insta_free_compare(
            &d.render(),
            "error[prism::license::schedule]: `schedule` needs Prism Enterprise (feature `scheduled_patterns`)\n  \
             = note: edition: Open Source (no license key found)\n  \
             = help: install a key with `prism license install <KEY|FILE>` or set PRISM_LICENSE_KEY,\n          \
             or remove `schedule` to run this pattern on demand with `prism run`\n  \
             = help: https://parallax.ai/enterprise\n",
        );
    }

    fn insta_free_compare(got: &str, want: &str) {
        assert_eq!(got, want, "\n--- got ---\n{got}\n--- want ---\n{want}");
    }
}
