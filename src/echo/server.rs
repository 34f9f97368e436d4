//! Placeholder: replaced by the echo work.

use crate::cli::*;

/// Not built yet.
pub fn run(_args: &EchoServerArgs) -> crate::Result<()> {
    Err(crate::Error::new(
        crate::ErrorKind::Usage,
        "echo-server is not built yet",
    ))
}
