//! Server-first protocols: SSH, SMTP, FTP, and any other first line.

use std::io::Read;

use super::{Cut, Kind, Probe, untrusted};

/// The longest banner kept.
const MAX_BANNER: usize = 512;

/// Reads on until the first line is complete, the connection ends or a
/// bound is hit; `seen` holds what the server sent first.
pub fn read_line(stream: &mut impl Read, seen: &mut Vec<u8>) {
    let mut buf = [0u8; 1024];
    while !seen.contains(&b'\n') && seen.len() < MAX_BANNER {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
}

/// Whether bytes look like text rather than a binary greeting.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| {
        text.chars()
            .all(|c| !c.is_control() || matches!(c, '\r' | '\n' | '\t'))
    })
}

/// The probe of a server that spoke first with `seen`.
pub fn report(mut probe: Probe, seen: &[u8], cut: Option<Cut>) -> Probe {
    let line_end = seen.iter().position(|&b| b == b'\n').unwrap_or(seen.len());
    let line = seen.get(..line_end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let shown = line.get(..line.len().min(MAX_BANNER)).unwrap_or_default();
    let text = String::from_utf8_lossy(shown).into_owned();
    if let Some(greeting) = super::service::mysql_greeting(seen) {
        probe.kind = Kind::Mysql;
        probe.summary = greeting;
        probe.cut = cut;
        probe.banner = Some(untrusted(&String::from_utf8_lossy(seen), 120));
        return probe;
    }
    probe.kind = classify(&text);
    probe.summary = if is_text(shown) {
        untrusted(&text, 100)
    } else {
        format!(
            "binary data ({} bytes): {}",
            seen.len(),
            untrusted(&text, 40)
        )
    };
    probe.cut = cut;
    probe.banner = Some(text);
    probe
}

/// The protocol a first line announces.
pub fn classify(line: &str) -> Kind {
    let upper = line.to_ascii_uppercase();
    if line.starts_with("SSH-") {
        Kind::Ssh
    } else if upper.starts_with("220") && upper.contains("FTP") {
        Kind::Ftp
    } else if upper.starts_with("220") && (upper.contains("SMTP") || upper.contains("MAIL")) {
        Kind::Smtp
    } else {
        Kind::Banner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_lines_name_their_protocol() {
        assert_eq!(classify("SSH-2.0-OpenSSH_9.6"), Kind::Ssh);
        assert_eq!(classify("220 mail.example ESMTP Postfix"), Kind::Smtp);
        assert_eq!(classify("220 (vsFTPd 3.0.5)"), Kind::Ftp);
        assert_eq!(classify("* OK IMAP4rev1 ready"), Kind::Banner);
    }

    #[test]
    fn binary_is_not_text() {
        assert!(is_text(b"SSH-2.0-x\r\n"));
        assert!(!is_text(b"\x00\x01\xff"));
    }
}
