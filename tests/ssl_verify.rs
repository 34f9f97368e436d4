//! `-w '%{ssl_verify_result}'` beside curl's: OpenSSL's X509 verify code
//! for each way a certificate fails (issue 16, item 2's last variable),
//! over the same TLS test server, curl and rawget each trusting the same
//! CA file.

use std::process::Command;

use crate::support::*;

const FORMAT: &str = "%{ssl_verify_result} %{exitcode}";

fn curl(args: &[&str]) -> Run {
    assert!(
        std::path::Path::new("/usr/bin/curl").exists(),
        "these tests compare with curl: apt-get install curl"
    );
    let mut cmd = Command::new("/usr/bin/curl");
    cmd.args(args);
    run(cmd, &[])
}

/// A CA file holding only a throwaway CA (the first of `ca-bundle.pem`),
/// which signed none of the servers: nothing verifies against it, and the
/// system store (which might hold anything) is not used.
fn other_ca(dir: &std::path::Path) -> String {
    let bundle = std::fs::read_to_string(tls_fixture("ca-bundle.pem")).unwrap();
    let end = "-----END CERTIFICATE-----\n";
    let path = dir.join("other-ca.pem");
    std::fs::write(&path, &bundle[..bundle.find(end).unwrap() + end.len()]).unwrap();
    path.to_string_lossy().into_owned()
}

/// The server's certificate followed by the test CA's (a self-signed root
/// in the chain the server sends).
fn with_chain() -> Identity {
    let pem = |name: &str| std::fs::read(tls_fixture(name)).unwrap();
    Identity::from_pem(
        &[pem("server.pem"), pem("ca.pem")].concat(),
        &pem("server.key"),
    )
    .expect("server.pem with ca.pem as a chain")
}

/// rawget's and curl's `FORMAT` for `url` with `--cacert cacert`.
fn both(url: &str, cacert: &str) -> (Run, Run) {
    let args = [
        "-s",
        "-o",
        "/dev/null",
        "--cacert",
        cacert,
        "-w",
        FORMAT,
        url,
    ];
    (rawget(&args), curl(&args))
}

#[test]
fn ssl_verify_result_is_openssls_code_as_curl_shows_it() {
    let dir = scratch();
    let other = other_ca(dir.path());
    let ca = tls_fixture("ca.pem");
    let cases: [(&str, Identity, &str, &str); 6] = [
        ("verified", identity("server"), &ca, "0 0"),
        ("self-signed", identity("self-signed"), &ca, "18 60"),
        ("expired", identity("expired"), &ca, "10 60"),
        // curl checks the name itself and leaves its placeholder, 1.
        ("wrong name", identity("wrong-name"), &ca, "1 60"),
        ("unknown issuer", identity("server"), &other, "20 60"),
        (
            "self-signed root in the chain",
            with_chain(),
            &other,
            "19 60",
        ),
    ];
    for (what, id, cacert, expected) in cases {
        let server = serve(Plan::new(fixture("ok.http")).tls(id));
        let (ours, theirs) = both(&server.url("/"), cacert);
        assert_eq!(
            ours.stdout_str(),
            theirs.stdout_str(),
            "{what}: rawget vs curl"
        );
        assert_eq!(ours.stdout_str(), expected, "{what}: {}", ours.stderr);
        if expected != "0 0" {
            // The error line still says why, in words.
            assert!(
                ours.stderr
                    .starts_with("rawget: error: server certificate not verified: "),
                "{what}: {}",
                ours.stderr
            );
        }
    }
}

#[test]
fn the_json_summary_carries_the_same_code() {
    // -w '%{json}' carries the same number.
    let server = serve_tls("expired", Plan::new(fixture("ok.http")));
    let ca = tls_fixture("ca.pem");
    let run = rawget(&[
        "-s",
        "-o",
        "/dev/null",
        "--cacert",
        &ca,
        "-w",
        "%{json}",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 60, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout_str()).expect("JSON");
    assert_eq!(json["ssl_verify_result"], 10);
}
