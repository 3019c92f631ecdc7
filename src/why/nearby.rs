//! Where a refused client probably meant to go: the other ports that the
//! program it talks to listens on (redis-cli asked 6390, redis-server
//! listens on 6379).
//!
//! The rule, pure over the host's TCP listeners:
//! 1. A listener of the server the client's format names ([`SERVERS`]:
//!    redis-cli talks to redis-server, psql to postgres, mariadb/mysql to
//!    mariadbd or mysqld), by its process name, on any other port: that is
//!    the program, only the port differs.
//! 2. Otherwise a listener whose program is not known to be another one
//!    (the client's format names no server, or the listener's owner cannot
//!    be seen) within [`NEARBY_DISTANCE`] ports of the one asked: a near
//!    port, said as such, never as "the same program".
//!
//! A listener of a program known to be another one is never offered (nginx
//! on 6385 is not where redis-cli meant to go). The program's listeners
//! come first, then the nearest port; at most [`MAX_SHOWN`].

use std::net::IpAddr;

use crate::model::{Socket, State};

/// How many ports away a listener of an unknown program still counts as
/// near: a typo or an off-by-one (`8081` for `8080`), not a guess across
/// the port space.
pub const NEARBY_DISTANCE: u16 = 10;

/// At most this many are named.
pub const MAX_SHOWN: usize = 3;

/// The servers a client of each format family talks to, by process name
/// (comm: the name of the file executed). Debian installs them as
/// /usr/bin/redis-server, /usr/lib/postgresql/VERSION/bin/postgres and
/// /usr/sbin/mariadbd (with mysqld a link to it); redis-server's name is
/// checked in tests/cli/field_why.rs.
pub const SERVERS: &[(&str, &[&str])] = &[
    ("redis", &["redis-server"]),
    ("postgres", &["postgres"]),
    ("mysql", &["mariadbd", "mysqld"]),
];

/// The server names a client of `family` talks to; empty: none known.
pub fn servers_of(family: &str) -> &'static [&'static str] {
    SERVERS
        .iter()
        .find(|(f, _)| *f == family)
        .map_or(&[], |(_, names)| names)
}

/// A listener on another port that the client may have meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nearby {
    pub address: IpAddr,
    pub port: u16,
    pub pid: Option<u32>,
    /// The owner's name, as shown (escaped); `None`: not seen.
    pub process: Option<String>,
    /// The program the client talks to, by name (rule 1); false: only a
    /// near port (rule 2).
    pub same_program: bool,
}

impl Nearby {
    /// "redis-server (pid 42)", or what is known of it.
    pub fn who(&self) -> String {
        match (&self.process, self.pid) {
            (Some(name), Some(pid)) => format!("{name} (pid {pid})"),
            (Some(name), None) => name.clone(),
            (None, Some(pid)) => format!("pid {pid}"),
            (None, None) => "a listener (owner not seen)".to_owned(),
        }
    }
}

