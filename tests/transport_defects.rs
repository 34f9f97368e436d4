//! Transport defects and the refactor that keeps their fixes in one place,
//! through the built binary: `-m` ends a transfer on time wherever it
//! stalls, and the TLS summary is one value that `-v` and `--report` both
//! show.

use std::time::{Duration, Instant};

use crate::support::*;

/// `-v` prints the TLS summary and `--report` reports it; both come from the
/// one value read at the handshake, so they must say the same.
#[test]
fn verbose_and_report_show_the_same_tls_summary() {
    let server = serve_tls("server", Plan::new(fixture("ok.http")));
    let dir = scratch();
    let url = server.url("/");
    let ca = tls_fixture("ca.pem");
    let run = rawget_in(
        dir.path(),
        &[
            "-v", "--cacert", &ca, "--report", "x.json", "-o", "body", &url,
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

/// The `* total:` figure of `--timing`, in ms: the fetch's own clock, which
/// starts with the `-m` deadline, so process start and exit are left out.
fn timing_total_ms(run: &Run) -> f64 {
    run.stderr
        .lines()
        .find_map(|l| l.strip_prefix("* total:"))
        .and_then(|v| v.trim().strip_suffix("ms"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `* total: N ms` line in:\n{}", run.stderr))
}

/// Issue 11 item 17: `-m` overshot its deadline by 0.1 to 0.25 s. A socket
/// timeout armed for all the time left sleeps on the kernel's timer wheel,
/// which rounds a long timeout up by as much as an eighth of it (256 ms for
/// 2 to 16 s at HZ=250): `-m 2.1` ended 80 to 204 ms late. A transfer must
/// end within 50 ms of its deadline wherever it stalls: in the TLS
/// handshake, waiting for the head, or in a trickled body (read or spliced).
#[test]
fn max_time_ends_the_transfer_within_50_ms_of_its_deadline() {
    const MAX_TIME: f64 = 2.1;
    let hang = |plan: Plan| serve(plan.end(End::Hang).hang_limit(Duration::from_secs(10)));
    let mut trickle = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec();
    trickle.resize(trickle.len() + 100_000, b'b');
    let trickle = || {
        Plan::new(trickle.clone())
            .piece(20)
            .delay(Duration::from_millis(30))
    };
    let head = hang(Plan::new(Vec::new()));
    // A plain TCP server that never answers the ClientHello.
    let handshake = hang(Plan::new(Vec::new()).read_request(false));
    let spliced = hang(trickle());
    let read = hang(trickle());
    let cases: Vec<(&str, String, &[&str])> = vec![
        ("waiting for the head", head.url("/"), &[]),
        (
            "in the TLS handshake",
            format!("https://{}/", handshake.addr()),
            &["-k"],
        ),
        // A plain Content-Length body to a file goes through splice(2) ...
        ("in a spliced body", spliced.url("/"), &[]),
        // ... and through the read loop when every byte is also saved.
        ("in a read body", read.url("/"), &["--save-raw", "raw"]),
    ];
    // At once, so the test takes one deadline rather than four.
    let runs: Vec<_> = cases
        .into_iter()
        .map(|(what, url, extra)| {
            std::thread::spawn(move || {
                let dir = scratch();
                let mut args = vec!["-s", "--timing", "-m", "2.1", "-o", "out"];
                args.extend_from_slice(extra);
                args.push(&url);
                let started = Instant::now();
                let run = rawget_in(dir.path(), &args);
                (what, run, started.elapsed())
            })
        })
        .collect();
    for handle in runs {
        let (what, run, wall) = handle.join().unwrap();
        assert_eq!(run.code, 28, "{what}: {}", run.stderr);
        assert!(run.stderr.contains("timed out"), "{what}: {}", run.stderr);
        let over = timing_total_ms(&run) - MAX_TIME * 1000.0;
        assert!(
            over < 50.0,
            "{what}: ended {over:.1} ms after the deadline:\n{}",
            run.stderr
        );
        // Liveness, process start and exit included.
        assert!(
            wall < Duration::from_secs_f64(MAX_TIME + 1.0),
            "{what}: {wall:?}"
        );
    }
}

/// Issue 11 item 16: `http:/127.0.0.1:PORT/x` (one slash) resolved a host
/// named `http` (exit 6). curl 7.88 repairs it to `http://127.0.0.1:PORT/x`
/// and fetches it; so does rawget.
#[test]
fn one_slash_after_the_scheme_is_repaired_as_curl_does() {
    let server = serve_fixture("ok.http");
    let run = rawget(&["-s", &format!("http:/{}/x", server.addr())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
    let request = &server.wait_requests(1)[0];
    assert!(
        request.starts_with(&format!("GET /x HTTP/1.1\r\nHost: {}\r\n", server.addr())),
        "{request:?}"
    );
}

/// Issue 11 item 16: a scheme followed by one slash is still a scheme, so
/// `htp:/x` is exit 1 (unsupported), not exit 6 for a host named `htp`.
#[test]
fn an_unknown_scheme_with_one_slash_is_exit_1() {
    let run = rawget(&["htp:/x"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("unsupported scheme \"htp\""),
        "{}",
        run.stderr
    );
}
