//! Reading source files: only regular files are read. A FIFO, a device or a socket given as
//! a source (on the command line, in an import, as an agents file) would block or never end;
//! it is refused before it is opened.

use std::io;
use std::path::Path;

/// The text of the regular file at `path`; a FIFO, device, socket or folder is an
/// [`io::ErrorKind::InvalidInput`] error, checked before the file is opened.
pub fn read_source(path: &Path) -> io::Result<String> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a folder, FIFO, device or socket is not read)",
        ));
    }
    std::fs::read_to_string(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("prism-fifo-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let fifo = dir.join("f.prism");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = read_source(&fifo).err().map(|e| e.kind());
            assert_eq!(err, Some(io::ErrorKind::InvalidInput));
        }
        assert!(read_source(&dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
