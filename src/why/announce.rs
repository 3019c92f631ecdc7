//! The program's own sockets, as its log announces them before the failure
//! (`listening on [::]:443`, `Serving HTTP on :: port 8000`, `Running on
//! http://127.0.0.1:5000`): a server that binds several sockets and dies on
//! a later one is usually in its own way, and restarting it fails the same
//! way forever. `why` checks the failed bind as the plan the program ran:
//! these sockets first, then the one that failed.

use std::sync::LazyLock;

use regex::Regex;

use super::patterns::{HostText, parse_host, split_host_port};
use crate::model::Protocol;

/// At most this many announcements are kept from one input.
pub const MAX_ANNOUNCED: usize = 64;

/// One socket a line says the program has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// The line's number in the input (from 1).
    pub line: usize,
    pub protocol: Protocol,
    pub host: HostText,
    pub port: u16,
}

/// The phrases servers log once a socket is theirs, each with a real line
/// it was written from (the unit tests read every one).
const PHRASES: &[(&str, &[&str])] = &[
    (
        // tracing/axum (`tracing::info!("listening on {addr}")`), hyper's
        // examples (`Listening on http://{addr}`), Werkzeug (` * Running on
        // http://127.0.0.1:5000`), uvicorn (`Uvicorn running on
        // http://127.0.0.1:8000`), fastify (`Server listening at
        // http://[::1]:3000`), Rocket (`Rocket has launched from
        // http://127.0.0.1:8000`).
        r"(?i)\b(?:listening|listens|serving|running|bound|started|launched)\b[^\[\]]{0,40}?\b(?:on|at|to|from):?\s+(?:(?P<scheme>[a-z][a-z0-9+]*)://)?(?P<hp>\[[0-9a-f:.%\w]*\]:[0-9]{1,5}|(?:[0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]{1,5}|[0-9a-f:]*::[0-9a-f:]*:[0-9]{1,5}|localhost:[0-9]{1,5}|\*:[0-9]{1,5}|:[0-9]{1,5})\b",
        &[
            " INFO rust_dual_stack: listening on [::]:443",
            "2024-01-01T12:00:00.000000Z  INFO server: listening on 0.0.0.0:8080",
            "Listening on http://127.0.0.1:3000",
            " * Running on http://127.0.0.1:5000",
            "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)",
            "Server listening at http://[::1]:3000",
            "bound to [::]:443",
            "listening on :8080",
        ],
    ),
    (
        // CPython, Lib/http/server.py, test(): "Serving HTTP on {host} port
        // {port} (http://{url_host}:{port}/) ...".
        r"\bServing HTTP on (?P<addr>\S+) port (?P<port>[0-9]{1,5})\b",
        &[
            "Serving HTTP on 0.0.0.0 port 8000 (http://0.0.0.0:8000/) ...",
            "Serving HTTP on :: port 8000 (http://[::]:8000/) ...",
        ],
    ),
];

static COMPILED: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    PHRASES
        .iter()
        .filter_map(|(expression, _)| Regex::new(expression).ok())
        .collect()
});

/// The socket `text` (line `line`) announces, if it announces one with an
/// address (a bare `listening on port 3000` does not say which address).
pub fn announced(line: usize, text: &str) -> Option<Announced> {
    COMPILED.iter().find_map(|regex| {
        let caps = regex.captures(text)?;
        let (host, port) = if let Some(hp) = caps.name("hp") {
            let (host, port) = split_host_port(hp.as_str());
            (host, port?)
        } else {
            (
                caps.name("addr")?.as_str().to_owned(),
                caps.name("port")?.as_str().to_owned(),
            )
        };
        let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
        let protocol = match caps.name("scheme").map(|s| s.as_str().to_ascii_lowercase()) {
            Some(scheme) if scheme == "udp" => Protocol::Udp,
            _ => Protocol::Tcp,
        };
        Some(Announced {
            line,
            protocol,
            host: parse_host(&host)?,
            port,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_compiles_and_reads_its_examples() {
        assert_eq!(COMPILED.len(), PHRASES.len());
        for (_, examples) in PHRASES {
            for example in *examples {
                assert!(announced(1, example).is_some(), "not read: {example}");
            }
        }
    }

    #[test]
    fn addresses_and_ports_are_read_as_written() {
        let own = announced(3, " INFO rust_dual_stack: listening on [::]:443").expect("read");
        assert_eq!(own.line, 3);
        assert_eq!(own.host, HostText::Ip("::".parse().expect("address")));
        assert_eq!(own.port, 443);
        let own =
            announced(1, "Serving HTTP on :: port 8000 (http://[::]:8000/) ...").expect("read");
        assert_eq!((own.host.to_string().as_str(), own.port), ("::", 8000));
        let own = announced(1, "listening on :8080").expect("read");
        assert_eq!(own.host, HostText::Wildcard);
    }

    #[test]
    fn failures_and_portless_lines_announce_nothing() {
        for line in [
            "listening on port 3000",
            "Identify and stop the process that's listening on port 8080 or configure this application to listen on another port.",
            "Do you already have another server running on port: 3306 ?",
            "connected to 10.0.0.1:80",
            "listening on [::]:0",
        ] {
            assert_eq!(announced(1, line), None, "{line}");
        }
    }
}
