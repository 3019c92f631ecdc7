//! Probing a socket by what it is. A client-first server that is sent
//! another protocol's bytes may raise an alarm: Redis logs "Possible
//! SECURITY ATTACK detected" when a command line reads `Host:` or `POST`
//! (redis `src/networking.c`, `securityWarningCommand`), and PostgreSQL
//! logs "invalid length of startup packet" for a TLS ClientHello or an
//! HTTP request (postgres `src/backend/tcop/backend_startup.c`,
//! `ProcessStartupPacket`). So a socket known to be one of them gets its
//! own harmless question, and one known to speak first is only listened to.

use std::io::{Read, Write};

use super::{Bounded, Kind, Probe, untrusted};

/// What a socket is expected to be, from its owner's name or its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Nothing known: banner, then TLS, then HTTP.
    Unknown,
    /// Redis (or a fork that speaks its protocol): `PING`, expecting `+PONG`.
    Redis,
    /// PostgreSQL: an SSLRequest, answered with one byte `S` or `N`.
    Postgres,
    /// A server that greets first (SSH, SMTP, MySQL/MariaDB): only listen.
    ServerFirst(&'static str),
}

/// Owner names (comm, as the kernel keeps it: 15 bytes at most) and what
/// they serve.
const OWNERS: &[(&str, Expected)] = &[
    ("redis-server", Expected::Redis),
    ("valkey-server", Expected::Redis),
    ("keydb-server", Expected::Redis),
    ("postgres", Expected::Postgres),
    ("postmaster", Expected::Postgres),
    ("mariadbd", Expected::ServerFirst("MySQL")),
    ("mysqld", Expected::ServerFirst("MySQL")),
    ("sshd", Expected::ServerFirst("SSH")),
    ("exim4", Expected::ServerFirst("SMTP")),
    ("sendmail", Expected::ServerFirst("SMTP")),
];

/// Ports registered to those services (IANA), used only when no owner
/// name is known (another user's process, another namespace).
const PORTS: &[(u16, Expected)] = &[
    (6379, Expected::Redis),
    (5432, Expected::Postgres),
    (3306, Expected::ServerFirst("MySQL")),
    (22, Expected::ServerFirst("SSH")),
    (25, Expected::ServerFirst("SMTP")),
    (587, Expected::ServerFirst("SMTP")),
];

/// What the socket on `port` owned by processes named `owners` is
/// expected to be: the owner's name decides; the port only when no owner
/// is known.
pub fn expected(owners: &[String], port: u16) -> Expected {
    if let Some(found) = owners.iter().find_map(|owner| {
        OWNERS
            .iter()
            .find(|(name, _)| owner == name)
            .map(|(_, expected)| *expected)
    }) {
        return found;
    }
    if !owners.is_empty() {
        return Expected::Unknown;
    }
    PORTS
        .iter()
        .find(|(known, _)| *known == port)
        .map_or(Expected::Unknown, |(_, expected)| *expected)
}

/// PostgreSQL's SSLRequest: length 8, code 80877103 (protocol docs,
/// "SSLRequest"). The server answers one byte and logs nothing when the
/// client then goes away.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Asks Redis `PING` (an inline command) and reads the reply line.
pub fn redis(mut probe: Probe, io: &mut Bounded<'_>) -> Probe {
    let reply = ask(io, b"PING\r\n");
    let line = first_line(&reply);
    // A RESP reply: `+PONG`, or an error such as `-NOAUTH ...` or
    // protected mode's `-DENIED ...`: Redis either way.
    if line.starts_with('+') || line.starts_with('-') {
        probe.kind = Kind::Redis;
        probe.summary = format!("Redis: PING answered {}", untrusted(&line, 80));
    } else {
        other_answer(&mut probe, "Redis", "PING", &reply);
    }
    probe.banner = Some(line);
    probe
}

/// Sends PostgreSQL's SSLRequest and reads the one-byte answer. After `S`
/// the connection is closed before any TLS handshake; what a server with
/// TLS on logs then was not checked here (the field test's server runs
/// with TLS off and answers `N`, and logs nothing).
pub fn postgres(mut probe: Probe, io: &mut Bounded<'_>) -> Probe {
    let reply = ask(io, &SSL_REQUEST);
    match reply.as_slice() {
        [b'S'] => {
            probe.kind = Kind::Postgres;
            "PostgreSQL: SSLRequest answered S (TLS offered)".clone_into(&mut probe.summary);
        }
        [b'N'] => {
            probe.kind = Kind::Postgres;
            "PostgreSQL: SSLRequest answered N (no TLS)".clone_into(&mut probe.summary);
        }
        // An ErrorResponse (a server too old for SSLRequest, or one
        // refusing the connection) is PostgreSQL too.
        [b'E', ..] => {
            probe.kind = Kind::Postgres;
            probe.summary = format!(
                "PostgreSQL: SSLRequest answered an error: {}",
                untrusted(&String::from_utf8_lossy(&reply), 80)
            );
        }
        _ => other_answer(&mut probe, "PostgreSQL", "an SSLRequest", &reply),
    }
    probe
}

