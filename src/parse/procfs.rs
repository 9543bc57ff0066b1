//! What /proc/PID/status and /proc/PID/uid_map (gid_map) say, parsed.
//! Pure; the environment diagnosis (`act::environment`), the write's
//! diagnosis and `subid doctor` read the files and call these.

use caps::Capability;

/// The fields of /proc/self/status the diagnosis needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// `TracerPid:`; 0 when nobody traces the process.
    pub tracer_pid: u32,
    /// `NoNewPrivs:`.
    pub no_new_privs: bool,
    /// `CapBnd:`, the capability bounding set as a bit mask.
    pub cap_bnd: u64,
    /// `State:`'s letter (`R`, `S`, `Z`...).
    pub state: u8,
}

impl Status {
    /// Parses /proc/PID/status; missing or unreadable fields keep their
    /// defaults, except the bounding set, which defaults to full (so a
    /// kernel without the line is never blamed for it).
    pub fn parse(text: &[u8]) -> Status {
        let mut status = Status {
            cap_bnd: u64::MAX,
            ..Status::default()
        };
        for line in text.split(|&b| b == b'\n') {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (key, value) = (&line[..colon], crate::parse::text::trim(&line[colon + 1..]));
            match key {
                b"TracerPid" => {
                    status.tracer_pid = crate::parse::number::parse_u32(value).unwrap_or(0)
                }
                b"NoNewPrivs" => status.no_new_privs = value == b"1",
                b"CapBnd" => {
                    if let Some(mask) = std::str::from_utf8(value)
                        .ok()
                        .and_then(|v| u64::from_str_radix(v, 16).ok())
                    {
                        status.cap_bnd = mask;
                    }
                }
                b"State" => status.state = value.first().copied().unwrap_or(0),
                _ => {}
            }
        }
        status
    }

    pub fn in_bounding_set(&self, cap: Capability) -> bool {
        self.cap_bnd & (1u64 << cap.index()) != 0
    }

    /// A zombie (`Z`) or dead (`X`) task: it has exited, nobody reaped it yet.
    pub fn exited(&self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }
}

/// One line of /proc/PID/uid_map or gid_map as the process itself reads it:
/// `inner` is an ID in its namespace, `outer` one in the parent namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapLine {
    pub inner: u32,
    pub outer: u32,
    pub count: u32,
}

/// Parses a map file; lines that do not parse are skipped.
pub fn parse_map(text: &[u8]) -> Vec<MapLine> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let mut fields = line
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|f| !f.is_empty())
                .map(crate::parse::number::parse_u32);
            let (inner, outer, count) = (fields.next()??, fields.next()??, fields.next()??);
            Some(MapLine {
                inner,
                outer,
                count,
            })
        })
        .collect()
}

/// The initial user namespace's map: `0 0 4294967295`.
pub fn is_initial(map: &[MapLine]) -> bool {
    map == [MapLine {
        inner: 0,
        outer: 0,
        count: u32::MAX,
    }]
}

/// True when some line maps the parent's ID 0 (root) into this namespace.
pub fn maps_parent_root(map: &[MapLine]) -> bool {
    map.iter().any(|l| l.outer == 0 && l.count > 0)
}

/// The map as one line for messages: `0 1000 1, 1 100000 65536`.
pub fn map_text(map: &[MapLine]) -> String {
    if map.is_empty() {
        return "empty".into();
    }
    map.iter()
        .map(|l| format!("{} {} {}", l.inner, l.outer, l.count))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &[u8] = b"Name:\tnewuidmap\nState:\tR (running)\nTracerPid:\t4242\nUid:\t1000\t0\t0\t0\nCapBnd:\t000001ffffffff3f\nNoNewPrivs:\t1\n";

    #[test]
    fn status_fields() {
        let s = Status::parse(STATUS);
        assert_eq!(s.tracer_pid, 4242);
        assert!(s.no_new_privs);
        assert_eq!(s.state, b'R');
        // 0x3f: bits 0-5; cap_setgid is 6, cap_setuid 7, both cleared.
        assert!(!s.in_bounding_set(Capability::CAP_SETUID));
        assert!(!s.in_bounding_set(Capability::CAP_SETGID));
        assert!(s.in_bounding_set(Capability::CAP_CHOWN));
        assert!(s.in_bounding_set(Capability::CAP_SETFCAP));
        let z = Status::parse(b"State:\tZ (zombie)\n");
        assert!(z.exited());
        assert_eq!(z.tracer_pid, 0);
        assert!(z.in_bounding_set(Capability::CAP_SETUID), "no line: full");
    }

    #[test]
    fn maps() {
        let initial = parse_map(b"         0          0 4294967295\n");
        assert!(is_initial(&initial));
        let own = parse_map(b"      1000       1000          1\n");
        assert!(!is_initial(&own) && !maps_parent_root(&own));
        let auto = parse_map(b"0 1000 1\n1 100000 65536\n");
        assert!(maps_parent_root(&parse_map(b"0 0 1\n")));
        assert!(!maps_parent_root(&auto));
        assert_eq!(map_text(&auto), "0 1000 1, 1 100000 65536");
        assert!(parse_map(b"").is_empty());
        assert!(parse_map(b"1 x 2\n").is_empty());
    }
}
