//! Installing a key as a license file (`prism license install`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::claims::Claims;
use crate::timefmt::format_rfc3339;
use crate::trusted::TrustedKey;
use crate::verify::{LicenseError, verify};

/// File and directory modes, and whether expired keys are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstallOptions {
    /// Install an authentic but expired key.
    pub force: bool,
    /// Unix mode of the license file.
    pub file_mode: u32,
    /// Unix mode of directories created for it.
    pub dir_mode: u32,
}

impl InstallOptions {
    /// The user file: directory 0700, file 0600.
    pub const USER: InstallOptions = InstallOptions {
        force: false,
        file_mode: 0o600,
        dir_mode: 0o700,
    };
    /// The system file `/etc/prism/license.key`: directory 0755, file 0640.
    pub const SYSTEM: InstallOptions = InstallOptions {
        force: false,
        file_mode: 0o640,
        dir_mode: 0o755,
    };

    /// The same options, accepting expired keys if `force`.
    pub fn force(self, force: bool) -> InstallOptions {
        InstallOptions { force, ..self }
    }
}

/// Why a key was not installed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The key does not verify.
    #[error("invalid: {0}")]
    Invalid(#[from] LicenseError),
    /// The key is authentic but expired and `force` was not given.
    #[error("expired on {} (use --force to install it anyway)", format_rfc3339(*.0))]
    Expired(i64),
    /// Writing the file failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Verifies `key` against `trusted` at `now`, then writes it to `dest` atomically (a temporary
/// file in the same directory, synced, renamed over `dest`) with `options`' modes, creating
/// missing parent directories. Returns the key's claims.
pub fn install(
    key: &str,
    dest: &Path,
    trusted: &TrustedKey,
    now: i64,
    options: InstallOptions,
) -> Result<Claims, InstallError> {
    let key = key.trim();
    let claims = verify(key, trusted)?;
    if claims.is_expired_at(now) && !options.force {
        return Err(InstallError::Expired(claims.exp));
    }
    write_atomic(dest, &format!("{key}\n"), options)
        .map_err(|(path, source)| InstallError::Io { path, source })?;
    Ok(claims)
}

type IoFail = (PathBuf, std::io::Error);

fn write_atomic(dest: &Path, text: &str, options: InstallOptions) -> Result<(), IoFail> {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    create_dirs(&dir, options.dir_mode).map_err(|e| (dir.clone(), e))?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "license.key".to_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let _ = std::fs::remove_file(&tmp);
        let mut file = open_new(&tmp, options.file_mode)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        set_mode(&tmp, options.file_mode)?;
        std::fs::rename(&tmp, dest)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err((dest.to_owned(), e));
    }
    Ok(())
}

#[cfg(unix)]
fn create_dirs(dir: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dirs(dir: &Path, _mode: u32) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_new(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
}

#[cfg(not(unix))]
fn open_new(path: &Path, _mode: u32) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Sets the exact mode (the creation mode was filtered by the umask).
#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edition::Tier;
    use crate::issue::issue;
    use crate::lookup::read_key_file;
    use ed25519_dalek::SigningKey;

    fn setup(exp: i64) -> (TrustedKey, String) {
        let sk = SigningKey::from_bytes(&[21; 32]);
        let claims = Claims {
            tier: Tier::Enterprise,
            org: "O".into(),
            sub: "S".into(),
            iat: 0,
            exp,
            cluster: None,
        };
        (TrustedKey::from(sk.verifying_key()), issue(&sk, &claims))
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
    }

    #[test]
    fn writes_user_file_with_safe_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("config/prism/license.key");
        let (tk, key) = setup(0);
        let claims =
            install(&format!(" {key}\n"), &dest, &tk, 5, InstallOptions::USER).expect("installed");
        assert_eq!(claims.org, "O");
        assert_eq!(read_key_file(&dest).expect("read"), Some(key.clone()));
        #[cfg(unix)]
        {
            assert_eq!(mode(&dest), 0o600);
            assert_eq!(mode(dest.parent().expect("parent")), 0o700);
        }
        // Replacing an existing, too-open file fixes its mode; no temporary file is left.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        }
        install(&key, &dest, &tk, 5, InstallOptions::USER).expect("reinstalled");
        #[cfg(unix)]
        assert_eq!(mode(&dest), 0o600);
        let entries = std::fs::read_dir(dest.parent().expect("parent"))
            .expect("ls")
            .count();
        assert_eq!(entries, 1);
    }

    #[cfg(unix)]
    #[test]
    fn system_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("etc/prism/license.key");
        let (tk, key) = setup(0);
        install(&key, &dest, &tk, 5, InstallOptions::SYSTEM).expect("installed");
        assert_eq!(mode(&dest), 0o640);
    }

    #[test]
    fn refuses_invalid_and_expired_unless_forced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("license.key");
        let (tk, key) = setup(100);
        let e = install("a.b", &dest, &tk, 5, InstallOptions::USER).expect_err("invalid");
        assert_eq!(e.to_string(), "invalid: Invalid signature");
        let e = install(&key, &dest, &tk, 100, InstallOptions::USER).expect_err("expired");
        assert_eq!(
            e.to_string(),
            "expired on 1970-01-01T00:01:40Z (use --force to install it anyway)"
        );
        assert!(!dest.exists());
        install(&key, &dest, &tk, 100, InstallOptions::USER.force(true)).expect("forced");
        assert!(dest.exists());
    }
}
