//! argv to a typed request. Pure: no I/O, no environment.
//!
//! Grammar (shadow's, with a stricter number syntax):
//! `[--dry-run] <pid|fd:N|-> <inner> <outer> <count> [<inner> <outer> <count>]...`,
//! or `--help` / `--version` alone. `-` as target is only meaningful with
//! `--dry-run` and skips every check that needs a process.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use crate::parse::map::{MapError, Triplet, ValidMap};
use crate::parse::number::{parse_pid, parse_u32};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// A decimal PID: /proc/PID is opened once, everything else is relative to it.
    Pid(u32),
    /// An inherited descriptor: a /proc/PID directory or a pidfd.
    Fd(i32),
    /// `-`: dry run without a target.
    Unspecified,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapRequest {
    pub dry_run: bool,
    pub target: TargetSpec,
    pub map: ValidMap,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Map(MapRequest),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Inner,
    Outer,
    Count,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Inner => "inner ID",
            Field::Outer => "outer ID",
            Field::Count => "count",
        }
    }
}

/// What is wrong with the command line. Offending text is kept as bytes and
/// escaped only when printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsageError {
    NoTarget,
    NoTriplets,
    TripletCount {
        given: usize,
    },
    BadTarget {
        text: Vec<u8>,
    },
    DashWithoutDryRun,
    BadNumber {
        triplet: usize,
        field: Field,
        text: Vec<u8>,
    },
    UnknownOption {
        text: Vec<u8>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArgError {
    Usage(UsageError),
    Map(MapError),
}

impl From<UsageError> for ArgError {
    fn from(error: UsageError) -> ArgError {
        ArgError::Usage(error)
    }
}

/// Parses the arguments after argv[0] (argv[0] is never looked at: it may be
/// missing or anything the caller chose).
pub fn parse(args: &[OsString]) -> Result<Command, ArgError> {
    let mut rest: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    match rest.first().copied() {
        Some(b"--help" | b"-h") if rest.len() == 1 => return Ok(Command::Help),
        Some(b"--version" | b"-V") if rest.len() == 1 => return Ok(Command::Version),
        _ => {}
    }
    let dry_run = rest.first().copied() == Some(b"--dry-run");
    if dry_run {
        rest.remove(0);
    }
    let Some((&target_text, numbers)) = rest.split_first() else {
        return Err(UsageError::NoTarget.into());
    };
    let target = parse_target(target_text)?;
    if target == TargetSpec::Unspecified && !dry_run {
        return Err(UsageError::DashWithoutDryRun.into());
    }
    if numbers.is_empty() {
        return Err(UsageError::NoTriplets.into());
    }
    if numbers.len() % 3 != 0 {
        return Err(UsageError::TripletCount {
            given: numbers.len(),
        }
        .into());
    }
    let mut triplets = Vec::with_capacity(numbers.len() / 3);
    for (index, chunk) in numbers.chunks_exact(3).enumerate() {
        let field = |field: Field, text: &[u8]| {
            parse_u32(text).ok_or_else(|| UsageError::BadNumber {
                triplet: index,
                field,
                text: text.to_vec(),
            })
        };
        triplets.push(Triplet {
            inner: field(Field::Inner, chunk[0])?,
            outer: field(Field::Outer, chunk[1])?,
            count: field(Field::Count, chunk[2])?,
        });
    }
    let map = ValidMap::new(triplets).map_err(ArgError::Map)?;
    Ok(Command::Map(MapRequest {
        dry_run,
        target,
        map,
    }))
}

fn parse_target(text: &[u8]) -> Result<TargetSpec, UsageError> {
    if text == b"-" {
        return Ok(TargetSpec::Unspecified);
    }
    if let Some(fd) = text.strip_prefix(b"fd:") {
        return parse_u32(fd)
            .and_then(|fd| i32::try_from(fd).ok())
            .map(TargetSpec::Fd)
            .ok_or_else(|| UsageError::BadTarget {
                text: text.to_vec(),
            });
    }
    if text.starts_with(b"--") {
        return Err(UsageError::UnknownOption {
            text: text.to_vec(),
        });
    }
    parse_pid(text)
        .map(TargetSpec::Pid)
        .ok_or_else(|| UsageError::BadTarget {
            text: text.to_vec(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::map::Side;
    use std::os::unix::ffi::OsStringExt;

    fn args(list: &[&[u8]]) -> Vec<OsString> {
        list.iter()
            .map(|a| OsString::from_vec(a.to_vec()))
            .collect()
    }

    fn parse_bytes(list: &[&[u8]]) -> Result<Command, ArgError> {
        parse(&args(list))
    }

    #[test]
    fn the_launchers_call() {
        let Ok(Command::Map(request)) =
            parse_bytes(&[b"1234", b"0", b"1000", b"1", b"1", b"100000", b"65536"])
        else {
            panic!("should parse");
        };
        assert!(!request.dry_run);
        assert_eq!(request.target, TargetSpec::Pid(1234));
        assert_eq!(request.map.render(), b"0 1000 1\n1 100000 65536\n");
    }

    #[test]
    fn targets() {
        let target = |t: &[u8]| match parse_bytes(&[b"--dry-run", t, b"0", b"1", b"1"]) {
            Ok(Command::Map(r)) => Ok(r.target),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        assert_eq!(target(b"fd:5"), Ok(TargetSpec::Fd(5)));
        assert_eq!(target(b"fd:0"), Ok(TargetSpec::Fd(0)));
        assert_eq!(target(b"-"), Ok(TargetSpec::Unspecified));
        for bad in [
            &b"0"[..],
            b"-1",
            b"+5",
            b"2147483648",
            b"fd:",
            b"fd:-1",
            b"fd:2147483648",
            b"fd:05",
            b"FD:5",
            b"pid:5",
            b"",
        ] {
            assert!(
                matches!(
                    target(bad),
                    Err(ArgError::Usage(UsageError::BadTarget { .. }))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn dash_needs_dry_run() {
        assert_eq!(
            parse_bytes(&[b"-", b"0", b"1", b"1"]),
            Err(ArgError::Usage(UsageError::DashWithoutDryRun))
        );
    }

    #[test]
    fn help_and_version_only_alone() {
        assert_eq!(parse_bytes(&[b"--help"]), Ok(Command::Help));
        assert_eq!(parse_bytes(&[b"-V"]), Ok(Command::Version));
        assert!(matches!(
            parse_bytes(&[b"--help", b"1"]),
            Err(ArgError::Usage(UsageError::UnknownOption { .. }))
        ));
        assert!(matches!(
            parse_bytes(&[b"--frobnicate", b"0", b"1", b"1"]),
            Err(ArgError::Usage(UsageError::UnknownOption { .. }))
        ));
    }

    #[test]
    fn help_and_version_with_more_arguments_are_usage_errors() {
        // Never "print and exit 0" when a map was perhaps intended: the
        // launcher would go on without a map written.
        assert_eq!(parse_bytes(&[b"--version"]), Ok(Command::Version));
        assert_eq!(parse_bytes(&[b"-h"]), Ok(Command::Help));
        for first in [&b"--version"[..], b"-V", b"--help", b"-h"] {
            for rest in [
                &[&b"1"[..]][..],
                &[b"1", b"0", b"1000", b"1"],
                &[b"--version"],
                &[b"--help"],
                &[b""],
            ] {
                let list: Vec<&[u8]> = [&[first][..], rest].concat();
                let result = parse_bytes(&list);
                let expected = if first.starts_with(b"--") {
                    UsageError::UnknownOption {
                        text: first.to_vec(),
                    }
                } else {
                    UsageError::BadTarget {
                        text: first.to_vec(),
                    }
                };
                assert_eq!(result, Err(ArgError::Usage(expected)), "{list:?}");
            }
        }
        // After --dry-run they are targets, not options.
        assert_eq!(
            parse_bytes(&[b"--dry-run", b"--version"]),
            Err(ArgError::Usage(UsageError::UnknownOption {
                text: b"--version".to_vec()
            }))
        );
        assert_eq!(
            parse_bytes(&[b"--dry-run", b"-h"]),
            Err(ArgError::Usage(UsageError::BadTarget {
                text: b"-h".to_vec()
            }))
        );
    }

    #[test]
    fn dry_run_flag_and_field_names() {
        let Ok(Command::Map(request)) = parse_bytes(&[b"--dry-run", b"7", b"0", b"5", b"1"]) else {
            panic!("should parse");
        };
        assert!(request.dry_run);
        assert_eq!(request.target, TargetSpec::Pid(7));
        assert_eq!(
            parse_bytes(&[b"--dry-run"]),
            Err(ArgError::Usage(UsageError::NoTarget))
        );
        assert_eq!(Field::Inner.name(), "inner ID");
        assert_eq!(Field::Outer.name(), "outer ID");
        assert_eq!(Field::Count.name(), "count");
        assert_eq!(
            parse_bytes(&[b"1", b"x", b"1000", b"1"]),
            Err(ArgError::Usage(UsageError::BadNumber {
                triplet: 0,
                field: Field::Inner,
                text: b"x".to_vec()
            }))
        );
        assert_eq!(
            parse_bytes(&[
                b"1", b"0", b"1000", b"1", b"1", b"2000", b"1", b"2", b"3000", b"-1"
            ]),
            Err(ArgError::Usage(UsageError::BadNumber {
                triplet: 2,
                field: Field::Count,
                text: b"-1".to_vec()
            }))
        );
        assert_eq!(
            parse_bytes(&[b"fd:2147483647", b"0", b"1000", b"1"]).map(|c| match c {
                Command::Map(r) => r.target,
                other => panic!("{other:?}"),
            }),
            Ok(TargetSpec::Fd(i32::MAX))
        );
        assert_eq!(
            parse_bytes(&[b"1", b"0", b"1000", b"1", b"0"]),
            Err(ArgError::Usage(UsageError::TripletCount { given: 4 }))
        );
    }

    #[test]
    fn wrong_counts() {
        assert_eq!(parse_bytes(&[]), Err(ArgError::Usage(UsageError::NoTarget)));
        assert_eq!(
            parse_bytes(&[b"1"]),
            Err(ArgError::Usage(UsageError::NoTriplets))
        );
        assert_eq!(
            parse_bytes(&[b"1", b"0", b"1"]),
            Err(ArgError::Usage(UsageError::TripletCount { given: 2 }))
        );
    }

    #[test]
    fn bad_numbers_name_their_place() {
        assert_eq!(
            parse_bytes(&[b"1", b"0", b"1000", b"1", b"1", b"0x10", b"5"]),
            Err(ArgError::Usage(UsageError::BadNumber {
                triplet: 1,
                field: Field::Outer,
                text: b"0x10".to_vec()
            }))
        );
        assert!(matches!(
            parse_bytes(&[b"1", b"0", b"1000", b"\xff"]),
            Err(ArgError::Usage(UsageError::BadNumber {
                field: Field::Count,
                ..
            }))
        ));
    }

    #[test]
    fn map_rules_apply() {
        assert!(matches!(
            parse_bytes(&[b"1", b"0", b"4294967295", b"1"]),
            Err(ArgError::Map(MapError::PastLimit {
                side: Side::Outer,
                ..
            }))
        ));
    }
}
