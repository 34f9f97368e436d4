//! https:// proxies (issue 12 item 1): TLS to the proxy itself, verified
//! against the proxy's name with `--proxy-cacert` (not `--cacert`), made
//! of a real haproxy terminating TLS (`mode tcp`) in front of a real
//! tinyproxy. http targets go in absolute form inside that TLS; https
//! targets CONNECT inside it, then TLS to the origin inside the tunnel.

use crate::support::*;

fn ca() -> String {
    tls_fixture("ca.pem")
}

/// tinyproxy behind haproxy's TLS; `-x` names it by the certificate's IP.
struct HttpsProxy {
    _tls: RealServer,
    inner: RealProxy,
    url: String,
}

fn https_proxy() -> HttpsProxy {
    let inner = RealProxy::tinyproxy();
    let tls = RealServer::haproxy_tls(inner.addr);
    let url = format!("https://{}", tls.addr);
    HttpsProxy {
        _tls: tls,
        inner,
        url,
    }
}

#[test]
fn http_through_an_https_proxy_is_absolute_form_inside_tls() {
    let proxy = https_proxy();
    let server = serve_fixture("ok.http");
    let run = rawget(&[
        "-v",
        "--proxy-cacert",
        &ca(),
        "-x",
        &proxy.url,
        &server.url("/over-tls"),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, proxy.inner.log());
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
    let line = format!("> GET {} HTTP/1.1\n", server.url("/over-tls"));
    assert!(run.stderr.contains(&line), "no {line:?} in\n{}", run.stderr);
    assert!(run
        .stderr
        .contains("* TLS handshake with 127.0.0.1 (SNI)\n"));
    let req = &server.wait_requests(1)[0];
    assert!(req.contains("tinyproxy"), "not through the proxy: {req}");
}

#[test]
fn https_through_an_https_proxy_is_tls_inside_the_proxys_tls() {
    let proxy = https_proxy();
    let server = serve_tls("server", Plan::new(fixture("ok.http")));
    let url = format!("https://localhost:{}/inner", server.addr().port());
    let run = rawget(&[
        "-v",
        "--proxy-cacert",
        &ca(),
        "--cacert",
        &ca(),
        "-x",
        &proxy.url,
        &url,
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, proxy.inner.log());
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
    let err = &run.stderr;
    let port = server.addr().port();
    let proxy_tls = err.find("* TLS handshake with 127.0.0.1 (SNI)\n");
    let connect = err.find(&format!("> CONNECT localhost:{port} HTTP/1.1\n"));
    let origin_tls = err.find("* TLS handshake with localhost (SNI)\n");
    assert!(
        proxy_tls.is_some() && proxy_tls < connect && connect < origin_tls,
        "{err}"
    );
    // The origin saw its own name, through the tunnel.
    assert_eq!(server.snis(), vec![Some("localhost".to_owned())]);
}

#[test]
fn an_https_proxy_is_verified_by_proxy_cacert_not_cacert() {
    let proxy = https_proxy();
    let server = serve_fixture("ok.http");
    // --cacert trusts the test CA for the origin only: the proxy's
    // certificate is checked against the system's store, and fails.
    let run = rawget(&["--cacert", &ca(), "-x", &proxy.url, &server.url("/")]);
    assert_eq!(run.code, 60, "{}", run.stderr);
    let line = run.error_line();
    assert!(line.contains(&format!("proxy {}", proxy.url)), "{line}");
    assert_eq!(server.hits(), 0);
    // --proxy-insecure does without the check.
    let run = rawget(&["-s", "--proxy-insecure", "-x", &proxy.url, &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
}

#[test]
fn an_https_proxy_that_does_not_speak_tls_is_exit_35() {
    // A plain HTTP server named as an https:// proxy: nginx answers the
    // ClientHello with an HTTP 400, no TLS.
    let plain = RealServer::nginx();
    let server = serve_fixture("ok.http").expect_unused();
    let x = format!("https://{}", plain.addr);
    let run = rawget(&["--proxy-insecure", "-x", &x, &server.url("/")]);
    assert_eq!(run.code, 35, "{}", run.stderr);
    assert!(
        run.error_line().contains(&format!("proxy {x}")),
        "{}",
        run.stderr
    );
}