/// A server-first service that said nothing: nothing else is sent, so as
/// not to speak the wrong protocol to it.
pub fn silent_server_first(mut probe: Probe, protocol: &str) -> Probe {
    probe.kind = Kind::Silent;
    probe.summary = format!(
        "silent: no {protocol} greeting (nothing else was sent, as it is taken for a {protocol} server)"
    );
    probe
}

/// A MySQL/MariaDB greeting: a packet header (3-byte length, sequence 0)
/// and protocol version 10 with the server version, NUL-terminated
/// (MySQL docs, "Protocol::HandshakeV10"); or an error packet (0xff) a
/// server sends instead when it refuses this host.
pub fn mysql_greeting(seen: &[u8]) -> Option<String> {
    let [l0, l1, l2, 0, kind, rest @ ..] = seen else {
        return None;
    };
    let length = usize::from(*l0) | usize::from(*l1) << 8 | usize::from(*l2) << 16;
    if length < 2 || seen.len() < 4 + length.min(64) {
        return None;
    }
    match kind {
        0x0a => {
            let end = rest.iter().position(|&b| b == 0)?;
            let version = rest.get(..end)?;
            Some(format!(
                "MySQL protocol 10, server {}",
                untrusted(&String::from_utf8_lossy(version), 80)
            ))
        }
        0xff => Some(format!(
            "MySQL error packet: {}",
            untrusted(&String::from_utf8_lossy(rest.get(2..)?), 80)
        )),
        _ => None,
    }
}

/// Writes `question` and reads what comes back within the probe's bounds
/// (up to a line, or what one read brings).
fn ask(io: &mut Bounded<'_>, question: &[u8]) -> Vec<u8> {
    let mut reply = Vec::new();
    if io.write_all(question).is_err() {
        return reply;
    }
    let mut buffer = [0u8; 512];
    while !reply.contains(&b'\n') && reply.len() < 512 {
        match io.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                reply.extend_from_slice(buffer.get(..n).unwrap_or_default());
                // PostgreSQL's answer is a single byte, not a line.
                if reply.len() == 1 && matches!(reply.first(), Some(b'S' | b'N')) {
                    break;
                }
            }
        }
    }
    reply
}

fn first_line(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = bytes.get(..end).unwrap_or_default();
    String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)).into_owned()
}

/// The socket was taken for `service` but answered `question` otherwise.
fn other_answer(probe: &mut Probe, service: &str, question: &str, reply: &[u8]) {
    if reply.is_empty() {
        probe.kind = Kind::Silent;
        probe.summary =
            format!("silent: no answer to {question} (taken for {service}; nothing else was sent)");
    } else {
        probe.kind = Kind::Banner;
        probe.summary = format!(
            "not {service}: {question} answered {}",
            untrusted(&String::from_utf8_lossy(reply), 60)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_decides_and_the_port_only_without_one() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(expected(&names(&["redis-server"]), 7000), Expected::Redis);
        assert_eq!(expected(&names(&["postgres"]), 5433), Expected::Postgres);
        assert_eq!(expected(&names(&[]), 6379), Expected::Redis);
        assert_eq!(expected(&names(&[]), 5432), Expected::Postgres);
        assert_eq!(expected(&names(&["node"]), 6379), Expected::Unknown);
        assert_eq!(
            expected(&names(&["mariadbd"]), 3307),
            Expected::ServerFirst("MySQL")
        );
        assert_eq!(expected(&names(&[]), 8080), Expected::Unknown);
    }

    #[test]
    fn mysql_greetings_are_recognised() {
        let mut greeting = vec![0x4e, 0, 0, 0, 0x0a];
        greeting.extend_from_slice(b"5.5.5-10.11.6-MariaDB\0");
        greeting.resize(4 + 0x4e, 0x41);
        assert_eq!(
            mysql_greeting(&greeting).as_deref(),
            Some("MySQL protocol 10, server 5.5.5-10.11.6-MariaDB")
        );
        assert_eq!(mysql_greeting(b"SSH-2.0-OpenSSH_9.6\r\n"), None);
        assert_eq!(mysql_greeting(&[1, 0, 0, 0, 0x0a]), None);
    }
}
