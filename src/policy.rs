//! The decision: may this caller write this map?
//!
//! Pure. A triplet is allowed when its outer range lies inside the union of
//! the caller's subordinate ranges (several adjacent or overlapping entries
//! may cover it together), or when it maps exactly the caller's own ID once.
//! Root is not exempt. The first refused triplet ends the decision.
#![forbid(unsafe_code)]

use crate::mapping::{IdRange, Triplet, ValidMap};

/// Why a triplet was allowed. For newgidmap this decides setgroups: a map
/// allowed only through the caller's own GID must not let the namespace drop
/// supplementary groups (CVE-2018-7169).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    Subordinate,
    OwnId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub grants: Vec<Grant>,
}

impl Decision {
    /// True when /proc/PID/setgroups must read `deny` before a GID map is written.
    pub fn needs_setgroups_deny(&self) -> bool {
        !self.grants.contains(&Grant::Subordinate)
    }
}

/// A refused triplet, with what the caller needs to know to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// 0-based position on the command line.
    pub index: usize,
    pub triplet: Triplet,
    /// The parts of the outer range that no owned range covers; when this is
    /// the whole range the caller owns none of it.
    pub uncovered: Vec<IdRange>,
}

impl Refusal {
    pub fn partly_covered(&self) -> bool {
        self.triplet
            .outer_range()
            .is_some_and(|whole| self.uncovered != [whole])
    }
}

/// Sorted, disjoint, non-adjacent intervals `[start, end)` covering exactly
/// the union of the given ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    intervals: Vec<(u64, u64)>,
}

impl Coverage {
    pub fn new(ranges: &[IdRange]) -> Coverage {
        let mut sorted: Vec<(u64, u64)> = ranges
            .iter()
            .map(|r| (u64::from(r.start()), r.end()))
            .collect();
        sorted.sort_unstable();
        let mut intervals: Vec<(u64, u64)> = Vec::with_capacity(sorted.len());
        for (start, end) in sorted {
            match intervals.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => intervals.push((start, end)),
            }
        }
        Coverage { intervals }
    }

    pub fn covers(&self, range: IdRange) -> bool {
        let (start, end) = (u64::from(range.start()), range.end());
        // The only interval that can contain `start` is the last one starting at or before it.
        let at = self.intervals.partition_point(|&(s, _)| s <= start);
        at > 0 && self.intervals[at - 1].1 >= end
    }

    /// The parts of `range` outside the union.
    pub fn uncovered(&self, range: IdRange) -> Vec<IdRange> {
        let (mut at, end) = (u64::from(range.start()), range.end());
        let mut gaps = Vec::new();
        for &(s, e) in &self.intervals {
            if e <= at {
                continue;
            }
            if s >= end {
                break;
            }
            if s > at {
                gaps.extend(gap(at, s));
            }
            at = at.max(e);
            if at >= end {
                break;
            }
        }
        if at < end {
            gaps.extend(gap(at, end));
        }
        gaps
    }
}

fn gap(start: u64, end: u64) -> Option<IdRange> {
    IdRange::new(u32::try_from(start).ok()?, u32::try_from(end - start).ok()?)
}

/// Decides a whole map. `own_id` is the caller's real UID (newuidmap) or real
/// GID (newgidmap).
pub fn decide(map: &ValidMap, own_id: u32, owned: &Coverage) -> Result<Decision, Refusal> {
    let mut grants = Vec::with_capacity(map.triplets().len());
    for (index, &triplet) in map.triplets().iter().enumerate() {
        grants.push(grant_for(triplet, own_id, owned).ok_or_else(|| {
            Refusal {
                index,
                triplet,
                uncovered: triplet
                    .outer_range()
                    .map(|r| owned.uncovered(r))
                    .unwrap_or_default(),
            }
        })?);
    }
    Ok(Decision { grants })
}

