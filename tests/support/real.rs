//! Real servers where users meet them, nginx and haproxy from Debian's
//! packages, started by a test on 127.0.0.1 high ports with a private
//! configuration, pid and logs in a temp dir, and killed on drop. A
//! missing binary fails the test saying what to install (`.ci/run`
//! installs them): never a silent skip.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::net::closed_addr;

/// How long a real server may take to listen.
const START_LIMIT: Duration = Duration::from_secs(10);

/// A real server process on loopback, killed (and reaped) on drop.
pub struct RealServer {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its temp dir: configuration and logs.
    pub dir: tempfile::TempDir,
    name: &'static str,
}

impl RealServer {
    /// nginx answering `location / { return 200 "hello $uri\n"; }` with
    /// keep-alive on (Debian's `nginx`, in /usr/sbin).
    pub fn nginx() -> RealServer {
        let bin = binary("nginx", "nginx");
        RealServer::start("nginx", |dir, port| {
            nginx_in(
                &bin,
                dir,
                &format!(
                    "keepalive_timeout 10;\n\
                     keepalive_requests 1000;\n  server {{\n    listen 127.0.0.1:{port};\n\
                     location / {{ return 200 \"hello $uri\\n\"; }}\n  }}\n}}\n"
                ),
            )
        })
    }

    /// nginx for long pipelines (`rawget send --pipeline`): keep-alive for
    /// a million requests on one connection, every answer a body of
    /// `body_len` bytes; over TLS with the test CA's `server.pem` when
    /// `tls` (`https://localhost:PORT`).
    pub fn nginx_pipeline(tls: bool, body_len: usize) -> RealServer {
        let bin = binary("nginx", "nginx");
        let (listen, certs) = if tls {
            let (cert, key) = (
                super::fixtures::tls_fixture("server.pem"),
                super::fixtures::tls_fixture("server.key"),
            );
            (
                " ssl",
                format!("ssl_certificate {cert};\n    ssl_certificate_key {key};\n"),
            )
        } else {
            ("", String::new())
        };
        RealServer::start("nginx", move |dir, port| {
            let d = dir.display();
            std::fs::create_dir_all(dir.join("www")).expect("a www dir");
            std::fs::write(dir.join("www/body"), vec![b'x'; body_len]).expect("write the body");
            nginx_in(&bin, dir, &format!(
                "keepalive_timeout 30;\n\
                     keepalive_requests 1000000;\n  server {{\n    listen 127.0.0.1:{port}{listen};\n\
                     {certs}    root {d}/www;\n    location / {{ try_files /body =404; }}\n  }}\n}}\n"
            ))
        })
    }

    /// nginx answering `$scheme $host $uri` on two Unix sockets in its
    /// dir, `plain.sock` and `tls.sock` (TLS with the test server's
    /// certificate), and on 127.0.0.1 (which [`RealServer::start`] waits for).
    pub fn nginx_unix() -> RealServer {
        let bin = binary("nginx", "nginx");
        let (cert, key) = (
            super::fixtures::tls_fixture("server.pem"),
            super::fixtures::tls_fixture("server.key"),
        );
        RealServer::start("nginx", |dir, port| {
            let d = dir.display();
            nginx_in(
                &bin,
                dir,
                &format!(
                    "server {{\n    listen 127.0.0.1:{port};\n\
                     listen unix:{d}/plain.sock;\n    listen unix:{d}/tls.sock ssl;\n\
                     ssl_certificate {cert};\n    ssl_certificate_key {key};\n\
                     location / {{ return 200 \"$scheme $host $uri\\n\"; }}\n  }}\n}}\n"
                ),
            )
        })
    }

