//! The seed files: `.prism`, `.yaml` and `.yml` files under the given folders, read once,
//! deduplicated by content and sorted by path so a campaign is reproducible.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// One seed file.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its extension (`prism`, `yaml` or `yml`), kept by the inputs derived from it.
    pub ext: String,
}

/// Seeds larger than this are skipped (deep-nesting mutations make inputs large enough).
const MAX_SEED_BYTES: usize = 256 * 1024;

/// Reads every seed under `dirs` (files given directly are taken as they are).
pub fn collect(dirs: &[PathBuf]) -> Vec<Seed> {
    let mut paths = Vec::new();
    for d in dirs {
        walk(d, &mut paths);
    }
    paths.sort();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for path in paths {
        let Some(ext) = seed_ext(&path) else { continue };
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if bytes.is_empty() || bytes.len() > MAX_SEED_BYTES || !seen.insert(bytes.clone()) {
            continue;
        }
        out.push(Seed { path, bytes, ext });
    }
    out
}

fn seed_ext(path: &Path) -> Option<String> {
    let ext = path.extension()?.to_str()?;
    matches!(ext, "prism" | "yaml" | "yml").then(|| ext.to_string())
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        let p = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || name == "target" {
            continue;
        }
        if p.is_dir() {
            walk(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}
