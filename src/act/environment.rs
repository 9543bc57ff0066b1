//! Why a correctly installed helper ran without its privilege, or why the
//! kernel refused a map that every check allowed: the calling environment.
//!
//! The kernel starts a setuid-root or file-capability helper with the
//! caller's credentials and no capability when the caller has no_new_privs,
//! is being traced, lacks the capability in its bounding set, runs it from a
//! `nosuid` mount, or sits in a user namespace where the file's owner (root)
//! is not mapped. From inside the process each of these is visible in
//! /proc/self (see docs: issues/field-causes.md). Telling them apart is what
//! turns "install it setuid root" (wrong: it is installed) into the real fix.
//!
//! Nothing here runs on the granted path: the helpers look only after
//! something failed. The parsers are pure; [`Context::read`] is the one
//! reader, and `subid doctor` uses the same functions.

use std::os::unix::fs::MetadataExt;

use caps::Capability;

use crate::decide::policy::Coverage;
use crate::kind::IdKind;
use crate::parse::map::IdRange;
use crate::parse::procfs::{MapLine, Status, is_initial, map_text, maps_parent_root, parse_map};

/// The parts of `wanted` (IDs of this namespace) that `map` leaves unmapped:
/// outer IDs a helper started from here can never grant.
pub fn unmapped(map: &[MapLine], wanted: &[IdRange]) -> Vec<IdRange> {
    let mapped: Vec<IdRange> = map
        .iter()
        .filter_map(|l| IdRange::new(l.inner, l.count))
        .collect();
    let coverage = Coverage::new(&mapped);
    wanted.iter().flat_map(|&r| coverage.uncovered(r)).collect()
}

/// Why the helper (or the write) could not do its job, in the order the
/// checks run: the first that applies is the diagnosis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// Being traced (strace, gdb): the kernel ignored setuid and file caps.
    Traced { tracer: u32 },
    /// The capabilities are missing from the bounding set.
    Bounding { missing: Vec<Capability> },
    /// The helper's file is on a nosuid mount.
    Nosuid { path: String },
    /// Running inside a user namespace with no map yet: almost always the
    /// namespace the helper was asked to map, i.e. run on itself.
    UnmappedNamespace,
    /// Running in a user namespace where root is not mapped: the setuid bit
    /// is ignored and root-owned files look owned by the overflow ID.
    RootUnmapped {
        own_map: String,
        unmapped: Vec<IdRange>,
    },
    /// The requested outer IDs are not mapped in the caller's namespace.
    OuterUnmapped {
        own_map: String,
        unmapped: Vec<IdRange>,
    },
}

