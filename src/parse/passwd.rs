//! The caller's /etc/passwd entry, read directly when glibc would read it first.
//!
//! Asking glibc (getpwuid_r) costs a helper call about 0.1 ms, a tenth of
//! the whole call: it reads nsswitch.conf again, tries nscd twice and pulls
//! in its NSS and stdio code. When nsswitch.conf's `passwd:` line starts with
//! `files` (Debian's default), glibc's answer for a UID that /etc/passwd
//! holds is that file's first entry with the UID, so the helpers look there
//! themselves. The reading is deliberately narrow: it answers only when
//! every line up to the hit is one whose meaning to glibc's parser is beyond
//! doubt, and otherwise says [`FilesAnswer::Unsure`], and the caller asks
//! glibc after all. A UID the file does not hold also goes to glibc (the
//! other sources may know it). So this is a faster route to the same answer,
//! never a second opinion.

use crate::parse::number::parse_u32;

/// A passwd entry, reduced to what the policy needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// `None` when the name is not valid UTF-8 (nix hands names over lossily,
    /// and a lossy name must never match another user's entry).
    pub name: Option<String>,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupFailed(pub nix::errno::Errno);

pub trait UserDirectory {
    fn account_by_uid(&self, uid: u32) -> Result<Option<Account>, LookupFailed>;
    /// The UID a user name resolves to, if any. Failures count as "no such user":
    /// an entry we cannot attribute grants nothing.
    fn uid_by_name(&self, name: &[u8]) -> Option<u32>;
}

/// A fixed table, for tests and for the admin tool's `--passwd FILE`.
#[derive(Clone, Debug, Default)]
pub struct TableDirectory {
    pub accounts: Vec<Account>,
}

impl TableDirectory {
    /// Parses passwd(5) text: `name:passwd:uid:gid:...`; bad lines are skipped.
    pub fn from_passwd(text: &[u8]) -> TableDirectory {
        let accounts = text
            .split(|&b| b == b'\n')
            .filter_map(|line| {
                let mut fields = line.split(|&b| b == b':');
                let name = fields.next()?;
                let _password = fields.next()?;
                let uid = crate::parse::number::parse_u32(fields.next()?)?;
                let gid = crate::parse::number::parse_u32(fields.next()?)?;
                let name = String::from_utf8(name.to_vec()).ok()?;
                (!name.is_empty() && !name.starts_with(['+', '-', '#'])).then_some(Account {
                    name: Some(name),
                    uid,
                    gid,
                })
            })
            .collect();
        TableDirectory { accounts }
    }
}

impl UserDirectory for TableDirectory {
    fn account_by_uid(&self, uid: u32) -> Result<Option<Account>, LookupFailed> {
        Ok(self.accounts.iter().find(|a| a.uid == uid).cloned())
    }

    fn uid_by_name(&self, name: &[u8]) -> Option<u32> {
        self.accounts
            .iter()
            .find(|a| a.name.as_deref().map(str::as_bytes) == Some(name))
            .map(|a| a.uid)
    }
}

/// What /etc/passwd alone says about a UID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilesAnswer {
    /// glibc's `files` source returns this entry.
    Found(Account),
    /// No line has the UID (every line was understood).
    Absent,
    /// A line before any hit could mean something else to glibc.
    Unsure,
}

/// The first entry for `uid` in passwd(5) text, as glibc's files source
/// reads it (comment and empty lines skipped, first match wins).
pub fn lookup_uid(text: &[u8], uid: u32) -> FilesAnswer {
    // glibc stops a line at a NUL byte; rather than model that, give up.
    if text.contains(&0) {
        return FilesAnswer::Unsure;
    }
    for line in text.split(|&b| b == b'\n') {
        match read_line(line) {
            Line::Skipped => {}
            Line::Doubtful => return FilesAnswer::Unsure,
            Line::Entry {
                name,
                uid: line_uid,
                gid,
            } => {
                if line_uid != uid {
                    continue;
                }
                let Some(gid) = gid else {
                    return FilesAnswer::Unsure;
                };
                return FilesAnswer::Found(Account {
                    name: String::from_utf8(name.to_vec()).ok(),
                    uid,
                    gid,
                });
            }
        }
    }
    FilesAnswer::Absent
}

