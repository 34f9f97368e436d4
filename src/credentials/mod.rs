//! Who rawget says it is to the server (Basic auth): `-u USER[:PASSWORD]`,
//! the URL's `user:pw@`, and the netrc file, with curl's precedence, and
//! which of them each hop of a redirect gets.
//!
//! - `-u` wins over the URL's credentials, which win over netrc; a URL
//!   user without a password takes the password of that login's netrc
//!   entry (the URL's user chooses the entry).
//! - `-u USER` without a password asks for it on the terminal
//!   (`prompt.rs`), once per run.
//! - On a redirect, `-u` and the first URL's credentials go only to the
//!   same scheme, host and port, unless `--location-trusted`; a hop to
//!   another host gets its own URL's or its own netrc entry, never the
//!   first host's.
//!
//! `netrc.rs` parses the file; this module decides ([`CredentialPlan`]).

mod netrc;
mod prompt;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use netrc::Netrc;

use crate::error::{Error, ErrorKind, Result};
use crate::target::Target;

/// The credential flags as typed.
#[derive(Debug, Clone, Copy, Default)]
pub struct CredentialFlags<'a> {
    /// `-u USER[:PASSWORD]`.
    pub user: Option<&'a str>,
    /// `--netrc`.
    pub netrc: bool,
    /// `--netrc-file FILE`.
    pub netrc_file: Option<&'a Path>,
    /// `--netrc-optional`.
    pub netrc_optional: bool,
    /// `--location-trusted`.
    pub location_trusted: bool,
}

/// Which credentials go where: decided once from the flags and the first
/// URL, asked for each hop's target.
#[derive(Clone, Default)]
pub struct CredentialPlan {
    /// `-u`, as `user:password` (the password asked for if left out).
    user: Option<Vec<u8>>,
    /// What the first URL was sent (from whichever source): what later
    /// hops to the same origin are sent.
    first: Option<Vec<u8>>,
    /// The first URL's scheme, host and port.
    origin: Option<(bool, String, u16)>,
    netrc: Option<Netrc>,
    trusted: bool,
}

impl std::fmt::Debug for CredentialPlan {
    /// Never the secrets themselves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialPlan")
            .field("user", &self.user.as_ref().map(|_| "…"))
            .field("netrc", &self.netrc.is_some())
            .field("trusted", &self.trusted)
            .finish()
    }
}

impl CredentialPlan {
    /// From the flags and the first URL; reads the netrc file (exit 26 when
    /// `--netrc` or `--netrc-file` names one that cannot be read; with
    /// `--netrc-optional` a missing file is no credentials).
    pub fn from_flags(flags: CredentialFlags<'_>, first: &Target) -> Result<CredentialPlan> {
        let user = flags.user.map(|u| match u.split_once(':') {
            Some(_) => u.as_bytes().to_vec(),
            None => format!("{u}:{}", asked_password(u)).into_bytes(),
        });
        let netrc = if flags.netrc || flags.netrc_file.is_some() || flags.netrc_optional {
            read_netrc(flags.netrc_file, flags.netrc_optional)?
        } else {
            None
        };
        let mut plan = CredentialPlan {
            user,
            first: None,
            origin: Some(origin(first)),
            netrc,
            trusted: flags.location_trusted,
        };
        plan.first = plan.for_target(first);
        Ok(plan)
    }

    /// The `user:password` for a request to `target` (its own URL's
    /// credentials are `target.credentials`), `None` for none.
    pub fn for_target(&self, target: &Target) -> Option<Vec<u8>> {
        let same = self.trusted || self.origin.as_ref() == Some(&origin(target));
        if same && self.user.is_some() {
            return self.user.clone();
        }
        if let Some(own) = &target.credentials {
            // A user without a password: netrc's entry for that login.
            if target.url.password().is_none() {
                let user = String::from_utf8_lossy(own.strip_suffix(b":").unwrap_or(own));
                if let Some(found) = self.lookup(&target.host, Some(&user)) {
                    return Some(found);
                }
            }
            return Some(own.clone());
        }
        if same && self.first.is_some() {
            return self.first.clone();
        }
        self.lookup(&target.host, None)
    }

    fn lookup(&self, host: &str, user: Option<&str>) -> Option<Vec<u8>> {
        let (login, password) = self.netrc.as_ref()?.lookup(host, user)?;
        Some(format!("{login}:{password}").into_bytes())
    }
}

