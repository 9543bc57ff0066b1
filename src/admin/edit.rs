//! `subid add` / `subid remove`: change the files the way shadow does.
//!
//! Under the `FILE.lock` lock of every file touched (taken in the fixed
//! order subuid, subgid, so two runs cannot deadlock), the file is read,
//! the new text computed for all files first (so a failure changes
//! nothing), then for each file: the old text is copied to `FILE-` (shadow's
//! backup), the new text is written to `FILE+` with the original mode and
//! owner, fsynced, renamed over `FILE`, and the directory is fsynced. Lines
//! we do not touch are kept byte for byte.

use std::ffi::OsString;
use std::fs::{self, File, Metadata};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::check::{Accounts, account_range};
use super::lock::FileLock;
use super::show::Who;
use super::{Paths, defaults};
use crate::kind::IdKind;
use crate::parse::logindefs::LoginDefs;
use crate::parse::map::IdRange;
use crate::parse::subid::{Line, for_each_line, parse_line};
use crate::parse::text::escape;

/// How long to wait for another tool's lock (shadow tries 15 times, 1 s apart).
pub const LOCK_WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, PartialEq, Eq)]
pub struct EditError(pub String);

fn io_error(path: &Path, what: &str, e: io::Error) -> EditError {
    EditError(format!("cannot {what} {}: {e}", path.display()))
}

/// Lowest `start` with `[start, start+count)` inside `[min, max]` (inclusive
/// bounds, as SUB_UID_MIN/MAX) and disjoint from every `taken` half-open range.
pub fn find_free(min: u32, max: u32, count: u32, taken: &mut [(u64, u64)]) -> Option<u32> {
    if count == 0 {
        return None;
    }
    taken.sort_unstable();
    let count = u64::from(count);
    let last = u64::from(max).min(crate::parse::map::ID_LIMIT - 1);
    let mut candidate = u64::from(min);
    for &(start, end) in taken.iter() {
        if end <= candidate {
            continue;
        }
        if start >= candidate + count {
            break;
        }
        candidate = end;
    }
    (candidate + count - 1 <= last)
        .then(|| u32::try_from(candidate).ok())
        .flatten()
}

/// What `add` must avoid in one file: every entry (of any owner), every
/// passwd ID of that kind, and the UID_MIN..UID_MAX account range.
pub fn taken_ranges(
    text: &[u8],
    kind: IdKind,
    accounts: &Accounts,
    defs: &LoginDefs,
) -> Vec<(u64, u64)> {
    let mut taken = Vec::new();
    let _ = for_each_line(text, |_, raw| {
        if let Ok(raw) = raw
            && let Line::Entry { range, .. } = parse_line(raw)
        {
            taken.push((u64::from(range.start()), range.end()));
        }
    });
    taken.extend(
        accounts
            .id_list(kind)
            .into_iter()
            .map(|id| (u64::from(id), u64::from(id) + 1)),
    );
    let (min, max) = account_range(defs, kind);
    if min <= max {
        taken.push((u64::from(min), u64::from(max) + 1));
    }
    taken
}

/// The `(min, max, count)` allocation settings for `kind`.
pub fn allocation(defs: &LoginDefs, kind: IdKind) -> (u32, u32, u32) {
    let (min, max, count) = match kind {
        IdKind::Uid => (defs.sub_uid_min, defs.sub_uid_max, defs.sub_uid_count),
        IdKind::Gid => (defs.sub_gid_min, defs.sub_gid_max, defs.sub_gid_count),
    };
    (
        min.unwrap_or(defaults::SUB_MIN),
        max.unwrap_or(defaults::SUB_MAX),
        count.unwrap_or(defaults::SUB_COUNT),
    )
}

/// `text` with `line` appended, adding the missing final newline first.
pub fn append_line(text: &[u8], line: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + line.len() + 2);
    out.extend_from_slice(text);
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(line);
    out.push(b'\n');
    out
}

