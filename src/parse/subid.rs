//! /etc/subuid and /etc/subgid: the line grammar and a streaming reader.
//!
//! A line is `owner:start:count`. Blank lines and lines starting with `#` are
//! skipped, surrounding blanks are tolerated, a missing final newline is
//! fine, and a line that does not parse grants nothing without stopping the
//! parse. Numbers use the strict decimal grammar; count 0 and ranges reaching
//! 2^32-1 grant nothing (so `alice:0:0` cannot map root).

use std::io::{self, Read};

use crate::parse::map::IdRange;
use crate::parse::number::parse_u32;
use crate::parse::text::trim;

/// Why a subid line grants nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineProblem {
    FieldCount,
    EmptyOwner,
    BadStart,
    BadCount,
    ZeroCount,
    PastLimit,
    /// `+name` / `-name`: NIS compat syntax, which no tool here honours.
    NisEntry,
    /// Longer than [`CHUNK_BYTES`]; shadow already skips lines over 1023 bytes.
    TooLong,
}

impl LineProblem {
    pub fn describe(self) -> &'static str {
        match self {
            LineProblem::FieldCount => "not three ':'-separated fields",
            LineProblem::EmptyOwner => "empty owner field",
            LineProblem::BadStart => "start is not a plain decimal number below 2^32",
            LineProblem::BadCount => "count is not a plain decimal number below 2^32",
            LineProblem::ZeroCount => "count is 0",
            LineProblem::PastLimit => "range reaches past 4294967294",
            LineProblem::NisEntry => "NIS '+'/'-' entries are not supported",
            LineProblem::TooLong => "line too long",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Blank,
    Comment,
    Entry {
        owner: &'a [u8],
        range: IdRange,
    },
    /// `owner` is the first field when there is one, so a user can be told
    /// about their own broken lines.
    Malformed {
        owner: Option<&'a [u8]>,
        problem: LineProblem,
    },
}

/// Parses one line (without its newline).
pub fn parse_line(raw: &[u8]) -> Line<'_> {
    let line = trim(raw);
    if line.is_empty() {
        return Line::Blank;
    }
    if line[0] == b'#' {
        return Line::Comment;
    }
    let mut fields = line.splitn(3, |&b| b == b':');
    let owner = fields.next().unwrap_or_default();
    let owner_field = (!owner.is_empty()).then_some(owner);
    let malformed = |problem| Line::Malformed {
        owner: owner_field,
        problem,
    };
    let (Some(start), Some(count)) = (fields.next(), fields.next()) else {
        return malformed(LineProblem::FieldCount);
    };
    if count.contains(&b':') {
        return malformed(LineProblem::FieldCount);
    }
    if owner.is_empty() {
        return malformed(LineProblem::EmptyOwner);
    }
    if matches!(owner[0], b'+' | b'-') {
        return malformed(LineProblem::NisEntry);
    }
    let Some(start) = parse_u32(start) else {
        return malformed(LineProblem::BadStart);
    };
    let Some(count) = parse_u32(count) else {
        return malformed(LineProblem::BadCount);
    };
    if count == 0 {
        return malformed(LineProblem::ZeroCount);
    }
    match IdRange::new(start, count) {
        Some(range) => Line::Entry { owner, range },
        None => malformed(LineProblem::PastLimit),
    }
}

/// The longest line we accept (with its newline); memory use is bounded by
/// this buffer, whatever the file's size.
pub const CHUNK_BYTES: usize = 128 * 1024;

/// Texts shorter than this are searched with plain loops. memchr's first
/// call probes the CPU's vector features (CPUID, which traps to the
/// hypervisor on a virtual machine: about 0.04 ms per helper call measured
/// here), more than a plain loop spends on a file of a few hundred lines.
pub const SMALL_TEXT: usize = 16 * 1024;

/// The first `byte` in `text`.
pub fn find_byte(byte: u8, text: &[u8]) -> Option<usize> {
    if text.len() < SMALL_TEXT {
        text.iter().position(|&b| b == byte)
    } else {
        memchr::memchr(byte, text)
    }
}

