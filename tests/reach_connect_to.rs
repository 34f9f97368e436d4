//! `--connect-to HOST1:PORT1:HOST2:PORT2` through the binary (issue 12
//! item 4): the connection goes elsewhere, the URL's name stays in Host,
//! SNI and the certificate check.

use crate::support::*;

#[test]
fn connect_to_keeps_the_urls_host_header() {
    let server = serve_fixture("ok.http");
    let to = format!("origin.test:80:127.0.0.1:{}", server.addr().port());
    let run = rawget(&["-v", "-s", "--connect-to", &to, "http://origin.test/x"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "* origin.test:80 connects to 127.0.0.1:{} (--connect-to)\n",
            server.addr().port()
        )),
        "{}",
        run.stderr
    );
    let req = &server.wait_requests(1)[0];
    assert!(
        req.starts_with("GET /x HTTP/1.1\r\nHost: origin.test\r\n"),
        "{req}"
    );
}

#[test]
fn connect_to_with_empty_parts_and_tls_keeps_sni_and_verification() {
    let server = serve_tls("server", Plan::new(fixture("ok.http")));
    // Any host on port 443 goes to the server; rawget.test is in its
    // certificate, so verification passes only if the URL's name is used.
    let to = format!(":443:127.0.0.1:{}", server.addr().port());
    let run = rawget(&[
        "-s",
        "--cacert",
        &tls_fixture("ca.pem"),
        "--connect-to",
        &to,
        "https://rawget.test/",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.snis(), vec![Some("rawget.test".to_owned())]);
}

#[test]
fn a_connect_to_that_does_not_match_is_not_used() {
    let server = serve_fixture("ok.http").expect_unused();
    let to = format!("other.test:80:127.0.0.1:{}", server.addr().port());
    let run = rawget(&[
        "--connect-to",
        &to,
        "-m",
        "10",
        "http://nonexistent.invalid/",
    ]);
    assert_eq!(run.code, 6, "{}", run.stderr);
}

#[test]
fn a_bad_connect_to_is_a_usage_error() {
    let run = rawget(&["--connect-to", "a:1:b", "http://h/"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: bad --connect-to \"a:1:b\": expected HOST1:PORT1:HOST2:PORT2\n"
    );
}
