//! Requested maps: typed triplets, the kernel's limits, and rendering.
//!
//! The kernel truncates values above 2^32 and ignores text after a NUL, so
//! the map written is always rendered here from validated u32 values, never
//! copied from argv.

use crate::parse::number::{decimal_len, push_decimal};

/// The kernel refuses a map with more lines than this (Linux 4.15+).
pub const MAX_LINES: usize = 340;
/// The kernel refuses a map write of a page or more.
pub const MAX_MAP_BYTES: usize = 4095;
/// IDs are u32, but 4294967295 is (uid_t)-1 and may never be mapped, so an
/// exclusive range end may be at most this.
pub const ID_LIMIT: u64 = u32::MAX as u64;

/// A half-open range of IDs `[start, start + count)`, with `count >= 1` and
/// `start + count <= 2^32 - 1` guaranteed by construction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdRange {
    start: u32,
    count: u32,
}

impl IdRange {
    /// `None` when the range is empty or would reach (uid_t)-1.
    pub fn new(start: u32, count: u32) -> Option<IdRange> {
        (count >= 1 && u64::from(start) + u64::from(count) <= ID_LIMIT)
            .then_some(IdRange { start, count })
    }

    pub fn start(self) -> u32 {
        self.start
    }

    pub fn count(self) -> u32 {
        self.count
    }

    /// Exclusive end, as u64 so it never wraps.
    pub fn end(self) -> u64 {
        u64::from(self.start) + u64::from(self.count)
    }

    pub fn overlaps(self, other: IdRange) -> bool {
        u64::from(self.start) < other.end() && u64::from(other.start) < self.end()
    }

    /// `[a-b)` as shadow prints ranges: kept only where shadow's own words
    /// are kept (the first line of a refusal, `uid range [a-b) -> [c-d) not
    /// allowed`), so scripts that grep them still match.
    pub fn display(self) -> String {
        format!("[{}-{})", self.start, self.end())
    }

    /// The one notation people read everywhere else: inclusive bounds and
    /// the size, `100000-165535 (65536 IDs)`, or `1000 (1 ID)`. The bounds
    /// are what usermod's `--add-subuids FIRST-LAST` takes.
    pub fn human(self) -> String {
        let last = self.end() - 1;
        if self.count == 1 {
            format!("{} (1 ID)", self.start)
        } else {
            format!("{}-{last} ({} IDs)", self.start, self.count)
        }
    }
}

/// One requested map line: `inner outer count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Triplet {
    pub inner: u32,
    pub outer: u32,
    pub count: u32,
}

impl Triplet {
    pub fn inner_range(self) -> Option<IdRange> {
        IdRange::new(self.inner, self.count)
    }

    pub fn outer_range(self) -> Option<IdRange> {
        IdRange::new(self.outer, self.count)
    }

    /// Bytes this triplet takes in the rendered map, newline included.
    pub fn rendered_len(self) -> usize {
        decimal_len(self.inner) + decimal_len(self.outer) + decimal_len(self.count) + 3
    }

    /// The triplet as the user typed it (numbers are canonical, so this is exact).
    pub fn display(self) -> String {
        format!("{} {} {}", self.inner, self.outer, self.count)
    }
}

/// Which side of a triplet a problem concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Inner,
    Outer,
}

impl Side {
    pub fn word(self) -> &'static str {
        match self {
            Side::Inner => "inner",
            Side::Outer => "outer",
        }
    }
}

/// Why a requested map can never be written, found before any privileged step.
/// Indices are 0-based positions of triplets on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapError {
    ZeroCount {
        index: usize,
        triplet: Triplet,
    },
    PastLimit {
        index: usize,
        triplet: Triplet,
        side: Side,
    },
    TooManyLines {
        lines: usize,
    },
    TooManyBytes {
        bytes: usize,
    },
    Overlap {
        side: Side,
        first: (usize, Triplet),
        second: (usize, Triplet),
    },
}

/// A map that satisfies every rule the kernel checks on its own text:
/// counts >= 1, no range reaching (uid_t)-1, at most 340 lines, under a page,
/// and no two inner or two outer ranges overlapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidMap {
    triplets: Vec<Triplet>,
    rendered_len: usize,
}

impl ValidMap {
    pub fn new(triplets: Vec<Triplet>) -> Result<ValidMap, MapError> {
        for (index, &triplet) in triplets.iter().enumerate() {
            if triplet.count == 0 {
                return Err(MapError::ZeroCount { index, triplet });
            }
            for (side, range) in [
                (Side::Inner, triplet.inner_range()),
                (Side::Outer, triplet.outer_range()),
            ] {
                if range.is_none() {
                    return Err(MapError::PastLimit {
                        index,
                        triplet,
                        side,
                    });
                }
            }
        }
        if triplets.len() > MAX_LINES {
            return Err(MapError::TooManyLines {
                lines: triplets.len(),
            });
        }
        let rendered_len = triplets.iter().map(|t| t.rendered_len()).sum();
        if rendered_len > MAX_MAP_BYTES {
            return Err(MapError::TooManyBytes {
                bytes: rendered_len,
            });
        }
        find_overlap(&triplets, Side::Inner)?;
        find_overlap(&triplets, Side::Outer)?;
        Ok(ValidMap {
            triplets,
            rendered_len,
        })
    }