    /// haproxy in `mode tcp` terminating TLS on 127.0.0.1 with the test
    /// server's certificate for `CN=localhost` and 127.0.0.1, in front of
    /// `backend` (an https:// proxy made of a plain one).
    pub fn haproxy_tls(backend: SocketAddr) -> RealServer {
        let bin = binary("haproxy", "haproxy");
        RealServer::start("haproxy", |dir, port| {
            let pem = dir.join("server.pem");
            let cert = std::fs::read_to_string(super::fixtures::tls_fixture("server.pem"));
            let key = std::fs::read_to_string(super::fixtures::tls_fixture("server.key"));
            std::fs::write(&pem, cert.expect("server.pem") + &key.expect("server.key"))
                .expect("write the haproxy pem");
            std::fs::write(
                dir.join("haproxy.cfg"),
                format!(
                    "global\n  maxconn 64\ndefaults\n  mode tcp\n  timeout connect 2s\n\
                     timeout client 10s\n  timeout server 10s\nfrontend fe\n\
                     bind 127.0.0.1:{port} ssl crt {}\n  default_backend be\nbackend be\n\
                     server s1 {backend}\n",
                    pem.display()
                ),
            )
            .expect("write haproxy.cfg");
            let mut cmd = Command::new(&bin);
            cmd.arg("-db").arg("-f").arg(dir.join("haproxy.cfg"));
            cmd
        })
    }

    /// haproxy in HTTP mode in front of `backend` (Debian's `haproxy`).
    pub fn haproxy(backend: SocketAddr) -> RealServer {
        let bin = binary("haproxy", "haproxy");
        RealServer::start("haproxy", |dir, port| {
            std::fs::write(
                dir.join("haproxy.cfg"),
                format!(
                    "global\n  maxconn 64\ndefaults\n  mode http\n  timeout connect 2s\n\
                     timeout client 10s\n  timeout server 10s\nfrontend fe\n\
                     bind 127.0.0.1:{port}\n  default_backend be\nbackend be\n\
                     server s1 {backend}\n"
                ),
            )
            .expect("write haproxy.cfg");
            let mut cmd = Command::new(&bin);
            cmd.arg("-db").arg("-f").arg(dir.join("haproxy.cfg"));
            cmd
        })
    }

    /// Starts `command(dir, port)` on a free port until it listens: up to
    /// five ports, in case another process took the one picked.
    fn start(name: &'static str, command: impl Fn(&Path, u16) -> Command) -> RealServer {
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("a temp dir");
            // Workers that drop root must be able to read their config.
            let _ = std::fs::set_permissions(
                dir.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            );
            let addr = closed_addr();
            let mut child = command(dir.path(), addr.port())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(dir.path().join("stderr.log")).expect("a log file"),
                ))
                .spawn()
                .unwrap_or_else(|e| panic!("could not start {name}: {e}"));
            let deadline = Instant::now() + START_LIMIT;
            while Instant::now() < deadline {
                if TcpStream::connect(addr).is_ok() {
                    return RealServer {
                        child,
                        addr,
                        dir,
                        name,
                    };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("{name} did not start listening on 127.0.0.1 (five ports tried)");
    }

    /// `http://ADDR/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What it wrote on stderr and in its error log, for a failure message.
    pub fn logs(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        format!("{}: {}{}", self.name, read("stderr.log"), read("error.log"))
    }
}

impl Drop for RealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The path of `name` (in PATH, /usr/sbin or /sbin), or a failure saying
/// which Debian package to install.
fn binary(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{name} is not installed: apt-get install {package} (.ci/run installs it)")
        })
}

/// nginx in `dir` with the settings every test's nginx shares (no daemon,
/// one worker, pid, logs and temp paths in `dir`, `text/plain`) and `http`:
/// the rest of the `http` block, its closing brace included.
fn nginx_in(bin: &std::path::Path, dir: &std::path::Path, http: &str) -> Command {
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\nevents {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         default_type text/plain;\n{http}"
    );
    std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
    let mut cmd = Command::new(bin);
    cmd.arg("-p").arg(dir).arg("-c").arg(dir.join("nginx.conf"));
    cmd.arg("-e").arg(dir.join("error.log"));
    cmd
}
