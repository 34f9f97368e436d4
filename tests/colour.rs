//! Colour on a terminal (issue 16 item 5), through a pseudo-terminal, and
//! its absence on pipes, in files and in the body.

use crate::support::*;

/// The status code of ok.http (200) in green, and a header name in cyan.
const GREEN_200: &str = "HTTP/1.1 \x1b[1;32m200 OK\x1b[0m";
const CYAN_NAME: &str = "\x1b[1;36mContent-Length\x1b[0m: ";

/// Whether `text` holds an SGR escape (`ESC [ digits ; m`), colour or
/// dim; the progress bar's erase-line (`ESC [ K`) is not one.
fn has_colour(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            let params = r.trim_start_matches(|c: char| c.is_ascii_digit() || c == ';');
            params.starts_with('m')
        })
    })
}

#[test]
fn a_head_on_a_terminal_is_coloured_and_the_files_are_not() {
    let server = serve_fixture("ok.http");
    let dir = scratch();
    let Some((code, screen)) = run_on_a_terminal(
        dir.path(),
        &[
            "-D",
            "head.txt",
            "--save-raw",
            "raw",
            "-o",
            "body",
            &server.url("/"),
        ],
    ) else {
        return cannot_run_here("no pseudo-terminal");
    };
    assert_eq!(code, 0, "{screen:?}");
    assert!(screen.contains(GREEN_200), "{screen:?}");
    assert!(screen.contains(CYAN_NAME), "{screen:?}");
    let ok = fixture("ok.http");
    assert_eq!(
        std::fs::read(dir.path().join("head.txt")).unwrap(),
        head_of(&ok)
    );
    assert_eq!(std::fs::read(dir.path().join("raw")).unwrap(), ok);
    assert_eq!(
        std::fs::read(dir.path().join("body")).unwrap(),
        body_of(&ok)
    );
}

#[test]
fn verbose_prefixes_are_dimmed_on_a_terminal() {
    let server = serve_fixture("ok.http");
    let dir = scratch();
    let Some((code, screen)) =
        run_on_a_terminal(dir.path(), &["-v", "-o", "body", &server.url("/")])
    else {
        return cannot_run_here("no pseudo-terminal");
    };
    assert_eq!(code, 0, "{screen:?}");
    for prefix in ["* ", "> ", "< "] {
        assert!(
            screen.contains(&format!("\x1b[2m{prefix}\x1b[0m")),
            "{prefix:?}: {screen:?}"
        );
    }
}

#[test]
fn no_color_and_color_never_turn_it_off_on_a_terminal() {
    let server = serve_fixture("ok.http");
    let dir = scratch();
    for (envs, args) in [
        (&[("NO_COLOR", "1")][..], &["-v", "-o", "body"][..]),
        (&[][..], &["--color", "never", "-v", "-o", "body"][..]),
        (&[("TERM", "dumb")][..], &["-o", "body"][..]),
    ] {
        let url = server.url("/");
        let all: Vec<&str> = args.iter().copied().chain([url.as_str()]).collect();
        let Some((code, screen)) = run_on_a_terminal_with(dir.path(), envs, &all) else {
            return cannot_run_here("no pseudo-terminal");
        };
        assert_eq!(code, 0, "{screen:?}");
        assert!(
            screen.contains("HTTP/1.1 200 OK"),
            "{envs:?} {args:?}: {screen:?}"
        );
        assert!(!has_colour(&screen), "{envs:?} {args:?}: {screen:?}");
    }
}

#[test]
fn never_on_a_pipe_unless_always() {
    let server = serve_fixture("ok.http");
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-v", "-o", "body", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        !run.stdout.contains(&0x1b) && !run.stderr.contains('\x1b'),
        "{run:?}"
    );
    assert_eq!(run.stdout, head_of(&fixture("ok.http")));

    let run = rawget_in(
        dir.path(),
        &["--color", "always", "-o", "body", &server.url("/")],
    );
    assert!(run.stdout_str().contains(GREEN_200), "{run:?}");
    assert_eq!(
        std::fs::read(dir.path().join("body")).unwrap(),
        body_of(&fixture("ok.http"))
    );
}