/// The listeners of `listeners` (any table; only TCP listeners on another
/// port count) that a client of `family`, refused on `asked`, may have
/// meant, by the module's rule.
pub fn intended(family: &str, asked: u16, listeners: &[Socket]) -> Vec<Nearby> {
    let servers = servers_of(family);
    let mut found: Vec<Nearby> = listeners
        .iter()
        .filter(|s| {
            s.state == State::Listen
                && s.protocol == crate::model::Protocol::Tcp
                && s.local_port != asked
        })
        .filter_map(|s| {
            let process = s.processes.first();
            let name = process.and_then(|p| p.name.as_ref()).map(|n| n.lossy());
            let same_program = name.as_deref().is_some_and(|n| servers.contains(&n));
            let known_other = name.is_some() && !servers.is_empty() && !same_program;
            let near = s.local_port.abs_diff(asked) <= NEARBY_DISTANCE;
            (same_program || (near && !known_other)).then(|| Nearby {
                address: s.local_address,
                port: s.local_port,
                pid: process.map(|p| p.pid),
                process: process.and_then(crate::model::Process::shown_name),
                same_program,
            })
        })
        .collect();
    found.sort_by_key(|n| (!n.same_program, n.port.abs_diff(asked), n.port, n.address));
    // One line per program and port: a dual-stack pair is one service.
    found.dedup_by(|a, b| a.port == b.port && a.pid == b.pid);
    found.truncate(MAX_SHOWN);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Process, Protocol};
    use crate::text::Text;

    fn listening(address: &str, port: u16, owner: Option<(&str, u32)>) -> Socket {
        let mut socket = Socket::bare(
            Protocol::Tcp,
            address.parse().expect("address"),
            port,
            State::Listen,
        );
        if let Some((name, pid)) = owner {
            socket.processes.push(Process {
                pid,
                name: Some(Text::from(name)),
                cmdline: Vec::new().into(),
                fds: vec![6],
                uid: Some(0),
                user: None,
                container: None,
            });
        }
        socket
    }

    fn ports(found: &[Nearby]) -> Vec<u16> {
        found.iter().map(|n| n.port).collect()
    }

    #[test]
    fn the_named_server_is_found_on_any_port_before_near_strangers() {
        let table = [
            listening("127.0.0.1", 6391, None),
            listening("0.0.0.0", 80, Some(("nginx", 7))),
            listening("127.0.0.1", 7000, Some(("redis-server", 42))),
            listening("127.0.0.1", 6379, Some(("redis-server", 41))),
        ];
        let found = intended("redis", 6390, &table);
        assert_eq!(ports(&found), [6379, 7000, 6391]);
        assert!(found[0].same_program && found[1].same_program);
        assert_eq!(found[0].who(), "redis-server (pid 41)");
        // The owner of 6391 is not seen: a near port, not "redis".
        assert!(!found[2].same_program);
        assert_eq!(found[2].who(), "a listener (owner not seen)");
    }

    #[test]
    fn another_known_program_is_never_offered() {
        let table = [
            listening("127.0.0.1", 6385, Some(("nginx", 7))),
            listening("127.0.0.1", 5433, Some(("redis-server", 9))),
        ];
        assert_eq!(
            ports(&intended("postgres", 5432, &table)),
            Vec::<u16>::new()
        );
        let table = [listening("127.0.0.1", 5433, Some(("postgres", 9)))];
        assert_eq!(ports(&intended("postgres", 5432, &table)), [5433]);
        let table = [listening("127.0.0.1", 3307, Some(("mariadbd", 9)))];
        assert_eq!(ports(&intended("mysql", 3306, &table)), [3307]);
    }

    #[test]
    fn without_a_known_server_only_near_ports_count() {
        let table = [
            listening("0.0.0.0", 8081, Some(("python3", 5))),
            listening("0.0.0.0", 8091, Some(("node", 6))),
            listening("0.0.0.0", 8070, Some(("node", 6))),
            listening("0.0.0.0", 8080, Some(("node", 8))),
        ];
        let found = intended("node", 8080, &table);
        // 8080 itself is the asked port; 8091 is 11 away.
        assert_eq!(ports(&found), [8081, 8070]);
        assert!(found.iter().all(|n| !n.same_program));
    }

    #[test]
    fn pairs_are_one_line_non_listeners_do_not_count_and_few_are_shown() {
        let mut table = vec![
            listening("0.0.0.0", 6379, Some(("redis-server", 41))),
            listening("::", 6379, Some(("redis-server", 41))),
        ];
        let mut udp = listening("127.0.0.1", 6380, Some(("redis-server", 41)));
        udp.protocol = Protocol::Udp;
        table.push(udp);
        let mut connected = listening("127.0.0.1", 6381, Some(("redis-server", 41)));
        connected.state = State::Established;
        table.push(connected);
        assert_eq!(ports(&intended("redis", 6390, &table)), [6379]);
        let many: Vec<Socket> = (1..=5)
            .map(|i| listening("127.0.0.1", 9000 + i, None))
            .collect();
        assert_eq!(ports(&intended("node", 9000, &many)), [9001, 9002, 9003]);
    }
}
