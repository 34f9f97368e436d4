//! The proxy environment as curl reads it (issue 12 item 2), through the
//! binary: which variable chooses the proxy (and `-v` says so), which
//! hosts go direct. The harness removes the machine's own proxy variables
//! from every run (`support::run::without_machine_proxies`), so each test
//! sees only what it sets.

use crate::support::*;

/// The test server standing in as a proxy: it answers every request
/// itself, so a request that reached it went through "the proxy".
fn proxy() -> Server {
    serve(Plan::new(fixture("ok.http")))
}

fn through(envs: &[(&str, &str)], args: &[&str]) -> Run {
    rawget_with(&std::env::temp_dir(), envs, args)
}

#[test]
fn http_proxy_chooses_the_proxy_and_v_says_so() {
    let proxy = proxy();
    let p = proxy.addr().to_string();
    let run = through(&[("http_proxy", &p)], &["-v", "-s", "http://origin.test/x"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("* using proxy http://{p} (from $http_proxy)\n")),
        "{}",
        run.stderr
    );
    assert!(proxy.wait_requests(1)[0].starts_with("GET http://origin.test/x HTTP/1.1\r\n"));
}

#[test]
fn upper_case_http_proxy_is_ignored_as_curl_ignores_it() {
    // httpoxy: a CGI server sets HTTP_PROXY from a request's Proxy header.
    let origin = serve_fixture("ok.http");
    let proxy = proxy().expect_unused();
    let p = proxy.addr().to_string();
    let run = through(&[("HTTP_PROXY", &p)], &["-s", &origin.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(origin.wait_requests(1)[0].starts_with("GET / HTTP/1.1\r\n"));
}

#[test]
fn https_proxy_either_case_and_all_proxy() {
    let reply = "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n";
    for var in ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
        let proxy = serve(Plan::new(reply));
        let p = proxy.addr().to_string();
        let run = through(&[(var, &p)], &["-v", "https://origin.test/"]);
        assert_eq!(run.code, 56, "{var}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("* using proxy http://{p} (from ${var})\n")),
            "{var}: {}",
            run.stderr
        );
        assert!(proxy.wait_requests(1)[0].starts_with("CONNECT origin.test:443 HTTP/1.1\r\n"));
    }
}

#[test]
fn the_schemes_own_variable_wins_over_all_proxy() {
    let proxy = proxy();
    let other = serve_fixture("ok.http").expect_unused();
    let (p, o) = (proxy.addr().to_string(), other.addr().to_string());
    let run = through(
        &[("http_proxy", &p), ("ALL_PROXY", &o)],
        &["-s", "http://origin.test/"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(proxy.wait_requests(1).len(), 1);
}

#[test]
fn no_proxy_sends_matching_hosts_direct() {
    for no_proxy in ["127.0.0.1", "127.0.0.0/8", "*", "example.com,127.0.0.1"] {
        for var in ["no_proxy", "NO_PROXY"] {
            let origin = serve_fixture("ok.http");
            let proxy = proxy().expect_unused();
            let p = proxy.addr().to_string();
            let run = through(
                &[("http_proxy", &p), (var, no_proxy)],
                &["-s", &origin.url("/")],
            );
            assert_eq!(run.code, 0, "{var}={no_proxy}: {}", run.stderr);
            assert_eq!(origin.wait_requests(1).len(), 1, "{var}={no_proxy}");
        }
    }
}

#[test]
fn no_proxy_matches_subdomains_not_lookalikes() {
    let proxy = proxy();
    let p = proxy.addr().to_string();
    // notexample.test is not a subdomain of example.test: proxied.
    let run = through(
        &[("http_proxy", &p), ("no_proxy", "example.test")],
        &["-s", "http://notexample.test/"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(proxy.wait_requests(1)[0].starts_with("GET http://notexample.test/ HTTP/1.1"));
    // www.example.test is: it goes direct, to the origin --resolve names.
    let origin = serve_fixture("ok.http");
    let port = origin.addr().port();
    let resolve = format!("www.example.test:{port}:127.0.0.1");
    let url = format!("http://www.example.test:{port}/");
    let run = through(
        &[("http_proxy", &p), ("no_proxy", ".example.test")],
        &["-s", "--resolve", &resolve, &url],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(origin.wait_requests(1).len(), 1);
    assert_eq!(proxy.hits(), 1);
}

#[test]
fn noproxy_flag_wins_over_the_environment() {
    let origin = serve_fixture("ok.http");
    let proxy = proxy().expect_unused();
    let p = proxy.addr().to_string();
    let run = through(
        &[("http_proxy", &p), ("no_proxy", "other.test")],
        &["-s", "--noproxy", "127.0.0.1", &origin.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(origin.wait_requests(1).len(), 1);
}

#[test]
fn an_empty_x_uses_no_proxy_whatever_the_environment() {
    let origin = serve_fixture("ok.http");
    let proxy = proxy().expect_unused();
    let p = proxy.addr().to_string();
    let run = through(
        &[("http_proxy", &p), ("ALL_PROXY", &p)],
        &["-s", "-x", "", &origin.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(origin.wait_requests(1).len(), 1);
}

#[test]
fn x_wins_over_the_environment() {
    let proxy = proxy();
    let other = serve_fixture("ok.http").expect_unused();
    let (p, o) = (proxy.addr().to_string(), other.addr().to_string());
    let run = through(
        &[("http_proxy", &o)],
        &["-v", "-s", "-x", &p, "http://origin.test/"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("(from -x)"), "{}", run.stderr);
    assert_eq!(proxy.wait_requests(1).len(), 1);
}

#[test]
fn a_bad_proxy_variable_names_the_variable() {
    let run = through(&[("http_proxy", "gopher://p:1")], &["http://origin.test/"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: unsupported proxy scheme for \"gopher://p:1\" (from $http_proxy)\n"
    );
}
