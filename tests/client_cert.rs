//! Client certificates (issue 12 item 6): `-E/--cert`, `--key`,
//! `--cert-type`, `--key-type`, `--pass`, against a real `openssl s_server`
//! that requires one (`-Verify 1 -verify_return_error`, the test CA as
//! `-CAfile`, `-www` so a good handshake gets an HTTP reply that names the
//! client certificate it saw), over TLS 1.2 and TLS 1.3. The fixtures are
//! `fixtures/tls/make-client.sh`'s.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use crate::support::*;

/// An `openssl s_server` on 127.0.0.1 that requires a client certificate
/// from the test CA and speaks only `version` (`-tls1_2`, `-tls1_3`).
struct SServer {
    addr: SocketAddr,
    _proc: Proc,
}

impl SServer {
    fn start(version: &str) -> SServer {
        SServer::serving("server", version, &["-Verify", "1", "-verify_return_error"])
    }

    /// An `openssl s_server -www` with the certificate and key `name`
    /// (`fixtures/tls/NAME.pem`, `.key`), the test CA, and `extra` flags.
    ///
    /// s_server picks its own port (`-accept 127.0.0.1:0`) and prints it
    /// once it listens (`ACCEPT 127.0.0.1:PORT`). A port found free and
    /// then handed to s_server could be taken in between by a parallel
    /// test, and a connect probe can then succeed against someone else
    /// (or against itself): CI once saw rawget refused right after such a
    /// probe had passed.
    fn serving(name: &str, version: &str, extra: &[&str]) -> SServer {
        require("openssl");
        let (cert, key, ca) = (
            tls_fixture(&format!("{name}.pem")),
            tls_fixture(&format!("{name}.key")),
            tls_fixture("ca.pem"),
        );
        let mut args = vec![
            "s_server",
            "-accept",
            "127.0.0.1:0",
            "-cert",
            &cert,
            "-key",
            &key,
            "-CAfile",
            &ca,
            "-www",
            version,
        ];
        args.extend_from_slice(extra);
        let mut child = Command::new("openssl")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let stdout = child.stdout.take().expect("s_server's stdout");
        let proc = Proc(child);
        // Read in a thread, so that a server that never says ACCEPT fails
        // the test after LIMIT instead of hanging it; the thread then
        // drains the rest (s_server writes a line per connection).
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("ACCEPT ") {
                    let _ = tx.send(addr.to_owned());
                    break;
                }
            }
            lines.for_each(drop);
        });
        let addr: SocketAddr = rx
            .recv_timeout(LIMIT)
            .expect("s_server never printed its ACCEPT line")
            .parse()
            .expect("s_server's ACCEPT line names an address");
        SServer { addr, _proc: proc }
    }

    fn url(&self) -> String {
        format!("https://{}/", self.addr)
    }
}

const VERSIONS: [&str; 2] = ["-tls1_2", "-tls1_3"];

/// rawget with the test CA trusted, `flags`, and the server's URL.
fn fetch(server: &SServer, flags: &[String]) -> Run {
    let ca = tls_fixture("ca.pem");
    let url = server.url();
    let mut args = vec!["-s", "--cacert", &ca];
    args.extend(flags.iter().map(String::as_str));
    args.push(&url);
    // No terminal: an encrypted key without --pass is refused, not asked for.
    rawget_without_a_terminal(&args)
}

/// `flags` with `@NAME` replaced by the path of `fixtures/tls/NAME`.
fn with_fixtures(flags: &[&str]) -> Vec<String> {
    flags
        .iter()
        .map(|f| match f.strip_prefix('@') {
            Some(name) => tls_fixture(name),
            None => (*f).to_owned(),
        })
        .collect()
}

#[test]
fn every_form_of_certificate_and_key_is_accepted_over_tls_1_2_and_1_3() {
    let forms: &[&[&str]] = &[
        &["--cert", "@client.pem", "--key", "@client.key"],
        // The key in the certificate's file, as curl reads it without --key.
        &["--cert", "@client-combined.pem"],
        // PKCS#1 ("BEGIN RSA PRIVATE KEY"), converted for native-tls.
        &[
            "-E",
            "@client.pem",
            "--key",
            "@client-rsa.key",
            "--key-type",
            "PEM",
        ],
        &[
            "--cert",
            "@client.pem",
            "--key",
            "@client-encrypted.key",
            "--pass",
            "rawget-pass",
        ],
        // --cert FILE:PASSWORD is the key's passphrase too.
        &[
            "--cert",
            "@client.pem:rawget-pass",
            "--key",
            "@client-encrypted.key",
        ],
        // A .p12 file is P12 without --cert-type (curl 7.77+).
        &["--cert", "@client.p12", "--pass", "rawget-pass"],
        &["--cert", "@client.p12:rawget-pass", "--cert-type", "P12"],
        &[
            "--cert",
            "@client.der",
            "--cert-type",
            "DER",
            "--key",
            "@client.key",
        ],
    ];
    for version in VERSIONS {
        let server = SServer::start(version);
        for form in forms {
            let run = fetch(&server, &with_fixtures(form));
            assert_eq!(run.code, 0, "{version} {form:?}: {}", run.stderr);
            assert!(
                run.stdout_str().contains("Subject: CN=rawget test client"),
                "{version} {form:?}: the server did not see the client certificate:\n{}",
                run.stdout_str()
            );
        }
    }
}