/// Scheme, host and port: where credentials may go again on a redirect.
fn origin(t: &Target) -> (bool, String, u16) {
    (t.tls, t.host.to_ascii_lowercase(), t.port)
}

/// The password for `-u USER`, asked once per run however many URLs.
fn asked_password(user: &str) -> String {
    static ASKED: OnceLock<String> = OnceLock::new();
    ASKED.get_or_init(|| prompt::password(user)).clone()
}

/// The passphrase of an encrypted `--key` given without `--pass`, asked
/// on the terminal once per run however many connections load the key;
/// `None` without a terminal.
pub fn asked_key_passphrase() -> Option<String> {
    static ASKED: OnceLock<Option<String>> = OnceLock::new();
    ASKED.get_or_init(prompt::key_passphrase).clone()
}

/// The netrc file: `--netrc-file`, else `$NETRC` (as curl 8.16 reads it),
/// else `~/.netrc`.
fn netrc_path(file: Option<&Path>) -> Option<PathBuf> {
    if let Some(f) = file {
        return Some(f.to_path_buf());
    }
    if let Some(n) = std::env::var_os("NETRC").filter(|n| !n.is_empty()) {
        return Some(PathBuf::from(n));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".netrc"))
}

fn read_netrc(file: Option<&Path>, optional: bool) -> Result<Option<Netrc>> {
    let Some(path) = netrc_path(file) else {
        return if optional {
            Ok(None)
        } else {
            Err(Error::new(
                ErrorKind::ReadInput,
                "no netrc file: $HOME is not set (use --netrc-file)",
            ))
        };
    };
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(Netrc::parse(&String::from_utf8_lossy(&bytes)))),
        Err(_) if optional => Ok(None),
        Err(e) => Err(Error::new(
            ErrorKind::ReadInput,
            format!("could not read the netrc file {}", path.display()),
        )
        .with_source(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(user: Option<&str>, netrc: &str, first: &str) -> CredentialPlan {
        let first = Target::parse(first).unwrap();
        let mut p = CredentialPlan::from_flags(
            CredentialFlags {
                user,
                ..CredentialFlags::default()
            },
            &first,
        )
        .unwrap();
        p.netrc = (!netrc.is_empty()).then(|| Netrc::parse(netrc));
        p.first = p.for_target(&first);
        p
    }

    fn creds(p: &CredentialPlan, url: &str) -> Option<String> {
        p.for_target(&Target::parse(url).unwrap())
            .map(|c| String::from_utf8(c).unwrap())
    }

    #[test]
    fn user_flag_wins_over_the_url_and_netrc() {
        let p = plan(
            Some("u:p"),
            "machine h login n password np",
            "http://a:b@h/",
        );
        assert_eq!(creds(&p, "http://a:b@h/").as_deref(), Some("u:p"));
    }

    #[test]
    fn the_url_wins_over_netrc_and_its_user_chooses_the_entry() {
        let netrc = "machine h login alice password a1\nmachine h login bob password b2\n";
        let p = plan(None, netrc, "http://h/");
        assert_eq!(creds(&p, "http://x:y@h/").as_deref(), Some("x:y"));
        assert_eq!(creds(&p, "http://bob@h/").as_deref(), Some("bob:b2"));
        assert_eq!(creds(&p, "http://h/").as_deref(), Some("alice:a1"));
        assert_eq!(creds(&p, "http://carol@h/").as_deref(), Some("carol:"));
    }

    #[test]
    fn redirects_keep_credentials_on_the_origin_only() {
        let p = plan(
            Some("u:p"),
            "machine other login o password op",
            "http://h:8080/",
        );
        assert_eq!(creds(&p, "http://h:8080/next").as_deref(), Some("u:p"));
        assert_eq!(creds(&p, "http://h:8081/").as_deref(), None);
        assert_eq!(creds(&p, "https://h:8080/").as_deref(), None);
        // Another host gets its own netrc entry, never -u's.
        assert_eq!(creds(&p, "http://other/").as_deref(), Some("o:op"));
        let mut trusted = p.clone();
        trusted.trusted = true;
        assert_eq!(creds(&trusted, "http://elsewhere/").as_deref(), Some("u:p"));
        // The first URL's own credentials follow like -u's.
        let p = plan(None, "", "http://a:b@h/");
        assert_eq!(creds(&p, "http://h/next").as_deref(), Some("a:b"));
        assert_eq!(creds(&p, "http://other/").as_deref(), None);
    }
}