    pub fn triplets(&self) -> &[Triplet] {
        &self.triplets
    }

    /// True when a UID map would map the parent's root, which needs CAP_SETFCAP.
    pub fn maps_outer_zero(&self) -> bool {
        self.triplets.iter().any(|t| t.outer == 0)
    }

    /// The exact bytes to write: `inner outer count\n` per triplet.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rendered_len);
        for t in &self.triplets {
            push_decimal(&mut out, t.inner);
            out.push(b' ');
            push_decimal(&mut out, t.outer);
            out.push(b' ');
            push_decimal(&mut out, t.count);
            out.push(b'\n');
        }
        out
    }
}

/// Sort-and-sweep so 340 lines cost 340·log(340) comparisons, not 340².
fn find_overlap(triplets: &[Triplet], side: Side) -> Result<(), MapError> {
    let start_of = |t: &Triplet| match side {
        Side::Inner => t.inner,
        Side::Outer => t.outer,
    };
    let mut order: Vec<usize> = (0..triplets.len()).collect();
    order.sort_by_key(|&i| start_of(&triplets[i]));
    for pair in order.windows(2) {
        let (a, b) = (triplets[pair[0]], triplets[pair[1]]);
        if u64::from(start_of(&a)) + u64::from(a.count) > u64::from(start_of(&b)) {
            let (first, second) = (pair[0].min(pair[1]), pair[0].max(pair[1]));
            return Err(MapError::Overlap {
                side,
                first: (first, triplets[first]),
                second: (second, triplets[second]),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(inner: u32, outer: u32, count: u32) -> Triplet {
        Triplet {
            inner,
            outer,
            count,
        }
    }

    #[test]
    fn renders_exact_text() {
        let map = ValidMap::new(vec![t(0, 1000, 1), t(1, 100_000, 65_536)]).unwrap();
        assert_eq!(map.render(), b"0 1000 1\n1 100000 65536\n");
    }

    #[test]
    fn one_range_notation() {
        let r = |s, c| IdRange::new(s, c).unwrap();
        assert_eq!(r(100_000, 65_536).human(), "100000-165535 (65536 IDs)");
        assert_eq!(r(1000, 1).human(), "1000 (1 ID)");
        assert_eq!(r(0, u32::MAX).human(), "0-4294967294 (4294967295 IDs)");
        assert_eq!(r(100_000, 65_536).display(), "[100000-165536)");
    }

    #[test]
    fn limits_are_the_kernels() {
        assert!(IdRange::new(4_294_967_294, 1).is_some());
        assert!(IdRange::new(4_294_967_295, 1).is_none());
        assert!(IdRange::new(0, u32::MAX).is_some());
        assert!(IdRange::new(1, u32::MAX).is_none());
        assert!(matches!(
            ValidMap::new(vec![t(0, 0, 0)]),
            Err(MapError::ZeroCount { index: 0, .. })
        ));
        assert!(matches!(
            ValidMap::new(vec![t(0, 1, 1), t(4_294_967_290, 5, 6)]),
            Err(MapError::PastLimit {
                index: 1,
                side: Side::Inner,
                ..
            })
        ));
    }

    #[test]
    fn line_and_byte_limits() {
        let lines: Vec<_> = (0..340).map(|i| t(i, i, 1)).collect();
        assert!(ValidMap::new(lines).is_ok());
        let lines: Vec<_> = (0..341).map(|i| t(i, i, 1)).collect();
        assert_eq!(
            ValidMap::new(lines),
            Err(MapError::TooManyLines { lines: 341 })
        );
        // 10-digit IDs, 1-digit counts: 24 bytes a line, so 171 lines pass 4095 bytes.
        let big = |i: u32| t(1_000_000_000 + i * 10, 2_000_000_000 + i * 10, 5);
        let lines: Vec<_> = (0..170).map(big).collect();
        assert!(ValidMap::new(lines).is_ok());
        let lines: Vec<_> = (0..171).map(big).collect();
        assert_eq!(
            ValidMap::new(lines),
            Err(MapError::TooManyBytes { bytes: 4104 })
        );
    }

    #[test]
    fn overlaps_named_by_position() {
        let err = ValidMap::new(vec![t(0, 1000, 1), t(1, 100_000, 10), t(20, 100_005, 3)]);
        assert_eq!(
            err,
            Err(MapError::Overlap {
                side: Side::Outer,
                first: (1, t(1, 100_000, 10)),
                second: (2, t(20, 100_005, 3)),
            })
        );
        assert!(matches!(
            ValidMap::new(vec![t(5, 1, 1), t(0, 2, 10)]),
            Err(MapError::Overlap {
                side: Side::Inner,
                ..
            })
        ));
        // Adjacent is fine.
        assert!(ValidMap::new(vec![t(0, 0, 10), t(10, 10, 10)]).is_ok());
    }

    #[test]
    fn outer_zero_is_detected() {
        assert!(ValidMap::new(vec![t(0, 0, 1)]).unwrap().maps_outer_zero());
        assert!(!ValidMap::new(vec![t(0, 1, 1)]).unwrap().maps_outer_zero());
    }

    #[test]
    fn texts_for_messages() {
        let range = IdRange::new(100_000, 65_536).unwrap();
        assert_eq!(range.display(), "[100000-165536)");
        assert_eq!(
            IdRange::new(0, u32::MAX).unwrap().display(),
            "[0-4294967295)"
        );
        assert_eq!(IdRange::new(7, 1).unwrap().display(), "[7-8)");
        assert_eq!(
            (range.start(), range.count(), range.end()),
            (100_000, 65_536, 165_536)
        );
        assert_eq!(t(0, 1000, 1).display(), "0 1000 1");
        assert_eq!(t(4_294_967_294, 1, 2).display(), "4294967294 1 2");
        assert_eq!(Side::Inner.word(), "inner");
        assert_eq!(Side::Outer.word(), "outer");
    }

    #[test]
    fn ranges_and_lengths() {
        let a = IdRange::new(10, 5).unwrap();
        assert!(a.overlaps(IdRange::new(14, 1).unwrap()));
        assert!(a.overlaps(IdRange::new(0, 11).unwrap()));
        assert!(!a.overlaps(IdRange::new(15, 1).unwrap()));
        assert!(!a.overlaps(IdRange::new(0, 10).unwrap()));
        assert_eq!(IdRange::new(4_294_967_294, 1).unwrap().end(), 4_294_967_295);
        assert_eq!(t(0, 1000, 1).rendered_len(), "0 1000 1\n".len());
        assert_eq!(t(1, 100_000, 65_536).rendered_len(), 15);
        assert_eq!(t(5, 4_294_967_290, 3).inner_range(), IdRange::new(5, 3));
        assert_eq!(
            t(5, 4_294_967_290, 3).outer_range(),
            IdRange::new(4_294_967_290, 3)
        );
        assert_eq!(t(5, 4_294_967_293, 3).outer_range(), None);
        let map = ValidMap::new(vec![t(0, 1000, 1), t(1, 100_000, 65_536)]).unwrap();
        assert_eq!(map.triplets(), &[t(0, 1000, 1), t(1, 100_000, 65_536)]);
        assert!(matches!(
            ValidMap::new(vec![t(4_294_967_290, 5, 6)]),
            Err(MapError::PastLimit {
                side: Side::Inner,
                ..
            })
        ));
        assert!(matches!(
            ValidMap::new(vec![t(5, 4_294_967_290, 6)]),
            Err(MapError::PastLimit {
                side: Side::Outer,
                ..
            })
        ));
        // Exactly 4095 bytes pass, 4096 do not.
        let exact: Vec<_> = (0..170)
            .map(|i| t(1_000_000_000 + i * 10, 2_000_000_000 + i * 10, 5))
            .collect();
        let bytes: usize = exact.iter().map(|x| x.rendered_len()).sum();
        assert_eq!(bytes, 4080);
        let mut exact = exact;
        exact.push(t(1, 3_000_000_000, 1));
        assert_eq!(exact.last().unwrap().rendered_len(), 15);
        assert_eq!(
            ValidMap::new(exact.clone()).map(|m| m.render().len()),
            Ok(4095)
        );
        exact.pop();
        exact.push(t(1, 3_000_000_000, 12));
        assert_eq!(
            ValidMap::new(exact),
            Err(MapError::TooManyBytes { bytes: 4096 })
        );
    }

    #[test]
    fn overlap_reports_the_earlier_triplet_first() {
        // Sorted order differs from command-line order.
        assert_eq!(
            ValidMap::new(vec![t(0, 50, 10), t(100, 10, 5), t(200, 45, 10)]),
            Err(MapError::Overlap {
                side: Side::Outer,
                first: (0, t(0, 50, 10)),
                second: (2, t(200, 45, 10)),
            })
        );
        // Touching at the very end is not an overlap; one more is.
        assert!(ValidMap::new(vec![t(0, 4_294_967_284, 10), t(10, 4_294_967_294, 1)]).is_ok());
        assert!(ValidMap::new(vec![t(0, 4_294_967_285, 10), t(10, 4_294_967_294, 1)]).is_err());
    }
}
