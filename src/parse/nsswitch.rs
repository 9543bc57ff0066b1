//! /etc/nsswitch.conf: which sources provide subordinate IDs, and whether
//! glibc reads /etc/passwd first. One line scanner serves both databases.
//!
//! `subid:` The first non-comment line whose database is `subid` (case-insensitive)
//! decides. No such line means `files`. Unlike shadow, several sources may be
//! listed (`subid: files sss`); a range is allowed when the union of what the
//! sources grant covers it. Action items (`[NOTFOUND=return]`) are ignored;
//! sources are consulted in order until the answer can no longer change.

use crate::parse::text::{is_blank, trim};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubidSource {
    /// /etc/subuid and /etc/subgid.
    Files,
    /// `libsubid_NAME.so`, loaded through the normal library search path.
    Module(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceProblem {
    pub text: Vec<u8>,
}

/// The one rule for a module name, used here and before a module is loaded:
/// `[A-Za-z0-9_.-]`, not empty, without a leading dot, so a name can never
/// become a path.
pub fn is_module_name(word: &[u8]) -> bool {
    !word.is_empty()
        && word[0] != b'.'
        && word
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The file the loader is asked for: `libsubid_NAME.so`.
pub fn library_name(name: &str) -> String {
    format!("libsubid_{name}.so")
}

fn module_name(word: &[u8]) -> Option<String> {
    is_module_name(word).then(|| String::from_utf8_lossy(word).into_owned())
}

/// Every `database: sources` line, comments and blanks removed: the
/// database name as written (trimmed) and the text after the colon.
fn database_lines(text: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    text.split(|&b| b == b'\n').filter_map(|line| {
        let line = line.split(|&b| b == b'#').next().unwrap_or_default();
        let line = trim(line);
        let colon = line.iter().position(|&b| b == b':')?;
        Some((trim(&line[..colon]), &line[colon + 1..]))
    })
}

/// The words of a line's source list.
fn words(sources: &[u8]) -> impl Iterator<Item = &[u8]> {
    sources.split(|&b| is_blank(b)).filter(|w| !w.is_empty())
}

/// The configured sources in order, without duplicates, and the words that
/// could not be used.
pub fn subid_sources(text: &[u8]) -> (Vec<SubidSource>, Vec<SourceProblem>) {
    for (database, rest) in database_lines(text) {
        if !database.eq_ignore_ascii_case(b"subid") {
            continue;
        }
        let mut sources = Vec::new();
        let mut problems = Vec::new();
        let mut in_action = false;
        for word in words(rest) {
            if word.starts_with(b"[") || in_action {
                in_action = !word.ends_with(b"]");
                continue;
            }
            let source = if word == b"files" {
                Some(SubidSource::Files)
            } else {
                module_name(word).map(SubidSource::Module)
            };
            match source {
                Some(source) if !sources.contains(&source) => sources.push(source),
                Some(_) => {}
                None => problems.push(SourceProblem {
                    text: word.to_vec(),
                }),
            }
        }
        if sources.is_empty() {
            sources.push(SubidSource::Files);
        }
        return (sources, problems);
    }
    (vec![SubidSource::Files], Vec::new())
}

/// `passwd:` True when glibc consults /etc/passwd first for passwd lookups
/// and stops at a hit: exactly one `passwd:` line, its first source
/// `files`, with no action item (`[SUCCESS=continue]`) after it. Anything
/// else, including no line at all (glibc's built-in default), means "ask
/// glibc".
pub fn passwd_files_first(text: &[u8]) -> bool {
    let mut verdict = None;
    for (database, rest) in database_lines(text) {
        if !database.eq_ignore_ascii_case(b"passwd") {
            continue;
        }
        if verdict.is_some() || database != b"passwd" {
            return false;
        }
        let mut words = words(rest);
        let first = words.next();
        let second = words.next();
        verdict = Some(first == Some(b"files") && !second.is_some_and(|w| w.starts_with(b"[")));
    }
    verdict.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(text: &str) -> Vec<SubidSource> {
        subid_sources(text.as_bytes()).0
    }

    #[test]
    fn defaults_to_files() {
        assert_eq!(sources(""), vec![SubidSource::Files]);
        assert_eq!(
            sources("passwd: files\n#subid: sss\n"),
            vec![SubidSource::Files]
        );
    }

    #[test]
    fn first_line_wins_and_order_is_kept() {
        assert_eq!(
            sources("passwd: files\nSUBID:\tfiles sss [NOTFOUND=return] files # x\nsubid: other\n"),
            vec![SubidSource::Files, SubidSource::Module("sss".into())]
        );
        assert_eq!(
            sources("subid: sss"),
            vec![SubidSource::Module("sss".into())]
        );
    }

    #[test]
    fn names_never_become_paths() {
        let (found, problems) = subid_sources(b"subid: ../evil /lib/x sss\n");
        assert_eq!(found, vec![SubidSource::Module("sss".into())]);
        assert_eq!(problems.len(), 2);
    }

    #[test]
    fn nsswitch_passwd_files_first() {
        assert!(passwd_files_first(b"passwd: files\n"));
        assert!(passwd_files_first(b"passwd:files systemd\ngroup: files\n"));
        assert!(passwd_files_first(
            b"# passwd: ldap\n  passwd:   files   sss # x\n"
        ));
        assert!(passwd_files_first(
            b"passwd: files systemd [NOTFOUND=return] ldap\n"
        ));
        assert!(!passwd_files_first(b"passwd: sss files\n"));
        assert!(!passwd_files_first(b"passwd: compat\n"));
        assert!(!passwd_files_first(
            b"passwd: files [SUCCESS=continue] ldap\n"
        ));
        assert!(!passwd_files_first(b"passwd:\n"));
        assert!(!passwd_files_first(b"group: files\n"));
        assert!(!passwd_files_first(b""));
        assert!(!passwd_files_first(b"passwd: files\npasswd: ldap\n"));
        assert!(!passwd_files_first(b"PASSWD: files\n"));
        assert!(!passwd_files_first(b"passwd: files\nPasswd: ldap\n"));
    }
}