/// Subordinate ranges are consulted first, as shadow does, so a GID that is
/// both the caller's own and delegated counts as delegated.
fn grant_for(triplet: Triplet, own_id: u32, owned: &Coverage) -> Option<Grant> {
    let outer = triplet.outer_range()?;
    if owned.covers(outer) {
        Some(Grant::Subordinate)
    } else if triplet.count == 1 && triplet.outer == own_id {
        Some(Grant::OwnId)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(start: u32, count: u32) -> IdRange {
        IdRange::new(start, count).unwrap()
    }

    fn t(inner: u32, outer: u32, count: u32) -> Triplet {
        Triplet {
            inner,
            outer,
            count,
        }
    }

    #[test]
    fn launcher_map_is_allowed() {
        let map = ValidMap::new(vec![t(0, 1000, 1), t(1, 100_000, 65_536)]).unwrap();
        let owned = Coverage::new(&[r(100_000, 65_536)]);
        let decision = decide(&map, 1000, &owned).unwrap();
        assert_eq!(decision.grants, vec![Grant::OwnId, Grant::Subordinate]);
        assert!(!decision.needs_setgroups_deny());
    }

    #[test]
    fn adjacent_entries_cover_together() {
        let owned = Coverage::new(&[r(101_000, 1000), r(100_000, 1000)]);
        assert!(owned.covers(r(100_500, 1000)));
        assert!(!owned.covers(r(100_500, 1501)));
        assert_eq!(
            owned.uncovered(r(99_990, 3000)),
            vec![r(99_990, 10), r(102_000, 990)]
        );
    }

    #[test]
    fn refusal_names_the_first_bad_triplet() {
        let map = ValidMap::new(vec![t(0, 1000, 1), t(1, 200_000, 10), t(20, 300_000, 1)]).unwrap();
        let refusal = decide(&map, 1000, &Coverage::new(&[r(200_005, 100)])).unwrap_err();
        assert_eq!(refusal.index, 1);
        assert_eq!(refusal.uncovered, vec![r(200_000, 5)]);
        assert!(refusal.partly_covered());
    }

    #[test]
    fn own_id_only_needs_setgroups_deny() {
        let map = ValidMap::new(vec![t(0, 1000, 1)]).unwrap();
        let decision = decide(&map, 1000, &Coverage::default()).unwrap();
        assert!(decision.needs_setgroups_deny());
        // Own ID but count 2: not allowed.
        let map = ValidMap::new(vec![t(0, 1000, 2)]).unwrap();
        let refusal = decide(&map, 1000, &Coverage::default()).unwrap_err();
        assert!(!refusal.partly_covered());
    }

    #[test]
    fn root_is_not_exempt() {
        let map = ValidMap::new(vec![t(0, 0, 1), t(1, 1, 1)]).unwrap();
        assert!(decide(&map, 0, &Coverage::default()).is_err());
    }

    /// Brute force over a universe of 64 IDs: allowed exactly when every outer
    /// ID is inside some owned entry, or the triplet is the own ID once.
    fn oracle(map: &[(u32, u32, u32)], own: u32, owned: &[(u32, u32)]) -> bool {
        map.iter().all(|&(_, outer, count)| {
            (count == 1 && outer == own)
                || (outer..outer + count)
                    .all(|id| owned.iter().any(|&(s, c)| (s..s + c).contains(&id)))
        })
    }

    proptest! {
        #[test]
        fn policy_matches_brute_force(
            owned in proptest::collection::vec((0u32..64, 1u32..12), 0..6),
            map in proptest::collection::vec((0u32..64, 0u32..64, 1u32..12), 1..5),
            own in 0u32..64,
        ) {
            let triplets: Vec<Triplet> = map.iter().map(|&(i, o, c)| t(i, o, c)).collect();
            let Ok(valid) = ValidMap::new(triplets) else { return Ok(()) };
            let ranges: Vec<IdRange> = owned.iter().map(|&(s, c)| r(s, c)).collect();
            let result = decide(&valid, own, &Coverage::new(&ranges));
            prop_assert_eq!(result.is_ok(), oracle(&map, own, &owned));
            if let Err(refusal) = result {
                // The uncovered parts are exactly the IDs no entry covers.
                let (_, outer, count) = map[refusal.index];
                let expect: Vec<u32> = (outer..outer + count)
                    .filter(|id| !owned.iter().any(|&(s, c)| (s..s + c).contains(id)))
                    .collect();
                let got: Vec<u32> = refusal.uncovered.iter()
                    .flat_map(|g| g.start()..g.start() + g.count()).collect();
                prop_assert_eq!(got, expect);
            }
        }

        #[test]
        fn coverage_matches_u128_oracle(
            owned in proptest::collection::vec((any::<u32>(), any::<u32>()), 0..6),
            probe in (any::<u32>(), any::<u32>()),
        ) {
            let ranges: Vec<IdRange> = owned.iter().filter_map(|&(s, c)| IdRange::new(s, c)).collect();
            let Some(probe) = IdRange::new(probe.0, probe.1) else { return Ok(()) };
            let coverage = Coverage::new(&ranges);
            // Uncovered length + covered length (computed by u128 interval sums) = probe length.
            let uncovered: u128 = coverage.uncovered(probe).iter().map(|g| u128::from(g.count())).sum();
            let (ps, pe) = (u128::from(probe.start()), u128::from(probe.end()));
            let mut covered_ids: Vec<(u128, u128)> = ranges.iter()
                .map(|g| (u128::from(g.start()).max(ps), (u128::from(g.start()) + u128::from(g.count())).min(pe)))
                .filter(|(s, e)| s < e).collect();
            covered_ids.sort();
            let mut covered = 0u128;
            let mut at = ps;
            for (s, e) in covered_ids {
                let s = s.max(at);
                if e > s { covered += e - s; at = e; }
            }
            prop_assert_eq!(uncovered + covered, pe - ps);
            prop_assert_eq!(coverage.covers(probe), uncovered == 0);
        }
    }
}
