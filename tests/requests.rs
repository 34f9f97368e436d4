//! Requests as people send them (issue 15): each case is run through the
//! built binary against the recording test server, and, where curl can send
//! the same command, compared byte for byte with what curl (`/usr/bin/curl`,
//! Debian's package) sends. The two differ in two lines only, normalised
//! away: the User-Agent, and rawget's `Connection: close`.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// The curl the tests compare with: Debian's, as users meet it.
const CURL: &str = "/usr/bin/curl";

/// What `program ARGS URL -s -o /dev/null` (run in `dir`, `input` on
/// stdin) sends to the server, normalised.
fn sends(program: &str, dir: &Path, args: &[&str], input: &[u8]) -> String {
    let server = serve_fixture("ok.http");
    let mut cmd = Command::new(program);
    cmd.args(args)
        .arg(server.url("/x"))
        .args(["-s", "-o", "/dev/null"])
        .current_dir(dir);
    let out = run(cmd, input);
    assert_eq!(out.code, 0, "{program} {args:?}: {}", out.stderr);
    let requests = server.wait_requests(1);
    normalise(&requests[0], server.addr())
}

/// One User-Agent and server address for both, and no `Connection: close`
/// (rawget's default, not curl's).
fn normalise(request: &str, addr: std::net::SocketAddr) -> String {
    let request = request.replace(&addr.to_string(), "SERVER");
    request
        .split_inclusive("\r\n")
        .filter(|l| *l != "Connection: close\r\n")
        .map(|l| {
            if l.starts_with("User-Agent: ") {
                "User-Agent: UA\r\n"
            } else {
                l
            }
        })
        .collect()
}

/// rawget and curl send the same bytes for `args`; returns them.
#[track_caller]
fn same_as_curl(dir: &Path, args: &[&str], input: &[u8]) -> String {
    assert!(
        Path::new(CURL).exists(),
        "this test compares with curl: install it (apt-get install curl)"
    );
    let ours = sends(BIN, dir, args, input);
    let curls = sends(CURL, dir, args, input);
    assert_eq!(ours, curls, "rawget and curl differ for {args:?}");
    ours
}

#[test]
fn json_is_sent_as_curl_sends_it() {
    let dir = scratch();
    std::fs::write(dir.path().join("j.json"), "{\"f\":\n1}\n").unwrap();
    let r = same_as_curl(
        dir.path(),
        &["--json", "{\"a\":1}", "--json", "{\"b\":2}"],
        b"",
    );
    assert!(
        r.starts_with("POST /x HTTP/1.1\r\n")
            && r.ends_with(
                "Content-Type: application/json\r\nAccept: application/json\r\n\
                 Content-Length: 14\r\n\r\n{\"a\":1}{\"b\":2}"
            ),
        "{r}"
    );
    // From a file and stdin, byte for byte (newlines kept).
    let r = same_as_curl(
        dir.path(),
        &["--json", "@j.json", "--json", "@-"],
        b"[\r\n]",
    );
    assert!(
        r.ends_with("Content-Length: 13\r\n\r\n{\"f\":\n1}\n[\r\n]"),
        "{r}"
    );
    // A -H of either name wins; -H lines come before the JSON ones.
    same_as_curl(
        dir.path(),
        &["--json", "1", "-H", "X-A: 1", "-H", "Accept: text/x"],
        b"",
    );
    // With -d: the JSON text first, then `&`.
    let r = same_as_curl(dir.path(), &["--json", "{}", "-d", "x=1"], b"");
    assert!(r.ends_with("\r\n\r\n{}&x=1"), "{r}");
}

#[test]
fn json_file_that_cannot_be_read_is_exit_26() {
    let server = serve_fixture("ok.http").expect_unused();
    let run = rawget(&["--json", "@/nonexistent/j.json", &server.url("/")]);
    assert_eq!(run.code, 26);
    assert!(
        run.error_line()
            .contains("could not read data file /nonexistent/j.json"),
        "{}",
        run.stderr
    );
}

#[test]
fn report_is_the_summary_and_json_no_longer_is() {
    // What a new user typed (issue 15): `--json DATA` sends DATA, and
    // writes no file named after it.
    let server = serve_fixture("ok.http");
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "--json",
            "{\"a\":1}",
            "--report",
            "r.json",
            "-o",
            "b",
            &server.url("/"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(listing(dir.path()), ["b", "r.json"]);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(v["status"], 200);
    assert!(server.wait_requests(1)[0].ends_with("\r\n\r\n{\"a\":1}"));
}
