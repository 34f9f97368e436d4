//! `rawget send` against real servers on loopback, started by the tests
//! (`support::real`): nginx with keep-alive on, and haproxy in front of it.
//! A pipeline of ordinary requests (a HEAD among them) is answered in
//! order, each response framed knowing its request, both pipelined and
//! keep-alive; an ambiguous request (Content-Length with Transfer-Encoding)
//! is named by the analysis, and what each server did with it is checked.

use crate::support::*;

const THREE: &[u8] = b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n\
    HEAD /two HTTP/1.1\r\nHost: x\r\n\r\n\
    GET /three HTTP/1.1\r\nHost: x\r\n\r\n";

/// Sends THREE to `url` (`--pipeline` when `pipeline`) and checks every
/// response: in order, the HEAD's without a body, the bodies as nginx wrote
/// them, no desync, the connection kept open.
fn three_in_order(url: &str, pipeline: bool, logs: &dyn Fn() -> String) {
    let dir = scratch();
    let out = dir.path().join("bodies");
    let json = dir.path().join("r.json");
    let mut args = vec!["send", "-s", "--output-dir", out.to_str().unwrap()];
    args.extend(["--report", json.to_str().unwrap()]);
    if pipeline {
        args.push("--pipeline");
    }
    args.push(url);
    let run = rawget_input(&args, THREE);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, logs());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let responses = report["responses"].as_array().unwrap();
    let seen: Vec<_> = responses
        .iter()
        .map(|r| {
            (
                r["answers"].clone(),
                r["status"].clone(),
                r["body_bytes"].clone(),
            )
        })
        .collect();
    let want = |a: u64, b: u64| (a.into(), 200.into(), b.into());
    assert_eq!(seen, vec![want(1, 11), want(2, 0), want(3, 13)], "{report}");
    assert_eq!(responses[1]["framing"]["kind"], "none");
    assert_eq!(
        std::fs::read(out.join("response-1.body")).unwrap(),
        b"hello /one\n"
    );
    assert_eq!(
        std::fs::read(out.join("response-3.body")).unwrap(),
        b"hello /three\n"
    );
    assert_eq!(report["desync"], false);
    assert_eq!(report["stray_bytes"], 0);
    let closed = report["closed"].as_str().unwrap();
    assert!(closed.contains("kept the connection open"), "{closed}");
}

#[test]
fn nginx_answers_a_pipeline_and_keep_alive_in_order() {
    let nginx = RealServer::nginx();
    three_in_order(&nginx.url("/"), true, &|| nginx.logs());
    three_in_order(&nginx.url("/"), false, &|| nginx.logs());
}

#[test]
fn haproxy_in_front_of_nginx_answers_a_pipeline_in_order() {
    let nginx = RealServer::nginx();
    let haproxy = RealServer::haproxy(nginx.addr);
    let logs = || format!("{}\n{}", haproxy.logs(), nginx.logs());
    three_in_order(&haproxy.url("/"), true, &logs);
    three_in_order(&haproxy.url("/"), false, &logs);
}

/// Content-Length with Transfer-Encoding, then a second request that a
/// server reading Content-Length would see inside the first one's body.
const CL_TE: &[u8] = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\
    Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn an_ambiguous_request_is_named_and_both_servers_close_after_it() {
    let nginx = RealServer::nginx();
    let haproxy = RealServer::haproxy(nginx.addr);
    for (server, status) in [(&nginx, "400 Bad Request"), (&haproxy, "200 OK")] {
        let run = rawget_input(
            &["send", "--explain", "--pipeline", &server.url("/")],
            CL_TE,
        );
        let e = &run.stderr;
        assert!(e.contains("explain: 2 requests framed in 109 bytes"), "{e}");
        assert!(
            e.contains("request 1: ambiguity: Content-Length with Transfer-Encoding"),
            "{e}"
        );
        // nginx 1.22 refuses the pair (400); haproxy 2.6 frames it by
        // Transfer-Encoding, as RFC 9112 says, passes it on and answers.
        // Both then close (§6.1: "MUST close the connection"), before the
        // second request: exit 18, and no desync.
        let head = run.stdout_str();
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{head}"
        );
        assert!(
            head.to_ascii_lowercase().contains("connection: close\r\n"),
            "{head}"
        );
        assert_eq!(run.code, 18, "{e}\n{}", server.logs());
        assert!(
            e.contains("closed the connection after answering 1 of 2 requests"),
            "{e}"
        );
        assert!(!e.contains("DESYNC"), "{e}");
    }
}
