//! Findings about one line on its own: comments, blanks, malformed fields.

use super::*;
use crate::admin::report::{FindingCode, Severity};

impl Checker<'_> {
    pub(super) fn comment(&mut self, number: usize, raw: &[u8]) {
        let text = trim(raw);
        let message = if text.iter().filter(|&&b| b == b':').count() == 2 {
            format!(
                "comment line: shadow has no comment syntax and reads \"{}\" as an entry for owner \"{}\"",
                escape(text),
                escape(text.split(|&b| b == b':').next().unwrap_or_default())
            )
        } else {
            "comment line: shadow has no comment syntax (it skips this line as malformed)".into()
        };
        self.push(
            Severity::Warning,
            FindingCode::Comment,
            Some(number),
            message,
            "delete the line and keep notes elsewhere".into(),
        );
    }

    pub(super) fn whitespace(&mut self, number: usize, raw: &[u8]) {
        let clean = trim(raw);
        let (message, fix) = if clean.iter().any(|&b| is_blank(b)) {
            (
                format!(
                    "blank inside \"{}\": shadow never matches this owner",
                    escape(raw)
                ),
                "remove the blanks from the owner field".to_string(),
            )
        } else if trim(raw.strip_suffix(b"\r").unwrap_or(raw))
            == raw.strip_suffix(b"\r").unwrap_or(raw)
        {
            (
                "line ends in a carriage return (DOS line ending): shadow ignores this line, newuidmap here honours it".to_string(),
                "convert the file to Unix line endings with dos2unix".to_string(),
            )
        } else {
            (
                format!(
                    "blanks around \"{}\": shadow ignores this line (podman#21071), newuidmap here honours it",
                    escape(clean)
                ),
                format!("write the line as \"{}\"", escape(clean)),
            )
        };
        self.push(
            Severity::Warning,
            FindingCode::Whitespace,
            Some(number),
            message,
            fix,
        );
    }

    pub(super) fn malformed(
        &mut self,
        number: usize,
        raw: &[u8],
        owner: Option<&[u8]>,
        problem: LineProblem,
    ) {
        let text = trim(raw);
        let shown = escape(text);
        let fields: Vec<&[u8]> = text.split(|&b| b == b':').collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or_default();
        let owner_text = escape(owner.unwrap_or_default());
        let (code, message, fix) = match problem {
            LineProblem::FieldCount => (
                FindingCode::FieldCount,
                format!(
                    "\"{shown}\" has {} field{}, expected owner:start:count",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" }
                ),
                "write the line as OWNER:START:COUNT, or delete it".to_string(),
            ),
            LineProblem::EmptyOwner => (
                FindingCode::EmptyOwner,
                format!("\"{shown}\" has an empty owner field"),
                "put a user name or UID before the first ':', or delete the line".to_string(),
            ),
            LineProblem::BadStart | LineProblem::BadCount => {
                let (what, value) = if problem == LineProblem::BadStart {
                    ("start", field(1))
                } else {
                    ("count", field(2))
                };
                number_problem(&shown, what, value)
            }
            LineProblem::ZeroCount => (
                FindingCode::ZeroCount,
                format!("\"{shown}\": count is 0, so the entry grants nothing"),
                "set a count of at least 1, or delete the line".to_string(),
            ),
            LineProblem::PastLimit => {
                let start = crate::parse::number::parse_u32(field(1)).unwrap_or(0);
                let count = crate::parse::number::parse_u32(field(2)).unwrap_or(0);
                let most = ID_LIMIT.saturating_sub(u64::from(start));
                (
                    FindingCode::PastLimit,
                    format!(
                        "\"{shown}\": start+count is {}, past 4294967295 (2^32-1, which no map may reach)",
                        u64::from(start) + u64::from(count)
                    ),
                    if most > 0 {
                        format!("lower the count to at most {most}")
                    } else {
                        "choose a start below 4294967295".to_string()
                    },
                )
            }
            LineProblem::NisEntry => (
                FindingCode::NisEntry,
                format!("\"{shown}\": NIS '+'/'-' entries are not supported by shadow or here"),
                "list the ranges explicitly, or delete the line".to_string(),
            ),
            LineProblem::TooLong => (
                FindingCode::TooLong,
                format!("line for owner \"{owner_text}\" is too long"),
                "delete the line".to_string(),
            ),
        };
        self.push(Severity::Error, code, Some(number), message, fix);
    }
}

/// Why a start or count field is not a number we accept.
fn number_problem(shown: &str, what: &str, value: &[u8]) -> (FindingCode, String, String) {
    let value_text = escape(value);
    let digits = !value.is_empty() && value.iter().all(u8::is_ascii_digit);
    if digits && value.len() > 1 && value[0] == b'0' {
        (
            FindingCode::BadNumber,
            format!(
                "\"{shown}\": {what} {value_text} has a leading zero (shadow reads it as octal)"
            ),
            format!(
                "write the {what} in plain decimal without leading zeros, e.g. {}",
                escape(trim_zeros(value))
            ),
        )
    } else if digits {
        (
            FindingCode::Above32bit,
            format!("\"{shown}\": {what} {value_text} is above 4294967295, and IDs are 32-bit"),
            format!("choose a {what} below 4294967295"),
        )
    } else if value.starts_with(b"0x") || value.starts_with(b"0X") {
        (
            FindingCode::BadNumber,
            format!(
                "\"{shown}\": {what} {value_text} is hexadecimal (shadow accepts it, newuidmap here does not)"
            ),
            format!("write the {what} in decimal"),
        )
    } else if value.is_empty() {
        (
            FindingCode::BadNumber,
            format!("\"{shown}\": {what} is empty"),
            format!("fill in the {what} as a decimal number"),
        )
    } else {
        (
            FindingCode::BadNumber,
            format!("\"{shown}\": {what} \"{value_text}\" is not a decimal number"),
            format!("write the {what} as plain digits"),
        )
    }
}

fn trim_zeros(value: &[u8]) -> &[u8] {
    let first = value
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(value.len().saturating_sub(1));
    &value[first..]
}
