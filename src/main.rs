//! `rawget`: parse the command line, run it, report the outcome.
//!
//! This is the only place that exits. Errors are printed as one line,
//! `rawget: error: what: cause`, and mapped to curl's exit codes by
//! [`rawget::ErrorKind::exit_code`]; usage errors from clap too, through
//! [`rawget::usage::one_line`].

use std::process::ExitCode;

fn main() -> ExitCode {
    // -K FILE is replaced by the file's options before clap sees them.
    let args = std::env::args_os().collect();
    let args = match rawget::config::expand(args, &mut std::io::stdin().lock()) {
        Ok(args) => args,
        Err(err) => {
            rawget::output::diag::line(format_args!(
                "rawget: error: {}",
                rawget::error::one_line(&err)
            ));
            return ExitCode::from(err.exit_code() as u8);
        }
    };
    let cli = match rawget::cli::parse_from(args) {
        Ok(cli) => cli,
        Err(err) if rawget::usage::is_help(&err) => {
            // --help and --version: clap prints them on stdout. A closed
            // stdout is then all that can fail, and curl says 23 for that.
            return match err.print() {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(23),
            };
        }
        Err(err) => return usage_error(&rawget::usage::one_line(&err)),
    };
    if let Err(why) = rawget::usage::check(&cli) {
        return usage_error(&why);
    }
    match rawget::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let code = err.chain().find_map(|e| e.downcast_ref::<rawget::Error>());
            if !code.is_some_and(|e| e.is_quiet()) {
                // Through diag: with stderr closed the line is lost, but the
                // exit code still says what happened (eprintln! would panic).
                rawget::output::diag::line(format_args!(
                    "rawget: error: {}",
                    rawget::error::one_line(err.as_ref())
                ));
            }
            // An error without a rawget kind is a bug; report it as curl's generic failure.
            ExitCode::from(code.map_or(1, |e| e.exit_code()) as u8)
        }
    }
}

/// A usage error: one line, exit 2 (the contract's form, not clap's block).
fn usage_error(message: &str) -> ExitCode {
    rawget::output::diag::line(format_args!("rawget: error: {message}"));
    ExitCode::from(rawget::ErrorKind::Usage.exit_code() as u8)
}

/// pow(3) for tokio's scheduler statistics (echo's runtime), the one
/// function rawget would otherwise take from glibc's libm: defined here,
/// the linker (`--as-needed`) drops libm.so, and every start saves the
/// loader's mapping and relocation of it: 0.3 MiB of peak RSS (its IFUNC
/// resolvers touch 5 windows of its code). The libm crate's port of
/// musl's pow; tokio only weighs a moving average of poll times with it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[no_mangle]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
