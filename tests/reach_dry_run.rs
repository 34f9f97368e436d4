//! `--dry-run` through a proxy (issue 12): what is printed is what would
//! really be sent: the absolute-form request to a plain HTTP proxy (the
//! same bytes a real fetch sends, compared with the test server standing
//! in as the proxy), the CONNECT request and then the origin-form request
//! for a tunnel; nothing is connected to.

use crate::support::*;

#[test]
fn dry_run_through_an_http_proxy_prints_the_bytes_the_proxy_gets() {
    let proxy = serve_fixture("ok.http");
    let x = format!("http://al%40ice:s%3Acret@{}", proxy.addr());
    let url = "http://origin.test:8080/a?b=1";
    let dry = rawget(&["--dry-run", "-x", &x, url]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout_str()
            .starts_with("GET http://origin.test:8080/a?b=1 HTTP/1.1\r\n"),
        "{}",
        dry.stdout_str()
    );
    let real = rawget(&["-s", "-x", &x, url]);
    assert_eq!(real.code, 0, "{}", real.stderr);
    assert_eq!(proxy.wait_requests(1)[0], dry.stdout_str());
}

#[test]
fn dry_run_through_a_tunnel_prints_the_connect_then_the_request() {
    // A proxy that is not there: a dry run connects to nothing.
    let x = closed_addr().to_string();
    let dry = rawget(&["--dry-run", "-p", "-U", "u:p", "-x", &x, "http://h.test/p"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(
        dry.stdout_str(),
        "CONNECT h.test:80 HTTP/1.1\r\nHost: h.test:80\r\n\
         Proxy-Authorization: Basic dTpw\r\nUser-Agent: rawget/0.1.0\r\n\
         Proxy-Connection: Keep-Alive\r\n\r\n\
         GET /p HTTP/1.1\r\nHost: h.test\r\nUser-Agent: rawget/0.1.0\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    // https tunnels without -p; the origin's request has no proxy header.
    let dry = rawget(&["--dry-run", "-x", &x, "-d", "k=v", "https://h.test/"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let out = dry.stdout_str();
    assert!(out.starts_with("CONNECT h.test:443 HTTP/1.1\r\n"), "{out}");
    let origin = &out[out.find("\r\n\r\n").unwrap() + 4..];
    assert!(origin.starts_with("POST / HTTP/1.1\r\n"), "{out}");
    assert!(!origin.contains("Proxy-"), "{out}");
    assert!(origin.ends_with("\r\n\r\nk=v"), "{out}");
}

#[test]
fn dry_run_without_a_proxy_or_over_a_unix_socket_is_origin_form() {
    let x = closed_addr().to_string();
    let dry = rawget(&[
        "--dry-run",
        "-x",
        &x,
        "--unix-socket",
        "/nowhere.sock",
        "http://h.test/p",
    ]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout_str()
            .starts_with("GET /p HTTP/1.1\r\nHost: h.test\r\n"),
        "{}",
        dry.stdout_str()
    );
}

/// `rawget send --dry-run` through an HTTP proxy: the CONNECT request the
/// tunnel starts with, then the user's bytes unchanged; without a proxy,
/// the bytes alone. Nothing is connected to.
#[test]
fn send_dry_run_through_a_proxy_prints_the_connect_then_the_bytes() {
    let x = closed_addr().to_string();
    let bytes = "GET /a HTTP/1.1\r\nHost: h.test\r\n\r\n";
    let dry = rawget_input(
        &[
            "send",
            "--dry-run",
            "-U",
            "u:p",
            "-x",
            &x,
            "http://h.test:8080/",
            "-",
        ],
        bytes.as_bytes(),
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(
        dry.stdout_str(),
        format!(
            "CONNECT h.test:8080 HTTP/1.1\r\nHost: h.test:8080\r\n\
             Proxy-Authorization: Basic dTpw\r\nUser-Agent: rawget/0.1.0\r\n\
             Proxy-Connection: Keep-Alive\r\n\r\n{bytes}"
        )
    );
    let direct = rawget_input(
        &["send", "--dry-run", "http://h.test:8080/", "-"],
        bytes.as_bytes(),
    );
    assert_eq!(direct.code, 0, "{}", direct.stderr);
    assert_eq!(direct.stdout_str(), bytes);
}