/// The last `byte` in `text`.
pub fn rfind_byte(byte: u8, text: &[u8]) -> Option<usize> {
    if text.len() < SMALL_TEXT {
        text.iter().rposition(|&b| b == byte)
    } else {
        memchr::memrchr(byte, text)
    }
}

/// How many times `byte` occurs in `text`.
pub fn count_byte(byte: u8, text: &[u8]) -> usize {
    if text.len() < SMALL_TEXT {
        text.iter().filter(|&&b| b == byte).count()
    } else {
        memchr::memchr_iter(byte, text).count()
    }
}

/// Where the buffer starts when the input's size is unknown (see
/// [`for_each_chunk_sized`]).
const FIRST_CHUNK_BYTES: usize = 8 * 1024;

/// The most read at once (see [`for_each_chunk_sized`]).
pub const READ_BYTES: usize = 64 * 1024;

/// What a reader sees besides lines, for `subid check`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamSummary {
    pub lines: usize,
    pub missing_final_newline: bool,
}

/// A run of whole lines handed to a callback, or a line too long to hold.
pub enum Chunk<'a> {
    /// One or more complete lines, each ending in `\n` except perhaps the
    /// very last line of the file; `first_line` numbers the first from 1.
    Lines {
        text: &'a [u8],
        first_line: usize,
    },
    TooLong,
}

