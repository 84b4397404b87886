//! `prism license …`: the subcommands, ready to be mounted by the `prism` binary.
//!
//! ```text
//! #[derive(clap::Subcommand)]
//! enum Command {
//!     /// Show, check, install or issue license keys.
//!     #[command(subcommand)]
//!     License(prism_license::cli::LicenseCommand),
//! }
//! // …
//! Command::License(cmd) => match prism_license::cli::run(cmd, &mut std::io::stdout()) {
//!     Ok(code) => ExitCode::from(code),
//!     Err(e) => { eprintln!("error: {e}"); ExitCode::from(e.exit_code()) }
//! }
//! ```

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use clap::Subcommand;
use ed25519_dalek::VerifyingKey;
use ed25519_dalek::pkcs8::DecodePublicKey as _;
use serde_json::{Value, json};

use crate::claims::Claims;
use crate::edition::{Edition, Feature, Tier};
use crate::install::{InstallError, InstallOptions, install};
use crate::issue::{IssueError, issue, read_private_key};
use crate::lookup::{EnvLookup, KeySource, Locations, key_from_text, process_env, read_key_file};
use crate::resolve::{License, State, now_unix};
use crate::timefmt::{format_rfc3339, parse_time};
use crate::trusted::TrustedKey;
use crate::verify::verify;

/// Default validity of `issue` without `--exp`: one year.
pub const DEFAULT_VALIDITY_SECS: i64 = 365 * 86_400;

/// `prism license …`
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum LicenseCommand {
    /// Show the edition, where the key came from, its state and the features it grants.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Exit 1 unless this edition or feature is granted (for CI).
        #[arg(long, value_name = "enterprise|enterprise-plus|FEATURE")]
        require: Option<String>,
    },
    /// Check a key without installing it (exit 0 iff authentic, 1 if not, 2 on usage errors).
    Verify {
        /// The key, `@FILE` for a license file, or `-` for standard input.
        #[arg(value_name = "KEY|@FILE|-")]
        key: String,
        /// Check authenticity against this public key (SPKI DER base64, or `@FILE` with that
        /// text or a PEM public key) instead of the built-in one. Grants nothing.
        #[arg(long, value_name = "SPKI_B64|@FILE")]
        public_key: Option<String>,
        /// The clock for the expiry verdict: RFC 3339, a date or Unix seconds.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Verify a key and write it as the user (or system) license file.
    Install {
        /// The key, `@FILE` (or a file path) for a license file, or `-` for standard input.
        #[arg(value_name = "KEY|@FILE|-")]
        key: String,
        /// Write the system file /etc/prism/license.key (mode 0640) instead of the user file.
        #[arg(long)]
        system: bool,
        /// Install an authentic key even if it is expired.
        #[arg(long)]
        force: bool,
    },
    /// Vendor tool: sign a new key with an Ed25519 private key.
    Issue {
        /// The private key: PKCS#8 PEM (`openssl genpkey -algorithm ed25519`), PKCS#8 DER or a
        /// raw 32-byte seed.
        #[arg(long = "private-key", visible_alias = "key", value_name = "FILE")]
        private_key: PathBuf,
        /// `enterprise` or `enterprise-plus`.
        #[arg(long)]
        tier: Tier,
        /// Organisation display name.
        #[arg(long)]
        org: String,
        /// Customer / subscription id.
        #[arg(long)]
        sub: String,
        /// Expiry: RFC 3339, a date (midnight UTC), Unix seconds, or `never` [default: one year
        /// after the issue time].
        #[arg(long, value_name = "DATE|never")]
        exp: Option<String>,
        /// Deployment id the key is issued for (shown, not enforced).
        #[arg(long)]
        cluster: Option<String>,
        /// Issue time [default: now].
        #[arg(long, value_name = "TIME")]
        iat: Option<String>,
    },
}

