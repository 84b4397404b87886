//! Where the key comes from (license.md "Where the key comes from").
//!
//! Sources, first that yields a non-empty key wins; a bad key does not fall through:
//! 1. `PRISM_LICENSE_KEY`, then `PARALLAX_LICENSE_KEY` (empty = unset);
//! 2. the file named by `PRISM_LICENSE_FILE` (set but unreadable → `license file not found`);
//! 3. the user file `<config dir>/prism/license.key` ([`Locations::from_env`]);
//! 4. the system file `/etc/prism/license.key` (Unix).
//!
//! The environment is passed in as a lookup function so tests never mutate the process
//! environment; [`process_env`] is the real one.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// The primary key variable.
pub const ENV_KEY: &str = "PRISM_LICENSE_KEY";
/// The Parallax-compatible key variable, used when [`ENV_KEY`] is unset.
pub const ENV_KEY_PARALLAX: &str = "PARALLAX_LICENSE_KEY";
/// The variable naming a license file.
pub const ENV_FILE: &str = "PRISM_LICENSE_FILE";
/// The system license file on Unix.
pub const SYSTEM_FILE: &str = "/etc/prism/license.key";

/// An environment lookup: the value of a variable, or `None` when unset.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as an [`EnvLookup`] (non-UTF-8 values count as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Where a key was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// An environment variable (its name).
    Env(&'static str),
    /// The file named by `PRISM_LICENSE_FILE`.
    EnvFile(PathBuf),
    /// The user license file.
    UserFile(PathBuf),
    /// The system license file.
    SystemFile(PathBuf),
}

impl KeySource {
    /// The file the key came from, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            KeySource::Env(_) => None,
            KeySource::EnvFile(p) | KeySource::UserFile(p) | KeySource::SystemFile(p) => Some(p),
        }
    }
}

impl fmt::Display for KeySource {
    /// The variable name or the file path, as the warning and `status` show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Env(name) => f.write_str(name),
            KeySource::EnvFile(p) | KeySource::UserFile(p) | KeySource::SystemFile(p) => {
                write!(f, "{}", p.display())
            }
        }
    }
}

/// The license file locations of this platform.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Locations {
    /// `<config dir>/prism/license.key`, if a config dir can be determined.
    pub user_file: Option<PathBuf>,
    /// `/etc/prism/license.key` on Unix, `None` elsewhere.
    pub system_file: Option<PathBuf>,
}

impl Locations {
    /// The platform's locations, from the given environment: `$XDG_CONFIG_HOME/prism/license.key`
    /// (default `~/.config/prism/license.key`) on Linux and other Unixes,
    /// `~/Library/Application Support/prism/license.key` on macOS,
    /// `%APPDATA%\prism\license.key` on Windows; the system file on Unix.
    pub fn from_env(env: EnvLookup<'_>) -> Locations {
        Locations {
            user_file: user_config_dir(env).map(|d| d.join("prism").join("license.key")),
            system_file: cfg!(unix).then(|| PathBuf::from(SYSTEM_FILE)),
        }
    }
}

