//! Where `print` and `console.*` write: whole lines through the [`Output`] trait.

use std::cell::RefCell;
use std::io::{BufWriter, Stdout, Write};
use std::rc::Rc;

/// A sink for program output, one whole line per call (without the newline).
pub trait Output {
    /// Writes a line to standard output.
    fn stdout(&mut self, line: &str);
    /// Writes a line to standard error.
    fn stderr(&mut self, line: &str);
    /// Flushes buffered output.
    fn flush(&mut self) {}
}

/// The process's real standard output (buffered, flushed at the end and before every write to
/// standard error) and standard error.
pub struct StdOutput {
    out: BufWriter<Stdout>,
}

impl StdOutput {
    /// Output to the process's stdout and stderr.
    pub fn new() -> Self {
        StdOutput {
            out: BufWriter::with_capacity(64 * 1024, std::io::stdout()),
        }
    }
}

impl Default for StdOutput {
    fn default() -> Self {
        Self::new()
    }
}

impl Output for StdOutput {
    fn stdout(&mut self, line: &str) {
        // A closed pipe is not the program's fault: drop the output.
        let _ = self.out.write_all(line.as_bytes());
        let _ = self.out.write_all(b"\n");
    }

    fn stderr(&mut self, line: &str) {
        let _ = self.out.flush();
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.write_all(b"\n");
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }
}

impl Drop for StdOutput {
    fn drop(&mut self) {
        let _ = self.out.flush();
    }
}

/// Output captured in memory (for tests and embedding). Clones share the same buffers.
#[derive(Clone, Default)]
pub struct CaptureOutput {
    /// Everything written to stdout, each line followed by `\n`.
    pub out: Rc<RefCell<String>>,
    /// Everything written to stderr, each line followed by `\n`.
    pub err: Rc<RefCell<String>>,
}

impl CaptureOutput {
    /// Empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The captured stdout so far.
    pub fn stdout_text(&self) -> String {
        self.out.borrow().clone()
    }

    /// The captured stderr so far.
    pub fn stderr_text(&self) -> String {
        self.err.borrow().clone()
    }
}

impl Output for CaptureOutput {
    fn stdout(&mut self, line: &str) {
        let mut out = self.out.borrow_mut();
        out.push_str(line);
        out.push('\n');
    }

    fn stderr(&mut self, line: &str) {
        let mut err = self.err.borrow_mut();
        err.push_str(line);
        err.push('\n');
    }
}