/// A failure of a `prism license` command that is not a verdict.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or unreadable inputs (exit 2).
    #[error("{0}")]
    Usage(String),
    /// `install` refused the key (exit 1).
    #[error(transparent)]
    Install(#[from] InstallError),
    /// `issue` could not use the private key (exit 1).
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// Writing the output failed (exit 1).
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl CliError {
    /// The process exit code for this error: 2 for usage errors, else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Everything a command reads from the outside world, so tests can fix it.
pub struct Context<'a> {
    /// The environment.
    pub env: EnvLookup<'a>,
    /// The license file locations.
    pub locations: Locations,
    /// The trusted key that grants an edition (`status`, `install`, default of `verify`).
    pub trusted: TrustedKey,
    /// The clock, Unix seconds.
    pub now: i64,
    /// Standard input, for a `-` key argument.
    pub stdin: &'a mut dyn Read,
}

/// Runs a command against the real process: environment, platform locations, the compiled-in
/// trusted key, the system clock and standard input. Returns the exit code (0, or 1 for a
/// negative verdict such as an invalid key or an unmet `--require`).
pub fn run(cmd: LicenseCommand, out: &mut dyn Write) -> Result<u8, CliError> {
    let env: EnvLookup<'_> = &process_env;
    let mut stdin = io::stdin();
    let mut ctx = Context {
        env,
        locations: Locations::from_env(env),
        trusted: TrustedKey::compiled(),
        now: now_unix(),
        stdin: &mut stdin,
    };
    run_with(cmd, &mut ctx, out)
}

/// Runs a command in the given context (see [`run`]).
pub fn run_with(
    cmd: LicenseCommand,
    ctx: &mut Context<'_>,
    out: &mut dyn Write,
) -> Result<u8, CliError> {
    match cmd {
        LicenseCommand::Status { json, require } => status(ctx, out, json, require.as_deref()),
        LicenseCommand::Verify {
            key,
            public_key,
            at,
            json,
        } => verify_cmd(ctx, out, &key, public_key.as_deref(), at.as_deref(), json),
        LicenseCommand::Install { key, system, force } => {
            install_cmd(ctx, out, &key, system, force)
        }
        LicenseCommand::Issue {
            private_key,
            tier,
            org,
            sub,
            exp,
            cluster,
            iat,
        } => {
            let args = IssueArgs {
                tier,
                org,
                sub,
                exp,
                cluster,
                iat,
            };
            issue_cmd(ctx, out, &private_key, args)
        }
    }
}

/// What `--require` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Requirement {
    Edition(Edition),
    Feature(Feature),
}

fn parse_requirement(text: &str) -> Result<Requirement, CliError> {
    if let Ok(edition) = text.parse::<Edition>() {
        return Ok(Requirement::Edition(edition));
    }
    text.parse::<Feature>()
        .map(Requirement::Feature)
        .map_err(|_| {
            CliError::Usage(format!(
                "--require: unknown edition or feature `{text}` (expected enterprise, \
                 enterprise-plus or a feature id such as scheduled_patterns)"
            ))
        })
}

fn status(
    ctx: &mut Context<'_>,
    out: &mut dyn Write,
    json: bool,
    require: Option<&str>,
) -> Result<u8, CliError> {
    let requirement = require.map(parse_requirement).transpose()?;
    let license = License::detect(ctx.env, &ctx.locations, &ctx.trusted, ctx.now);
    let met = match requirement {
        None => true,
        Some(Requirement::Edition(e)) => license.has_edition(e),
        Some(Requirement::Feature(f)) => license.grants(f),
    };
    if json {
        writeln!(out, "{:#}", status_json(&license))?;
    } else {
        out.write_all(render_status(&license).as_bytes())?;
        if let (Some(required), false) = (require, met) {
            writeln!(
                out,
                "Required:  {required} — not granted by {}",
                license.edition.product_name()
            )?;
        }
    }
    Ok(if met { 0 } else { 1 })
}

const LABEL_WIDTH: usize = 11;
const WRAP: usize = 100;

fn line(out: &mut String, label: &str, value: &str) {
    let label = format!("{label}:");
    out.push_str(&format!("{label:<LABEL_WIDTH$}{value}\n"));
}

/// `a, b, c` wrapped at 100 columns, continuation lines indented under the value column.
fn wrapped_list(items: &[&str]) -> String {
    let mut text = String::new();
    let mut col = LABEL_WIDTH;
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item},")
        } else {
            (*item).to_owned()
        };
        if i > 0 {
            if col + 1 + piece.len() > WRAP {
                text.push('\n');
                text.push_str(&" ".repeat(LABEL_WIDTH));
                col = LABEL_WIDTH;
            } else {
                text.push(' ');
                col += 1;
            }
        }
        col += piece.len();
        text.push_str(&piece);
    }
    text
}

