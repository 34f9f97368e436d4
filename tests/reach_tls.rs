//! TLS version knobs (issue 12 item 8): `--tlsv1.2`, `--tlsv1.3`,
//! `--tls-max`. The test server (native-tls on OpenSSL as set up by
//! `rawget replay`) speaks TLS 1.2 at most, which makes `--tlsv1.3` a
//! handshake it must refuse.

use crate::support::*;

fn fetch(flags: &[&str], server: &Server) -> Run {
    let ca = tls_fixture("ca.pem");
    let url = server.url("/");
    let mut args = vec!["-v", "-s", "-o", "/dev/null", "--cacert", &ca];
    args.extend_from_slice(flags);
    args.push(&url);
    rawget(&args)
}

#[test]
fn tls_max_1_2_and_tlsv1_2_handshake_tls_1_2() {
    let server = serve_tls("server", Plan::new(fixture("ok.http")));
    for flags in [&["--tls-max", "1.2"][..], &["--tlsv1.2"][..]] {
        let run = fetch(flags, &server);
        assert_eq!(run.code, 0, "{flags:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("* TLS handshake done: TLSv1.2,"),
            "{flags:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn tlsv1_3_against_a_tls_1_2_server_is_exit_35() {
    let server = serve_tls("server", Plan::new(fixture("ok.http")));
    let run = fetch(&["--tlsv1.3"], &server);
    assert_eq!(run.code, 35, "{}", run.stderr);
    assert!(
        run.stderr.contains("rawget: error: TLS handshake failed"),
        "{}",
        run.stderr
    );
    assert!(server.requests().is_empty());
}

#[test]
fn bad_tls_versions_are_usage_errors() {
    for (flags, line) in [
        (
            &["--tls-max", "1.4"][..],
            "rawget: error: bad --tls-max \"1.4\": expected 1.2 or 1.3\n",
        ),
        (
            &["--tlsv1.3", "--tls-max", "1.2"][..],
            "rawget: error: --tls-max 1.2 is below --tlsv1.3\n",
        ),
    ] {
        let mut args = flags.to_vec();
        args.push("https://127.0.0.1:9/");
        let run = rawget(&args);
        assert_eq!(run.code, 2, "{flags:?}: {}", run.stderr);
        assert_eq!(run.error_line(), line);
    }
}
