//! Findings of `subid check` and how they are printed (text or JSON).

use super::json::JsonWriter;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What kind of problem a finding is: a stable identifier for scripts
/// (printed as `overlap`, `zero-count`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingCode {
    TooLong,
    ShadowLongLine,
    Comment,
    Whitespace,
    FieldCount,
    EmptyOwner,
    BadNumber,
    Above32bit,
    ZeroCount,
    PastLimit,
    NisEntry,
    NoFinalNewline,
    UnknownOwner,
    Duplicate,
    SameOwnerOverlap,
    Overlap,
    AccountIds,
    Symlink,
    Missing,
    Unreadable,
    Permissions,
}

impl FindingCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::TooLong => "too-long",
            FindingCode::ShadowLongLine => "shadow-long-line",
            FindingCode::Comment => "comment",
            FindingCode::Whitespace => "whitespace",
            FindingCode::FieldCount => "field-count",
            FindingCode::EmptyOwner => "empty-owner",
            FindingCode::BadNumber => "bad-number",
            FindingCode::Above32bit => "above-32bit",
            FindingCode::ZeroCount => "zero-count",
            FindingCode::PastLimit => "past-limit",
            FindingCode::NisEntry => "nis-entry",
            FindingCode::NoFinalNewline => "no-final-newline",
            FindingCode::UnknownOwner => "unknown-owner",
            FindingCode::Duplicate => "duplicate",
            FindingCode::SameOwnerOverlap => "same-owner-overlap",
            FindingCode::Overlap => "overlap",
            FindingCode::AccountIds => "account-ids",
            FindingCode::Symlink => "symlink",
            FindingCode::Missing => "missing",
            FindingCode::Unreadable => "unreadable",
            FindingCode::Permissions => "permissions",
        }
    }
}

/// One problem, with where it is and a one-line fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub code: FindingCode,
    pub file: String,
    /// 1-based; `None` for findings about the file as a whole.
    pub line: Option<usize>,
    /// Another line the finding names (the other side of an overlap).
    pub related_line: Option<usize>,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub fn text_line(&self) -> String {
        let place = match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        };
        format!(
            "{place}: {}: {} (fix: {})\n",
            self.severity.word(),
            self.message,
            self.fix
        )
    }
}

/// What was read from one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileSummary {
    pub file: String,
    pub lines: usize,
    pub entries: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub files: Vec<FileSummary>,
    pub findings: Vec<Finding>,
}

/// `subid check` exit statuses (documented in the README).
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_ERRORS: u8 = 1;
pub const EXIT_WARNINGS: u8 = 2;
/// Bad command line: nothing was checked.
pub const EXIT_USAGE: u8 = 3;

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    pub fn exit_status(&self) -> u8 {
        if self.count(Severity::Error) > 0 {
            EXIT_ERRORS
        } else if self.count(Severity::Warning) > 0 {
            EXIT_WARNINGS
        } else {
            EXIT_CLEAN
        }
    }

    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for finding in &self.findings {
            out.push_str(&finding.text_line());
        }
        let files: Vec<String> = self
            .files
            .iter()
            .map(|f| {
                format!(
                    "{} ({} line{}, {} valid entr{})",
                    f.file,
                    f.lines,
                    plural(f.lines),
                    f.entries,
                    if f.entries == 1 { "y" } else { "ies" }
                )
            })
            .collect();
        let (errors, warnings) = (self.count(Severity::Error), self.count(Severity::Warning));
        if errors + warnings == 0 {
            out.push_str(&format!("no problems in {}\n", files.join(", ")));
        } else {
            out.push_str(&format!(
                "{errors} error{}, {warnings} warning{} in {}\n",
                plural(errors),
                plural(warnings),
                files.join(", ")
            ));
        }
        out
    }

    /// `{"files":[...],"errors":N,"warnings":N,"findings":[...]}`, one line.
    pub fn render_json(&self) -> String {
        let mut w = JsonWriter::default();
        w.open_object();
        w.key("files");
        w.open_array();
        for f in &self.files {
            w.open_object();
            w.key("file");
            w.string(&f.file);
            w.key("lines");
            w.number(f.lines as u64);
            w.key("entries");
            w.number(f.entries as u64);
            w.close_object();
        }
        w.close_array();
        w.key("errors");
        w.number(self.count(Severity::Error) as u64);
        w.key("warnings");
        w.number(self.count(Severity::Warning) as u64);
        w.key("exit");
        w.number(u64::from(self.exit_status()));
        w.key("findings");
        w.open_array();
        for f in &self.findings {
            w.open_object();
            w.key("severity");
            w.string(f.severity.word());
            w.key("code");
            w.string(f.code.as_str());
            w.key("file");
            w.string(&f.file);
            w.key("line");
            w.optional_number(f.line.map(|l| l as u64));
            w.key("related_line");
            w.optional_number(f.related_line.map(|l| l as u64));
            w.key("message");
            w.string(&f.message);
            w.key("fix");
            w.string(&f.fix);
            w.close_object();
        }
        w.close_array();
        w.close_object();
        let mut text = w.finish();
        text.push('\n');
        text
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