/// The human form of `prism license status`.
pub fn render_status(license: &License) -> String {
    let mut out = String::new();
    let edition = match license.edition {
        Edition::OpenSource => format!(
            "{} — unlimited agents, every pattern, full local execution",
            license.edition.name()
        ),
        other => other.name().to_owned(),
    };
    line(&mut out, "Edition", &edition);
    let source = license
        .source
        .as_ref()
        .map_or_else(|| "none".to_owned(), KeySource::to_string);
    line(&mut out, "Source", &source);
    let state = match (license.state, &license.claims, &license.reason) {
        (State::Expired, Some(claims), _) => format!("expired on {}", format_rfc3339(claims.exp)),
        (State::Invalid, _, Some(reason)) => format!("invalid: {reason}"),
        (state, _, _) => state.id().to_owned(),
    };
    line(&mut out, "State", &state);
    if let Some(claims) = &license.claims {
        line(&mut out, "Org", &format!("{} ({})", claims.org, claims.sub));
        line(&mut out, "Issued", &format_rfc3339(claims.iat));
        let expires = claims
            .expires_at()
            .map_or_else(|| "never".to_owned(), format_rfc3339);
        line(&mut out, "Expires", &expires);
        line(
            &mut out,
            "Cluster",
            claims.cluster.as_deref().unwrap_or("—"),
        );
    }
    let features: Vec<&str> = license.edition.features().map(Feature::id).collect();
    line(&mut out, "Features", &wrapped_list(&features));
    for note in &license.notes {
        line(&mut out, "Note", note);
    }
    out
}

fn claims_json(claims: Option<&Claims>) -> [(&'static str, Value); 6] {
    let get = |f: &dyn Fn(&Claims) -> Value| claims.map_or(Value::Null, f);
    [
        ("org", get(&|c| c.org.clone().into())),
        ("sub", get(&|c| c.sub.clone().into())),
        ("tier", get(&|c| c.tier.id().into())),
        ("issuedAt", get(&|c| format_rfc3339(c.iat).into())),
        (
            "expiresAt",
            get(&|c| {
                c.expires_at()
                    .map_or(Value::Null, |t| format_rfc3339(t).into())
            }),
        ),
        ("cluster", get(&|c| c.cluster.clone().into())),
    ]
}

/// The JSON form of `prism license status`: `{edition, state, source, reason, org, sub, tier,
/// issuedAt, expiresAt, cluster, features, notes}` (`expiresAt` is null for a key that never
/// expires; claim fields are null without an authentic key).
pub fn status_json(license: &License) -> Value {
    let mut obj = serde_json::Map::new();
    obj.insert("edition".into(), license.edition.id().into());
    obj.insert("state".into(), license.state.id().into());
    obj.insert(
        "source".into(),
        license
            .source
            .as_ref()
            .map_or(Value::Null, |s| s.to_string().into()),
    );
    obj.insert("reason".into(), license.reason.clone().into());
    for (k, v) in claims_json(license.claims.as_ref()) {
        obj.insert(k.into(), v);
    }
    let features: Vec<&str> = license.edition.features().map(Feature::id).collect();
    obj.insert("features".into(), features.into());
    obj.insert("notes".into(), license.notes.clone().into());
    Value::Object(obj)
}

/// Reads a key argument: `-` (standard input), `@FILE`, a path to an existing file, or the key.
fn key_argument(arg: &str, stdin: &mut dyn Read) -> Result<String, CliError> {
    if arg == "-" {
        let mut text = String::new();
        stdin
            .read_to_string(&mut text)
            .map_err(|e| CliError::Usage(format!("cannot read standard input: {e}")))?;
        return key_from_text(&text)
            .ok_or_else(|| CliError::Usage("no key on standard input".to_owned()));
    }
    let file = match arg.strip_prefix('@') {
        Some(path) => Some(Path::new(path)),
        None if Path::new(arg).is_file() => Some(Path::new(arg)),
        None => None,
    };
    match file {
        Some(path) => read_key_file(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?
            .ok_or_else(|| CliError::Usage(format!("no key in {}", path.display()))),
        None => Ok(arg.trim().to_owned()),
    }
}

/// Reads `--public-key`: SPKI DER base64, or `@FILE` holding that text or a PEM public key.
fn public_key_argument(arg: &str) -> Result<TrustedKey, CliError> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read {path}: {e}")))?,
        None => arg.to_owned(),
    };
    let key = if text.contains("-----BEGIN") {
        VerifyingKey::from_public_key_pem(text.trim())
            .map(TrustedKey::from)
            .unwrap_or_else(|_| TrustedKey::from_spki_b64("!"))
    } else {
        TrustedKey::from_spki_b64(&text)
    };
    match key.verifying_key() {
        Ok(_) => Ok(key),
        Err(_) => Err(CliError::Usage(
            "--public-key: not an Ed25519 public key (SPKI DER base64 or PEM)".to_owned(),
        )),
    }
}