fn non_empty(env: EnvLookup<'_>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

fn user_config_dir(env: EnvLookup<'_>) -> Option<PathBuf> {
    if cfg!(windows) {
        non_empty(env, "APPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        non_empty(env, "HOME").map(|h| PathBuf::from(h).join("Library/Application Support"))
    } else {
        non_empty(env, "XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| non_empty(env, "HOME").map(|h| PathBuf::from(h).join(".config")))
    }
}

/// A key taken from the first source that yielded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundKey {
    /// Where it came from.
    pub source: KeySource,
    /// The key text, or why the source could not be read (the `invalid` reason).
    pub key: Result<String, String>,
    /// Remarks for `status`: a shadowed variable, a license file others can read.
    pub notes: Vec<String>,
}

/// The key of a license file's text: its first line that is neither empty nor a `#` comment.
pub fn key_from_text(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
}

/// Reads a license file: `Ok(None)` when it holds no key line.
pub fn read_key_file(path: &Path) -> io::Result<Option<String>> {
    // A FIFO or device would block or never end: only a regular file is read.
    if !std::fs::metadata(path)?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let bytes = std::fs::read(path)?;
    Ok(key_from_text(&String::from_utf8_lossy(&bytes)))
}

/// Finds the key by the spec's precedence. `None` means no source yielded a key (silent open
/// source). Reads files but never fails: an unreadable file becomes an `Err` reason.
pub fn find_key(env: EnvLookup<'_>, locations: &Locations) -> Option<FoundKey> {
    let prism = non_empty(env, ENV_KEY);
    let parallax = non_empty(env, ENV_KEY_PARALLAX);
    match (prism, parallax) {
        (Some(key), other) => {
            let notes = other
                .map(|_| format!("{ENV_KEY_PARALLAX} is also set and ignored ({ENV_KEY} wins)"))
                .into_iter()
                .collect();
            return Some(FoundKey {
                source: KeySource::Env(ENV_KEY),
                key: Ok(key.trim().to_owned()),
                notes,
            });
        }
        (None, Some(key)) => {
            return Some(FoundKey {
                source: KeySource::Env(ENV_KEY_PARALLAX),
                key: Ok(key.trim().to_owned()),
                notes: Vec::new(),
            });
        }
        (None, None) => {}
    }
    if let Some(path) = non_empty(env, ENV_FILE).map(PathBuf::from) {
        match read_key_file(&path) {
            Ok(Some(key)) => return Some(found(KeySource::EnvFile(path), Ok(key))),
            Ok(None) => {}
            Err(_) => {
                let reason = format!("license file not found: {}", path.display());
                return Some(found(KeySource::EnvFile(path), Err(reason)));
            }
        }
    }
    let files = [
        locations.user_file.clone().map(KeySource::UserFile),
        locations.system_file.clone().map(KeySource::SystemFile),
    ];
    for source in files.into_iter().flatten() {
        let Some(path) = source.path() else { continue };
        match read_key_file(path) {
            Ok(Some(key)) => {
                let mut hit = found(source.clone(), Ok(key));
                if let KeySource::UserFile(path) = &source {
                    hit.notes.extend(permission_warning(path));
                }
                return Some(hit);
            }
            Ok(None) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                let reason = format!("license file not readable: {}: {e}", path.display());
                return Some(found(source, Err(reason)));
            }
        }
    }
    None
}

fn found(source: KeySource, key: Result<String, String>) -> FoundKey {
    FoundKey {
        source,
        key,
        notes: Vec::new(),
    }
}

/// A warning when a license file can be read or written by other users (Unix mode & 077).
pub fn permission_warning(path: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then(|| {
            format!(
                "warning: license file {} is accessible by other users (mode {mode:04o}); \
                 restrict it with `chmod 600 {}`",
                path.display(),
                path.display()
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn write(path: &Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        locations: Locations,
        env_file: PathBuf,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let locations = Locations {
            user_file: Some(dir.path().join("user/prism/license.key")),
            system_file: Some(dir.path().join("etc/prism/license.key")),
        };
        let env_file = dir.path().join("named.key");
        Fixture {
            _dir: dir,
            locations,
            env_file,
        }
    }

    fn found_source(
        env: &[(&str, &str)],
        fx: &Fixture,
    ) -> Option<(String, Result<String, String>)> {
        let env = env_of(env);
        find_key(&env, &fx.locations).map(|f| (f.source.to_string(), f.key))
    }

    #[test]
    fn key_file_first_meaningful_line() {
        assert_eq!(
            key_from_text("# c\n\n  abc.def  \nxyz\n"),
            Some("abc.def".into())
        );
        assert_eq!(key_from_text("#only\n   \n"), None);
        assert_eq!(key_from_text("k\r\n"), Some("k".into()));
    }

    #[test]
    fn nothing_anywhere_is_none() {
        let fx = fixture();
        assert_eq!(found_source(&[], &fx), None);
        assert_eq!(
            found_source(&[(ENV_KEY, ""), (ENV_KEY_PARALLAX, " ")], &fx),
            None
        );
    }

    #[test]
    fn precedence_env_then_env_file_then_user_then_system() {
        let fx = fixture();
        let user = fx.locations.user_file.clone().expect("user");
        let system = fx.locations.system_file.clone().expect("system");
        write(&system, "system-key\n");
        assert_eq!(
            found_source(&[], &fx),
            Some((system.display().to_string(), Ok("system-key".into())))
        );
        write(&user, "# my key\nuser-key\n");
        assert_eq!(
            found_source(&[], &fx),
            Some((user.display().to_string(), Ok("user-key".into())))
        );
        write(&fx.env_file, "file-key");
        let file_env = fx.env_file.display().to_string();
        let env = [(ENV_FILE, file_env.as_str())];
        assert_eq!(
            found_source(&env, &fx),
            Some((file_env.clone(), Ok("file-key".into())))
        );
        let env = [(ENV_FILE, file_env.as_str()), (ENV_KEY_PARALLAX, "px")];
        assert_eq!(
            found_source(&env, &fx),
            Some((ENV_KEY_PARALLAX.into(), Ok("px".into())))
        );
        let env = [(ENV_KEY_PARALLAX, "px"), (ENV_KEY, " pk ")];
        assert_eq!(
            found_source(&env, &fx),
            Some((ENV_KEY.into(), Ok("pk".into())))
        );
    }

    #[test]
    fn both_variables_set_is_noted() {
        let fx = fixture();
        let env = env_of(&[(ENV_KEY_PARALLAX, "px"), (ENV_KEY, "pk")]);
        let hit = find_key(&env, &fx.locations).expect("found");
        assert_eq!(
            hit.notes,
            ["PARALLAX_LICENSE_KEY is also set and ignored (PRISM_LICENSE_KEY wins)"]
        );
    }

    #[test]
    fn bad_source_does_not_fall_through() {
        let fx = fixture();
        let user = fx.locations.user_file.clone().expect("user");
        write(&user, "user-key");
        let missing = fx.env_file.display().to_string();
        let hit = found_source(&[(ENV_FILE, &missing)], &fx);
        assert_eq!(
            hit,
            Some((
                missing.clone(),
                Err(format!("license file not found: {missing}"))
            ))
        );
        // A directory where the user file should be is unreadable, not absent.
        let fx = fixture();
        let user = fx.locations.user_file.clone().expect("user");
        std::fs::create_dir_all(&user).expect("mkdir");
        write(
            &fx.locations.system_file.clone().expect("system"),
            "system-key",
        );
        let (source, key) = found_source(&[], &fx).expect("found");
        assert_eq!(source, user.display().to_string());
        assert!(
            key.expect_err("unreadable")
                .starts_with("license file not readable: ")
        );
    }

    #[test]
    fn files_without_a_key_line_fall_through() {
        let fx = fixture();
        write(&fx.env_file, "# nothing here\n");
        write(&fx.locations.user_file.clone().expect("user"), "\n\n");
        write(&fx.locations.system_file.clone().expect("system"), "sys");
        let env_file = fx.env_file.display().to_string();
        let (_, key) = found_source(&[(ENV_FILE, &env_file)], &fx).expect("found");
        assert_eq!(key, Ok("sys".into()));
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_user_file_warns() {
        use std::os::unix::fs::PermissionsExt as _;
        let fx = fixture();
        let user = fx.locations.user_file.clone().expect("user");
        write(&user, "k");
        let env = env_of(&[]);
        assert!(
            find_key(&env, &fx.locations)
                .expect("found")
                .notes
                .is_empty()
        );
        std::fs::set_permissions(&user, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let notes = find_key(&env, &fx.locations).expect("found").notes;
        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("accessible by other users (mode 0644)"),
            "{notes:?}"
        );
    }

    #[test]
    fn platform_locations() {
        let env = env_of(&[("HOME", "/home/u"), ("APPDATA", "C:\\AppData")]);
        let loc = Locations::from_env(&env);
        let user = loc.user_file.expect("user file");
        if cfg!(windows) {
            assert!(user.starts_with("C:\\AppData"));
        } else if cfg!(target_os = "macos") {
            assert_eq!(
                user,
                Path::new("/home/u/Library/Application Support/prism/license.key")
            );
        } else {
            assert_eq!(user, Path::new("/home/u/.config/prism/license.key"));
            let env = env_of(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "/xdg")]);
            let user = Locations::from_env(&env).user_file.expect("user file");
            assert_eq!(user, Path::new("/xdg/prism/license.key"));
            // A relative XDG_CONFIG_HOME is ignored, as the XDG spec says.
            let env = env_of(&[("HOME", "/home/u"), ("XDG_CONFIG_HOME", "rel")]);
            let user = Locations::from_env(&env).user_file.expect("user file");
            assert_eq!(user, Path::new("/home/u/.config/prism/license.key"));
            assert_eq!(Locations::from_env(&env_of(&[])).user_file, None);
        }
        if cfg!(unix) {
            assert_eq!(loc.system_file.as_deref(), Some(Path::new(SYSTEM_FILE)));
        }
    }
}
