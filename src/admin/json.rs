//! A minimal JSON writer (no dependency): objects, arrays, strings, numbers.

#[derive(Debug, Default)]
pub struct JsonWriter {
    out: String,
    /// Whether the current container already holds a member.
    filled: Vec<bool>,
    after_key: bool,
}

impl JsonWriter {
    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if let Some(filled) = self.filled.last_mut() {
            if *filled {
                self.out.push(',');
            }
            *filled = true;
        }
    }

    pub fn open_object(&mut self) {
        self.open('{');
    }

    pub fn close_object(&mut self) {
        self.close('}');
    }

    pub fn open_array(&mut self) {
        self.open('[');
    }

    pub fn close_array(&mut self) {
        self.close(']');
    }

    fn open(&mut self, bracket: char) {
        self.before_value();
        self.out.push(bracket);
        self.filled.push(false);
    }

    fn close(&mut self, bracket: char) {
        self.filled.pop();
        self.out.push(bracket);
    }

    pub fn key(&mut self, key: &str) {
        self.before_value();
        push_string(&mut self.out, key);
        self.out.push(':');
        self.after_key = true;
    }

    pub fn string(&mut self, value: &str) {
        self.before_value();
        push_string(&mut self.out, value);
    }

    pub fn number(&mut self, value: u64) {
        self.before_value();
        self.out.push_str(&value.to_string());
    }

    pub fn boolean(&mut self, value: bool) {
        self.before_value();
        self.out.push_str(if value { "true" } else { "false" });
    }

    pub fn optional_number(&mut self, value: Option<u64>) {
        match value {
            Some(value) => self.number(value),
            None => {
                self.before_value();
                self.out.push_str("null");
            }
        }
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Appends `value` as a JSON string literal.
pub fn push_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_and_escapes() {
        let mut w = JsonWriter::default();
        w.open_object();
        w.key("a");
        w.open_array();
        w.number(1);
        w.string("x\"y\\\n\u{1}");
        w.optional_number(None);
        w.close_array();
        w.key("b");
        w.open_object();
        w.close_object();
        w.close_object();
        assert_eq!(w.finish(), r#"{"a":[1,"x\"y\\\n\u0001",null],"b":{}}"#);
    }
}