fn verify_cmd(
    ctx: &mut Context<'_>,
    out: &mut dyn Write,
    key: &str,
    public_key: Option<&str>,
    at: Option<&str>,
    json: bool,
) -> Result<u8, CliError> {
    let key = key_argument(key, ctx.stdin)?;
    let trusted = match public_key {
        Some(arg) => public_key_argument(arg)?,
        None => ctx.trusted.clone(),
    };
    let now = match at {
        Some(at) => parse_time(at).ok_or_else(|| {
            CliError::Usage(format!(
                "--at: `{at}` is not a time (RFC 3339, YYYY-MM-DD or Unix seconds)"
            ))
        })?,
        None => ctx.now,
    };
    let verdict = verify(&key, &trusted);
    let (state, edition, reason) = match &verdict {
        Err(e) => (State::Invalid, Edition::OpenSource, Some(e.to_string())),
        Ok(c) if c.is_expired_at(now) => (
            State::Expired,
            Edition::OpenSource,
            Some(format!("License expired on {}", format_rfc3339(c.exp))),
        ),
        Ok(c) => (State::Active, c.edition(), None),
    };
    if json {
        let mut obj = serde_json::Map::new();
        obj.insert("valid".into(), verdict.is_ok().into());
        obj.insert("state".into(), state.id().into());
        obj.insert("edition".into(), edition.id().into());
        obj.insert("reason".into(), reason.into());
        for (k, v) in claims_json(verdict.as_ref().ok()) {
            obj.insert(k.into(), v);
        }
        writeln!(out, "{:#}", Value::Object(obj))?;
    } else {
        match &verdict {
            Err(e) => writeln!(out, "invalid: {e}")?,
            Ok(c) if state == State::Expired => writeln!(
                out,
                "valid, but expired on {} (would run as {})",
                format_rfc3339(c.exp),
                Edition::OpenSource.name()
            )?,
            Ok(c) => {
                let expires = c.expires_at().map_or_else(
                    || "never expires".to_owned(),
                    |t| format!("expires {}", format_rfc3339(t)),
                );
                let cluster = c
                    .cluster
                    .as_ref()
                    .map(|cl| format!(", cluster {cl}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "valid: {} — org {} ({}), {expires}{cluster}",
                    c.tier,
                    json!(c.org),
                    c.sub
                )?;
            }
        }
    }
    Ok(if verdict.is_ok() { 0 } else { 1 })
}

fn install_cmd(
    ctx: &mut Context<'_>,
    out: &mut dyn Write,
    key: &str,
    system: bool,
    force: bool,
) -> Result<u8, CliError> {
    let key = key_argument(key, ctx.stdin)?;
    let (dest, options) = if system {
        let dest = ctx.locations.system_file.clone().ok_or_else(|| {
            CliError::Usage("--system: there is no system license file on this platform".into())
        })?;
        (dest, InstallOptions::SYSTEM)
    } else {
        let dest = ctx.locations.user_file.clone().ok_or_else(|| {
            CliError::Usage(
                "cannot determine the user configuration directory (set HOME, \
                 XDG_CONFIG_HOME or APPDATA)"
                    .into(),
            )
        })?;
        (dest, InstallOptions::USER)
    };
    install(&key, &dest, &ctx.trusted, ctx.now, options.force(force))?;
    writeln!(out, "Installed license key to {}", dest.display())?;
    let license = License::detect(ctx.env, &ctx.locations, &ctx.trusted, ctx.now);
    out.write_all(render_status(&license).as_bytes())?;
    if let Some(source) = &license.source
        && source.path() != Some(dest.as_path())
    {
        writeln!(
            out,
            "note: {source} takes precedence over {}, so the installed key is not used",
            dest.display()
        )?;
    }
    Ok(0)
}

struct IssueArgs {
    tier: Tier,
    org: String,
    sub: String,
    exp: Option<String>,
    cluster: Option<String>,
    iat: Option<String>,
}

fn issue_cmd(
    ctx: &mut Context<'_>,
    out: &mut dyn Write,
    private_key: &Path,
    args: IssueArgs,
) -> Result<u8, CliError> {
    let time = |flag: &str, text: &str| {
        parse_time(text).ok_or_else(|| {
            CliError::Usage(format!(
                "--{flag}: `{text}` is not a time (RFC 3339, YYYY-MM-DD or Unix seconds)"
            ))
        })
    };
    let iat = match &args.iat {
        Some(text) => time("iat", text)?,
        None => ctx.now,
    };
    let exp = match args.exp.as_deref().map(str::trim) {
        Some("never") | Some("0") => 0,
        Some(text) => time("exp", text)?,
        None => iat.saturating_add(DEFAULT_VALIDITY_SECS),
    };
    let non_empty = |flag: &str, value: String| {
        let value = value.trim().to_owned();
        if value.is_empty() {
            Err(CliError::Usage(format!("--{flag} must not be empty")))
        } else {
            Ok(value)
        }
    };
    let claims = Claims {
        tier: args.tier,
        org: non_empty("org", args.org)?,
        sub: non_empty("sub", args.sub)?,
        iat,
        exp,
        cluster: args
            .cluster
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty()),
    };
    let signing_key = read_private_key(private_key)?;
    let key = issue(&signing_key, &claims);
    // Self-check: the key must verify against the signer's own public key.
    let own = TrustedKey::from(signing_key.verifying_key());
    if verify(&key, &own).as_ref() != Ok(&claims) {
        return Err(CliError::Usage(
            "the issued key does not verify against its own public key".into(),
        ));
    }
    writeln!(out, "{key}")?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issue::issue;
    use clap::Parser;
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    use std::collections::HashMap;

    /// `generatedAt` of the test vectors: the fixed clock of these tests.
    const NOW: i64 = 1_795_393_914;
    const EXP: i64 = 2_110_753_914;

    #[derive(Parser)]
    struct Prism {
        #[command(subcommand)]
        cmd: LicenseCommand,
    }

    fn signer() -> SigningKey {
        SigningKey::from_bytes(&[42; 32])
    }

    fn claims(tier: Tier, exp: i64, cluster: Option<&str>) -> Claims {
        Claims {
            tier,
            org: "Test Corp".into(),
            sub: "org_test_001".into(),
            iat: NOW,
            exp,
            cluster: cluster.map(str::to_owned),
        }
    }

    fn key(tier: Tier, exp: i64, cluster: Option<&str>) -> String {
        issue(&signer(), &claims(tier, exp, cluster))
    }

    /// A sandbox: temp user/system locations, an environment, the signer's public key as the
    /// trusted key, the clock fixed at [`NOW`].
    struct Sandbox {
        dir: tempfile::TempDir,
        env: HashMap<String, String>,
        stdin: String,
    }

    impl Sandbox {
        fn new() -> Sandbox {
            Sandbox {
                dir: tempfile::tempdir().expect("tempdir"),
                env: HashMap::new(),
                stdin: String::new(),
            }
        }

        fn set(mut self, name: &str, value: &str) -> Sandbox {
            self.env.insert(name.into(), value.into());
            self
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.dir.path().join(rel)
        }

        fn user_file(&self) -> PathBuf {
            self.path("config/prism/license.key")
        }

        fn system_file(&self) -> PathBuf {
            self.path("etc/prism/license.key")
        }

        fn write(&self, rel: &str, text: &str) -> PathBuf {
            let path = self.path(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod");
            }
            path
        }

        /// Runs `prism license ARGS…`: (exit code, output with the temp dir shown as `[TMP]`).
        fn run(&self, args: &[&str]) -> (u8, String) {
            let argv = std::iter::once("prism").chain(args.iter().copied());
            let cmd = match Prism::try_parse_from(argv) {
                Ok(p) => p.cmd,
                Err(e) => return (2, e.to_string()),
            };
            let env = |name: &str| self.env.get(name).cloned();
            let mut stdin = self.stdin.as_bytes();
            let mut ctx = Context {
                env: &env,
                locations: Locations {
                    user_file: Some(self.user_file()),
                    system_file: Some(self.system_file()),
                },
                trusted: TrustedKey::from(signer().verifying_key()),
                now: NOW,
                stdin: &mut stdin,
            };
            let mut out = Vec::new();
            let code = match run_with(cmd, &mut ctx, &mut out) {
                Ok(code) => code,
                Err(e) => {
                    out.extend_from_slice(format!("error: {e}\n").as_bytes());
                    e.exit_code()
                }
            };
            let text = String::from_utf8(out).expect("utf8");
            let tmp = self.dir.path().display().to_string();
            (code, text.replace(&tmp, "[TMP]"))
        }
    }

    #[test]
    fn status_without_key() {
        let (code, out) = Sandbox::new().run(&["status"]);
        assert_eq!(code, 0);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn status_active_from_env_with_cluster_and_shadowed_variable() {
        let k = key(Tier::Enterprise, EXP, Some("prod-us-east-1"));
        let sb = Sandbox::new()
            .set("PRISM_LICENSE_KEY", &k)
            .set("PARALLAX_LICENSE_KEY", "ignored");
        let (code, out) = sb.run(&["status"]);
        assert_eq!(code, 0);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn status_enterprise_plus_perpetual_from_user_file() {
        let sb = Sandbox::new();
        let k = key(Tier::EnterprisePlus, 0, None);
        sb.write(
            "config/prism/license.key",
            &format!("# Prism license\n{k}\n"),
        );
        let (code, out) = sb.run(&["status"]);
        assert_eq!(code, 0);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn status_expired_from_license_file_variable() {
        let sb = Sandbox::new();
        let path = sb.write("named.key", &key(Tier::Enterprise, NOW - 3600, None));
        let sb = sb.set("PRISM_LICENSE_FILE", &path.display().to_string());
        let (code, out) = sb.run(&["status"]);
        assert_eq!(code, 0);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn status_invalid_does_not_fall_through() {
        let sb = Sandbox::new();
        sb.write(
            "config/prism/license.key",
            &key(Tier::Enterprise, EXP, None),
        );
        let wrong = issue(
            &SigningKey::from_bytes(&[1; 32]),
            &claims(Tier::Enterprise, EXP, None),
        );
        let (code, out) = sb.set("PARALLAX_LICENSE_KEY", &wrong).run(&["status"]);
        assert_eq!(code, 0);
        insta::assert_snapshot!(out);
    }

    #[test]
    fn status_json() {
        let k = key(Tier::Enterprise, EXP, Some("prod-us-east-1"));
        let (code, out) = Sandbox::new()
            .set("PRISM_LICENSE_KEY", &k)
            .run(&["status", "--json"]);
        assert_eq!(code, 0);
        insta::assert_snapshot!(out);
        let (_, out) = Sandbox::new().run(&["status", "--json"]);
        insta::assert_snapshot!("status_json_none", out);
    }

    #[test]
    fn status_require() {
        let open = Sandbox::new();
        assert_eq!(open.run(&["status", "--require", "lsp"]).0, 0);
        assert_eq!(open.run(&["status", "--require", "opensource"]).0, 0);
        let (code, out) = open.run(&["status", "--require", "enterprise"]);
        assert_eq!(code, 1);
        assert!(
            out.ends_with("Required:  enterprise — not granted by Prism Open Source\n"),
            "{out}"
        );
        let (code, out) = open.run(&["status", "--json", "--require", "scheduled_patterns"]);
        assert_eq!(code, 1);
        assert!(
            serde_json::from_str::<Value>(&out).is_ok(),
            "JSON stays clean: {out}"
        );
        let (code, out) = open.run(&["status", "--require", "gold"]);
        assert_eq!(code, 2);
        assert!(out.starts_with("error: --require: unknown edition or feature `gold`"));

        let ent = Sandbox::new().set("PRISM_LICENSE_KEY", &key(Tier::Enterprise, EXP, None));
        assert_eq!(ent.run(&["status", "--require", "enterprise"]).0, 0);
        assert_eq!(ent.run(&["status", "--require", "pattern_versioning"]).0, 0);
        assert_eq!(ent.run(&["status", "--require", "enterprise-plus"]).0, 1);
        assert_eq!(ent.run(&["status", "--require", "multi_region"]).0, 1);
    }

    #[test]
    fn verify_verdicts() {
        let sb = Sandbox::new();
        let lines: Vec<String> = [
            key(Tier::Enterprise, EXP, None),
            key(Tier::EnterprisePlus, 0, Some("prod-us-east-1")),
            key(Tier::Enterprise, NOW, None),
            "PARALLAX-ENT-abc123".to_owned(),
            "a.b".to_owned(),
        ]
        .iter()
        .map(|k| {
            let (code, out) = sb.run(&["verify", "--", k]);
            format!("{code} {out}")
        })
        .collect();
        insta::assert_snapshot!(lines.concat());
    }

    #[test]
    fn verify_json_and_inputs() {
        let k = key(Tier::Enterprise, NOW + 10, None);
        let mut sb = Sandbox::new();
        let (code, out) = sb.run(&["verify", "--json", &k]);
        assert_eq!(code, 0);
        insta::assert_snapshot!(out);
        // --at moves the clock for the expiry verdict only: still authentic, exit 0.
        let (code, out) = sb.run(&["verify", "--at", "2026-11-23T00:32:04Z", &k]);
        assert_eq!(
            (code, out.as_str()),
            (
                0,
                "valid, but expired on 2026-11-23T00:32:04Z (would run as Open Source)\n"
            )
        );
        let (code, _) = sb.run(&["verify", "--at", "1795393913", &k]);
        assert_eq!(code, 0);
        let (code, out) = sb.run(&["verify", "--at", "soon", &k]);
        assert_eq!(code, 2, "{out}");
        // @FILE, a bare file path and standard input.
        let path = sb.write("k.txt", &format!("# key\n\n{k}\n"));
        let at_file = format!("@{}", path.display());
        assert_eq!(sb.run(&["verify", &at_file]).0, 0);
        assert_eq!(sb.run(&["verify", &path.display().to_string()]).0, 0);
        let (code, out) = sb.run(&["verify", "@/definitely/missing"]);
        assert_eq!(code, 2, "{out}");
        sb.stdin = format!("{k}\n");
        assert_eq!(sb.run(&["verify", "-"]).0, 0);
        sb.stdin = String::new();
        assert_eq!(
            sb.run(&["verify", "-"]),
            (2, "error: no key on standard input\n".into())
        );
    }

    #[test]
    fn verify_public_key_flag() {
        let other = SigningKey::from_bytes(&[3; 32]);
        let k = issue(&other, &claims(Tier::Enterprise, EXP, None));
        let sb = Sandbox::new();
        assert_eq!(
            sb.run(&["verify", &k]),
            (1, "invalid: Invalid signature\n".into())
        );
        let spki = crate::trusted::spki_b64(&other.verifying_key());
        assert_eq!(sb.run(&["verify", "--public-key", &spki, &k]).0, 0);
        let pem = {
            use ed25519_dalek::pkcs8::EncodePublicKey as _;
            other
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .expect("pem")
        };
        let pem_path = sb.write("pub.pem", &pem);
        let b64_path = sb.write("pub.b64", &format!("{spki}\n"));
        for path in [pem_path, b64_path] {
            let arg = format!("@{}", path.display());
            assert_eq!(sb.run(&["verify", "--public-key", &arg, &k]).0, 0, "{arg}");
        }
        let (code, out) = sb.run(&["verify", "--public-key", "AAAA", &k]);
        assert_eq!(code, 2, "{out}");
        // A checked key never grants anything: status still runs as open source.
        assert!(sb.run(&["status"]).1.starts_with("Edition:   Open Source"));
    }

    #[test]
    fn install_writes_user_file_and_shows_status() {
        let sb = Sandbox::new();
        let k = key(Tier::Enterprise, EXP, None);
        let (code, out) = sb.run(&["install", &k]);
        assert_eq!(code, 0, "{out}");
        insta::assert_snapshot!(out);
        assert_eq!(
            crate::lookup::read_key_file(&sb.user_file()).expect("read"),
            Some(k.clone())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode(&sb.user_file()), 0o600);
            assert_eq!(mode(sb.user_file().parent().expect("dir")), 0o700);
        }
    }

    #[test]
    fn install_notes_shadowing_and_system() {
        let k = key(Tier::EnterprisePlus, 0, None);
        let sb = Sandbox::new().set("PARALLAX_LICENSE_KEY", "x.y");
        let (code, out) = sb.run(&["install", &k]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.ends_with(
                "note: PARALLAX_LICENSE_KEY takes precedence over \
                 [TMP]/config/prism/license.key, so the installed key is not used\n"
            ),
            "{out}"
        );
        let sb = Sandbox::new();
        let (code, out) = sb.run(&["install", "--system", &k]);
        assert_eq!(code, 0, "{out}");
        assert!(sb.system_file().is_file());
        assert!(out.contains("Edition:   Enterprise Plus\n"), "{out}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let meta = std::fs::metadata(sb.system_file()).expect("meta");
            assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        }
    }

    #[test]
    fn install_refuses_invalid_and_expired() {
        let sb = Sandbox::new();
        assert_eq!(
            sb.run(&["install", "PARALLAX-PLUS-1"]),
            (
                1,
                "error: invalid: Legacy prefix-based license key detected. Prefix keys are \
                 deprecated and no longer grant enterprise features.\n"
                    .into()
            )
        );
        let expired = key(Tier::Enterprise, NOW - 1, None);
        let (code, out) = sb.run(&["install", &expired]);
        assert_eq!(code, 1, "{out}");
        assert_eq!(
            out,
            "error: expired on 2026-11-23T00:31:53Z (use --force to install it anyway)\n"
        );
        assert!(!sb.user_file().exists());
        let (code, out) = sb.run(&["install", "--force", &expired]);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("State:     expired on 2026-11-23T00:31:53Z\n"),
            "{out}"
        );
    }

    #[test]
    fn issue_round_trips() {
        let sb = Sandbox::new();
        let pem = signer().to_pkcs8_pem(LineEnding::LF).expect("pem");
        let pem_path = sb.write("vendor.pem", &pem);
        let pem_arg = pem_path.display().to_string();
        let (code, out) = sb.run(&[
            "issue",
            "--private-key",
            &pem_arg,
            "--tier",
            "enterprise",
            "--org",
            "Test Corp",
            "--sub",
            "org_test_001",
            "--iat",
            "2026-11-23T00:31:54Z",
            "--exp",
            "2036-11-20T00:31:54Z",
            "--cluster",
            "prod-us-east-1",
        ]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(
            out,
            format!("{}\n", key(Tier::Enterprise, EXP, Some("prod-us-east-1")))
        );

        let seed_path = sb.path("vendor.seed");
        std::fs::write(&seed_path, signer().to_bytes()).expect("write seed");
        let seed_arg = seed_path.display().to_string();
        let base = ["issue", "--key", &seed_arg, "--tier", "enterprise-plus"];
        let run_issue = |extra: &[&str]| {
            let args: Vec<&str> = base.iter().chain(extra).copied().collect();
            sb.run(&args)
        };
        let (code, out) = run_issue(&["--org", "O", "--sub", "S", "--exp", "never"]);
        assert_eq!(code, 0, "{out}");
        let trusted = TrustedKey::from(signer().verifying_key());
        let c = verify(out.trim(), &trusted).expect("valid");
        assert_eq!((c.iat, c.exp, c.tier), (NOW, 0, Tier::EnterprisePlus));
        let (_, out) = run_issue(&["--org", "O", "--sub", "S"]);
        let c = verify(out.trim(), &trusted).expect("valid");
        assert_eq!(c.exp, NOW + DEFAULT_VALIDITY_SECS);
        assert_eq!(run_issue(&["--org", " ", "--sub", "S"]).0, 2);
        assert_eq!(
            run_issue(&["--org", "O", "--sub", "S", "--exp", "later"]).0,
            2
        );
        assert_eq!(run_issue(&["--org", "O"]).0, 2, "--sub is required");
        let (code, out) = sb.run(&[
            "issue",
            "--private-key",
            "/missing.pem",
            "--tier",
            "enterprise",
            "--org",
            "O",
            "--sub",
            "S",
        ]);
        assert_eq!(code, 1, "{out}");
        assert!(out.starts_with("error: cannot read private key file /missing.pem"));
        let (code, out) = sb.run(&[
            "issue", "--key", &seed_arg, "--tier", "free", "--org", "O", "--sub", "S",
        ]);
        assert_eq!(code, 2);
        assert!(out.contains("unknown tier `free`"), "{out}");
    }
}