#[test]
fn verbose_names_the_client_certificate_offered() {
    let server = SServer::start("-tls1_3");
    let run = fetch(
        &server,
        &with_fixtures(&["-v", "-o", "/dev/null", "--cert", "@client-combined.pem"]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let line = format!(
        "* client certificate: {}\n",
        tls_fixture("client-combined.pem")
    );
    assert_eq!(run.stderr.matches(&line).count(), 1, "{}", run.stderr);
}

#[test]
fn an_encrypted_key_without_pass_is_asked_for_once_on_the_terminal() {
    const PROMPT: &str = "Enter PEM pass phrase:";
    let server = SServer::start("-tls1_3");
    let (ca, cert, key, url) = (
        tls_fixture("ca.pem"),
        tls_fixture("client.pem"),
        tls_fixture("client-encrypted.key"),
        server.url(),
    );
    // Two URLs, two connections, one question: asked once a run, as -u.
    let args = [
        "-s", "--cacert", &ca, "--cert", &cert, "--key", &key, &url, &url,
    ];
    let Some((run, screen)) = run_with_a_terminal(&args, PROMPT, b"rawget-pass\n") else {
        cannot_run_here("no pseudo-terminal (openpty failed)");
        return;
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout_str()
            .matches("Subject: CN=rawget test client")
            .count(),
        2,
        "both connections offered the certificate:\n{}",
        run.stdout_str()
    );
    assert_eq!(screen.matches(PROMPT).count(), 1, "{screen:?}");
    assert!(!screen.contains("rawget-pass"), "echoed: {screen:?}");
    assert_eq!(run.stderr, "", "the prompt goes to the terminal");

    // A wrong one is exit 58, without the "(--pass)" of a given one.
    let Some((run, _)) = run_with_a_terminal(&args[..8], PROMPT, b"nope\n") else {
        cannot_run_here("no pseudo-terminal (openpty failed)");
        return;
    };
    assert_eq!(run.code, 58, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!("rawget: error: wrong passphrase for the key in {key}\n")
    );
}

#[test]
fn a_certificate_or_key_that_cannot_be_used_is_exit_58_with_the_reason() {
    let scratch = scratch();
    let missing = scratch.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let cases: &[(&[&str], String)] = &[
        (
            &["--cert", missing],
            format!("could not read the client certificate {missing}: No such file or directory"),
        ),
        (
            &["--cert", "@client.pem", "--key", missing],
            format!("could not read the client key {missing}: No such file or directory"),
        ),
        (
            &["--cert", "@client.key", "--key", "@client.key"],
            format!("{} holds no certificate", tls_fixture("client.key")),
        ),
        (
            &["--cert", "@client.pem"],
            format!(
                "{} holds no private key: give it with --key",
                tls_fixture("client.pem")
            ),
        ),
        (
            &["--cert", "@client.pem", "--key", "@stranger.key"],
            format!(
                "the key in {} does not match the certificate in {}",
                tls_fixture("stranger.key"),
                tls_fixture("client.pem")
            ),
        ),
        (
            &["--cert", "@client.pem", "--key", "@client-encrypted.key"],
            format!(
                "the key in {} is encrypted: give its passphrase with --pass",
                tls_fixture("client-encrypted.key")
            ),
        ),
        (
            &[
                "--cert",
                "@client.pem",
                "--key",
                "@client-encrypted.key",
                "--pass",
                "nope",
            ],
            format!(
                "wrong passphrase for the key in {} (--pass)",
                tls_fixture("client-encrypted.key")
            ),
        ),
        (
            &["--cert", "@client.p12:nope"],
            format!(
                "wrong passphrase for {} (--pass)",
                tls_fixture("client.p12")
            ),
        ),
        (
            &["--cert", "@client.p12"],
            format!(
                "{} needs its passphrase (--pass or --cert FILE:PASSWORD)",
                tls_fixture("client.p12")
            ),
        ),
        (
            &["--cert", "@client.pem", "--cert-type", "P12"],
            format!("{} is not a PKCS#12 (P12) file", tls_fixture("client.pem")),
        ),
    ];
    let server = SServer::start("-tls1_3");
    for (flags, want) in cases {
        let run = fetch(&server, &with_fixtures(flags));
        assert_eq!(run.code, 58, "{flags:?}: {}", run.stderr);
        assert_eq!(
            run.error_line(),
            format!("rawget: error: {want}\n"),
            "{flags:?}"
        );
    }
}

#[test]
fn an_unreadable_certificate_is_exit_58() {
    let dir = scratch();
    let cert = dir.path().join("client.pem");
    std::fs::copy(tls_fixture("client-combined.pem"), &cert).unwrap();
    std::fs::set_permissions(&cert, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let server = SServer::start("-tls1_2");
    let (ca, url) = (tls_fixture("ca.pem"), server.url());
    let mut cmd = std::process::Command::new(BIN);
    cmd.args([
        "-s",
        "--cacert",
        &ca,
        "--cert",
        cert.to_str().unwrap(),
        &url,
    ]);
    // As nobody when the tests run as root, for whom 0000 means nothing.
    unprivileged(&mut cmd, dir.path());
    let run = run(cmd, b"");
    assert_eq!(run.code, 58, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: could not read the client certificate {}: Permission denied\n",
            cert.display()
        )
    );
}

#[test]
fn bad_cert_and_key_types_are_usage_errors() {
    for (flag, value) in [("--cert-type", "ENG"), ("--key-type", "P12")] {
        let run = rawget(&["--cert", "c.pem", flag, value, "https://127.0.0.1:1/"]);
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        assert!(
            run.error_line()
                .contains(&format!("bad {flag} \"{value}\"")),
            "{}",
            run.stderr
        );
    }
}

// ---------- the server's side: asked for, rejected (item 2) ----------

/// curl's codes: TLS 1.3 sends the alert after the handshake, so it comes
/// on the first read (56); TLS 1.2 aborts the handshake (35).
const CODES: [(&str, i32); 2] = [("-tls1_2", 35), ("-tls1_3", 56)];

#[test]
fn a_server_that_asks_for_a_certificate_none_was_given_for_says_so_once() {
    for (version, code) in CODES {
        let server = SServer::start(version);
        let run = fetch(&server, &[]);
        assert_eq!(run.code, code, "{version}: {}", run.stderr);
        assert_eq!(
            run.error_line(),
            "rawget: error: the server asked for a client certificate; give one with --cert\n",
            "{version}"
        );
        assert_eq!(run.stdout_str(), "", "{version}");
    }
}

#[test]
fn a_certificate_from_another_ca_is_rejected_plainly() {
    for (version, code) in CODES {
        let server = SServer::start(version);
        let run = fetch(
            &server,
            &with_fixtures(&["--cert", "@stranger.pem", "--key", "@stranger.key"]),
        );
        assert_eq!(run.code, code, "{version}: {}", run.stderr);
        assert_eq!(
            run.error_line(),
            "rawget: error: the server rejected the client certificate: alert unknown ca\n",
            "{version}"
        );
    }
}

#[test]
fn another_alert_is_named_once_without_openssl_text() {
    // A TLS 1.3-only server, a client capped at TLS 1.2.
    let server = SServer::start("-tls1_3");
    let run = fetch(&server, &with_fixtures(&["--tls-max", "1.2"]));
    assert_eq!(run.code, 35, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: TLS handshake failed: the server sent alert protocol version\n"
    );
}

#[test]
fn openssl_text_is_printed_once() {
    // https to a plain-text server: OpenSSL's "wrong version number",
    // which its error and the stack it wraps both print.
    let server = serve(Plan::new(fixture("ok.http")).read_request(false));
    let run = rawget(&[&format!("https://{}/", server.addr())]);
    assert_eq!(run.code, 35, "{}", run.stderr);
    let line = run.error_line();
    assert_eq!(line.matches("wrong version number").count(), 1, "{line}");
}

// ---------- the chain under -v when verification fails (item 3) ----------

#[test]
fn verbose_shows_the_chain_that_failed_verification() {
    // Without --cacert the test CA is unknown: exit 60.
    for version in VERSIONS {
        let server = SServer::serving("server", version, &[]);
        let url = server.url();
        let run = rawget(&["-v", "-o", "/dev/null", &url]);
        assert_eq!(run.code, 60, "{version}: {}", run.stderr);
        for want in [
            "* the server's certificate chain, 2 certificate(s), \
             read by a second handshake without verification:\n",
            "*   [0] subject: CN=rawget test server\n",
            "*   [0] issuer: CN=rawget test CA\n",
            "*   [0] valid: Jan  1 00:00:00 2020 GMT to Jan  1 00:00:00 2100 GMT\n",
            "*   [0] names: localhost, rawget.test, 127.0.0.1, ::1\n",
            "*   [1] subject: CN=rawget test CA\n",
        ] {
            assert_eq!(
                run.stderr.matches(want).count(),
                1,
                "{version}: {want:?} in\n{}",
                run.stderr
            );
        }
        let errors: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("rawget: error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{}", run.stderr);
        assert!(
            errors[0].starts_with("rawget: error: server certificate not verified: "),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn verbose_shows_an_expired_certificate_dates() {
    let server = SServer::serving("expired", "-tls1_3", &[]);
    let (ca, url) = (tls_fixture("ca.pem"), server.url());
    let run = rawget(&["-v", "-o", "/dev/null", "--cacert", &ca, &url]);
    assert_eq!(run.code, 60, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("*   [0] subject: CN=rawget expired server\n")
            && run
                .stderr
                .contains("*   [0] valid: Jan  1 00:00:00 2000 GMT to Jan  1 00:00:00 2001 GMT\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .ends_with("rawget: error: server certificate not verified: certificate has expired\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn without_verbose_a_failed_verification_is_one_line() {
    let server = SServer::serving("server", "-tls1_3", &[]);
    let url = server.url();
    let run = rawget(&["-o", "/dev/null", &url]);
    assert_eq!(run.code, 60, "{}", run.stderr);
    assert!(
        run.error_line()
            .starts_with("rawget: error: server certificate not verified: "),
        "{}",
        run.stderr
    );
}

// ---------- --cacert that cannot be used (item 4) ----------
// tests/tls.rs covers a missing file and files without a usable PEM
// certificate (empty, text, a broken block, a key); these are the rest.

#[test]
fn cacert_unreadable_or_a_directory_is_77() {
    let server = SServer::serving("server", "-tls1_3", &[]);
    let url = server.url();
    let dir = scratch();
    let ca = dir.path().join("ca.pem");
    std::fs::copy(tls_fixture("ca.pem"), &ca).unwrap();
    std::fs::set_permissions(&ca, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let mut cmd = std::process::Command::new(BIN);
    cmd.args(["-s", "--cacert", ca.to_str().unwrap(), &url]);
    // As nobody when the tests run as root, for whom 0000 means nothing.
    unprivileged(&mut cmd, dir.path());
    let run = run(cmd, b"");
    assert_eq!(run.code, 77, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: could not read --cacert {}: Permission denied\n",
            ca.display()
        )
    );

    let folder = dir.path().to_str().unwrap();
    let run = rawget(&["-s", "--cacert", folder, &url]);
    assert_eq!(run.code, 77, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!("rawget: error: could not read --cacert {folder}: Is a directory\n")
    );
}

#[test]
fn cacert_of_another_ca_is_60_not_77() {
    // A readable bundle that simply does not hold the server's CA.
    let server = SServer::serving("server", "-tls1_3", &[]);
    let url = server.url();
    let other = tls_fixture("stranger.pem");
    let run = rawget(&["-s", "--cacert", &other, &url]);
    assert_eq!(run.code, 60, "{}", run.stderr);
}

#[test]
fn rawget_send_offers_the_client_certificate_and_keeps_the_tls_versions() {
    // The TLS flags are the shared network flags: `rawget send` has them.
    let dir = scratch();
    let raw = dir.path().join("raw");
    let raw = raw.to_str().unwrap();
    let (ca, cert, key) = (
        tls_fixture("ca.pem"),
        tls_fixture("client.pem"),
        tls_fixture("client.key"),
    );
    for version in VERSIONS {
        let server = SServer::start(version);
        let url = server.url();
        let request = b"GET / HTTP/1.0\r\n\r\n";
        let args = [
            "send",
            "-s",
            "--cacert",
            &ca,
            "--cert",
            &cert,
            "--key",
            &key,
            "--save-raw",
            raw,
            &url,
        ];
        let run = rawget_input(&args, request);
        assert_eq!(run.code, 0, "{version}: {}", run.stderr);
        let got = String::from_utf8_lossy(&std::fs::read(raw).unwrap()).into_owned();
        assert!(
            got.contains("Subject: CN=rawget test client"),
            "{version}: the server did not see the client certificate:\n{got}"
        );
        // Without the certificate the same server refuses, and says why.
        let run = rawget_input(&["send", "-s", "--cacert", &ca, &url], request);
        assert_ne!(run.code, 0, "{version}");
        assert!(
            run.stderr
                .contains("the server asked for a client certificate"),
            "{version}: {}",
            run.stderr
        );
    }
    // --tls-max 1.2 against a TLS 1.3-only server: the handshake fails.
    let server = SServer::start("-tls1_3");
    let run = rawget_input(
        &[
            "send",
            "-s",
            "--cacert",
            &ca,
            "--tls-max",
            "1.2",
            &server.url(),
        ],
        b"GET / HTTP/1.0\r\n\r\n",
    );
    assert_eq!(run.code, 35, "{}", run.stderr);
}
