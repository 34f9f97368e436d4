//! The netrc file (`--netrc`, `--netrc-file`, `--netrc-optional`) as curl
//! reads it: whitespace-separated tokens, `machine NAME`, `default`,
//! `login NAME`, `password PW`, `account X` (ignored), `macdef NAME`
//! followed by a macro up to the next empty line (skipped); values may be
//! quoted (`"a b"`, with `\"`, `\\`, `\n`, `\r`, `\t`), and a `#` starting a
//! token outside quotes starts a comment to the end of the line. Pure:
//! [`Netrc::parse`] takes the text, [`Netrc::lookup`] answers.

/// One `machine` (or `default`) entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The host; `None` for `default`, which matches any.
    machine: Option<String>,
    login: Option<String>,
    password: Option<String>,
}

/// A parsed netrc file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Netrc {
    entries: Vec<Entry>,
}

impl Netrc {
    /// Parses the file's text. Nothing in it is an error: an unknown
    /// token is skipped, as curl skips it.
    pub fn parse(text: &str) -> Netrc {
        let mut entries: Vec<Entry> = Vec::new();
        let mut tokens = Tokens::new(text);
        while let Some(tok) = tokens.next() {
            match tok.as_str() {
                "machine" => {
                    let machine = tokens.next();
                    entries.push(Entry {
                        machine: Some(machine.unwrap_or_default()),
                        login: None,
                        password: None,
                    });
                }
                "default" => entries.push(Entry {
                    machine: None,
                    login: None,
                    password: None,
                }),
                "login" | "password" => {
                    let value = tokens.next();
                    if let Some(entry) = entries.last_mut() {
                        if tok == "login" {
                            entry.login = value;
                        } else {
                            entry.password = value;
                        }
                    }
                }
                "account" => {
                    tokens.next();
                }
                "macdef" => {
                    tokens.next();
                    tokens.skip_macro();
                }
                _ => {}
            }
        }
        Netrc { entries }
    }

    /// The login and password for `host` (compared without case): the
    /// first entry for it or `default`, in file order; with `user` (the
    /// URL's), the first such entry whose login is that user, so that the
    /// URL's user chooses the entry, as in curl (an entry without a login
    /// gives that user its password). `None` when none matches.
    pub fn lookup(&self, host: &str, user: Option<&str>) -> Option<(String, String)> {
        self.entries
            .iter()
            .filter(|e| {
                e.machine
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(host))
            })
            // An entry without a login serves any user (curl's "generic"
            // entry); one with a login only that user.
            .find(|e| user.is_none_or(|u| e.login.as_deref().is_none_or(|l| l == u)))
            .map(|e| {
                (
                    e.login
                        .clone()
                        .or_else(|| user.map(str::to_owned))
                        .unwrap_or_default(),
                    e.password.clone().unwrap_or_default(),
                )
            })
    }
}

/// The tokens of a netrc text.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        Tokens { rest: text }
    }

    /// Skips a `macdef` body: everything up to and including the next empty
    /// line (or the end).
    fn skip_macro(&mut self) {
        // The rest of the macdef line itself.
        let after_line = self.rest.find('\n').map_or("", |i| &self.rest[i + 1..]);
        let mut rest = after_line;
        loop {
            match rest.find('\n') {
                Some(i) => {
                    let line = &rest[..i];
                    rest = &rest[i + 1..];
                    if line.trim_end_matches('\r').is_empty() {
                        break;
                    }
                }
                None => {
                    rest = "";
                    break;
                }
            }
        }
        self.rest = rest;
    }
}

impl Iterator for Tokens<'_> {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        loop {
            self.rest = self.rest.trim_start();
            if self.rest.starts_with('#') {
                self.rest = self.rest.find('\n').map_or("", |i| &self.rest[i + 1..]);
                continue;
            }
            break;
        }
        if self.rest.is_empty() {
            return None;
        }
        if let Some(quoted) = self.rest.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, 'r')) => value.push('\r'),
                        Some((_, 't')) => value.push('\t'),
                        Some((_, other)) => value.push(other),
                        None => {}
                    },
                    c => value.push(c),
                }
            }
            self.rest = &quoted[end..];
            return Some(value);
        }
        let end = self
            .rest
            .find(char::is_whitespace)
            .unwrap_or(self.rest.len());
        let token = self.rest[..end].to_owned();
        self.rest = &self.rest[end..];
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(l: &str, p: &str) -> Option<(String, String)> {
        Some((l.to_owned(), p.to_owned()))
    }

    #[test]
    fn machine_login_password_and_default() {
        let n = Netrc::parse(
            "machine a.example login alice password s3cret\n\
             machine b.example\n  login bob\n  password \"two words\"\n\
             default login anon password guest\n",
        );
        assert_eq!(n.lookup("a.example", None), pair("alice", "s3cret"));
        assert_eq!(n.lookup("A.EXAMPLE", None), pair("alice", "s3cret"));
        assert_eq!(n.lookup("b.example", None), pair("bob", "two words"));
        assert_eq!(n.lookup("c.example", None), pair("anon", "guest"));
    }

    #[test]
    fn the_urls_user_chooses_the_entry() {
        let n =
            Netrc::parse("machine h login alice password a1\nmachine h login bob password b2\n");
        assert_eq!(n.lookup("h", Some("bob")), pair("bob", "b2"));
        assert_eq!(n.lookup("h", Some("alice")), pair("alice", "a1"));
        assert_eq!(n.lookup("h", Some("carol")), None);
        assert_eq!(n.lookup("other", None), None);
        // A generic entry (no login) before the user's serves the user.
        let n = Netrc::parse("machine h password g\nmachine h login bob password b2\n");
        assert_eq!(n.lookup("h", Some("bob")), pair("bob", "g"));
        assert_eq!(n.lookup("h", None), pair("", "g"));
    }

    #[test]
    fn quotes_escapes_comments_and_macros() {
        let n = Netrc::parse(
            "# a comment line\n\
             macdef init\ncd /pub\nmachine fake login no password no\n\n\
             machine h login \"u\\\"q\" password \"p\\\\w\\n\" # trailing comment\n\
             account ignored\n",
        );
        assert_eq!(n.lookup("h", None), pair("u\"q", "p\\w\n"));
        // The macro's body is not read as entries.
        assert_eq!(n.lookup("fake", None), None);
    }

    #[test]
    fn a_broken_file_never_panics() {
        for text in [
            "machine",
            "machine h login",
            "\"unterminated",
            "password x",
            "macdef m",
        ] {
            let _ = Netrc::parse(text).lookup("h", None);
        }
        assert_eq!(
            Netrc::parse("machine h login u").lookup("h", None),
            pair("u", "")
        );
    }
}
