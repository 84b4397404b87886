//! `prism license`: status, verify, install and (for the vendor) issue keys.

use std::process::ExitCode;

pub use prism_license::cli::LicenseCommand;

/// Runs `prism license …`.
pub fn run(cmd: LicenseCommand) -> ExitCode {
    let mut out = std::io::stdout();
    match prism_license::cli::run(cmd, &mut out) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
