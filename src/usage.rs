//! Usage errors in the contract's one line: `rawget: error: …`, exit 2,
//! naming the flag.
//!
//! Clap owns the syntax (`cli.rs`); its errors are multi-line blocks with a
//! usage synopsis and tips. [`one_line`] turns each of clap's error kinds
//! into one sentence from the error's context (the flag, the value, the
//! suggestion), so scripts and people read the same line as for every other
//! failure. [`check`] adds the one rule clap cannot express: a subcommand
//! name typed where the URL goes.

use clap::error::{ContextKind, ContextValue, ErrorKind as ClapKind};

use crate::cli::Cli;

/// The subcommands, as typed; after a fetch flag clap reads them as the URL
/// (`args_conflicts_with_subcommands`), so [`check`] refuses them there.
const SUBCOMMANDS: [&str; 3] = ["echo-server", "echo-client", "replay"];

/// The one-line message (without the `rawget: error: ` prefix) for a clap
/// error that is not `--help` or `--version`.
pub fn one_line(err: &clap::Error) -> String {
    let arg = context(err, ContextKind::InvalidArg).unwrap_or_default();
    let value = context(err, ContextKind::InvalidValue).unwrap_or_default();
    match err.kind() {
        ClapKind::UnknownArgument if arg.starts_with('-') => {
            let hint = match context(err, ContextKind::SuggestedArg) {
                Some(s) if s.starts_with('-') => format!(" (did you mean {s}?)"),
                _ => String::new(),
            };
            format!("unknown option {arg}{hint}; `rawget --help` lists them")
        }
        ClapKind::UnknownArgument => second_url(&arg),
        ClapKind::InvalidSubcommand => second_url(&subcommand(err)),
        // `rawget a b`: clap takes `b` for a subcommand that conflicts
        // with the URL before it.
        ClapKind::ArgumentConflict if arg.is_empty() => second_url(&subcommand(err)),
        ClapKind::ArgumentConflict => {
            let prior = context(err, ContextKind::PriorArg).unwrap_or_default();
            format!("{} cannot be used with {}", flag(&arg), flag(&prior))
        }
        ClapKind::InvalidValue if value.is_empty() => {
            format!("{} needs a value{}", flag(&arg), possible(err))
        }
        ClapKind::InvalidValue => {
            format!(
                "invalid value '{value}' for {}{}",
                flag(&arg),
                possible(err)
            )
        }
        ClapKind::ValueValidation => {
            let why = std::error::Error::source(err)
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            format!("invalid value '{value}' for {}{why}", flag(&arg))
        }
        ClapKind::MissingRequiredArgument if arg.contains("URL") => {
            "no URL given: rawget [OPTIONS] <URL> (`rawget --help` lists the options)".to_string()
        }
        ClapKind::MissingRequiredArgument => format!("missing {}", flag(&arg)),
        ClapKind::NoEquals => format!("{} takes its value after '='", flag(&arg)),
        ClapKind::TooManyValues | ClapKind::WrongNumberOfValues | ClapKind::TooFewValues => {
            format!("wrong number of values for {}", flag(&arg))
        }
        _ => first_line(err),
    }
}

/// A subcommand name in the URL's place: `rawget -v echo-server` would
/// otherwise resolve a host called "echo-server" (exit 6 after a DNS
/// lookup). A host of that name is still reachable as `http://replay/`.
pub fn check(cli: &Cli) -> Result<(), String> {
    if cli.command.is_some() {
        return Ok(());
    }
    let named = cli
        .fetch
        .urls
        .iter()
        .find_map(|url| SUBCOMMANDS.iter().find(|s| **s == url.as_str()));
    match named {
        Some(sub) => Err(format!(
            "'{sub}' is a subcommand, and its flags go after it: `rawget {sub} [OPTIONS]`; \
             for a host of that name write http://{sub}/"
        )),
        None => Ok(()),
    }
}

/// A word clap took for a misplaced subcommand (several URLs are legal).
fn second_url(extra: &str) -> String {
    format!(
        "'{extra}' is not an option or a URL here: a subcommand goes first (`rawget {extra} ...`)"
    )
}

fn subcommand(err: &clap::Error) -> String {
    context(err, ContextKind::InvalidSubcommand).unwrap_or_default()
}

/// A flag as clap names it (`--output <FILE>`), shortened to its name.
fn flag(arg: &str) -> String {
    arg.split_whitespace().next().unwrap_or(arg).to_string()
}

/// `: possible values: a, b` when clap knows them.
fn possible(err: &clap::Error) -> String {
    context(err, ContextKind::ValidValue)
        .filter(|v| !v.is_empty())
        .map(|v| format!(" (possible values: {v})"))
        .unwrap_or_default()
}

fn context(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        other => Some(other.to_string()),
    }
}

/// Clap's own first line, without its `error: ` prefix: for the kinds not
/// mapped above.
fn first_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let line = text.lines().next().unwrap_or("invalid command line");
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// Whether this clap "error" is really `--help` or `--version`, printed in
/// full on stdout with exit 0.
pub fn is_help(err: &clap::Error) -> bool {
    matches!(err.kind(), ClapKind::DisplayHelp | ClapKind::DisplayVersion)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn line(args: &[&str]) -> String {
        let err =
            Cli::try_parse_from(std::iter::once("rawget").chain(args.iter().copied())).unwrap_err();
        one_line(&err)
    }

    #[test]
    fn each_clap_kind_becomes_one_line_naming_the_flag() {
        let cases: [(&[&str], &str); 6] = [
            (&["--zzzzzz", "x"], "unknown option --zzzzzz;"),
            (&["--max-redir", "3", "x"], "(did you mean --max-redirs?)"),
            (&["x", "-o"], "--output needs a value"),
            (&["-m", "abc", "x"], "invalid value 'abc' for --max-time: "),
            (
                &["--generate", "nope"],
                "possible values: man, complete-bash",
            ),
            (&[], "no URL given"),
        ];
        for (args, want) in cases {
            let got = line(args);
            assert!(got.contains(want), "{args:?}: {got:?} lacks {want:?}");
            assert!(!got.contains('\n'), "{args:?}: {got:?} is not one line");
        }
    }

    #[test]
    fn a_subcommand_name_in_the_url_place_is_refused() {
        let cli = Cli::try_parse_from(["rawget", "-v", "echo-server"]).unwrap();
        assert!(check(&cli)
            .unwrap_err()
            .contains("rawget echo-server [OPTIONS]"));
        let cli = Cli::try_parse_from(["rawget", "-v", "http://replay/"]).unwrap();
        assert!(check(&cli).is_ok());
        // Several URLs are legal; a subcommand name among them is not.
        let cli = Cli::try_parse_from(["rawget", "a", "b"]).unwrap();
        assert!(check(&cli).is_ok());
        let cli = Cli::try_parse_from(["rawget", "-s", "a", "replay"]).unwrap();
        assert!(check(&cli).is_err());
    }
}
