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
}