fn ranges_text(ranges: &[IdRange]) -> String {
    let shown: Vec<String> = ranges.iter().take(4).map(|r| r.human()).collect();
    let more = ranges.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

impl Cause {
    /// What is true, in one line.
    pub fn what(&self, kind: IdKind) -> String {
        let upper = kind.upper();
        match self {
            Cause::Traced { tracer } => format!(
                "this process is being traced (TracerPid {tracer}: strace, gdb or similar), so the kernel ignored the setuid bit and file capabilities; the install is fine"
            ),
            Cause::Bounding { missing } => {
                let names: Vec<String> = missing
                    .iter()
                    .map(|c| c.to_string().to_lowercase())
                    .collect();
                format!(
                    "{} {} not in the capability bounding set of this process (CapBnd in /proc/self/status), so the kernel could not grant {}; the install is fine",
                    names.join(" and "),
                    if names.len() == 1 { "is" } else { "are" },
                    if names.len() == 1 { "it" } else { "them" }
                )
            }
            Cause::Nosuid { path } => format!(
                "{path} is on a filesystem mounted nosuid, so the kernel ignored its setuid bit and file capabilities"
            ),
            Cause::UnmappedNamespace => format!(
                "this helper runs inside a user namespace whose {} is still empty, probably the very namespace it was asked to map",
                kind.map_file()
            ),
            Cause::RootUnmapped { own_map, unmapped } => {
                let mut text = format!(
                    "you are in a user namespace where root is not mapped (your {}: {own_map}), so the kernel ignores the helper's setuid bit and root's files look owned by 65534",
                    kind.map_file()
                );
                if !unmapped.is_empty() {
                    text.push_str(&format!(
                        "; the outer {upper}s {} are not mapped there either",
                        ranges_text(unmapped)
                    ));
                }
                text
            }
            Cause::OuterUnmapped { own_map, unmapped } => format!(
                "the outer {upper}s {} are not mapped in your own user namespace (your {}: {own_map}), so the kernel refuses them from here",
                ranges_text(unmapped),
                kind.map_file()
            ),
        }
    }

    /// The one fix.
    pub fn fix(&self, kind: IdKind) -> String {
        let program = kind.program();
        match self {
            Cause::Traced { .. } => {
                "trace it as root instead, which keeps the privilege: sudo strace -f -u $USER COMMAND"
                    .into()
            }
            Cause::Bounding { missing } => {
                let names: Vec<String> = missing
                    .iter()
                    .map(|c| c.to_string().to_lowercase())
                    .collect();
                format!(
                    "start the session with {} in its bounding set (e.g. remove it from systemd's CapabilityBoundingSet= drop list or the container's cap-drop)",
                    names.join(" and ")
                )
            }
            Cause::Nosuid { .. } => format!(
                "install {program} on a filesystem mounted without nosuid (e.g. /usr/bin), or remount this one without nosuid"
            ),
            Cause::UnmappedNamespace => format!(
                "run {program} from the parent namespace with the PID of a process inside the new one (e.g. unshare --user sleep 60 & {program} $! 0 $(id -{}) 1)",
                if kind == IdKind::Uid { "u" } else { "g" }
            ),
            Cause::RootUnmapped { .. } | Cause::OuterUnmapped { .. } => {
                "run the launcher from the initial user namespace, or map your subordinate IDs into this namespace first (create it with unshare --user --map-auto instead of --map-current-user)".into()
            }
        }
    }
}

/// What the helper can see about its own start, read once on a failure path.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub status: Status,
    /// This process's uid_map or gid_map (by `kind`).
    pub map: Vec<MapLine>,
    /// This process's uid_map (the helper's owner is a UID).
    pub uid_map: Vec<MapLine>,
    /// The helper's own file, as /proc/self/exe names it.
    pub exe: String,
    /// True when that file's mount has ST_NOSUID.
    pub exe_nosuid: bool,
    /// True when that file has the setuid bit or a file capability, i.e.
    /// it is installed to be privileged (otherwise the install is the cause).
    pub exe_privileged: bool,
}

impl Context {
    pub fn read(kind: IdKind) -> Context {
        let read = |path: &str| std::fs::read(path).unwrap_or_default();
        let uid_map = parse_map(&read("/proc/self/uid_map"));
        let map = match kind {
            IdKind::Uid => uid_map.clone(),
            IdKind::Gid => parse_map(&read("/proc/self/gid_map")),
        };
        let exe = std::fs::read_link("/proc/self/exe")
            .map(|p| crate::parse::text::escape(p.as_os_str().as_encoded_bytes()))
            .unwrap_or_default();
        let file = std::fs::File::open("/proc/self/exe").ok();
        let exe_nosuid = file
            .as_ref()
            .and_then(|f| nix::sys::statvfs::fstatvfs(f).ok())
            .is_some_and(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_NOSUID));
        let setuid = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.mode() & 0o4000 != 0);
        let exe_privileged = setuid
            || crate::sys::get_xattr(
                std::path::Path::new("/proc/self/exe"),
                c"security.capability",
            )
            .is_ok_and(|v| v.is_some());
        Context {
            status: Status::parse(&read("/proc/self/status")),
            map,
            uid_map,
            exe,
            exe_nosuid,
            exe_privileged,
        }
    }

    /// The kernel started the helper without `missing` although it is
    /// (presumably) installed right: which environment cause applies.
    /// no_new_privs is reported by the caller before this is asked.
    pub fn why_unprivileged(&self, missing: &[Capability], outer: &[IdRange]) -> Option<Cause> {
        if self.uid_map.is_empty() || self.map.is_empty() {
            return Some(Cause::UnmappedNamespace);
        }
        if !self.exe_privileged {
            // Neither setuid nor a file capability: the install is the cause.
            return None;
        }
        if self.status.tracer_pid != 0 {
            return Some(Cause::Traced {
                tracer: self.status.tracer_pid,
            });
        }
        let unbounded: Vec<Capability> = missing
            .iter()
            .copied()
            .filter(|&c| !self.status.in_bounding_set(c))
            .collect();
        if !unbounded.is_empty() {
            return Some(Cause::Bounding { missing: unbounded });
        }
        if self.exe_nosuid {
            return Some(Cause::Nosuid {
                path: self.exe.clone(),
            });
        }
        self.namespace_cause(outer)
    }

    /// A namespace explains the failure: the helper runs in an unmapped
    /// namespace, or in one where root is unmapped.
    pub fn namespace_cause(&self, outer: &[IdRange]) -> Option<Cause> {
        if self.uid_map.is_empty() || self.map.is_empty() {
            return Some(Cause::UnmappedNamespace);
        }
        if !is_initial(&self.uid_map) && !maps_parent_root(&self.uid_map) {
            return Some(Cause::RootUnmapped {
                own_map: map_text(&self.map),
                unmapped: unmapped(&self.map, outer),
            });
        }
        None
    }

    /// The outer IDs asked for that this namespace does not map.
    pub fn outer_cause(&self, outer: &[IdRange]) -> Option<Cause> {
        let missing = unmapped(&self.map, outer);
        (!missing.is_empty()).then(|| Cause::OuterUnmapped {
            own_map: map_text(&self.map),
            unmapped: missing,
        })
    }
}

