//! What the reach tests (proxies, sockets, racing) need besides the test
//! server: a black-holed address on loopback, made without a firewall.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// A listening socket whose accept queue is full, so the kernel drops
/// every further SYN: a connect to it hangs as to a black-holed address.
/// Keep it alive for as long as the address must stay black.
pub struct BlackHole {
    pub addr: SocketAddr,
    _listener: Socket,
    _queued: Vec<TcpStream>,
}

/// A black hole on `ip` (`"::1"` or `"127.0.0.1"`), port chosen by the
/// kernel; `None` when the address cannot be bound here (no IPv6 loopback).
pub fn black_hole(ip: &str) -> Option<BlackHole> {
    let addr: SocketAddr = SocketAddr::new(ip.parse().ok()?, 0);
    let listener = Socket::new(Domain::for_address(addr), Type::STREAM, None).ok()?;
    listener.bind(&addr.into()).ok()?;
    // Backlog 0: Linux queues one connection, then drops SYNs.
    listener.listen(0).ok()?;
    let addr = listener.local_addr().ok()?.as_socket()?;
    let mut queued = Vec::new();
    // Fill the queue until a connect no longer completes (bounded).
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => queued.push(s),
            Err(_) => {
                return Some(BlackHole {
                    addr,
                    _listener: listener,
                    _queued: queued,
                })
            }
        }
    }
    panic!("{addr} kept accepting connections: no black hole can be made here");
}

/// A real proxy from Debian's packages (tinyproxy, microsocks, dante), run in the
/// foreground on 127.0.0.1 with a private configuration in a temporary
/// directory; killed on drop.
pub struct RealProxy {
    child: std::process::Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl RealProxy {
    /// tinyproxy on 127.0.0.1, allowing CONNECT to any port.
    pub fn tinyproxy() -> RealProxy {
        RealProxy::start("tinyproxy", |dir, port| {
            let conf = dir.join("tinyproxy.conf");
            std::fs::write(
                &conf,
                format!(
                    "Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 50\n\
                     Allow 127.0.0.1\nLogLevel Info\n"
                ),
            )
            .expect("write tinyproxy.conf");
            let mut cmd = std::process::Command::new("tinyproxy");
            cmd.arg("-d").arg("-c").arg(conf);
            cmd
        })
    }

    /// microsocks (SOCKS5) on 127.0.0.1, `extra` its flags (`-u U -P P`).
    pub fn microsocks(extra: &[&str]) -> RealProxy {
        RealProxy::start("microsocks", |_, port| {
            let mut cmd = std::process::Command::new("microsocks");
            cmd.args(["-i", "127.0.0.1", "-p", &port.to_string()])
                .args(extra);
            cmd
        })
    }

    /// dante (`danted`, SOCKS4 and SOCKS5; not SOCKS4a) on 127.0.0.1, no
    /// authentication, connecting anywhere from loopback.
    pub fn dante() -> RealProxy {
        let bin = ["/usr/sbin/danted", "/sbin/danted"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .unwrap_or_else(|| {
                panic!(
                    "danted is not installed: apt-get install dante-server (.ci/run installs it)"
                )
            });
        RealProxy::start("danted", |dir, port| {
            let conf = dir.join("danted.conf");
            std::fs::write(
                &conf,
                format!(
                    "logoutput: stderr
internal: 127.0.0.1 port = {port}
                     external: 127.0.0.1
clientmethod: none
socksmethod: none
                     user.unprivileged: nobody
                     client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}
                     socks pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 command: connect }}
"
                ),
            )
            .expect("write danted.conf");
            let mut cmd = std::process::Command::new(bin);
            // One process, in the foreground; its pid file in the temp dir.
            cmd.arg("-f").arg(conf).arg("-N").arg("1");
            cmd.arg("-p").arg(dir.join("danted.pid"));
            cmd
        })
    }

    /// The proxy's log so far (its stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    fn start(
        name: &str,
        command: impl Fn(&std::path::Path, u16) -> std::process::Command,
    ) -> RealProxy {
        use std::process::Stdio;
        // A free port is found by binding and releasing it; another process
        // may take it meanwhile, so a proxy that exits at once is retried.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let port = super::net::closed_addr().port();
            let log = std::fs::File::create(dir.path().join("log")).expect("the proxy's log");
            let mut cmd = command(dir.path(), port);
            cmd.stdin(Stdio::null())
                .stdout(Stdio::from(log.try_clone().expect("dup the log")))
                .stderr(Stdio::from(log));
            let child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    panic!("{name} is not installed: apt-get install {name} (.ci/run installs it)")
                }
                Err(e) => panic!("could not start {name}: {e}"),
            };
            let mut proxy = RealProxy {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                dir,
            };
            if proxy.wait_listening() {
                return proxy;
            }
        }
        panic!("{name} would not start on 127.0.0.1 in five tries");
    }

    /// Waits (at most 10 s) until the proxy accepts; `false` if it exited.
    fn wait_listening(&mut self) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the proxy never listened on {}; log:\n{}",
            self.addr,
            self.log()
        );
    }
}

impl Drop for RealProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
