//! /etc/nsswitch.conf: which sources provide subordinate IDs.
//!
//! The first non-comment line whose database is `subid` (case-insensitive)
//! decides. No such line means `files`. Unlike shadow, several sources may be
//! listed (`subid: files sss`); a range is allowed when the union of what the
//! sources grant covers it. Action items (`[NOTFOUND=return]`) are ignored;
//! sources are consulted in order until the answer can no longer change.
#![forbid(unsafe_code)]

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

/// Module names are restricted to `[A-Za-z0-9_.-]`, without a leading dot,
/// so a name can never become a path.
fn module_name(word: &[u8]) -> Option<String> {
    let ok = !word.is_empty()
        && word[0] != b'.'
        && word
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    ok.then(|| String::from_utf8_lossy(word).into_owned())
}

/// The configured sources in order, without duplicates, and the words that
/// could not be used.
pub fn subid_sources(text: &[u8]) -> (Vec<SubidSource>, Vec<SourceProblem>) {
    for line in text.split(|&b| b == b'\n') {
        let line = line.split(|&b| b == b'#').next().unwrap_or_default();
        let line = crate::subid::trim(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if !crate::subid::trim(&line[..colon]).eq_ignore_ascii_case(b"subid") {
            continue;
        }
        let mut sources = Vec::new();
        let mut problems = Vec::new();
        let mut in_action = false;
        for word in line[colon + 1..].split(|&b| crate::subid::is_blank(b)) {
            if word.is_empty() {
                continue;
            }
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
}
