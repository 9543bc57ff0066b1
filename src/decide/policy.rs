//! The decision: may this caller write this map?
//!
//! Pure. A triplet is allowed when its outer range lies inside the union of
//! the caller's subordinate ranges (several adjacent or overlapping entries
//! may cover it together), or when it maps exactly the caller's own ID once.
//! Root is not exempt. The first refused triplet ends the decision.

use crate::kind::IdKind;
use crate::parse::map::{IdRange, Triplet, ValidMap};

/// Why a triplet was allowed. For newgidmap this decides setgroups: a map
/// allowed only through the caller's own GID must not let the namespace drop
/// supplementary groups (CVE-2018-7169).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    Subordinate,
    OwnId,
}

/// What the write does to /proc/PID/setgroups before a GID map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetgroupsAction {
    Unchanged,
    /// The map is allowed only through the caller's own GID: setgroups must
    /// read `deny` first.
    Deny,
}

/// A map the policy allowed, with what the write must do to setgroups.
///
/// Only [`decide`] makes one: the fields are private, so the writer, which
/// takes nothing else, can only ever write a map that was decided.
///
/// The way to get one:
///
/// ```
/// use newidmap::IdKind;
/// use newidmap::parse::map::{Triplet, ValidMap};
/// use newidmap::decide::policy::{Approved, Coverage, Grant, decide};
/// let own = Triplet { inner: 0, outer: 1000, count: 1 };
/// let map = ValidMap::new(vec![own]);
/// assert!(map.is_ok());
/// let Ok(map) = map else { return };
/// let decided = decide(IdKind::Uid, &map, 1000, &Coverage::default());
/// assert!(decided.is_ok());
/// let Ok(approved): Result<Approved, _> = decided else { return };
/// assert_eq!(approved.grants(), [Grant::OwnId]);
/// ```
///
/// and the same made by hand, which does not compile:
///
/// ```compile_fail,E0451
/// use newidmap::IdKind;
/// use newidmap::parse::map::{Triplet, ValidMap};
/// use newidmap::decide::policy::{Approved, Coverage, Grant, decide};
/// let own = Triplet { inner: 0, outer: 1000, count: 1 };
/// let map = ValidMap::new(vec![own]);
/// assert!(map.is_ok());
/// let Ok(map) = map else { return };
/// let approved: Approved = Approved { kind: IdKind::Uid, map, grants: vec![Grant::OwnId] };
/// ```
///
/// (Stable rustdoc does not check the error code, only that compiling
/// fails; each `compile_fail` example here has a compiling twin that
/// differs only in the forbidden line, so nothing else can be the cause.)
#[derive(Debug, PartialEq, Eq)]
pub struct Approved {
    kind: IdKind,
    map: ValidMap,
    grants: Vec<Grant>,
}

impl Approved {
    pub fn kind(&self) -> IdKind {
        self.kind
    }

    pub fn map(&self) -> &ValidMap {
        &self.map
    }

    /// Why each triplet was allowed, in command-line order.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// CVE-2018-7169: a GID map allowed only through the caller's own GID
    /// must not leave setgroups allowed.
    pub fn setgroups(&self) -> SetgroupsAction {
        if self.kind == IdKind::Gid && !self.grants.contains(&Grant::Subordinate) {
            SetgroupsAction::Deny
        } else {
            SetgroupsAction::Unchanged
        }
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

/// Decides a whole map, once, on everything gathered. `own_id` is the
/// caller's real UID (newuidmap) or real GID (newgidmap).
pub fn decide(
    kind: IdKind,
    map: &ValidMap,
    own_id: u32,
    owned: &Coverage,
) -> Result<Approved, Refusal> {
    Ok(Approved {
        kind,
        map: map.clone(),
        grants: grants(map, own_id, owned)?,
    })
}

/// True when `owned` (with the caller's own ID) allows the whole map.
pub fn allows(map: &ValidMap, own_id: u32, owned: &Coverage) -> bool {
    map.triplets()
        .iter()
        .all(|&t| grant_for(t, own_id, owned).is_some())
}

/// True when more ranges cannot change the outcome: the map is allowed,
/// and (for newgidmap) through a subordinate range, so setgroups stays as
/// it is. The gathering stops consulting sources here.
pub fn settled(kind: IdKind, map: &ValidMap, own_id: u32, owned: &Coverage) -> bool {
    match grants(map, own_id, owned) {
        Ok(grants) => kind == IdKind::Uid || grants.contains(&Grant::Subordinate),
        Err(_) => false,
    }
}

fn grants(map: &ValidMap, own_id: u32, owned: &Coverage) -> Result<Vec<Grant>, Refusal> {
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
    Ok(grants)
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
        let approved = decide(IdKind::Gid, &map, 1000, &owned).unwrap();
        assert_eq!(approved.grants(), [Grant::OwnId, Grant::Subordinate]);
        assert_eq!(approved.setgroups(), SetgroupsAction::Unchanged);
        assert_eq!(approved.map(), &map);
        assert!(settled(IdKind::Gid, &map, 1000, &owned));
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
        let refusal =
            decide(IdKind::Uid, &map, 1000, &Coverage::new(&[r(200_005, 100)])).unwrap_err();
        assert_eq!(refusal.index, 1);
        assert_eq!(refusal.uncovered, vec![r(200_000, 5)]);
        assert!(refusal.partly_covered());
    }

    #[test]
    fn own_id_only_needs_setgroups_deny() {
        let map = ValidMap::new(vec![t(0, 1000, 1)]).unwrap();
        let none = Coverage::default();
        let approved = decide(IdKind::Gid, &map, 1000, &none).unwrap();
        assert_eq!(approved.setgroups(), SetgroupsAction::Deny);
        // Allowed, but a subordinate range could still lift the deny.
        assert!(allows(&map, 1000, &none) && !settled(IdKind::Gid, &map, 1000, &none));
        // newuidmap has no setgroups to protect.
        let approved = decide(IdKind::Uid, &map, 1000, &none).unwrap();
        assert_eq!(approved.setgroups(), SetgroupsAction::Unchanged);
        assert!(settled(IdKind::Uid, &map, 1000, &none));
        // Own ID but count 2: not allowed.
        let map = ValidMap::new(vec![t(0, 1000, 2)]).unwrap();
        let refusal = decide(IdKind::Gid, &map, 1000, &none).unwrap_err();
        assert!(!allows(&map, 1000, &none));
        assert!(!refusal.partly_covered());
    }

    #[test]
    fn root_is_not_exempt() {
        let map = ValidMap::new(vec![t(0, 0, 1), t(1, 1, 1)]).unwrap();
        assert!(decide(IdKind::Uid, &map, 0, &Coverage::default()).is_err());
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
            let coverage = Coverage::new(&ranges);
            let result = decide(IdKind::Uid, &valid, own, &coverage);
            prop_assert_eq!(result.is_ok(), oracle(&map, own, &owned));
            prop_assert_eq!(allows(&valid, own, &coverage), result.is_ok());
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