/// `text` without the entries of `who` (within `only`, when given), and
/// the removed `(line, range)` pairs. Other lines are kept byte for byte.
pub fn without_entries(
    text: &[u8],
    who: &Who,
    only: Option<IdRange>,
) -> (Vec<u8>, Vec<(usize, IdRange)>) {
    let mut kept = Vec::with_capacity(text.len());
    let mut removed = Vec::new();
    for (index, piece) in text.split_inclusive(|&b| b == b'\n').enumerate() {
        let line = piece.strip_suffix(b"\n").unwrap_or(piece);
        if let Line::Entry { owner, range } = parse_line(line)
            && who.owns(owner)
            && only.is_none_or(|o| o == range)
        {
            removed.push((index + 1, range));
            continue;
        }
        kept.extend_from_slice(piece);
    }
    (kept, removed)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

fn write_synced(path: &Path, bytes: &[u8], like: Option<&Metadata>) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    let mode = like.map_or(0o644, |m| m.mode() & 0o7777);
    if let Some(meta) = like {
        let mine = file.metadata()?;
        if (mine.uid(), mine.gid()) != (meta.uid(), meta.gid()) {
            std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()))?;
        }
    }
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.sync_all()
}

/// Replaces `path` with `new`: `FILE-` backup of `old`, `FILE+`, fsync,
/// rename, directory fsync. Mode and owner follow the original.
pub fn replace_file(path: &Path, old: Option<(&Metadata, &[u8])>, new: &[u8]) -> io::Result<()> {
    if let Some((meta, text)) = old {
        write_synced(&with_suffix(path, "-"), text, Some(meta))?;
    }
    let plus = with_suffix(path, "+");
    write_synced(&plus, new, old.map(|(m, _)| m))?;
    if let Err(e) = fs::rename(&plus, path) {
        let _ = fs::remove_file(&plus);
        return Err(e);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// One file, read under its lock.
struct Locked {
    kind: IdKind,
    path: PathBuf,
    meta: Option<Metadata>,
    text: Vec<u8>,
    _lock: FileLock,
}

fn lock_and_read(paths: &Paths, kinds: &[IdKind]) -> Result<Vec<Locked>, EditError> {
    let mut held = Vec::new();
    for &kind in kinds {
        let path = paths.subid(kind).to_path_buf();
        if Paths::is_system_file(&path, kind) && !nix::unistd::geteuid().is_root() {
            return Err(EditError(format!(
                "only root can change {} (run subid with sudo)",
                path.display()
            )));
        }
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(EditError(format!(
                "{} is a symbolic link (managed by the distribution?); edit its target instead",
                path.display()
            )));
        }
        let lock = FileLock::acquire(&path, LOCK_WAIT).map_err(|e| EditError(e.message()))?;
        let (meta, text) = match fs::metadata(&path) {
            Ok(meta) => {
                let text = fs::read(&path).map_err(|e| io_error(&path, "read", e))?;
                (Some(meta), text)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => (None, Vec::new()),
            Err(e) => return Err(io_error(&path, "read", e)),
        };
        held.push(Locked {
            kind,
            path,
            meta,
            text,
            _lock: lock,
        });
    }
    Ok(held)
}

fn write_all(held: &[Locked], new: &[Vec<u8>]) -> Result<(), EditError> {
    for (file, text) in held.iter().zip(new) {
        let old = file.meta.as_ref().map(|m| (m, file.text.as_slice()));
        replace_file(&file.path, old, text).map_err(|e| io_error(&file.path, "write", e))?;
    }
    Ok(())
}

fn read_accounts(paths: &Paths) -> Result<Accounts, EditError> {
    let text = fs::read(&paths.passwd).map_err(|e| io_error(&paths.passwd, "read", e))?;
    Ok(Accounts::from_passwd(&text))
}

fn read_defs(paths: &Paths) -> LoginDefs {
    LoginDefs::parse(&fs::read(&paths.login_defs).unwrap_or_default())
}

/// Resolves a user for `add`: the passwd file, then NSS for the system file.
fn resolve_user(paths: &Paths, accounts: &Accounts, user: &str) -> Option<u32> {
    use crate::act::accounts::SystemDirectory;
    use crate::parse::passwd::UserDirectory;
    accounts.uid_of(user.as_bytes()).or_else(|| {
        paths
            .passwd_is_system()
            .then(|| SystemDirectory::default().uid_by_name(user.as_bytes()))
            .flatten()
    })
}

fn valid_owner(user: &str) -> bool {
    !user.is_empty()
        && !user.starts_with(['+', '-', '#'])
        && user
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b':' && b != b'\\')
}

/// Allocates a block of `count` (default SUB_UID_COUNT / SUB_GID_COUNT) for
/// `user` in each of `kinds`. Returns what was added.
///
/// A user who already has entries in one of the files (useradd writes a
/// range for every new account where login.defs sets SUB_UID_COUNT) gets
/// another block only when asked: `another`, or an explicit `count`.
pub fn add(
    paths: &Paths,
    user: &str,
    count: Option<u32>,
    another: bool,
    kinds: &[IdKind],
) -> Result<Vec<(IdKind, IdRange)>, EditError> {
    if !valid_owner(user) {
        return Err(EditError(format!(
            "\"{}\" cannot be an owner field",
            escape(user.as_bytes())
        )));
    }
    let accounts = read_accounts(paths)?;
    if resolve_user(paths, &accounts, user).is_none() {
        return Err(EditError(format!(
            "no user \"{}\" in {}; create the account first",
            escape(user.as_bytes()),
            paths.passwd.display()
        )));
    }
    let defs = read_defs(paths);
    let held = lock_and_read(paths, kinds)?;
    if !another && count.is_none() {
        already_has(paths, user, &held)?;
    }
    let mut added = Vec::new();
    let mut new_texts = Vec::new();
    for file in &held {
        let (min, max, default_count) = allocation(&defs, file.kind);
        let count = count.unwrap_or(default_count);
        let mut taken = taken_ranges(&file.text, file.kind, &accounts, &defs);
        let range = find_free(min, max, count, &mut taken)
            .and_then(|start| IdRange::new(start, count))
            .ok_or_else(|| {
                EditError(format!(
                    "no free block of {count} {}s between SUB_{}_MIN {min} and SUB_{}_MAX {max} in {}",
                    file.kind.upper(),
                    file.kind.upper(),
                    file.kind.upper(),
                    file.path.display()
                ))
            })?;
        let line = format!("{user}:{}:{}", range.start(), range.count());
        new_texts.push(append_line(&file.text, line.as_bytes()));
        added.push((file.kind, range));
    }
    write_all(&held, &new_texts)?;
    Ok(added)
}

/// Refuses, naming what `user` already has, when any of the files held
/// gives them a range.
fn already_has(paths: &Paths, user: &str, held: &[Locked]) -> Result<(), EditError> {
    let accounts = fs::read(&paths.passwd)
        .map(|t| Accounts::from_passwd(&t))
        .unwrap_or_default();
    let who = Who::new(user.as_bytes(), resolve_user(paths, &accounts, user));
    let mut has = Vec::new();
    let mut lacks = Vec::new();
    for file in held {
        let (_, entries) = without_entries(&file.text, &who, None);
        if entries.is_empty() {
            lacks.push(file.kind);
            continue;
        }
        let ids: u64 = entries.iter().map(|(_, r)| u64::from(r.count())).sum();
        has.push(format!(
            "{ids} subordinate {}{} in {} range{} ({})",
            file.kind.upper(),
            if ids == 1 { "" } else { "s" },
            entries.len(),
            if entries.len() == 1 { "" } else { "s" },
            file.path.display()
        ));
    }
    if has.is_empty() {
        return Ok(());
    }
    let shown = escape(user.as_bytes());
    let mut message = format!(
        "{shown} already has {}; nothing changed (see them with: subid show {shown}",
        has.join(" and ")
    );
    if let [missing] = lacks.as_slice() {
        message.push_str(&format!(
            "; only the {}s are missing: subid add {shown} --{}-only",
            missing.upper(),
            missing.word()
        ));
    }
    message.push_str(&format!(
        "; to add another block anyway: subid add {shown} --another)"
    ));
    Err(EditError(message))
}

/// Removes `user`'s entries (only `range`, when given) from each of `kinds`.
/// The owner is matched as given, or as the UID it resolves to, so stale
/// entries of deleted accounts can be removed too.
pub fn remove(
    paths: &Paths,
    user: &str,
    range: Option<IdRange>,
    kinds: &[IdKind],
) -> Result<Vec<(IdKind, usize, IdRange)>, EditError> {
    let accounts = fs::read(&paths.passwd)
        .map(|t| Accounts::from_passwd(&t))
        .unwrap_or_default();
    let who = Who::new(user.as_bytes(), resolve_user(paths, &accounts, user));
    let held = lock_and_read(paths, kinds)?;
    let mut removed = Vec::new();
    let mut new_texts = Vec::new();
    for file in &held {
        let (text, gone) = without_entries(&file.text, &who, range);
        removed.extend(gone.into_iter().map(|(line, r)| (file.kind, line, r)));
        new_texts.push(text);
    }
    if removed.is_empty() {
        let what = range.map_or(String::new(), |r| format!(" {}:{}", r.start(), r.count()));
        let files: Vec<String> = held.iter().map(|f| f.path.display().to_string()).collect();
        return Err(EditError(format!(
            "no entry for \"{}\"{what} in {}; nothing changed",
            escape(user.as_bytes()),
            files.join(" or ")
        )));
    }
    let changed: Vec<usize> = held
        .iter()
        .enumerate()
        .filter(|(i, f)| new_texts[*i].len() != f.text.len())
        .map(|(i, _)| i)
        .collect();
    for i in changed {
        let file = &held[i];
        let old = file.meta.as_ref().map(|m| (m, file.text.as_slice()));
        replace_file(&file.path, old, &new_texts[i])
            .map_err(|e| io_error(&file.path, "write", e))?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_block() {
        let mut taken = vec![(100_000, 165_536), (200_000, 200_010), (165_536, 170_000)];
        assert_eq!(find_free(100_000, 600_000, 10, &mut taken), Some(170_000));
        assert_eq!(
            find_free(100_000, 600_000, 30_001, &mut taken),
            Some(200_010)
        );
        assert_eq!(find_free(100_000, 100_009, 10, &mut []), Some(100_000));
        assert_eq!(find_free(100_000, 100_008, 10, &mut []), None);
        assert_eq!(find_free(0, u32::MAX, u32::MAX, &mut []), Some(0));
        assert_eq!(find_free(1, u32::MAX, u32::MAX, &mut []), None);
        assert_eq!(find_free(5, 100, 0, &mut []), None);
    }

    #[test]
    fn taken_includes_accounts_and_entries() {
        let accounts = Accounts::from_passwd(b"alice:x:100005:7::/:/bin/sh\n");
        let mut taken = taken_ranges(
            b"bob:100000:5\nbroken:1\n",
            IdKind::Uid,
            &accounts,
            &LoginDefs::default(),
        );
        assert_eq!(find_free(100_000, 200_000, 3, &mut taken), Some(100_006));
    }

    #[test]
    fn removal_keeps_other_bytes() {
        let text = b"# keep\nalice:1:2\n bob:5:5 \n1000:9:1\nalice:20:2";
        let who = Who::new(b"alice", Some(1000));
        let (kept, removed) = without_entries(text, &who, None);
        assert_eq!(kept, b"# keep\n bob:5:5 \n");
        assert_eq!(removed.len(), 3);
        let (kept, removed) = without_entries(text, &who, IdRange::new(20, 2));
        assert_eq!(kept, b"# keep\nalice:1:2\n bob:5:5 \n1000:9:1\n");
        assert_eq!(removed, vec![(5, IdRange::new(20, 2).unwrap())]);
        assert_eq!(append_line(b"a:1:1", b"b:2:2"), b"a:1:1\nb:2:2\n");
        assert_eq!(append_line(b"", b"b:2:2"), b"b:2:2\n");
    }
}
