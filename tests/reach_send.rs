//! `rawget send` through proxies (issue 12): the user's bytes go through
//! a real tinyproxy's CONNECT tunnel unchanged, the proxy's reply printed
//! before the server's.

use crate::support::*;

const GET: &[u8] = b"GET /by-hand HTTP/1.1\r\nHost: x\r\nX-Odd : 1\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn rawget_send_goes_through_a_connect_tunnel_unchanged() {
    let proxy = RealProxy::tinyproxy();
    let server = serve(Plan::new(OK));
    let run = rawget_input(
        &[
            "send",
            "-v",
            "-x",
            &proxy.addr.to_string(),
            &server.url("/"),
        ],
        GET,
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, proxy.log());
    // Not absolute form, nothing added: the request exactly as written.
    assert_eq!(server.requests(), vec![GET.to_vec()]);
    let out = run.stdout_str();
    let connect = out.find("HTTP/1.0 200 Connection established\r\n");
    let answer = out.find("HTTP/1.1 200 OK\r\n");
    assert!(connect.is_some() && connect < answer, "{out}");
    let port = server.addr().port();
    let line = format!("> CONNECT 127.0.0.1:{port} HTTP/1.1\n");
    assert!(run.stderr.contains(&line), "no {line:?} in\n{}", run.stderr);
}

#[test]
fn rawget_send_through_a_proxy_from_the_environment() {
    let proxy = RealProxy::tinyproxy();
    let server = serve(Plan::new(OK));
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["send", "-s", &server.url("/")])
        .env("http_proxy", format!("http://{}", proxy.addr));
    let run = run(cmd, GET);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, proxy.log());
    assert_eq!(server.requests(), vec![GET.to_vec()]);
    assert!(proxy.log().contains("CONNECT"), "{}", proxy.log());
}

#[test]
fn rawget_send_through_a_refusing_proxy_is_exit_7() {
    let closed = closed_addr();
    let server = serve(Plan::new(OK)).expect_unused();
    let run = rawget_input(&["send", "-x", &closed.to_string(), &server.url("/")], GET);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert!(run.error_line().contains("proxy http://"), "{}", run.stderr);
}