/// The overflow UID the kernel shows for unmapped owners (normally 65534).
pub fn overflow_uid() -> u32 {
    std::fs::read("/proc/sys/kernel/overflowuid")
        .ok()
        .and_then(|t| crate::parse::number::parse_u32(t.trim_ascii()))
        .unwrap_or(65534)
}

/// True when AppArmor restricts unprivileged user namespaces (Ubuntu 23.10+).
pub fn apparmor_restricts_userns() -> bool {
    std::fs::read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
        .is_ok_and(|v| v.trim_ascii() == b"1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmapped_parts() {
        let r = |s, c| IdRange::new(s, c).unwrap();
        let initial = parse_map(b"         0          0 4294967295\n");
        let own = parse_map(b"      1000       1000          1\n");
        let auto = parse_map(b"0 1000 1\n1 100000 65536\n");
        assert_eq!(
            unmapped(&own, &[r(1000, 1), r(100000, 65536)]),
            vec![r(100000, 65536)]
        );
        assert!(unmapped(&initial, &[r(100000, 65536)]).is_empty());
        assert_eq!(unmapped(&auto, &[r(1, 100)]), vec![]);
        assert_eq!(unmapped(&auto, &[r(65530, 10)]), vec![r(65537, 3)]);
    }

    #[test]
    fn order_of_causes() {
        let r = |s, c| IdRange::new(s, c).unwrap();
        let setuid = [Capability::CAP_SETUID];
        let fine = Context {
            status: Status::parse(b"CapBnd:\t000001ffffffffff\n"),
            map: parse_map(b"0 0 4294967295\n"),
            uid_map: parse_map(b"0 0 4294967295\n"),
            exe: "/usr/bin/newuidmap".into(),
            exe_nosuid: false,
            exe_privileged: true,
        };
        assert_eq!(fine.why_unprivileged(&setuid, &[]), None);
        let mut c = fine.clone();
        c.exe_nosuid = true;
        assert!(matches!(
            c.why_unprivileged(&setuid, &[]),
            Some(Cause::Nosuid { .. })
        ));
        c.status.cap_bnd = 0x3f;
        assert!(matches!(
            c.why_unprivileged(&setuid, &[]),
            Some(Cause::Bounding { .. })
        ));
        c.status.tracer_pid = 7;
        assert_eq!(
            c.why_unprivileged(&setuid, &[]),
            Some(Cause::Traced { tracer: 7 })
        );
        let mut ns = fine.clone();
        ns.uid_map = parse_map(b"1000 1000 1\n");
        ns.map = ns.uid_map.clone();
        assert_eq!(
            ns.why_unprivileged(&setuid, &[r(100000, 10)]),
            Some(Cause::RootUnmapped {
                own_map: "1000 1000 1".into(),
                unmapped: vec![r(100000, 10)]
            })
        );
        ns.uid_map.clear();
        assert_eq!(
            ns.why_unprivileged(&setuid, &[]),
            Some(Cause::UnmappedNamespace)
        );
        assert_eq!(fine.outer_cause(&[r(100000, 10)]), None);
        let mut copy = c.clone();
        copy.exe_privileged = false;
        assert_eq!(copy.why_unprivileged(&setuid, &[]), None, "a plain copy");
    }
}
