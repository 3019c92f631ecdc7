//! The JSON layout: serde_json's pretty printer, with every character a
//! terminal would act on written as a `\uXXXX` escape.
//!
//! serde_json escapes only what JSON requires (`"`, `\` and U+0000..U+001F).
//! DEL, the C1 controls (U+009B is an 8-bit CSI: it starts an escape
//! sequence as ESC `[` does) and the characters that reorder text
//! (bidirectional overrides) are valid in a JSON string as they are, and a
//! process name or a server's banner can hold them. Escaped, the document
//! is the same JSON value, so every reader gets the exact text, and
//! `portcheck who --json` printed on a terminal cannot drive it.

use std::io::{self, Write};

use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};

/// serde_json's `PrettyFormatter`, escaping [`crate::text`]'s dangerous
/// characters in strings too.
#[derive(Default)]
pub struct TerminalSafe(PrettyFormatter<'static>);

/// Forwards layout methods to the pretty printer.
macro_rules! layout {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$method(writer $(, $arg)*)
        })*
    };
}

impl Formatter for TerminalSafe {
    layout! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Printable ASCII, what nearly every string here is, hides nothing
        // (serde_json has already taken out U+0000..U+001F).
        if fragment.bytes().all(|b| b < 0x7f) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (index, c) in fragment.char_indices() {
            if crate::text::hides_text(c) {
                writer.write_all(&fragment.as_bytes()[start..index])?;
                // Outside the BMP nothing is escaped here: one \uXXXX is
                // always enough.
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = index + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        self.0.write_char_escape(writer, escape)
    }
}

/// A writer that gathers the serializer's many small writes (a key, a
/// colon, an indent) in a buffer of its own and passes them on to `out` in
/// large pieces: a `who` document of every socket of a host is megabytes
/// written a few bytes at a time, and each write through `&mut dyn Write`
/// is an indirect call. The buffer stays bounded, so the document is still
/// never held whole.
pub struct Chunked<'a> {
    out: &'a mut dyn Write,
    buffer: Vec<u8>,
}

/// The piece passed on at a time.
const CHUNK: usize = 64 * 1024;

impl<'a> Chunked<'a> {
    pub fn new(out: &'a mut dyn Write) -> Self {
        Chunked {
            out,
            buffer: Vec::with_capacity(CHUNK + 4096),
        }
    }

    /// Passes on what is gathered.
    fn pass_on(&mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            self.out.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

impl Write for Chunked<'_> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.write_all(bytes).map(|()| bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK {
            self.pass_on()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.pass_on()?;
        self.out.flush()
    }
}

impl Drop for Chunked<'_> {
    /// What is left when a caller forgot to flush still goes out; an error
    /// then has no one to go to (flush reports it).
    fn drop(&mut self) {
        let _ = self.pass_on();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(text: &str) -> String {
        let mut out = Vec::new();
        let mut serializer =
            serde_json::Serializer::with_formatter(&mut out, TerminalSafe::default());
        serde::Serialize::serialize(text, &mut serializer).expect("serialize");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn terminal_controls_are_escaped_and_the_value_is_unchanged() {
        let text = "a\u{1b}[2J b\u{9b}2J c\u{7f} d\u{202e}e ä\n";
        let encoded = encode(text);
        assert_eq!(encoded, r#""a\u001b[2J b\u009b2J c\u007f d\u202ee ä\n""#);
        let decoded: String = serde_json::from_str(&encoded).expect("JSON");
        assert_eq!(decoded, text);
    }

    #[test]
    fn printable_ascii_is_written_as_it_is() {
        assert_eq!(encode("nginx: worker ~ {}[]"), r#""nginx: worker ~ {}[]""#);
        assert_eq!(encode("a\u{7f}"), r#""a\u007f""#);
    }

    #[test]
    fn chunked_writes_pass_everything_on_in_order() {
        let mut out = Vec::new();
        {
            let mut chunked = Chunked::new(&mut out);
            for i in 0..100_000u32 {
                chunked.write_all(&i.to_le_bytes()).expect("write");
            }
            chunked.flush().expect("flush");
        }
        let expected: Vec<u8> = (0..100_000u32).flat_map(u32::to_le_bytes).collect();
        assert_eq!(out, expected);
    }
}
