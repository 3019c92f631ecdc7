//! Text portcheck did not write: process names and command lines (a
//! process sets its own, to any bytes) and what servers send to `--probe`.
//!
//! Such text is kept exactly as read ([`Text`]) and shown in one of two
//! ways, never raw: for people, [`escape`]d, so that no control character
//! or terminal escape sequence reaches a terminal and a long text stays one
//! bounded line; in JSON as a UTF-8 string (the JSON encoder escapes
//! control characters, exactly) with the exact bytes beside it in base64
//! when they were not UTF-8 (`report::json`).

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Bytes from outside, kept exactly. There is deliberately no `Display`
/// and no `Deref<Target = str>`: every use says whether it wants the
/// escaped form (people) or the lossy string (JSON, matching names).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Text(Box<[u8]>);

impl Text {
    pub fn from_bytes(bytes: &[u8]) -> Text {
        Text(bytes.into())
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text as UTF-8, each invalid sequence as U+FFFD: borrowed, with
    /// nothing copied, when it is valid.
    pub fn lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Whether the bytes are valid UTF-8, so that [`Text::lossy`] loses
    /// nothing.
    pub fn is_utf8(&self) -> bool {
        std::str::from_utf8(&self.0).is_ok()
    }

    /// The exact bytes in standard base64 (RFC 4648, padded), for JSON.
    pub fn base64(&self) -> String {
        BASE64.encode(&self.0)
    }

    /// For people: see [`escape`].
    pub fn escaped(&self, max: usize) -> String {
        escape(&self.0, max)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::from_bytes(text.as_bytes())
    }
}

impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.lossy())
    }
}

/// Untrusted bytes made safe for one line of a terminal, at most `max`
/// characters (then `…`). Printable text, non-ASCII included, stays as it
/// is; a control character (C0, DEL and C1, so ESC and the 8-bit CSI that
/// start every escape sequence, newlines and tabs too) is written as Rust
/// writes it in a string literal (`\n`, `\u{1b}`), and so is a character
/// that reorders or hides the text around it (bidirectional controls,
/// zero-width characters); a byte that is not UTF-8 is written `\xNN`.
/// Backslashes are not doubled: the table is for reading, JSON is exact.
pub fn escape(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    // Whether the next piece fits in `max` characters; the ellipsis ends
    // the line when it does not.
    let mut fits = |out: &mut String, piece: &str| {
        let width = piece.chars().count();
        if count + width > max {
            out.push('…');
            return false;
        }
        count += width;
        out.push_str(piece);
        true
    };
    let mut buffer = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            buffer.clear();
            if hides_text(c) {
                buffer.extend(c.escape_default());
            } else {
                buffer.push(c);
            }
            if !fits(&mut out, &buffer) {
                return out;
            }
        }
        for byte in chunk.invalid() {
            buffer.clear();
            let _ = write!(buffer, "\\x{byte:02x}");
            if !fits(&mut out, &buffer) {
                return out;
            }
        }
    }
    out
}

/// [`escape`] for text already decoded (what servers send to `--probe`).
pub fn untrusted(text: &str, max: usize) -> String {
    escape(text.as_bytes(), max)
}

/// Characters a terminal does not simply print: controls, and the format
/// characters that reorder (bidirectional overrides and isolates) or hide
/// (zero-width) the text around them.
pub(crate) fn hides_text(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_escape_sequences_are_escaped() {
        assert_eq!(untrusted("a\x1b[31mb\n", 100), "a\\u{1b}[31mb\\n");
        assert_eq!(
            escape(b"\x1b]0;pwned\x07\x1b[2J", 100),
            "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"
        );
        // The 8-bit CSI (U+009B) and DEL.
        assert_eq!(untrusted("\u{9b}2J\u{7f}", 100), "\\u{9b}2J\\u{7f}");
        assert_eq!(untrusted("a\tb\rc", 100), "a\\tb\\rc");
        // Trojan Source: a right-to-left override.
        assert_eq!(untrusted("ab\u{202e}cd", 100), "ab\\u{202e}cd");
    }

    #[test]
    fn printable_text_stays_and_invalid_bytes_are_hex() {
        assert_eq!(
            untrusted("nginx: worker ä 日本", 100),
            "nginx: worker ä 日本"
        );
        assert_eq!(escape(b"a\xffb\xc3", 100), "a\\xffb\\xc3");
        assert_eq!(escape(b"\xe2\x82", 100), "\\xe2\\x82");
    }

    #[test]
    fn output_is_cut_at_max_characters_whole_escapes_only() {
        assert_eq!(untrusted("abcdef", 3), "abc…");
        assert_eq!(untrusted("abc", 3), "abc");
        // `\u{1b}` is six characters: it does not fit after "ab" in 5.
        assert_eq!(untrusted("ab\x1bcd", 5), "ab…");
        assert_eq!(escape(b"ab\xff", 4), "ab…");
        let long = "x".repeat(100_000);
        assert_eq!(untrusted(&long, 60).chars().count(), 61);
    }

    proptest::proptest! {
        /// Whatever the bytes, nothing a terminal acts on comes out, and
        /// the line is at most `max` characters and the ellipsis.
        #[test]
        fn escaped_text_is_always_safe_and_bounded(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
            max in 0usize..100,
        ) {
            let out = escape(&bytes, max);
            proptest::prop_assert!(!out.chars().any(hides_text));
            proptest::prop_assert!(out.chars().count() <= max + 1);
        }
    }

    #[test]
    fn text_keeps_the_exact_bytes() {
        let text = Text::from_bytes(b"a\xff\x1b");
        assert_eq!(text.bytes(), b"a\xff\x1b");
        assert!(!text.is_utf8());
        assert_eq!(text.lossy(), "a\u{fffd}\u{1b}");
        assert_eq!(text.base64(), "Yf8b");
        assert!(Text::from("plain").is_utf8());
        assert_eq!(
            serde_json::to_string(&Text::from("a\u{1b}\n"))
                .ok()
                .as_deref(),
            Some(r#""a\u001b\n""#)
        );
    }
}
