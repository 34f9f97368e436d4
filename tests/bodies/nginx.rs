//! nginx on loopback, as users meet it: a private config, pid, logs and
//! document root in a temp dir, on a free high port of 127.0.0.1, in the
//! foreground (`daemon off; master_process off`) so that the test owns the
//! one process and kills it on drop. Debian's nginx (`nginx-light` or
//! `nginx`, /usr/sbin/nginx); `.ci/run` installs it, and a machine without
//! it fails the test saying what to install.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Debian's nginx binary.
const NGINX: &str = "/usr/sbin/nginx";

/// A running nginx serving `root()`, killed on drop.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
    /// Config, logs and root; removed after nginx is killed.
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx with `server` (directives inside `server { }`, after `listen`
    /// and `root`) serving the files `files` puts into the root.
    pub fn start(server: &str, files: impl FnOnce(&Path)) -> Nginx {
        assert!(
            Path::new(NGINX).exists(),
            "{NGINX} is missing: apt-get install nginx-light (as .ci/run does)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("www");
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        std::fs::create_dir(&root).unwrap();
        files(&root);
        // Run as root, nginx's worker is nobody: let it read the root.
        for p in [dir.path(), root.as_path()] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for f in std::fs::read_dir(&root).unwrap() {
            let f = f.unwrap().path();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        // A port that was free a moment ago; retried if nginx loses the race.
        let mut last = String::new();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let conf = config(dir.path(), &root, addr, server);
            let conf_path = dir.path().join("nginx.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let mut child = Command::new(NGINX)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn nginx");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(addr).is_ok() {
                    return Nginx {
                        child,
                        addr,
                        _dir: dir,
                    };
                }
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            last = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
        }
        panic!("nginx did not start: {last}");
    }

    /// `http://ADDR/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(dir: &Path, root: &Path, addr: SocketAddr, server: &str) -> String {
    let d = dir.display();
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  default_type text/plain;
  server {{
    listen {addr};
    root {root};
    {server}
  }}
}}
",
        root = root.display()
    )
}
