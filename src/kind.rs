//! The one parameter that distinguishes newuidmap from newgidmap.

/// Which kind of ID a helper maps. Everything that differs between the two
/// helpers is derived from this value, so the binaries stay one line each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdKind {
    Uid,
    Gid,
}

impl IdKind {
    /// The fixed program name used as the message prefix (argv[0] is never trusted).
    pub const fn program(self) -> &'static str {
        match self {
            IdKind::Uid => "newuidmap",
            IdKind::Gid => "newgidmap",
        }
    }

    pub const fn subid_path(self) -> &'static str {
        match self {
            IdKind::Uid => "/etc/subuid",
            IdKind::Gid => "/etc/subgid",
        }
    }

    /// Name of the map file inside /proc/PID.
    pub const fn map_file(self) -> &'static str {
        match self {
            IdKind::Uid => "uid_map",
            IdKind::Gid => "gid_map",
        }
    }

    /// Lower-case word as shadow prints it ("uid range [...)").
    pub const fn word(self) -> &'static str {
        match self {
            IdKind::Uid => "uid",
            IdKind::Gid => "gid",
        }
    }

    pub const fn upper(self) -> &'static str {
        match self {
            IdKind::Uid => "UID",
            IdKind::Gid => "GID",
        }
    }

    /// setcap(8) spelling of the capability the kernel requires to write a
    /// multi-line map of this kind (`privilege::capability`).
    pub const fn capability_name(self) -> &'static str {
        match self {
            IdKind::Uid => "cap_setuid",
            IdKind::Gid => "cap_setgid",
        }
    }

    /// `enum subid_type` in shadow's libsubid ABI.
    pub const fn subid_type(self) -> u32 {
        match self {
            IdKind::Uid => 1,
            IdKind::Gid => 2,
        }
    }
}