/// Streams `reader` as chunks of whole lines through a fixed buffer. Lines
/// are counted only when `number_lines` is set (counting is a pass over
/// every byte; the helpers need numbers only for messages); otherwise
/// `first_line` and `lines` stay 0.
pub fn for_each_chunk<R: Read>(
    reader: R,
    number_lines: bool,
    visit: impl FnMut(Chunk<'_>),
) -> io::Result<StreamSummary> {
    for_each_chunk_sized(reader, None, number_lines, visit)
}

/// [`for_each_chunk`], with the number of bytes expected when known (fstat).
///
/// Memory is the point here: the buffer is zeroed heap memory (calloc must
/// clear it), so every byte of it is a touched page. It starts at the size
/// of the input, or 8 KiB when that is unknown, and grows, by doubling, up
/// to [`READ_BYTES`] while reads fill it, and up to [`CHUNK_BYTES`] only for a
/// line that does not fit. A few-line file costs one small allocation, a
/// large one a steady 64 KiB, whatever its size.
pub fn for_each_chunk_sized<R: Read>(
    mut reader: R,
    size_hint: Option<u64>,
    number_lines: bool,
    mut visit: impl FnMut(Chunk<'_>),
) -> io::Result<StreamSummary> {
    let first = size_hint.map_or(FIRST_CHUNK_BYTES, |size| {
        usize::try_from(size.saturating_add(1)).map_or(READ_BYTES, |n| n.clamp(64, READ_BYTES))
    });
    let mut buf = vec![0u8; first];
    let mut filled = 0;
    let mut summary = StreamSummary::default();
    let mut skipping_long_line = false;
    loop {
        // No newline in a full buffer: make room for a longer line.
        if filled == buf.len() && buf.len() < CHUNK_BYTES {
            buf.resize((buf.len() * 2).min(CHUNK_BYTES), 0);
        }
        let space = buf.len() - filled;
        let read = match reader.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // A read that fills the buffer means more is coming: read more at once.
        if read == space && buf.len() < READ_BYTES {
            buf.resize((buf.len() * 2).min(READ_BYTES), 0);
        }
        if read == 0 {
            if filled > 0 && !skipping_long_line {
                summary.lines += 1;
                summary.missing_final_newline = true;
                visit(Chunk::Lines {
                    text: &buf[..filled],
                    first_line: if number_lines { summary.lines } else { 0 },
                });
            } else if skipping_long_line {
                summary.missing_final_newline = true;
            }
            return Ok(summary);
        }
        let new = filled..filled + read;
        filled += read;
        if skipping_long_line {
            match find_byte(b'\n', &buf[new.clone()]) {
                Some(at) => {
                    skipping_long_line = false;
                    let after = new.start + at + 1;
                    buf.copy_within(after..filled, 0);
                    filled -= after;
                }
                None => {
                    filled = 0;
                    continue;
                }
            }
        }
        match rfind_byte(b'\n', &buf[..filled]) {
            Some(last) => {
                let text = &buf[..=last];
                let first_line = if number_lines { summary.lines + 1 } else { 0 };
                if number_lines {
                    summary.lines += count_byte(b'\n', text);
                }
                visit(Chunk::Lines { text, first_line });
                buf.copy_within(last + 1..filled, 0);
                filled -= last + 1;
            }
            None if filled == CHUNK_BYTES => {
                summary.lines += 1;
                visit(Chunk::TooLong);
                skipping_long_line = true;
                filled = 0;
            }
            None => {}
        }
    }
}

/// Streams `reader` line by line (without newlines), numbering from 1.
pub fn for_each_line<R: Read>(
    reader: R,
    mut visit: impl FnMut(usize, Result<&[u8], LineProblem>),
) -> io::Result<StreamSummary> {
    let mut number = 0;
    for_each_chunk(reader, true, |chunk| match chunk {
        Chunk::TooLong => {
            number += 1;
            visit(number, Err(LineProblem::TooLong));
        }
        Chunk::Lines { text, .. } => {
            let text = text.strip_suffix(b"\n").unwrap_or(text);
            for line in text.split(|&b| b == b'\n') {
                number += 1;
                visit(number, Ok(line));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(owner: &str, start: u32, count: u32) -> Line<'_> {
        Line::Entry {
            owner: owner.as_bytes(),
            range: IdRange::new(start, count).unwrap(),
        }
    }

    #[test]
    fn entries() {
        assert_eq!(
            parse_line(b"alice:100000:65536"),
            entry("alice", 100_000, 65_536)
        );
        assert_eq!(parse_line(b"  1000:5:1\r"), entry("1000", 5, 1));
        assert_eq!(parse_line(b"a:4294967293:2"), entry("a", 4_294_967_293, 2));
    }

    #[test]
    fn skipped_lines() {
        assert_eq!(parse_line(b""), Line::Blank);
        assert_eq!(parse_line(b" \t "), Line::Blank);
        assert_eq!(parse_line(b"#alice:1:1"), Line::Comment);
        assert_eq!(parse_line(b"  # note"), Line::Comment);
    }

    #[test]
    fn malformed_lines_keep_their_owner() {
        let bad = |text: &'static [u8], owner: Option<&'static str>, problem| {
            assert_eq!(
                parse_line(text),
                Line::Malformed {
                    owner: owner.map(str::as_bytes),
                    problem
                },
                "{}",
                String::from_utf8_lossy(text)
            );
        };
        bad(b"alice:0:0", Some("alice"), LineProblem::ZeroCount);
        bad(b"alice:1", Some("alice"), LineProblem::FieldCount);
        bad(b"alice:1:2:3", Some("alice"), LineProblem::FieldCount);
        bad(b"alice", Some("alice"), LineProblem::FieldCount);
        bad(b":1:2", None, LineProblem::EmptyOwner);
        bad(b"alice:0x10:2", Some("alice"), LineProblem::BadStart);
        bad(b"alice:1: 2", Some("alice"), LineProblem::BadCount);
        bad(b"alice:1:", Some("alice"), LineProblem::BadCount);
        bad(b"alice:4294967294:2", Some("alice"), LineProblem::PastLimit);
        bad(b"+alice:1:2", Some("+alice"), LineProblem::NisEntry);
    }

    type Seen = Vec<(usize, Result<Vec<u8>, LineProblem>)>;

    fn lines_of(text: &[u8]) -> (Seen, StreamSummary) {
        let mut seen = Vec::new();
        let summary =
            for_each_line(text, |n, line| seen.push((n, line.map(<[u8]>::to_vec)))).unwrap();
        (seen, summary)
    }

    #[test]
    fn streaming_numbers_lines_and_notes_missing_newline() {
        let (seen, summary) = lines_of(b"a:1:1\n\nb:2:2");
        assert_eq!(
            seen,
            vec![
                (1, Ok(b"a:1:1".to_vec())),
                (2, Ok(vec![])),
                (3, Ok(b"b:2:2".to_vec()))
            ]
        );
        assert_eq!(
            summary,
            StreamSummary {
                lines: 3,
                missing_final_newline: true
            }
        );
        let (seen, summary) = lines_of(b"a:1:1\n");
        assert_eq!(seen.len(), 1);
        assert!(!summary.missing_final_newline);
    }

    #[test]
    fn streaming_across_chunks_and_overlong_lines() {
        let mut text = Vec::new();
        for i in 0..20_000 {
            text.extend_from_slice(format!("user{i}:{}:10\n", i * 10).as_bytes());
        }
        text.extend_from_slice(&vec![b'x'; CHUNK_BYTES + 10]);
        text.extend_from_slice(b"\nlast:1:1\n");
        let (seen, summary) = lines_of(&text);
        assert_eq!(summary.lines, 20_002);
        assert_eq!(seen[19_999], (20_000, Ok(b"user19999:199990:10".to_vec())));
        assert_eq!(seen[20_000], (20_001, Err(LineProblem::TooLong)));
        assert_eq!(seen[20_001], (20_002, Ok(b"last:1:1".to_vec())));
    }

    #[test]
    fn longest_line_is_the_full_buffer_whatever_its_start_size() {
        // A line of CHUNK_BYTES bytes including its newline fits; one byte
        // more does not, whether it comes first (buffer still small and
        // growing) or after many short lines.
        for prefix in [&b""[..], &b"a:1:1\n".repeat(3000)[..]] {
            let fits = [prefix, &vec![b'y'; CHUNK_BYTES - 1], b"\nz:1:1\n"].concat();
            let (seen, _) = lines_of(&fits);
            let n = prefix.len() / 6;
            assert_eq!(seen[n].1.as_ref().map(Vec::len), Ok(CHUNK_BYTES - 1));
            assert_eq!(seen[n + 1].1, Ok(b"z:1:1".to_vec()));
            let over = [prefix, &vec![b'y'; CHUNK_BYTES], b"\nz:1:1\n"].concat();
            let (seen, summary) = lines_of(&over);
            assert_eq!(seen[n], (n + 1, Err(LineProblem::TooLong)));
            assert_eq!(seen[n + 1], (n + 2, Ok(b"z:1:1".to_vec())));
            assert_eq!(summary.lines, n + 2);
        }
    }

    #[test]
    fn problem_texts() {
        let texts = [
            (LineProblem::FieldCount, "not three ':'-separated fields"),
            (LineProblem::EmptyOwner, "empty owner field"),
            (
                LineProblem::BadStart,
                "start is not a plain decimal number below 2^32",
            ),
            (
                LineProblem::BadCount,
                "count is not a plain decimal number below 2^32",
            ),
            (LineProblem::ZeroCount, "count is 0"),
            (LineProblem::PastLimit, "range reaches past 4294967294"),
            (
                LineProblem::NisEntry,
                "NIS '+'/'-' entries are not supported",
            ),
            (LineProblem::TooLong, "line too long"),
        ];
        for (problem, text) in texts {
            assert_eq!(problem.describe(), text);
        }
    }

    #[test]
    fn more_line_shapes() {
        assert_eq!(
            parse_line(b"-alice:1:2"),
            Line::Malformed {
                owner: Some(b"-alice"),
                problem: LineProblem::NisEntry
            }
        );
        assert_eq!(
            parse_line(b"::"),
            Line::Malformed {
                owner: None,
                problem: LineProblem::EmptyOwner
            }
        );
        assert_eq!(parse_line(b"\x0b\x0ca:1:1\t\r"), entry("a", 1, 1));
        assert_eq!(parse_line(b"a:0:4294967295"), entry("a", 0, u32::MAX));
        assert_eq!(
            parse_line(b"a:18446744073709551616:5"),
            Line::Malformed {
                owner: Some(b"a"),
                problem: LineProblem::BadStart
            }
        );
        assert_eq!(
            parse_line(b"a:5:18446744073709551617"),
            Line::Malformed {
                owner: Some(b"a"),
                problem: LineProblem::BadCount
            }
        );
    }

    #[test]
    fn byte_searches_agree_on_both_sides_of_the_small_text_threshold() {
        for len in [
            0,
            1,
            SMALL_TEXT - 1,
            SMALL_TEXT,
            SMALL_TEXT + 1,
            3 * SMALL_TEXT,
        ] {
            let mut text = vec![b'a'; len];
            assert_eq!(find_byte(b'\n', &text), None);
            assert_eq!(rfind_byte(b'\n', &text), None);
            assert_eq!(count_byte(b'\n', &text), 0);
            if len >= 3 {
                text[1] = b'\n';
                text[len - 2] = b'\n';
                assert_eq!(find_byte(b'\n', &text), Some(1));
                assert_eq!(rfind_byte(b'\n', &text), Some(len - 2));
                assert_eq!(count_byte(b'\n', &text), if len == 3 { 1 } else { 2 });
            }
        }
    }

    /// A reader that replays scripted results and records the length of
    /// every slice it is handed.
    struct Script {
        steps: Vec<io::Result<Vec<u8>>>,
        asked: Vec<usize>,
    }

    impl Script {
        fn new(steps: Vec<io::Result<Vec<u8>>>) -> Script {
            Script {
                steps,
                asked: Vec::new(),
            }
        }

        fn of(text: &[u8]) -> Script {
            Script::new(vec![Ok(text.to_vec())])
        }
    }

    impl Read for &mut Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.asked.push(buf.len());
            assert!(self.asked.len() < 1000, "read loop does not stop");
            if self.steps.is_empty() {
                return Ok(0);
            }
            match self.steps.remove(0) {
                Ok(data) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    if n < data.len() {
                        self.steps.insert(0, Ok(data[n..].to_vec()));
                    }
                    Ok(n)
                }
                Err(e) => Err(e),
            }
        }
    }

    fn chunks(reader: &mut Script, hint: Option<u64>) -> io::Result<(Vec<Vec<u8>>, StreamSummary)> {
        let mut seen = Vec::new();
        let summary = for_each_chunk_sized(reader, hint, true, |chunk| {
            seen.push(match chunk {
                Chunk::Lines { text, .. } => text.to_vec(),
                Chunk::TooLong => b"<too long>".to_vec(),
            })
        })?;
        Ok((seen, summary))
    }

    #[test]
    fn read_errors_end_the_stream_with_the_error() {
        let mut reader = Script::new(vec![
            Ok(b"a:1:1\n".to_vec()),
            Err(io::Error::from_raw_os_error(5)),
            Ok(b"b:2:2\n".to_vec()),
        ]);
        let error = chunks(&mut reader, None).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(5));
        assert_eq!(reader.asked.len(), 2);
        let mut reader = Script::new(vec![Err(io::Error::from(io::ErrorKind::InvalidData))]);
        assert_eq!(
            chunks(&mut reader, Some(10)).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        // for_each_line passes it on too.
        let mut reader = Script::new(vec![Err(io::Error::from_raw_os_error(5))]);
        assert!(for_each_line(&mut reader, |_, _| {}).is_err());
    }

    #[test]
    fn interrupted_reads_are_retried() {
        let interrupted = || Err(io::Error::from(io::ErrorKind::Interrupted));
        let mut reader = Script::new(vec![
            interrupted(),
            Ok(b"a:1:1\n".to_vec()),
            interrupted(),
            Ok(b"b:2:2".to_vec()),
        ]);
        let (seen, summary) = chunks(&mut reader, None).unwrap();
        assert_eq!(seen, vec![b"a:1:1\n".to_vec(), b"b:2:2".to_vec()]);
        assert_eq!(
            summary,
            StreamSummary {
                lines: 2,
                missing_final_newline: true
            }
        );
        assert_eq!(reader.asked.len(), 5);
    }

    #[test]
    fn buffer_is_sized_by_the_hint_and_grows_only_when_filled() {
        // Empty file: one 64-byte read sees the end.
        let mut reader = Script::of(b"");
        let (seen, summary) = chunks(&mut reader, Some(0)).unwrap();
        assert!(seen.is_empty());
        assert_eq!(summary, StreamSummary::default());
        assert_eq!(reader.asked, vec![64]);
        // A small file: its size plus one, so the read that sees the end
        // needs no growth.
        let small = b"alice:100000:65536\n".repeat(10);
        let mut reader = Script::of(&small);
        let (seen, summary) = chunks(&mut reader, Some(small.len() as u64)).unwrap();
        assert_eq!(seen, vec![small.clone()]);
        assert_eq!(summary.lines, 10);
        assert_eq!(reader.asked, vec![191, 191]);
        // Unknown size: 8 KiB.
        let mut reader = Script::of(&small);
        chunks(&mut reader, None).unwrap();
        assert_eq!(reader.asked, vec![8192, 8192]);
        // Larger than the most read at once: 64 KiB reads, however large.
        let large = b"u:1:1\n".repeat(30_000);
        for hint in [Some(large.len() as u64), Some(u64::MAX)] {
            let mut reader = Script::of(&large);
            let (seen, summary) = chunks(&mut reader, hint).unwrap();
            assert_eq!(seen.concat(), large);
            assert_eq!(summary.lines, 30_000);
            assert!(reader.asked.iter().all(|&n| n <= READ_BYTES));
            assert_eq!(reader.asked[0], READ_BYTES);
            assert_eq!(reader.asked.len(), 4);
        }
        // A wrong (too small) hint: reads that fill the buffer double it,
        // up to READ_BYTES.
        let mut reader = Script::of(&large);
        let (seen, _) = chunks(&mut reader, Some(10)).unwrap();
        assert_eq!(seen.concat(), large);
        assert_eq!(&reader.asked[..6], &[64, 124, 254, 508, 1022, 2044]);
        assert!(reader.asked.iter().all(|&n| n <= READ_BYTES));
        assert!(reader.asked.iter().any(|&n| n > READ_BYTES / 2));
    }

    #[test]
    fn a_long_line_grows_the_buffer_to_chunk_bytes_only() {
        // Short reads keep the buffer at its start size until a line does
        // not fit; then it doubles up to CHUNK_BYTES, never further.
        let line = [vec![b'x'; 100_000], b"\n".to_vec()].concat();
        let steps = line.chunks(1000).map(|c| Ok(c.to_vec())).collect();
        let mut reader = Script::new(steps);
        let (seen, summary) = chunks(&mut reader, None).unwrap();
        assert_eq!(seen, vec![line]);
        assert_eq!(summary.lines, 1);
        let max = *reader.asked.iter().max().unwrap();
        assert!(max <= CHUNK_BYTES);
        assert!(max > READ_BYTES, "{max}");
        let steps = b"a:1:1\n"
            .repeat(3000)
            .chunks(100)
            .map(|c| Ok(c.to_vec()))
            .collect();
        let mut reader = Script::new(steps);
        chunks(&mut reader, None).unwrap();
        assert!(reader.asked.iter().all(|&n| n <= FIRST_CHUNK_BYTES));
    }

    #[test]
    fn an_overlong_last_line_without_newline() {
        let text = vec![b'x'; CHUNK_BYTES + 5];
        let mut reader = Script::of(&text);
        let (seen, summary) = chunks(&mut reader, None).unwrap();
        assert_eq!(seen, vec![b"<too long>".to_vec()]);
        assert_eq!(
            summary,
            StreamSummary {
                lines: 1,
                missing_final_newline: true
            }
        );
        // Unnumbered streams report line 0 and count nothing.
        let mut firsts = Vec::new();
        let summary = for_each_chunk(&b"a\nb\nc"[..], false, |chunk| {
            if let Chunk::Lines { first_line, .. } = chunk {
                firsts.push(first_line);
            }
        })
        .unwrap();
        assert_eq!(firsts, vec![0, 0]);
        assert_eq!(summary.lines, 1);
        assert!(summary.missing_final_newline);
    }
}
