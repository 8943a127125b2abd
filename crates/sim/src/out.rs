//! Hand-rolled, allocation-free JSON / XML / CSV text writing into a line
//! buffer. The simulator writes gigabytes in benchmark mode, so every record
//! is formatted straight into a reused `Vec<u8>`.

use std::io::Write as _;

/// Appends `s` as a JSON string literal (with quotes).
pub fn json_str(b: &mut Vec<u8>, s: &str) {
    b.push(b'"');
    json_escape_into(b, s);
    b.push(b'"');
}

/// Appends the JSON-escaped body of `s` (no quotes).
pub fn json_escape_into(b: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                b.extend_from_slice(&bytes[start..i]);
                let _ = write!(b, "\\u{:04x}", c);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        b.extend_from_slice(&bytes[start..i]);
        b.extend_from_slice(esc);
        start = i + 1;
    }
    b.extend_from_slice(&bytes[start..]);
}

/// Appends `s` escaped for XML text and attribute values.
pub fn xml_escape_into(b: &mut Vec<u8>, s: &str) {
    for &c in s.as_bytes() {
        match c {
            b'&' => b.extend_from_slice(b"&amp;"),
            b'<' => b.extend_from_slice(b"&lt;"),
            b'>' => b.extend_from_slice(b"&gt;"),
            b'"' => b.extend_from_slice(b"&quot;"),
            b'\'' => b.extend_from_slice(b"&apos;"),
            _ => b.push(c),
        }
    }
}

/// Appends one CSV field, quoted when needed.
pub fn csv_field(b: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        b.push(b'"');
        for &c in s.as_bytes() {
            if c == b'"' {
                b.push(b'"');
            }
            b.push(c);
        }
        b.push(b'"');
    } else {
        b.extend_from_slice(s.as_bytes());
    }
}

/// A JSON object being written; keys are added in call order.
pub struct Obj<'a> {
    b: &'a mut Vec<u8>,
    n: usize,
}

impl<'a> Obj<'a> {
    /// Opens an object at the end of `b`.
    pub fn open(b: &'a mut Vec<u8>) -> Self {
        b.push(b'{');
        Obj { b, n: 0 }
    }

    /// Writes the key and colon, returning the buffer for the value.
    pub fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if self.n > 0 {
            self.b.push(b',');
        }
        self.n += 1;
        self.b.push(b'"');
        self.b.extend_from_slice(k.as_bytes());
        self.b.extend_from_slice(b"\":");
        self.b
    }

    /// A string member.
    pub fn s(&mut self, k: &str, v: &str) -> &mut Self {
        let b = self.key(k);
        json_str(b, v);
        self
    }

    /// A string member, or `null`.
    pub fn s_opt(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.s(k, v),
            None => self.null(k),
        }
    }

    /// A string member written by `f` (inside the quotes; `f` must escape).
    pub fn s_with(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        let b = self.key(k);
        b.push(b'"');
        f(b);
        b.push(b'"');
        self
    }

    /// An integer member.
    pub fn int(&mut self, k: &str, v: i64) -> &mut Self {
        let b = self.key(k);
        let _ = write!(b, "{v}");
        self
    }

    /// A float member.
    pub fn float(&mut self, k: &str, v: f64) -> &mut Self {
        let b = self.key(k);
        let _ = write!(b, "{v}");
        self
    }

    /// A boolean member.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        let b = self.key(k);
        b.extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    /// A `null` member.
    pub fn null(&mut self, k: &str) -> &mut Self {
        let b = self.key(k);
        b.extend_from_slice(b"null");
        self
    }

    /// A member whose value is raw JSON text.
    pub fn raw(&mut self, k: &str, v: &[u8]) -> &mut Self {
        let b = self.key(k);
        b.extend_from_slice(v);
        self
    }

    /// A nested object member.
    pub fn obj(&mut self, k: &str, f: impl FnOnce(&mut Obj<'_>)) -> &mut Self {
        let b = self.key(k);
        let mut o = Obj::open(b);
        f(&mut o);
        o.close();
        self
    }

    /// A member whose value is a nested object written as JSON *text* (a
    /// Log Analytics `dynamic` column exported as a string). `scratch` is a
    /// reused buffer.
    pub fn obj_text(
        &mut self,
        k: &str,
        scratch: &mut Vec<u8>,
        f: impl FnOnce(&mut Obj<'_>),
    ) -> &mut Self {
        scratch.clear();
        {
            let mut o = Obj::open(scratch);
            f(&mut o);
            o.close();
        }
        let b = self.key(k);
        b.push(b'"');
        // The inner JSON is ASCII-safe UTF-8 produced above.
        json_escape_into(b, std::str::from_utf8(scratch).unwrap_or(""));
        b.push(b'"');
        self
    }

    /// Closes the object.
    pub fn close(self) {
        self.b.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escaping_round_trips() {
        let mut b = Vec::new();
        let mut scratch = Vec::new();
        {
            let mut o = Obj::open(&mut b);
            o.s("a", "q\"b\\s\n\u{1}é")
                .int("n", -5)
                .bool("t", true)
                .null("z");
            o.obj("o", |o| {
                o.s("x", "y");
            });
            o.obj_text("j", &mut scratch, |o| {
                o.int("errorCode", 50126).s("failureReason", "a \"b\"");
            });
            o.close();
        }
        let v: serde_json::Value = serde_json::from_slice(&b).expect("valid JSON");
        assert_eq!(v["a"], "q\"b\\s\n\u{1}é");
        assert_eq!(v["n"], -5);
        assert_eq!(v["o"]["x"], "y");
        let inner: serde_json::Value =
            serde_json::from_str(v["j"].as_str().expect("text")).expect("inner JSON");
        assert_eq!(inner["errorCode"], 50126);
    }

    #[test]
    fn xml_and_csv() {
        let mut b = Vec::new();
        xml_escape_into(&mut b, "a<b>&\"'");
        assert_eq!(b, b"a&lt;b&gt;&amp;&quot;&apos;");
        let mut c = Vec::new();
        csv_field(&mut c, "Amsterdam, NH, NL");
        c.push(b',');
        csv_field(&mut c, "plain");
        c.push(b',');
        csv_field(&mut c, "say \"hi\"");
        assert_eq!(c, b"\"Amsterdam, NH, NL\",plain,\"say \"\"hi\"\"\"");
    }
}