enum Line<'a> {
    /// Empty or a comment: glibc skips it too.
    Skipped,
    /// A well-formed entry; `gid` is `None` when that field is doubtful
    /// (it matters only on a hit).
    Entry {
        name: &'a [u8],
        uid: u32,
        gid: Option<u32>,
    },
    /// Anything whose reading by glibc is not certain: leading white space,
    /// `+`/`-` (compat) names, an empty name, a UID field that is not plain
    /// decimal (glibc's strtoull also takes " 7", "+7", "07", "-1").
    Doubtful,
}

fn read_line(line: &[u8]) -> Line<'_> {
    match line.first() {
        None | Some(b'#') => return Line::Skipped,
        Some(b' ' | b'\t' | b'\r' | b'\x0b' | b'\x0c' | b'+' | b'-' | b':') => {
            return Line::Doubtful;
        }
        Some(_) => {}
    }
    let mut fields = line.splitn(5, |&b| b == b':');
    let (Some(name), Some(_password), Some(uid), Some(gid)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Line::Doubtful;
    };
    // Without a fifth field the GID ran to the end of the line; glibc
    // accepts that, and so do we. The helpers' one number grammar (no
    // leading zeros, signs or blanks, at most 2^32-1) is exactly the set of
    // spellings on which glibc's strtoull and a plain reading agree.
    let Some(uid) = parse_u32(uid) else {
        return Line::Doubtful;
    };
    Line::Entry {
        name,
        uid,
        gid: parse_u32(gid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(name: &str, uid: u32, gid: u32) -> FilesAnswer {
        FilesAnswer::Found(Account {
            name: Some(name.to_string()),
            uid,
            gid,
        })
    }

    #[test]
    fn first_entry_with_the_uid() {
        let text = b"root:x:0:0:root:/root:/bin/sh\n# c\n\nalice:x:1000:1001::/home/a:/bin/sh\nalias:x:1000:7::/:/bin/sh\n";
        assert_eq!(lookup_uid(text, 1000), found("alice", 1000, 1001));
        assert_eq!(lookup_uid(text, 0), found("root", 0, 0));
        assert_eq!(lookup_uid(text, 5), FilesAnswer::Absent);
        // Short lines: glibc needs the UID and GID only.
        assert_eq!(lookup_uid(b"bob:x:7:8", 7), found("bob", 7, 8));
        assert_eq!(lookup_uid(b"bob:x:7:8:", 7), found("bob", 7, 8));
        // No final newline, CR at the end of the shell.
        assert_eq!(lookup_uid(b"bob:x:7:8::/:/bin/sh\r", 7), found("bob", 7, 8));
    }

    #[test]
    fn doubtful_lines_before_a_hit_defer_to_glibc() {
        for before in [
            " bob:x:1000:1000::/:/bin/sh",
            "\tbob:x:5:5::/:/bin/sh",
            "+bob:x:1000:1000::/:/bin/sh",
            "-bob::::::",
            "+",
            ":x:1000:1000::/:",
            "bob:x:01000:1000::/:/bin/sh",
            "bob:x: 1000:1000::/:/bin/sh",
            "bob:x:+1000:1000::/:/bin/sh",
            "bob:x:-1:1000::/:/bin/sh",
            "bob:x:99999999999:1::/:",
            "bob:x:1000",
            "bob:x:1000x:1::/:",
            "bob",
        ] {
            let text = format!("{before}\nalice:x:1000:1000::/:/bin/sh\n");
            assert_eq!(
                lookup_uid(text.as_bytes(), 1000),
                FilesAnswer::Unsure,
                "{before:?}"
            );
        }
        // A doubtful GID matters only on the hit itself.
        assert_eq!(
            lookup_uid(b"alice:x:1000:01000::/:\n", 1000),
            FilesAnswer::Unsure
        );
        assert_eq!(
            lookup_uid(b"bob:x:5:05::/:\nalice:x:1000:3::/:\n", 1000),
            found("alice", 1000, 3)
        );
        assert_eq!(lookup_uid(b"a:x:1:1::/:\0\n", 1), FilesAnswer::Unsure);
        // Doubt after the hit is irrelevant.
        assert_eq!(
            lookup_uid(b"alice:x:1000:3::/:\n bob:x:1000:1::/:\n", 1000),
            found("alice", 1000, 3)
        );
    }

    #[test]
    fn non_utf8_names_are_kept_as_unknown() {
        assert_eq!(
            lookup_uid(b"\xffbob:x:9:9::/:\n", 9),
            FilesAnswer::Found(Account {
                name: None,
                uid: 9,
                gid: 9
            })
        );
    }

    #[test]
    fn passwd_table() {
        let dir = TableDirectory::from_passwd(
            b"root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nalias:x:1000:1000::/:/bin/sh\nbroken\n+nis:x:1:1::/:/bin/sh\n",
        );
        assert_eq!(dir.accounts.len(), 3);
        assert_eq!(
            dir.account_by_uid(1000).unwrap().unwrap().name.as_deref(),
            Some("alice")
        );
        assert_eq!(dir.uid_by_name(b"alias"), Some(1000));
        assert_eq!(dir.uid_by_name(b"nis"), None);
    }

    /// glibc 2.36's files source for getpwuid, modelled closely: lines are
    /// cut at NUL and newline, leading white space skipped, comments and
    /// unparsable lines skipped, `+`/`-` names skipped, numbers read by
    /// strtoul (white space, sign, leading zeros; wrapped to 32 bits), the
    /// GID may end the line. The direct reading must never disagree with it.
    fn glibc_model(text: &[u8], uid: u32) -> Option<Account> {
        fn strtoul(s: &[u8]) -> Option<(u64, usize)> {
            let mut i = 0;
            while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
                i += 1;
            }
            let negative = i < s.len() && s[i] == b'-';
            if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
                i += 1;
            }
            let digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            let mut value: u64 = 0;
            for &d in &s[i..i + digits] {
                value = value.saturating_mul(10).saturating_add(u64::from(d - b'0'));
            }
            Some((
                if negative {
                    value.wrapping_neg()
                } else {
                    value
                },
                i + digits,
            ))
        }
        fn int_field(rest: &[u8]) -> Option<(u32, &[u8])> {
            let (value, used) = strtoul(rest)?;
            let after = &rest[used..];
            let after = match after.first() {
                Some(b':') => &after[1..],
                None => after,
                Some(_) => return None,
            };
            Some((value as u32, after))
        }
        for line in text.split(|&b| b == b'\n') {
            let line = line.split(|&b| b == 0).next().unwrap_or_default();
            let start = line
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c))
                .unwrap_or(line.len());
            let line = &line[start..];
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let (name, rest) = match line.iter().position(|&b| b == b':') {
                Some(at) => (&line[..at], &line[at + 1..]),
                None => (line, &b""[..]),
            };
            if name.first().is_some_and(|&b| b == b'+' || b == b'-') {
                continue;
            }
            let rest = match rest.iter().position(|&b| b == b':') {
                Some(at) => &rest[at + 1..],
                None => &b""[..],
            };
            let Some((line_uid, rest)) = int_field(rest) else {
                continue;
            };
            let Some((gid, _)) = int_field(rest) else {
                continue;
            };
            if line_uid == uid {
                return Some(Account {
                    name: String::from_utf8(name.to_vec()).ok(),
                    uid,
                    gid,
                });
            }
        }
        None
    }

    fn passwd_text() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let name = prop::sample::select(vec![
            "alice", "bob", "", "+nis", "-x", " lead", "#c", "\tab", "a\0b", "\u{e9}",
        ]);
        let number = prop::sample::select(vec![
            "7",
            "7",
            "7",
            "8",
            "0",
            "07",
            " 7",
            "+7",
            "-1",
            "4294967303",
            "",
            "7x",
            "99999999999",
        ]);
        let line = (name, number.clone(), number, any::<bool>()).prop_map(|(n, u, g, short)| {
            if short {
                format!("{n}:x:{u}:{g}")
            } else {
                format!("{n}:x:{u}:{g}:gecos:/home:/bin/sh")
            }
        });
        prop::collection::vec(line, 0..6).prop_map(|lines| lines.join("\n").into_bytes())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn direct_reading_never_disagrees_with_glibc(
            text in passwd_text(),
            uid in proptest::sample::select(vec![0u32, 7, 8, 4294967295]),
        ) {
            match lookup_uid(&text, uid) {
                FilesAnswer::Found(account) => {
                    proptest::prop_assert_eq!(Some(account), glibc_model(&text, uid));
                }
                FilesAnswer::Absent => proptest::prop_assert_eq!(None, glibc_model(&text, uid)),
                FilesAnswer::Unsure => {}
            }
        }
    }
}
