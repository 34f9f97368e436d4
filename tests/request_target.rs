//! `--request-target TARGET` (curl's flag) through the built binary: the
//! target is sent as given in the request line, the URL still says where
//! to connect and what Host says, and a target that would break the
//! request line is exit 2 with nothing sent.

use crate::support::*;

#[test]
fn options_star_and_an_absolute_uri_are_sent_as_given() {
    let server = serve_fixture("ok.http");
    let url = server.url("/ignored");
    let run = rawget(&["-X", "OPTIONS", "--request-target", "*", &url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let host = server.addr().to_string();
    let sent = server.wait_requests(1);
    assert!(
        sent[0].starts_with(&format!("OPTIONS * HTTP/1.1\r\nHost: {host}\r\n")),
        "{sent:?}"
    );
    let server = serve_fixture("ok.http");
    let run = rawget(&[
        "--request-target",
        "http://example.com/p?q=1",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sent = server.wait_requests(1);
    assert!(
        sent[0].starts_with("GET http://example.com/p?q=1 HTTP/1.1\r\n"),
        "{sent:?}"
    );
}

#[test]
fn a_target_that_breaks_the_request_line_is_exit_2() {
    let server = serve_fixture("ok.http").expect_unused();
    let run = rawget(&["--request-target", "/a b", &server.url("/")]);
    assert_eq!(run.code, 2);
    assert!(run.error_line().contains("bad --request-target"));
    // --dry-run shows the request line it would send.
    let run = rawget(&[
        "--dry-run",
        "-X",
        "OPTIONS",
        "--request-target",
        "*",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 0);
    assert!(run.stdout_str().starts_with("OPTIONS * HTTP/1.1\r\n"));
}
