//! `rawget --generate KIND`: the man page and the shell completions, built
//! from the clap definitions in `cli.rs` at run time (as ripgrep does), so
//! they say exactly what `--help` says and never drift from it.
//!
//! Each is rendered into memory and written to stdout in one piece; a
//! failed write is exit 23, like any other output.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateKind};
use crate::error::{Error, ErrorKind, Result};
use crate::output::StdStream;

/// Renders `kind` and writes it to stdout.
pub fn run(kind: GenerateKind) -> Result<()> {
    let text = render(kind)?;
    StdStream::stdout().write_all(&text)
}

/// The bytes of the man page (roff) or of one shell's completion script.
pub fn render(kind: GenerateKind) -> Result<Vec<u8>> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    let shell = match kind {
        GenerateKind::Man => {
            // Writing into a Vec cannot fail; the error path is kept
            // anyway so that no unwrap sits on it.
            clap_mangen::Man::new(cmd).render(&mut out).map_err(|e| {
                Error::new(ErrorKind::Write, "could not render the man page").with_source(e)
            })?;
            return Ok(out);
        }
        GenerateKind::CompleteBash => Shell::Bash,
        GenerateKind::CompleteZsh => Shell::Zsh,
        GenerateKind::CompleteFish => Shell::Fish,
        GenerateKind::CompletePowershell => Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut cmd, "rawget", &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_reaches_the_man_page_and_each_completion() {
        let man = String::from_utf8(render(GenerateKind::Man).unwrap()).unwrap();
        // roff escapes '-' as '\-'.
        for flag in ["\\-\\-max\\-redirs", "\\-\\-generate", "echo\\-server"] {
            assert!(man.contains(flag), "man page lacks {flag}");
        }
        for kind in [
            GenerateKind::CompleteBash,
            GenerateKind::CompleteZsh,
            GenerateKind::CompleteFish,
            GenerateKind::CompletePowershell,
        ] {
            let text = String::from_utf8(render(kind).unwrap()).unwrap();
            assert!(text.contains("max-redirs"), "{kind:?} lacks --max-redirs");
            assert!(text.contains("save-raw"), "{kind:?} lacks --save-raw");
        }
    }
}
