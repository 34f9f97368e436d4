//! At home in a shell (issue 16): the generated man page and completions,
//! usage errors in the contract's one line.

use std::process::Command;

use crate::support::*;

/// Runs a tool the test needs from the machine; missing, the test fails
/// saying which Debian package to install (`.ci/run` installs them).
fn tool(cmd: &mut Command, package: &str) -> std::process::Output {
    cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {:?} ({e}): apt-get install {package}",
            cmd.get_program()
        )
    })
}

fn generate(kind: &str) -> Vec<u8> {
    let run = rawget(&["--generate", kind]);
    assert_eq!(run.code, 0, "--generate {kind}: {}", run.stderr);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    run.stdout
}

#[test]
fn the_man_page_renders_with_man_and_lists_every_flag() {
    let dir = scratch();
    let page = dir.path().join("rawget.1");
    std::fs::write(&page, generate("man")).unwrap();
    let out = tool(
        Command::new("man")
            .arg("--warnings")
            .arg("-l")
            .arg(&page)
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "")
            .env_remove("MANPAGER")
            .env_remove("PAGER"),
        "man-db groff-base",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "man -l failed: {stderr}");
    // groff's warnings (a bad macro, an unknown escape) go to stderr.
    assert!(stderr.trim().is_empty(), "man -l warned: {stderr}");
    for want in [
        "NAME",
        "rawget - Show HTTP exactly as it crosses the wire",
        "--max-redirs",
        "--save-raw",
        "--generate",
        "echo-server",
    ] {
        assert!(
            text.contains(want),
            "the rendered page lacks {want:?}:\n{text}"
        );
    }
}

#[test]
fn the_bash_completion_parses_and_completes_a_flag() {
    let dir = scratch();
    let script = dir.path().join("rawget.bash");
    std::fs::write(&script, generate("complete-bash")).unwrap();
    let parse = tool(Command::new("bash").arg("-n").arg(&script), "bash");
    assert!(
        parse.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&parse.stderr)
    );
    // Loaded, it completes `rawget --max-re` to the one flag that fits.
    let complete = tool(
        Command::new("bash")
            .arg("-c")
            .arg(
                r#"source "$1"; COMP_WORDS=(rawget --max-re); COMP_CWORD=1;
                   _rawget rawget --max-re rawget; printf '%s\n' "${COMPREPLY[@]}""#,
            )
            .arg("bash")
            .arg(&script),
        "bash",
    );
    let words = String::from_utf8_lossy(&complete.stdout);
    assert_eq!(
        words.split_whitespace().collect::<Vec<_>>(),
        ["--max-redirs"],
        "stderr: {}",
        String::from_utf8_lossy(&complete.stderr)
    );
}

#[test]
fn zsh_fish_and_powershell_completions_are_produced() {
    for (kind, marker) in [
        ("complete-zsh", "#compdef rawget"),
        ("complete-fish", "complete -c rawget"),
        ("complete-powershell", "Register-ArgumentCompleter"),
    ] {
        let text = String::from_utf8(generate(kind)).unwrap();
        assert!(text.contains(marker), "{kind} lacks {marker:?}");
        assert!(text.contains("max-redirs"), "{kind} lacks --max-redirs");
        assert!(text.contains("echo-server"), "{kind} lacks echo-server");
    }
}

#[test]
fn an_unknown_generate_kind_is_a_usage_error() {
    let run = rawget(&["--generate", "tcsh"]);
    assert_eq!(run.code, 2);
    let line = run.error_line();
    assert!(line.contains("'tcsh' for --generate"), "{line}");
    assert!(line.contains("complete-bash"), "{line}");
}

#[test]
fn usage_errors_are_one_line_naming_the_flag() {
    let cases: [(&[&str], &str); 6] = [
        (&["--nope", "http://127.0.0.1:9/"], "unknown option --nope"),
        (&["--max-redir", "3", "x"], "did you mean --max-redirs?"),
        (&["-m", "soon", "x"], "invalid value 'soon' for --max-time"),
        (&["x", "-o"], "--output needs a value"),
        (&[], "no URL given"),
        (
            &["replay", "f", "--reset", "--hang"],
            "--reset cannot be used with --hang",
        ),
    ];
    for (args, want) in cases {
        let run = rawget(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        let line = run.error_line();
        assert!(line.contains(want), "{args:?}: {line:?} lacks {want:?}");
        assert!(run.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_subcommand_after_a_fetch_flag_is_not_taken_for_a_host() {
    for sub in ["echo-server", "echo-client", "replay"] {
        let run = rawget(&["-v", sub]);
        assert_eq!(run.code, 2, "{sub}: {}", run.stderr);
        // One line and nothing else: no `* resolving echo-server`.
        let line = run.error_line();
        assert!(
            line.contains(&format!("`rawget {sub} [OPTIONS]`")),
            "{line}"
        );
    }
    // The host of that name is still reachable when written as a URL: it
    // is resolved (and, here, pinned to a closed port: exit 7, not 2).
    let closed = closed_addr();
    let run = rawget(&[
        "--resolve",
        &format!("replay:{}:127.0.0.1", closed.port()),
        &format!("http://replay:{}/", closed.port()),
    ]);
    assert_eq!(run.code, 7, "{}", run.stderr);
}

#[test]
fn help_and_version_still_print_on_stdout_with_exit_0() {
    let run = rawget(&["--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout_str().contains("--generate <KIND>"));
    let run = rawget(&["--version"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout_str(),
        format!("rawget {}\n", env!("CARGO_PKG_VERSION"))
    );
}
