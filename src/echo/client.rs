//! Placeholder: replaced by the echo work.

use crate::cli::*;

/// Not built yet.
pub fn run(_args: &EchoClientArgs) -> crate::Result<()> {
    Err(crate::Error::new(
        crate::ErrorKind::Usage,
        "echo-client is not built yet",
    ))
}
