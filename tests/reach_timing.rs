//! The proxy's times apart from the origin's (issue 12 item 1): through a
//! real tinyproxy (a CONNECT tunnel) and a real haproxy-over-tinyproxy
//! https proxy, `--report`, `-w` and `--timing` give the proxy's connect,
//! its TLS and the tunnel's reply apart from the origin's TLS and first
//! byte, each present and in the order they happen.

use crate::support::*;

const W: &str = "%{time_namelookup} %{time_proxy_connect} %{time_proxy_tls} %{time_tunnel} \
                 %{time_appconnect} %{time_starttransfer} %{time_total}";

/// Runs an https fetch through `proxy` with the report, `-w` and
/// `--timing`; returns the report's timings and the `-w` numbers.
fn timed(proxy: &str, extra: &[&str]) -> (serde_json::Value, Vec<f64>, String) {
    let server = serve_tls("server", Plan::new(fixture("ok.http")));
    let url = format!("https://localhost:{}/", server.addr().port());
    let dir = scratch();
    let report = dir.path().join("report.json");
    let ca = tls_fixture("ca.pem");
    // -s: the heads (the CONNECT reply's too) are not printed before -w's.
    let mut args = vec![
        "-s",
        "--timing",
        "--cacert",
        &ca,
        "--report",
        report.to_str().unwrap(),
        "-o",
        "/dev/null",
        "-w",
        W,
        "-x",
        proxy,
    ];
    args.extend_from_slice(extra);
    args.push(&url);
    let run = rawget(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).expect("the report is JSON");
    let w = run
        .stdout_str()
        .split(' ')
        .map(|n| n.parse().unwrap_or_else(|_| panic!("not a number: {n:?}")))
        .collect();
    (json["timings"].clone(), w, run.stderr)
}

#[track_caller]
fn ordered(what: &str, steps: &[(&str, f64)]) {
    for pair in steps.windows(2) {
        assert!(pair[0].1 > 0.0, "{what}: {} is 0: {steps:?}", pair[0].0);
        assert!(pair[0].1 <= pair[1].1, "{what}: out of order: {steps:?}");
    }
}

#[test]
fn through_a_tunnel_the_proxys_steps_come_apart_and_in_order() {
    let proxy = RealProxy::tinyproxy();
    let (t, w, stderr) = timed(&proxy.addr.to_string(), &[]);
    let ms = |k: &str| t[k].as_f64().unwrap_or_else(|| panic!("no {k} in {t}"));
    ordered(
        "--report",
        &[
            ("dns", ms("dns").max(f64::MIN_POSITIVE)),
            ("proxy_connect", ms("proxy_connect")),
            ("tunnel", ms("tunnel")),
            ("tls", ms("tls")),
            ("first_byte", ms("first_byte")),
            ("total", ms("total")),
        ],
    );
    assert_eq!(ms("connect"), ms("proxy_connect"), "{t}");
    assert!(t.get("proxy_tls").is_none(), "no TLS to a plain proxy: {t}");
    // -w: namelookup, proxy connect, (no proxy TLS: 0), tunnel, TLS, first byte, total.
    assert_eq!(w[2], 0.0, "{w:?}");
    let names = [
        "proxy_connect",
        "tunnel",
        "appconnect",
        "starttransfer",
        "total",
    ];
    let picked = [w[1], w[3], w[4], w[5], w[6]];
    ordered("-w", &names.iter().copied().zip(picked).collect::<Vec<_>>());
    assert!(w[0] <= w[1], "{w:?}");
    for line in ["* connect:", "* tunnel:", "* tls:", "* first byte:"] {
        assert!(stderr.contains(line), "no {line:?} in\n{stderr}");
    }
}

#[test]
fn through_an_https_proxy_its_tls_comes_before_the_tunnel() {
    let inner = RealProxy::tinyproxy();
    let tls = RealServer::haproxy_tls(inner.addr);
    let x = format!("https://{}", tls.addr);
    let ca = tls_fixture("ca.pem");
    let (t, w, stderr) = timed(&x, &["--proxy-cacert", &ca]);
    let ms = |k: &str| t[k].as_f64().unwrap_or_else(|| panic!("no {k} in {t}"));
    ordered(
        "--report",
        &[
            ("proxy_connect", ms("proxy_connect")),
            ("proxy_tls", ms("proxy_tls")),
            ("tunnel", ms("tunnel")),
            ("tls", ms("tls")),
            ("first_byte", ms("first_byte")),
            ("total", ms("total")),
        ],
    );
    let names = [
        "proxy_connect",
        "proxy_tls",
        "tunnel",
        "appconnect",
        "starttransfer",
    ];
    ordered(
        "-w",
        &names
            .iter()
            .copied()
            .zip(w[1..6].to_vec())
            .collect::<Vec<_>>(),
    );
    assert!(stderr.contains("* proxy tls:"), "{stderr}");
}
