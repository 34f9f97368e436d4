//! Transport defects and the refactor that keeps their fixes in one place,
//! through the built binary: the TLS summary is one value that `-v` and
//! `--json` both show.

mod support;
#[path = "support/tls.rs"]
mod tls_server;

use support::*;
use tls_server::*;

/// `-v` prints the TLS summary and `--json` reports it; both come from the
/// one value read at the handshake, so they must say the same.
#[test]
fn verbose_and_json_show_the_same_tls_summary() {
    let server = TlsServer::start("server.pem", "server.key", TlsPlan::new(fixture("ok.http")));
    let dir = scratch();
    let url = format!("https://127.0.0.1:{}/", server.port());
    let ca = tls_fixture("ca.pem");
    let run = rawget_in(
        dir.path(),
        &[
            "-v", "--cacert", &ca, "--json", "x.json", "-o", "body", &url,
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("x.json")).unwrap()).unwrap();
    let summary: Vec<&str> = json["hops"][0]["tls"]
        .as_array()
        .unwrap_or_else(|| panic!("no hops[0].tls in {json}"))
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let protocol = summary[0]
        .strip_prefix("protocol: ")
        .unwrap_or_else(|| panic!("first line is not the protocol: {summary:?}"));
    let steps: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("* "))
        .collect();
    let done = format!("TLS handshake done: {protocol}");
    let at = steps
        .iter()
        .position(|s| *s == done)
        .unwrap_or_else(|| panic!("want {done:?} in:\n{}", run.stderr));
    assert_eq!(
        &steps[at + 1..at + summary.len()],
        &summary[1..],
        "the certificate lines, in order, right after the handshake"
    );
    assert!(summary
        .iter()
        .any(|l| l.starts_with("subject: CN=rawget test server")));
}
