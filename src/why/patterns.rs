//! The error messages `why` recognises: one table of named formats, each a
//! regular expression whose named groups have fixed meanings, the runtime
//! whose defaults fill what the message leaves out, and the real strings it
//! was written from (which are its tests).
//!
//! Groups: `err` (the failure, as an errno name, a number or words), `op`
//! (listen, bind, connect), `proto` (Go's tcp, tcp4, udp6, ...), `hp`
//! (HOST:PORT as the runtime writes it: Node's `:::3000`, Go's `[::1]:8080`
//! or `:8080`, Redis's `*:6379`), `addr` and `port` apart, and `url`.
//!
//! A message that names no port may have it on a neighbouring line
//! (PostgreSQL's HINT, Tomcat's connector): the [`HINTS`] say where, and
//! which lines reveal the runtime (a Python traceback through http.server).

use std::fmt;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::LazyLock;

use regex::{Captures, Regex, RegexSet};

use super::runtime::Runtime;
use crate::model::{Family, Protocol};

/// What failed, by the errno the kernel gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    AddrInUse,
    Access,
    AddrNotAvail,
    ConnRefused,
    TimedOut,
    HostUnreach,
    /// connect() failed, and the message does not say how: curl 7.x's
    /// "Couldn't connect to server" is printed alike for refused,
    /// unreachable and timed out; the MariaDB client reports 115
    /// (EINPROGRESS, its non-blocking connect's errno) for all of them.
    ConnectFailed,
    /// A Unix socket's path does not exist (psql's `failed: No such file
    /// or directory`): nothing listens there.
    NoSocket,
}

impl Failure {
    pub fn name(self) -> &'static str {
        match self {
            Failure::AddrInUse => "EADDRINUSE",
            Failure::Access => "EACCES",
            Failure::AddrNotAvail => "EADDRNOTAVAIL",
            Failure::ConnRefused => "ECONNREFUSED",
            Failure::TimedOut => "ETIMEDOUT",
            Failure::HostUnreach => "EHOSTUNREACH",
            // Not an errno: the message names none.
            Failure::ConnectFailed => "CONNECT_FAILED",
            Failure::NoSocket => "ENOENT",
        }
    }

    /// The words strerror gives it.
    pub fn words(self) -> &'static str {
        match self {
            Failure::AddrInUse => "address already in use",
            Failure::Access => "permission denied",
            Failure::AddrNotAvail => "cannot assign requested address",
            Failure::ConnRefused => "connection refused",
            Failure::TimedOut => "connection timed out",
            Failure::HostUnreach => "no route to host",
            Failure::ConnectFailed => {
                "could not connect (refused, unreachable or timed out: the message does not say which)"
            }
            Failure::NoSocket => "no such file or directory: the Unix socket does not exist",
        }
    }

    /// A failure of bind() or listen(), as opposed to connect().
    pub fn is_bind(self) -> bool {
        matches!(
            self,
            Failure::AddrInUse | Failure::Access | Failure::AddrNotAvail
        )
    }

    /// Reads an errno name (`EADDRINUSE`), a Linux errno number (`98`) or
    /// strerror's words in any case.
    pub fn from_text(text: &str) -> Option<Failure> {
        let text = text.trim().to_ascii_lowercase();
        let exact = match text.as_str() {
            "eaddrinuse" | "98" => Some(Failure::AddrInUse),
            "eacces" | "13" => Some(Failure::Access),
            "eaddrnotavail" | "99" => Some(Failure::AddrNotAvail),
            "econnrefused" | "111" => Some(Failure::ConnRefused),
            "etimedout" | "110" => Some(Failure::TimedOut),
            "ehostunreach" | "113" => Some(Failure::HostUnreach),
            "115" => Some(Failure::ConnectFailed),
            _ => None,
        };
        exact.or_else(|| {
            let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
            if has(&[
                "address already in use",
                "address in use",
                "already allocated",
            ]) {
                Some(Failure::AddrInUse)
            } else if has(&["permission denied"]) {
                Some(Failure::Access)
            } else if has(&["cannot assign requested address", "address not available"]) {
                Some(Failure::AddrNotAvail)
            } else if has(&["connection refused"]) {
                Some(Failure::ConnRefused)
            } else if has(&["couldn't connect to server", "could not connect to server"]) {
                Some(Failure::ConnectFailed)
            } else if has(&["timed out", "i/o timeout"]) {
                Some(Failure::TimedOut)
            } else if has(&["no route to host"]) {
                Some(Failure::HostUnreach)
            } else if has(&["no such file or directory"]) {
                Some(Failure::NoSocket)
            } else {
                None
            }
        })
    }
}

/// The call that failed, as the message names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Listen,
    Bind,
    Connect,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Listen => "listen",
            Operation::Bind => "bind",
            Operation::Connect => "connect",
        }
    }

    fn from_text(text: &str) -> Option<Operation> {
        match text {
            "listen" => Some(Operation::Listen),
            "bind" => Some(Operation::Bind),
            "connect" => Some(Operation::Connect),
            _ => None,
        }
    }
}

/// One recognised message format.
#[derive(Debug)]
pub struct Format {
    /// Stable and unique: `node_listen`, `go_dial`.
    pub name: &'static str,
    /// The family of formats (JSON `recognised.format`): `node`, `go`, ...
    pub family: &'static str,
    pub runtime: Runtime,
    pub regex: &'static str,
    /// The failure when the expression has no `err` group.
    pub failure: Option<Failure>,
    /// The operation when the expression has no `op` group; `None`: bind
    /// for a bind failure, connect for a connect failure.
    pub operation: Option<Operation>,
    pub protocol: Protocol,
    /// The port the program uses unless told otherwise (PostgreSQL 5432).
    pub default_port: Option<u16>,
    /// Real messages of this format; each is recognised as this format.
    pub examples: &'static [&'static str],
}

/// A line near the recognised one that tells what the message left out.
#[derive(Debug)]
pub struct Hint {
    pub name: &'static str,
    /// The format families it applies to.
    pub families: &'static [&'static str],
    /// Groups `port`, `addr`.
    pub regex: &'static str,
    /// The runtime the line reveals.
    pub runtime: Option<Runtime>,
    pub examples: &'static [&'static str],
}

/// HOST:PORT as runtimes write it: `[v6]:port`, or anything up to the last
/// colon (Node's `:::3000`, Go's `:8080`, Redis's `*:6379`).
macro_rules! hp {
    () => {
        r"(?P<hp>\[[^\]\s]*\]:[0-9]+|[\w.:*%-]*:[0-9]+)"
    };
}

/// Every format, most specific first: a line is the first format's whose
/// expression matches it.
pub static FORMATS: &[Format] = &[
    Format {
        name: "node_listen",
        family: "node",
        runtime: Runtime::Node,
        regex: concat!(
            r"\b(?P<op>listen) (?P<err>EADDRINUSE|EACCES|EADDRNOTAVAIL)(?::[a-z ]+)? ",
            hp!(),
            r"\b"
        ),
        failure: None,
        operation: None,
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "Error: listen EADDRINUSE: address already in use :::3000",
            "Error: listen EADDRINUSE: address already in use 127.0.0.1:3000",
            "Error: listen EACCES: permission denied 0.0.0.0:80",
            "Error: listen EADDRNOTAVAIL: address not available 10.9.9.9:3000",
            "[webpack-cli] Error: listen EADDRINUSE: address already in use 127.0.0.1:8080",
            "Error: listen EADDRINUSE :::3000",
        ],
    },
    Format {
        name: "node_dgram",
        family: "node",
        runtime: Runtime::NodeDgram,
        regex: concat!(
            r"\b(?P<op>bind) (?P<err>EADDRINUSE|EACCES|EADDRNOTAVAIL) ",
            hp!(),
            r"\b"
        ),
        failure: None,
        operation: None,
        protocol: Protocol::Udp,
        default_port: None,
        examples: &[
            "Error: bind EADDRINUSE 0.0.0.0:41234",
            "Error: bind EADDRNOTAVAIL 10.9.9.9:5353",
        ],
    },
    Format {
        name: "node_connect",
        family: "node",
        runtime: Runtime::Node,
        regex: concat!(
            r"\b(?P<op>connect) (?P<err>ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH) ",
            hp!(),
            r"\b"
        ),
        failure: None,
        operation: None,
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "Error: connect ECONNREFUSED ::1:4000",
            "Error: connect ECONNREFUSED 127.0.0.1:5432",
            "    [cause]: Error: connect ECONNREFUSED ::1:3000",
            "Error: connect ETIMEDOUT 10.0.0.1:443",
            "Error: connect EHOSTUNREACH 192.168.1.20:80",
        ],
    },
    Format {
        name: "vite_port",
        family: "vite",
        runtime: Runtime::Vite,
        regex: r"\bPort (?P<port>[0-9]+) is already in use\b",
        failure: Some(Failure::AddrInUse),
        operation: Some(Operation::Listen),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &["Error: Port 5173 is already in use"],
    },
    Format {
        name: "create_react_app",
        family: "node",
        runtime: Runtime::Node,
        regex: r"Something is already running on port (?P<port>[0-9]+)\b",
        failure: Some(Failure::AddrInUse),
        operation: Some(Operation::Listen),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &["Something is already running on port 3000."],
    },
    Format {
        name: "docker_allocated",
        family: "docker",
        runtime: Runtime::Docker,
        regex: concat!(r"\bBind for ", hp!(), r" failed: port is already allocated"),
        failure: Some(Failure::AddrInUse),
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "docker: Error response from daemon: driver failed programming external connectivity on endpoint web (3f4e5d6c7b8a): Bind for 0.0.0.0:8080 failed: port is already allocated.",
        ],
    },
    Format {
        name: "docker_proxy",
        family: "docker",
        runtime: Runtime::Docker,
        regex: concat!(
            r"userland proxy: listen (?P<proto>tcp[46]?|udp[46]?) ",
            hp!(),
            r": bind: (?P<err>(?i:address already in use|permission denied|cannot assign requested address))"
        ),
        failure: None,
        operation: Some(Operation::Listen),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "Error response from daemon: driver failed programming external connectivity on endpoint web (3f4e5d6c7b8a): Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use",
        ],
    },
    Format {
        name: "go_listen",
        family: "go",
        runtime: Runtime::Go,
        regex: concat!(
            r"\blisten (?P<proto>tcp[46]?|udp[46]?) ",
            hp!(),
            r": bind: (?P<err>(?i:address already in use|permission denied|cannot assign requested address))"
        ),
        failure: None,
        operation: Some(Operation::Listen),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "listen tcp :8080: bind: address already in use",
            "listen tcp [::1]:8080: bind: address already in use",
            "2024/01/01 12:00:00 listen tcp 127.0.0.1:8080: bind: address already in use",
            "listen tcp4 0.0.0.0:8080: bind: address already in use",
            "listen tcp :80: bind: permission denied",
            "listen udp :53: bind: address already in use",
            "listen tcp 10.9.9.9:8080: bind: cannot assign requested address",
        ],
    },
    Format {
        name: "go_dial",
        family: "go",
        runtime: Runtime::Client,
        regex: concat!(
            r"\bdial (?P<proto>tcp[46]?|udp[46]?) ",
            hp!(),
            r": (?:connect: )?(?P<err>connection refused|no route to host|i/o timeout|connection timed out)"
        ),
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "dial tcp 127.0.0.1:5432: connect: connection refused",
            "dial tcp [::1]:6379: connect: connection refused",
            "dial tcp 10.0.0.1:443: i/o timeout",
            "dial tcp 10.0.0.1:80: connect: no route to host",
        ],
    },
    Format {
        name: "python_asyncio",
        family: "python",
        runtime: Runtime::PythonAsyncio,
        regex: r"error while attempting to bind on address \('(?P<addr>[^']*)', (?P<port>[0-9]+)(?:, [0-9]+, [0-9]+)?\): (?P<err>[a-z ]+)",
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "OSError: [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use",
            "ERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 8000): address already in use",
            "OSError: [Errno 99] error while attempting to bind on address ('::1', 8000, 0, 0): cannot assign requested address",
        ],
    },
    Format {
        name: "python_gunicorn",
        family: "python",
        runtime: Runtime::Gunicorn,
        regex: r"Connection in use: \('(?P<addr>[^']*)', (?P<port>[0-9]+)\)",
        failure: Some(Failure::AddrInUse),
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "[2024-01-01 12:00:00 +0000] [1234] [ERROR] Connection in use: ('0.0.0.0', 8000)",
        ],
    },
    Format {
        name: "python_werkzeug",
        family: "python",
        runtime: Runtime::Werkzeug,
        regex: r"\bPort (?P<port>[0-9]+) is in use by another program\b",
        failure: Some(Failure::AddrInUse),
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "Port 5000 is in use by another program. Either identify and stop that program, or start the server with a different port.",
        ],
    },
    Format {
        name: "python_requests",
        family: "python",
        runtime: Runtime::Client,
        regex: r"HTTPS?ConnectionPool\(host='(?P<addr>[^']+)', port=(?P<port>[0-9]+)\).*\[Errno (?P<err>111|110|113)\]",
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "requests.exceptions.ConnectionError: HTTPConnectionPool(host='localhost', port=8000): Max retries exceeded with url: / (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f2a>: Failed to establish a new connection: [Errno 111] Connection refused'))",
        ],
    },
    Format {
        name: "python_errno",
        family: "python",
        runtime: Runtime::PythonSocket,
        regex: r"\[Errno (?P<err>98|99|111|110|113)\] (?:Address already in use|Cannot assign requested address|Connection refused|Connection timed out|No route to host)\s*$",
        failure: None,
        operation: None,
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "OSError: [Errno 98] Address already in use",
            "socket.error: [Errno 98] Address already in use",
            "OSError: [Errno 99] Cannot assign requested address",
            "ConnectionRefusedError: [Errno 111] Connection refused",
        ],
    },
    Format {
        // Only with nothing after it: `[Errno 13] Permission denied: 'file'`
        // is about a file.
        name: "python_eacces",
        family: "python",
        runtime: Runtime::PythonSocket,
        regex: r"PermissionError: \[Errno 13\] Permission denied\s*$",
        failure: Some(Failure::Access),
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &["PermissionError: [Errno 13] Permission denied"],
    },
    Format {
        name: "java_bind",
        family: "java",
        runtime: Runtime::Java,
        regex: r"java\.net\.BindException: (?P<err>Address already in use|Cannot assign requested address|Permission denied)",
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "Exception in thread \"main\" java.net.BindException: Address already in use",
            "Caused by: java.net.BindException: Address already in use: bind",
            "Exception in thread \"main\" java.net.BindException: Cannot assign requested address",
        ],
    },
    Format {
        name: "java_connect",
        family: "java",
        runtime: Runtime::Client,
        regex: r"java\.net\.ConnectException: (?P<err>Connection refused|Connection timed out|No route to host)",
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "Exception in thread \"main\" java.net.ConnectException: Connection refused",
            "java.net.ConnectException: Connection refused (Connection refused)",
        ],
    },
    Format {
        name: "spring_boot",
        family: "java",
        runtime: Runtime::Java,
        regex: r"\bPort (?P<port>[0-9]+) was already in use\b",
        failure: Some(Failure::AddrInUse),
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &["Web server failed to start. Port 8080 was already in use."],
    },
    Format {
        name: "java_netty",
        family: "java",
        runtime: Runtime::Java,
        regex: r"bind\(\.\.\) failed: (?P<err>Address already in use|Cannot assign requested address|Permission denied)",
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "io.netty.channel.unix.Errors$NativeIoException: bind(..) failed: Address already in use",
        ],
    },
    Format {
        name: "dotnet_kestrel",
        family: "dotnet",
        runtime: Runtime::Kestrel,
        regex: r"Failed to bind to address (?P<url>[a-z]+://\S+?): (?P<err>(?i:address already in use|cannot assign requested address|permission denied))",
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "System.IO.IOException: Failed to bind to address http://127.0.0.1:5000: address already in use.",
            "Unhandled exception. System.IO.IOException: Failed to bind to address http://[::]:5000: address already in use.",
            "Failed to bind to address http://localhost:5000: address already in use.",
        ],
    },
    Format {
        name: "dotnet_http",
        family: "dotnet",
        runtime: Runtime::Client,
        regex: r"HttpRequestException: (?P<err>Connection refused|No route to host|Connection timed out) \((?P<hp>[^()\s]+:[0-9]+)\)",
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &["System.Net.Http.HttpRequestException: Connection refused (localhost:5000)"],
    },
    Format {
        name: "rust_hyper",
        family: "rust",
        runtime: Runtime::Rust,
        regex: concat!(
            r"error binding to ",
            hp!(),
            r": .*?(?P<err>Address already in use|Permission denied|Cannot assign requested address)"
        ),
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "thread 'main' panicked at 'error binding to 127.0.0.1:3000: error creating server listener: Address already in use (os error 98)'",
        ],
    },
    Format {
        // Not `Permission denied (os error 13)`: files say that too.
        name: "rust_io",
        family: "rust",
        runtime: Runtime::Rust,
        regex: r"(?P<err>Address already in use|Cannot assign requested address|Connection refused|Connection timed out|No route to host) \(os error (?:98|99|111|110|113)\)",
        failure: None,
        operation: None,
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "Error: Address already in use (os error 98)",
            "thread 'main' panicked at src/main.rs:5:50: Connection refused (os error 111)",
            "Error: Cannot assign requested address (os error 99)",
        ],
    },
    Format {
        name: "rust_debug",
        family: "rust",
        runtime: Runtime::Rust,
        regex: r"Os \{ code: (?P<err>98|99|111|110|113), kind: [A-Za-z]+",
        failure: None,
        operation: None,
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "called `Result::unwrap()` on an `Err` value: Os { code: 98, kind: AddrInUse, message: \"Address already in use\" }",
            "Error: Os { code: 111, kind: ConnectionRefused, message: \"Connection refused\" }",
        ],
    },
    Format {
        // socat's E-level log of the failed call, the sockaddr as
        // `{AF=2 0.0.0.0:7000}` or `{AF=10 [0000:...:0000]:7000}`; the same
        // line for TCP-LISTEN and UDP-LISTEN (seen here with socat 1.7.4.4).
        name: "socat_bind",
        family: "socat",
        runtime: Runtime::Socat,
        regex: concat!(
            r"\bE (?P<op>bind)\([0-9]+, \{AF=(?:2|10) ",
            hp!(),
            r"\}, [0-9]+\): (?P<err>Address already in use|Permission denied|Cannot assign requested address)"
        ),
        failure: None,
        operation: None,
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "2026/12/03 12:43:30 socat[7465] E bind(5, {AF=2 0.0.0.0:7000}, 16): Address already in use",
            "2026/12/03 12:43:30 socat[7468] E bind(5, {AF=10 [0000:0000:0000:0000:0000:0000:0000:0000]:7000}, 28): Address already in use",
        ],
    },
    Format {
        name: "socat_connect",
        family: "socat",
        runtime: Runtime::Client,
        regex: concat!(
            r"\bE (?P<op>connect)\([0-9]+, AF=(?:2|10) ",
            hp!(),
            r", [0-9]+\): (?P<err>Connection refused|Connection timed out|No route to host)"
        ),
        failure: None,
        operation: None,
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "2026/12/03 12:43:30 socat[7472] E connect(5, AF=2 127.0.0.1:7001, 16): Connection refused",
            "2026/12/03 12:43:30 socat[7474] E connect(5, AF=10 [0000:0000:0000:0000:0000:0000:0000:0001]:7001, 28): Connection refused",
        ],
    },
    Format {
        // wget: `Connecting to HOST (HOST)|ADDRESS|:PORT... failed: ...`.
        name: "wget_connect",
        family: "wget",
        runtime: Runtime::Client,
        regex: r"\bConnecting to \S+ \(\S+\)\|(?P<addr>[^|]+)\|:(?P<port>[0-9]+)\.\.\. failed: (?P<err>Connection refused|Connection timed out|No route to host)",
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "Connecting to localhost (localhost)|127.0.0.1|:3999... failed: Connection refused.",
            "Connecting to localhost (localhost)|::1|:3999... failed: Connection refused.",
        ],
    },
    Format {
        // wget given an address rather than a name (run here).
        name: "wget_connect_address",
        family: "wget",
        runtime: Runtime::Client,
        regex: concat!(
            r"\bConnecting to ",
            hp!(),
            r"\.\.\. failed: (?P<err>Connection refused|Connection timed out|No route to host)"
        ),
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "Connecting to 127.0.0.1:3999... failed: Connection refused.",
            "Connecting to [::1]:3999... failed: Connection refused.",
        ],
    },
    Format {
        name: "nginx_bind",
        family: "nginx",
        runtime: Runtime::Nginx,
        regex: concat!(r"\bbind\(\) to ", hp!(), r" failed \((?P<err>[0-9]+): "),
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
            "nginx: [emerg] bind() to [::]:80 failed (98: Address already in use)",
            "2024/01/01 12:00:00 [emerg] 1234#1234: bind() to 0.0.0.0:80 failed (13: Permission denied)",
            "nginx: [emerg] bind() to 10.9.9.9:80 failed (99: Cannot assign requested address)",
        ],
    },
    Format {
        name: "nginx_upstream",
        family: "nginx",
        runtime: Runtime::Client,
        regex: r#"connect\(\) failed \((?P<err>[0-9]+): [^)]*\) while connecting to upstream.*?upstream: "(?P<url>[a-z]+://[^"]+)""#,
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            r#"2024/01/01 12:00:00 [error] 1234#1234: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://[::1]:3000/", host: "localhost""#,
        ],
    },
    Format {
        name: "apache_bind",
        family: "apache",
        runtime: Runtime::Apache,
        regex: concat!(
            r"\((?P<err>[0-9]+)\)[^:]*: (?:AH00072: )?make_sock: could not bind to address ",
            hp!()
        ),
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "(98)Address already in use: AH00072: make_sock: could not bind to address [::]:80",
            "(98)Address already in use: AH00072: make_sock: could not bind to address 0.0.0.0:80",
            "(13)Permission denied: AH00072: make_sock: could not bind to address 0.0.0.0:80",
        ],
    },
    Format {
        name: "apache_proxy",
        family: "apache",
        runtime: Runtime::Client,
        regex: concat!(
            r"\((?P<err>[0-9]+)\)[^:]*: AH00957: [A-Za-z]+: attempt to connect to ",
            hp!()
        ),
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "[proxy:error] [pid 1234:tid 5678] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:8080 (localhost:8080) failed",
        ],
    },
    Format {
        name: "postgres_bind",
        family: "postgres",
        runtime: Runtime::Postgres,
        regex: r#"could not bind IPv[46] address "(?P<addr>[^"]+)": (?P<err>Address already in use|Cannot assign requested address|Permission denied)"#,
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: Some(5432),
        examples: &[
            r#"LOG:  could not bind IPv4 address "127.0.0.1": Address already in use"#,
            r#"2024-01-01 12:00:00.000 UTC [1234] LOG:  could not bind IPv6 address "::1": Address already in use"#,
        ],
    },
    Format {
        name: "postgres_client",
        family: "postgres",
        runtime: Runtime::Client,
        regex: r#"connection to server at "[^"]+" \((?P<addr>[^)]+)\), port (?P<port>[0-9]+) failed: (?P<err>Connection refused|Connection timed out|No route to host)"#,
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: Some(5432),
        examples: &[
            r#"psql: error: connection to server at "localhost" (::1), port 5432 failed: Connection refused"#,
        ],
    },
    Format {
        // psql 15 (run here) on a Unix socket: a local server's socket
        // file, not TCP. The port is the file name's suffix.
        name: "postgres_socket",
        family: "postgres",
        runtime: Runtime::Client,
        regex: r#"connection to server on socket "(?P<socket>[^"]*\.s\.PGSQL\.(?P<port>[0-9]+))" failed: (?P<err>No such file or directory|Connection refused)"#,
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: Some(5432),
        examples: &[
            r#"psql: error: connection to server on socket "/var/run/postgresql/.s.PGSQL.5499" failed: No such file or directory"#,
            r#"psql: error: connection to server on socket "/tmp/.s.PGSQL.5432" failed: Connection refused"#,
        ],
    },
    Format {
        name: "postgres_client_old",
        family: "postgres",
        runtime: Runtime::Client,
        regex: r"could not connect to server: (?P<err>Connection refused|Connection timed out|No route to host)",
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: Some(5432),
        examples: &["psql: could not connect to server: Connection refused"],
    },
    Format {
        name: "redis_listen",
        family: "redis",
        runtime: Runtime::Redis,
        regex: concat!(
            r"Could not create server TCP listening socket ",
            hp!(),
            r": bind: (?P<err>Address already in use|Cannot assign requested address|Permission denied)"
        ),
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: Some(6379),
        examples: &[
            "1234:M 01 Jan 2024 12:00:00.000 # Could not create server TCP listening socket *:6379: bind: Address already in use",
            "1234:M 01 Jan 2024 12:00:00.000 # Warning: Could not create server TCP listening socket ::1:6379: bind: Cannot assign requested address",
            "Could not create server TCP listening socket 127.0.0.1:6380: bind: Address already in use",
        ],
    },
    Format {
        name: "redis_client",
        family: "redis",
        runtime: Runtime::Client,
        regex: concat!(
            r"Could not connect to Redis at ",
            hp!(),
            r": (?P<err>Connection refused|Connection timed out|No route to host)"
        ),
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: Some(6379),
        examples: &["Could not connect to Redis at 127.0.0.1:6379: Connection refused"],
    },
    Format {
        name: "mysql_server",
        family: "mysql",
        runtime: Runtime::Mysql,
        // MySQL 8: `Bind on TCP/IP port: WORDS`; MariaDB 10.11 (run here):
        // `Bind on TCP/IP port. Got error: 98: WORDS`.
        regex: r"Can't start server: Bind on TCP/IP port(?::|\. Got error: [0-9]+:) (?P<err>Address already in use|Cannot assign requested address|Permission denied)",
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: Some(3306),
        examples: &[
            "2024-01-01T12:00:00.000000Z 0 [ERROR] [MY-010262] [Server] Can't start server: Bind on TCP/IP port: Address already in use",
            "2026-12-03 12:47:24 0 [ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use",
        ],
    },
    Format {
        name: "mysql_client",
        family: "mysql",
        runtime: Runtime::Client,
        // MySQL: `Can't connect to MySQL server on`; MariaDB 10.11's client
        // (run here): `Can't connect to server on '127.0.0.1' (115)`.
        regex: r"Can't connect to (?:MySQL )?server on '(?P<addr>[^':]+)(?::(?P<port>[0-9]+))?' \((?P<err>[0-9]+)\)",
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: Some(3306),
        examples: &[
            "ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.0.1:3306' (111)",
            "ERROR 2003 (HY000): Can't connect to MySQL server on 'db.internal' (113)",
            "ERROR 2002 (HY000): Can't connect to server on '127.0.0.1' (115)",
        ],
    },
    Format {
        name: "sshd_bind",
        family: "sshd",
        runtime: Runtime::Sshd,
        regex: r"Bind to port (?P<port>[0-9]+) on (?P<addr>\S+) failed: (?P<err>Address already in use|Cannot assign requested address|Permission denied)",
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: Some(22),
        examples: &[
            "error: Bind to port 22 on 0.0.0.0 failed: Address already in use.",
            "Bind to port 2222 on :: failed: Address already in use.",
        ],
    },
    Format {
        name: "ssh_client",
        family: "sshd",
        runtime: Runtime::Client,
        regex: r"ssh: connect to host (?P<addr>\S+) port (?P<port>[0-9]+): (?P<err>Connection refused|Connection timed out|No route to host)",
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: Some(22),
        examples: &["ssh: connect to host localhost port 22: Connection refused"],
    },
    Format {
        name: "curl",
        family: "curl",
        runtime: Runtime::Client,
        regex: r"Failed to connect to (?P<addr>\S+) port (?P<port>[0-9]+)(?: after [0-9]+ ms)?: (?P<err>Connection refused|Couldn't connect to server|Could not connect to server|Connection timed out|No route to host)",
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "curl: (7) Failed to connect to localhost port 3000 after 0 ms: Couldn't connect to server",
            "curl: (7) Failed to connect to localhost port 3000: Connection refused",
            "curl: (7) Failed to connect to ::1 port 3998 after 0 ms: Couldn't connect to server",
        ],
    },
    Format {
        name: "ruby_bind",
        family: "ruby",
        runtime: Runtime::Ruby,
        regex: r#"(?P<err>Address already in use|Permission denied|Cannot assign requested address) - bind\(2\) for "(?P<addr>[^"]*)" port (?P<port>[0-9]+)"#,
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            r#"Address already in use - bind(2) for "127.0.0.1" port 3000 (Errno::EADDRINUSE)"#,
        ],
    },
    Format {
        name: "ruby_bind_sockaddr",
        family: "ruby",
        runtime: Runtime::Ruby,
        regex: concat!(
            r"(?P<err>Address already in use|Permission denied|Cannot assign requested address) - bind\(2\) for ",
            hp!()
        ),
        failure: None,
        operation: Some(Operation::Bind),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "socket.rb:201:in `bind': Address already in use - bind(2) for 0.0.0.0:4567 (Errno::EADDRINUSE)",
        ],
    },
    Format {
        name: "ruby_connect",
        family: "ruby",
        runtime: Runtime::Client,
        regex: r#"(?P<err>Connection refused|Connection timed out|No route to host) - connect\(2\) for "?(?P<addr>[^" ]*)"? port (?P<port>[0-9]+)"#,
        failure: None,
        operation: Some(Operation::Connect),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            r#"Errno::ECONNREFUSED: Connection refused - connect(2) for "localhost" port 6379"#,
        ],
    },
    Format {
        name: "php_server",
        family: "php",
        runtime: Runtime::Php,
        regex: concat!(
            r"Failed to listen on ",
            hp!(),
            r" \(reason: (?P<err>[^)]+)\)"
        ),
        failure: None,
        operation: Some(Operation::Listen),
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "[Mon Jan  1 12:00:00 2024] Failed to listen on localhost:8000 (reason: Address already in use)",
        ],
    },
    Format {
        name: "errno_name",
        family: "generic",
        runtime: Runtime::Unknown,
        regex: r"\b(?P<err>EADDRINUSE|EADDRNOTAVAIL|ECONNREFUSED|EHOSTUNREACH)\b",
        failure: None,
        operation: None,
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &["Error: EADDRINUSE", "uncaught exception: ECONNREFUSED"],
    },
    Format {
        name: "strerror",
        family: "generic",
        runtime: Runtime::Unknown,
        regex: r"(?i)\b(?P<err>address already in use|cannot assign requested address|connection refused)\b",
        failure: None,
        operation: None,
        protocol: Protocol::Tcp,
        default_port: None,
        examples: &[
            "bind: Address already in use",
            "connect: Connection refused",
            "Address already in use",
        ],
    },
];

/// Lines near the recognised one that say what it left out.
pub static HINTS: &[Hint] = &[
    Hint {
        name: "postgres_port",
        families: &["postgres"],
        regex: r"(?:another postmaster already running on port|TCP/IP connections on port) (?P<port>[0-9]+)\?",
        runtime: None,
        examples: &[
            "HINT:  Is another postmaster already running on port 5432? If not, wait a few seconds and retry.",
            "\tTCP/IP connections on port 5432?",
        ],
    },
    Hint {
        name: "postgres_host",
        families: &["postgres"],
        regex: r#"Is the server running on host "[^"]+" \((?P<addr>[^)]+)\)"#,
        runtime: None,
        examples: &["\tIs the server running on host \"localhost\" (::1) and accepting"],
    },
    Hint {
        name: "mysql_port",
        families: &["mysql"],
        regex: r"another (?:mysqld )?server running on port: (?P<port>[0-9]+)",
        runtime: None,
        examples: &[
            "2024-01-01T12:00:00.000000Z 0 [ERROR] [MY-010257] [Server] Do you already have another mysqld server running on port: 3306 ?",
            "2026-12-03 12:47:24 0 [ERROR] Do you already have another server running on port: 3399 ?",
        ],
    },
    Hint {
        // MariaDB logs the socket it made just before bind() fails.
        name: "mysql_socket_created",
        families: &["mysql"],
        regex: r"Server socket created on IP: '(?P<addr>[^']+)', port: '(?P<port>[0-9]+)'",
        runtime: None,
        examples: &[
            "2026-12-03 12:47:24 0 [Note] Server socket created on IP: '0.0.0.0', port: '3399'.",
        ],
    },
    Hint {
        name: "spring_port",
        families: &["java"],
        regex: r"\bPort (?P<port>[0-9]+) was already in use\b|listening on port (?P<port2>[0-9]+) or configure",
        runtime: None,
        examples: &[
            "Web server failed to start. Port 8080 was already in use.",
            "Identify and stop the process that's listening on port 8080 or configure this application to listen on another port.",
        ],
    },
    Hint {
        name: "tomcat_connector",
        families: &["java"],
        regex: r#"Connector\[[\w/.]+-(?P<port>[0-9]+)\]|ProtocolHandler \["[a-z-]+-(?P<port2>[0-9]+)"\]"#,
        runtime: None,
        examples: &[
            "org.apache.catalina.LifecycleException: Protocol handler start failed; Failed to start connector [Connector[HTTP/1.1-8080]]",
            "SEVERE: Failed to initialize end point associated with ProtocolHandler [\"http-nio-8080\"]",
        ],
    },
    Hint {
        name: "werkzeug_port",
        families: &["python", "generic"],
        regex: r"\bPort (?P<port>[0-9]+) is in use by another program\b",
        runtime: Some(Runtime::Werkzeug),
        examples: &[
            "Port 5000 is in use by another program. Either identify and stop that program, or start the server with a different port.",
        ],
    },
    Hint {
        name: "python_http_server",
        families: &["python"],
        regex: r"http/server\.py",
        runtime: Some(Runtime::PythonHttpServer),
        examples: &["  File \"/usr/lib/python3.11/http/server.py\", line 136, in server_bind"],
    },
];

/// `port 8000`, `port: 8000`, `port=8000` on the recognised line itself,
/// for messages whose format has no port group (`strerror`).
const PORT_ON_LINE: &str = r"(?i)\bport(?:[ :=#]+| number )(?P<port>[0-9]+)\b";

/// An address as a message writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostText {
    /// `""` or `*` (Go's `:8080`, Redis's `*:6379`): the runtime's wildcard.
    Wildcard,
    Ip(IpAddr),
    Name(String),
}

impl fmt::Display for HostText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostText::Wildcard => f.write_str("*"),
            HostText::Ip(ip) => write!(f, "{ip}"),
            HostText::Name(name) => f.write_str(name),
        }
    }
}

/// What one line says.
#[derive(Debug, Clone)]
pub struct Extract {
    pub format: &'static Format,
    pub failure: Failure,
    pub operation: Operation,
    pub protocol: Protocol,
    /// The family Go's `tcp4`/`tcp6` asked for.
    pub family: Option<Family>,
    pub host: Option<HostText>,
    /// The address and port as written (`:::3000`), for the explanation.
    pub written: Option<String>,
    /// The port as written: it may be out of range, which is the caller's
    /// to report.
    pub port: Option<String>,
    /// The Unix socket the client tried (psql), not a TCP address.
    pub unix_socket: Option<String>,
}

/// What a hint line gives.
#[derive(Debug, Clone, Default)]
pub struct HintFound {
    pub name: &'static str,
    pub host: Option<HostText>,
    pub port: Option<String>,
    pub runtime: Option<Runtime>,
}

/// The compiled table.
pub struct Matcher {
    set: RegexSet,
    formats: Vec<(&'static Format, Regex)>,
    hints: Vec<(&'static Hint, Regex)>,
    port_on_line: Option<Regex>,
}

static MATCHER: LazyLock<Matcher> = LazyLock::new(Matcher::compile);

/// The one compiled matcher.
pub fn matcher() -> &'static Matcher {
    &MATCHER
}

impl Matcher {
    /// Compiles every expression. One that does not compile is left out
    /// (a unit test makes sure none is), never a panic.
    fn compile() -> Matcher {
        let formats: Vec<(&'static Format, Regex)> = FORMATS
            .iter()
            .filter_map(|f| Regex::new(f.regex).ok().map(|r| (f, r)))
            .collect();
        let set = RegexSet::new(formats.iter().map(|(f, _)| f.regex))
            .unwrap_or_else(|_| RegexSet::empty());
        let hints = HINTS
            .iter()
            .filter_map(|h| Regex::new(h.regex).ok().map(|r| (h, r)))
            .collect();
        Matcher {
            set,
            formats,
            hints,
            port_on_line: Regex::new(PORT_ON_LINE).ok(),
        }
    }

    /// The first format (in table order) that recognises `line`.
    pub fn recognise(&self, line: &str) -> Option<Extract> {
        if !self.set.is_match(line) {
            return None;
        }
        self.set
            .matches(line)
            .iter()
            .filter_map(|index| self.formats.get(index))
            .find_map(|(format, regex)| {
                regex.captures(line).and_then(|caps| extract(format, &caps))
            })
    }

    /// What `line` gives for a message of `family`: a hint's port,
    /// address or runtime, or the port and address of another message of
    /// the same failure (Spring's line after the bare BindException).
    pub fn hint(&self, line: &str, family: &str, failure: Failure) -> Option<HintFound> {
        for (hint, regex) in &self.hints {
            if !hint.families.contains(&family) {
                continue;
            }
            if let Some(caps) = regex.captures(line) {
                let port = ["port", "port2"]
                    .iter()
                    .find_map(|g| caps.name(g))
                    .map(|m| m.as_str().to_owned());
                return Some(HintFound {
                    name: hint.name,
                    host: caps.name("addr").and_then(|m| parse_host(m.as_str())),
                    port,
                    runtime: hint.runtime,
                });
            }
        }
        let other = self.recognise(line)?;
        (other.failure == failure && (other.port.is_some() || other.host.is_some())).then_some(
            HintFound {
                name: other.format.name,
                host: other.host,
                port: other.port,
                runtime: None,
            },
        )
    }

    /// A `port N` phrase on the recognised line itself.
    pub fn port_on_line(&self, line: &str) -> Option<String> {
        self.port_on_line
            .as_ref()?
            .captures(line)
            .and_then(|caps| caps.name("port"))
            .map(|m| m.as_str().to_owned())
    }
}

fn extract(format: &'static Format, caps: &Captures<'_>) -> Option<Extract> {
    let group = |name: &str| caps.name(name).map(|m| m.as_str());
    let failure = match group("err") {
        Some(text) => Failure::from_text(text)?,
        None => format.failure?,
    };
    let operation = group("op")
        .and_then(Operation::from_text)
        .or(format.operation)
        .unwrap_or(if failure.is_bind() {
            Operation::Bind
        } else {
            Operation::Connect
        });
    let (protocol, family) = match group("proto") {
        Some(proto) => (
            if proto.starts_with("udp") {
                Protocol::Udp
            } else {
                Protocol::Tcp
            },
            if proto.ends_with('4') {
                Some(Family::Ipv4)
            } else if proto.ends_with('6') {
                Some(Family::Ipv6)
            } else {
                None
            },
        ),
        None => (format.protocol, None),
    };
    let (host, port, written) = if let Some(hp) = group("hp") {
        let (host, port) = split_host_port(hp);
        (parse_host(&host), port, Some(hp.to_owned()))
    } else if let Some(url) = group("url") {
        let (host, port) = url_host_port(url);
        (parse_host(&host), port, Some(url.to_owned()))
    } else {
        let host = group("addr").and_then(parse_host);
        (host, group("port").map(str::to_owned), None)
    };
    Some(Extract {
        format,
        failure,
        operation,
        protocol,
        family,
        host,
        written,
        port,
        unix_socket: group("socket").map(str::to_owned),
    })
}

/// Splits `HOST:PORT` as a runtime printed it, bracketed (`[::1]:80`) or
/// not (Node's `::1:80`, whose last colon ends the address): the shared
/// reader, taking the port reading a runtime means. Text it cannot split
/// is kept whole as the host, for [`parse_host`] to judge.
pub fn split_host_port(text: &str) -> (String, Option<String>) {
    let digits = |port: &String| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    match crate::hostport::split(text, crate::hostport::Writer::Runtime) {
        Ok(crate::hostport::Split {
            host: Some(host),
            port,
            ..
        }) => (host, port.filter(digits)),
        _ => (text.to_owned(), None),
    }
}

/// The host and port of `scheme://host[:port]/...`, the port from the
/// scheme when absent.
fn url_host_port(url: &str) -> (String, Option<String>) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let (host, port) = split_host_port(authority);
    let port = port.or_else(|| {
        match scheme {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            _ => None,
        }
        .map(|p: u16| p.to_string())
    });
    (host, port)
}

/// An address as written: a wildcard (`""`, `*`, `+`), an IP address
/// (brackets and a `%zone` dropped), or a host name.
pub fn parse_host(text: &str) -> Option<HostText> {
    let text = text.trim();
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    match text {
        "" | "*" | "+" => return Some(HostText::Wildcard),
        // Redis writes the IPv6 wildcard as `::*`.
        "::*" => return Some(HostText::Ip(IpAddr::V6(Ipv6Addr::UNSPECIFIED))),
        _ => {}
    }
    let bare = text.split('%').next().unwrap_or(text);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(HostText::Ip(ip));
    }
    let is_name = text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && text.bytes().any(|b| b.is_ascii_alphabetic());
    is_name.then(|| HostText::Name(text.to_owned()))
}

/// The formats by family, one example each, for `portcheck why --help`.
pub fn formats_help() -> String {
    let mut families: Vec<&str> = Vec::new();
    for format in FORMATS {
        if !families.contains(&format.family) {
            families.push(format.family);
        }
    }
    let mut out = String::from("Recognised formats (FAMILY: format names; an example):\n");
    for family in families {
        let members: Vec<&Format> = FORMATS.iter().filter(|f| f.family == family).collect();
        let names: Vec<&str> = members.iter().map(|f| f.name).collect();
        let shortest = members
            .iter()
            .flat_map(|f| f.examples.iter())
            .min_by_key(|e| e.len())
            .copied()
            .unwrap_or("");
        let example: String = if shortest.chars().count() > 72 {
            shortest.chars().take(71).chain(['…']).collect()
        } else {
            shortest.to_owned()
        };
        let _ = writeln!(out, "  {family}: {}", names.join(", "));
        let _ = writeln!(out, "      {example}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // reads as the expected Option
    fn ip(text: &str) -> Option<HostText> {
        Some(HostText::Ip(text.parse().expect("test address")))
    }

    #[allow(clippy::unnecessary_wraps)]
    fn name(text: &str) -> Option<HostText> {
        Some(HostText::Name(text.to_owned()))
    }

    /// Recognises `line`, checking it is `format`, with this failure,
    /// address and port.
    #[allow(clippy::needless_pass_by_value)]
    fn check(
        line: &str,
        format: &str,
        failure: Failure,
        host: Option<HostText>,
        port: Option<&str>,
    ) -> Extract {
        let found = matcher()
            .recognise(line)
            .unwrap_or_else(|| panic!("not recognised: {line}"));
        assert_eq!(found.format.name, format, "{line}");
        assert_eq!(found.failure, failure, "{line}");
        assert_eq!(found.host, host, "{line}");
        assert_eq!(found.port.as_deref(), port, "{line}");
        found
    }

    #[test]
    fn every_expression_compiles_and_names_are_unique() {
        let m = matcher();
        assert_eq!(m.formats.len(), FORMATS.len(), "a format did not compile");
        assert_eq!(m.hints.len(), HINTS.len(), "a hint did not compile");
        assert!(m.port_on_line.is_some());
        let mut names: Vec<&str> = FORMATS.iter().map(|f| f.name).collect();
        names.extend(HINTS.iter().map(|h| h.name));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "duplicate names");
    }

    #[test]
    fn every_example_is_recognised_as_its_own_format() {
        for format in FORMATS {
            assert!(
                !format.examples.is_empty(),
                "{} has no example",
                format.name
            );
            for example in format.examples {
                let found = matcher()
                    .recognise(example)
                    .unwrap_or_else(|| panic!("{}: not recognised: {example}", format.name));
                assert_eq!(found.format.name, format.name, "{example}");
            }
        }
    }

    #[test]
    fn every_hint_example_gives_what_it_promises() {
        for hint in HINTS {
            for example in hint.examples {
                let family = hint.families.first().copied().unwrap_or("generic");
                let found = matcher()
                    .hint(example, family, Failure::AddrInUse)
                    .unwrap_or_else(|| panic!("{}: no hint in {example}", hint.name));
                assert_eq!(found.name, hint.name, "{example}");
                assert!(
                    found.port.is_some() || found.host.is_some() || found.runtime.is_some(),
                    "{example}"
                );
            }
        }
    }

    #[test]
    fn node() {
        let found = check(
            "Error: listen EADDRINUSE: address already in use :::3000",
            "node_listen",
            Failure::AddrInUse,
            ip("::"),
            Some("3000"),
        );
        assert_eq!(found.operation, Operation::Listen);
        assert_eq!(found.written.as_deref(), Some(":::3000"));
        check(
            "Error: listen EADDRINUSE: address already in use 127.0.0.1:3000",
            "node_listen",
            Failure::AddrInUse,
            ip("127.0.0.1"),
            Some("3000"),
        );
        check(
            "Error: listen EACCES: permission denied 0.0.0.0:80",
            "node_listen",
            Failure::Access,
            ip("0.0.0.0"),
            Some("80"),
        );
        check(
            "Error: listen EADDRNOTAVAIL: address not available 10.9.9.9:3000",
            "node_listen",
            Failure::AddrNotAvail,
            ip("10.9.9.9"),
            Some("3000"),
        );
        let found = check(
            "Error: connect ECONNREFUSED ::1:4000",
            "node_connect",
            Failure::ConnRefused,
            ip("::1"),
            Some("4000"),
        );
        assert_eq!(found.operation, Operation::Connect);
        let found = check(
            "Error: bind EADDRINUSE 0.0.0.0:41234",
            "node_dgram",
            Failure::AddrInUse,
            ip("0.0.0.0"),
            Some("41234"),
        );
        assert_eq!(found.protocol, Protocol::Udp);
        check(
            "Error: connect ETIMEDOUT 10.0.0.1:443",
            "node_connect",
            Failure::TimedOut,
            ip("10.0.0.1"),
            Some("443"),
        );
        check(
            "Something is already running on port 3000.",
            "create_react_app",
            Failure::AddrInUse,
            None,
            Some("3000"),
        );
    }

    #[test]
    fn node_lines_around_the_message_are_not_messages() {
        for line in [
            "node:events:502",
            "      throw er; // Unhandled 'error' event",
            "    at Server.setupListenHandle [as _listen2] (node:net:1908:16)",
            "  code: 'EADDRINUSE',",
            "Node.js v20.20.2",
        ] {
            let found = matcher().recognise(line);
            // The error object's `code: 'EADDRINUSE'` is the generic
            // format, which only a log without the message line reaches.
            if line.contains("code:") {
                assert_eq!(found.map(|f| f.format.name), Some("errno_name"));
            } else {
                assert!(found.is_none(), "{line}");
            }
        }
    }

    #[test]
    fn vite() {
        check(
            "Error: Port 5173 is already in use",
            "vite_port",
            Failure::AddrInUse,
            None,
            Some("5173"),
        );
    }

    #[test]
    fn go() {
        let found = check(
            "listen tcp :8080: bind: address already in use",
            "go_listen",
            Failure::AddrInUse,
            Some(HostText::Wildcard),
            Some("8080"),
        );
        assert_eq!(found.family, None);
        check(
            "listen tcp [::1]:8080: bind: address already in use",
            "go_listen",
            Failure::AddrInUse,
            ip("::1"),
            Some("8080"),
        );
        let found = check(
            "listen tcp4 0.0.0.0:8080: bind: address already in use",
            "go_listen",
            Failure::AddrInUse,
            ip("0.0.0.0"),
            Some("8080"),
        );
        assert_eq!(found.family, Some(Family::Ipv4));
        let found = check(
            "listen udp :53: bind: address already in use",
            "go_listen",
            Failure::AddrInUse,
            Some(HostText::Wildcard),
            Some("53"),
        );
        assert_eq!(found.protocol, Protocol::Udp);
        check(
            "listen tcp :80: bind: permission denied",
            "go_listen",
            Failure::Access,
            Some(HostText::Wildcard),
            Some("80"),
        );
        check(
            "listen tcp 10.9.9.9:8080: bind: cannot assign requested address",
            "go_listen",
            Failure::AddrNotAvail,
            ip("10.9.9.9"),
            Some("8080"),
        );
        check(
            "dial tcp 127.0.0.1:5432: connect: connection refused",
            "go_dial",
            Failure::ConnRefused,
            ip("127.0.0.1"),
            Some("5432"),
        );
        check(
            "dial tcp 10.0.0.1:443: i/o timeout",
            "go_dial",
            Failure::TimedOut,
            ip("10.0.0.1"),
            Some("443"),
        );
        check(
            "dial tcp 10.0.0.1:80: connect: no route to host",
            "go_dial",
            Failure::HostUnreach,
            ip("10.0.0.1"),
            Some("80"),
        );
    }

    #[test]
    fn python() {
        check(
            "OSError: [Errno 98] Address already in use",
            "python_errno",
            Failure::AddrInUse,
            None,
            None,
        );
        check(
            "OSError: [Errno 98] error while attempting to bind on address ('0.0.0.0', 8000): address already in use",
            "python_asyncio",
            Failure::AddrInUse,
            ip("0.0.0.0"),
            Some("8000"),
        );
        check(
            "OSError: [Errno 99] error while attempting to bind on address ('::1', 8000, 0, 0): cannot assign requested address",
            "python_asyncio",
            Failure::AddrNotAvail,
            ip("::1"),
            Some("8000"),
        );
        check(
            "OSError: [Errno 99] Cannot assign requested address",
            "python_errno",
            Failure::AddrNotAvail,
            None,
            None,
        );
        let found = check(
            "ConnectionRefusedError: [Errno 111] Connection refused",
            "python_errno",
            Failure::ConnRefused,
            None,
            None,
        );
        assert_eq!(found.operation, Operation::Connect);
        check(
            "PermissionError: [Errno 13] Permission denied",
            "python_eacces",
            Failure::Access,
            None,
            None,
        );
        assert!(
            matcher()
                .recognise("PermissionError: [Errno 13] Permission denied: '/etc/shadow'")
                .is_none(),
            "a file's EACCES is not a bind's"
        );
        check(
            "[2024-01-01 12:00:00 +0000] [1234] [ERROR] Connection in use: ('0.0.0.0', 8000)",
            "python_gunicorn",
            Failure::AddrInUse,
            ip("0.0.0.0"),
            Some("8000"),
        );
        check(
            "Port 5000 is in use by another program. Either identify and stop that program, or start the server with a different port.",
            "python_werkzeug",
            Failure::AddrInUse,
            None,
            Some("5000"),
        );
        check(
            FORMATS
                .iter()
                .find(|f| f.name == "python_requests")
                .and_then(|f| f.examples.first())
                .copied()
                .unwrap_or_default(),
            "python_requests",
            Failure::ConnRefused,
            name("localhost"),
            Some("8000"),
        );
    }

    #[test]
    fn java() {
        check(
            "Exception in thread \"main\" java.net.BindException: Address already in use",
            "java_bind",
            Failure::AddrInUse,
            None,
            None,
        );
        check(
            "Caused by: java.net.BindException: Address already in use: bind",
            "java_bind",
            Failure::AddrInUse,
            None,
            None,
        );
        check(
            "Web server failed to start. Port 8080 was already in use.",
            "spring_boot",
            Failure::AddrInUse,
            None,
            Some("8080"),
        );
        check(
            "java.net.ConnectException: Connection refused (Connection refused)",
            "java_connect",
            Failure::ConnRefused,
            None,
            None,
        );
        check(
            "io.netty.channel.unix.Errors$NativeIoException: bind(..) failed: Address already in use",
            "java_netty",
            Failure::AddrInUse,
            None,
            None,
        );
    }

    #[test]
    fn rust() {
        check(
            "Error: Address already in use (os error 98)",
            "rust_io",
            Failure::AddrInUse,
            None,
            None,
        );
        check(
            "called `Result::unwrap()` on an `Err` value: Os { code: 98, kind: AddrInUse, message: \"Address already in use\" }",
            "rust_debug",
            Failure::AddrInUse,
            None,
            None,
        );
        check(
            "Error: Os { code: 111, kind: ConnectionRefused, message: \"Connection refused\" }",
            "rust_debug",
            Failure::ConnRefused,
            None,
            None,
        );
        check(
            "thread 'main' panicked at 'error binding to 127.0.0.1:3000: error creating server listener: Address already in use (os error 98)'",
            "rust_hyper",
            Failure::AddrInUse,
            ip("127.0.0.1"),
            Some("3000"),
        );
        assert!(
            matcher()
                .recognise("Error: Permission denied (os error 13)")
                .is_none(),
            "a file's EACCES is not a bind's"
        );
    }

    #[test]
    fn nginx_and_apache() {
        check(
            "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
            "nginx_bind",
            Failure::AddrInUse,
            ip("0.0.0.0"),
            Some("80"),
        );
        check(
            "nginx: [emerg] bind() to [::]:80 failed (98: Address already in use)",
            "nginx_bind",
            Failure::AddrInUse,
            ip("::"),
            Some("80"),
        );
        check(
            "2024/01/01 12:00:00 [emerg] 1234#1234: bind() to 0.0.0.0:80 failed (13: Permission denied)",
            "nginx_bind",
            Failure::Access,
            ip("0.0.0.0"),
            Some("80"),
        );
        check(
            r#"2024/01/01 12:00:00 [error] 1234#1234: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://[::1]:3000/", host: "localhost""#,
            "nginx_upstream",
            Failure::ConnRefused,
            ip("::1"),
            Some("3000"),
        );
        check(
            "(98)Address already in use: AH00072: make_sock: could not bind to address [::]:80",
            "apache_bind",
            Failure::AddrInUse,
            ip("::"),
            Some("80"),
        );
        check(
            "[proxy:error] [pid 1234:tid 5678] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:8080 (localhost:8080) failed",
            "apache_proxy",
            Failure::ConnRefused,
            ip("127.0.0.1"),
            Some("8080"),
        );
    }

    #[test]
    fn postgres_redis_mysql() {
        check(
            r#"LOG:  could not bind IPv4 address "127.0.0.1": Address already in use"#,
            "postgres_bind",
            Failure::AddrInUse,
            ip("127.0.0.1"),
            None,
        );
        check(
            r#"psql: error: connection to server at "localhost" (::1), port 5432 failed: Connection refused"#,
            "postgres_client",
            Failure::ConnRefused,
            ip("::1"),
            Some("5432"),
        );
        check(
            "psql: could not connect to server: Connection refused",
            "postgres_client_old",
            Failure::ConnRefused,
            None,
            None,
        );
        check(
            "1234:M 01 Jan 2024 12:00:00.000 # Could not create server TCP listening socket *:6379: bind: Address already in use",
            "redis_listen",
            Failure::AddrInUse,
            Some(HostText::Wildcard),
            Some("6379"),
        );
        check(
            "Could not create server TCP listening socket ::*:6379: bind: Address already in use",
            "redis_listen",
            Failure::AddrInUse,
            ip("::"),
            Some("6379"),
        );
        check(
            "Could not connect to Redis at 127.0.0.1:6379: Connection refused",
            "redis_client",
            Failure::ConnRefused,
            ip("127.0.0.1"),
            Some("6379"),
        );
        check(
            "2024-01-01T12:00:00.000000Z 0 [ERROR] [MY-010262] [Server] Can't start server: Bind on TCP/IP port: Address already in use",
            "mysql_server",
            Failure::AddrInUse,
            None,
            None,
        );
        check(
            "ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.0.1:3306' (111)",
            "mysql_client",
            Failure::ConnRefused,
            ip("127.0.0.1"),
            Some("3306"),
        );
        check(
            "ERROR 2003 (HY000): Can't connect to MySQL server on 'db.internal' (113)",
            "mysql_client",
            Failure::HostUnreach,
            name("db.internal"),
            None,
        );
    }

    #[test]
    fn docker_dotnet_sshd_curl_ruby_php() {
        check(
            "docker: Error response from daemon: driver failed programming external connectivity on endpoint web (3f4e5d6c7b8a): Bind for 0.0.0.0:8080 failed: port is already allocated.",
            "docker_allocated",
            Failure::AddrInUse,
            ip("0.0.0.0"),
            Some("8080"),
        );
        let found = check(
            "Error starting userland proxy: listen tcp4 0.0.0.0:8080: bind: address already in use",
            "docker_proxy",
            Failure::AddrInUse,
            ip("0.0.0.0"),
            Some("8080"),
        );
        assert_eq!(found.family, Some(Family::Ipv4));
        check(
            "System.IO.IOException: Failed to bind to address http://127.0.0.1:5000: address already in use.",
            "dotnet_kestrel",
            Failure::AddrInUse,
            ip("127.0.0.1"),
            Some("5000"),
        );
        check(
            "Unhandled exception. System.IO.IOException: Failed to bind to address http://[::]:5000: address already in use.",
            "dotnet_kestrel",
            Failure::AddrInUse,
            ip("::"),
            Some("5000"),
        );
        check(
            "System.Net.Http.HttpRequestException: Connection refused (localhost:5000)",
            "dotnet_http",
            Failure::ConnRefused,
            name("localhost"),
            Some("5000"),
        );
        check(
            "error: Bind to port 22 on 0.0.0.0 failed: Address already in use.",
            "sshd_bind",
            Failure::AddrInUse,
            ip("0.0.0.0"),
            Some("22"),
        );
        check(
            "ssh: connect to host localhost port 22: Connection refused",
            "ssh_client",
            Failure::ConnRefused,
            name("localhost"),
            Some("22"),
        );
        check(
            "curl: (7) Failed to connect to localhost port 3000 after 0 ms: Couldn't connect to server",
            "curl",
            Failure::ConnectFailed,
            name("localhost"),
            Some("3000"),
        );
        check(
            "curl: (7) Failed to connect to ::1 port 3998 after 0 ms: Couldn't connect to server",
            "curl",
            Failure::ConnectFailed,
            ip("::1"),
            Some("3998"),
        );
        check(
            r#"Address already in use - bind(2) for "127.0.0.1" port 3000 (Errno::EADDRINUSE)"#,
            "ruby_bind",
            Failure::AddrInUse,
            ip("127.0.0.1"),
            Some("3000"),
        );
        check(
            "socket.rb:201:in `bind': Address already in use - bind(2) for 0.0.0.0:4567 (Errno::EADDRINUSE)",
            "ruby_bind_sockaddr",
            Failure::AddrInUse,
            ip("0.0.0.0"),
            Some("4567"),
        );
        check(
            r#"Errno::ECONNREFUSED: Connection refused - connect(2) for "localhost" port 6379"#,
            "ruby_connect",
            Failure::ConnRefused,
            name("localhost"),
            Some("6379"),
        );
        check(
            "[Mon Jan  1 12:00:00 2024] Failed to listen on localhost:8000 (reason: Address already in use)",
            "php_server",
            Failure::AddrInUse,
            name("localhost"),
            Some("8000"),
        );
    }

    #[test]
    fn generic() {
        check(
            "bind: Address already in use",
            "strerror",
            Failure::AddrInUse,
            None,
            None,
        );
        check(
            "Error: EADDRINUSE",
            "errno_name",
            Failure::AddrInUse,
            None,
            None,
        );
        assert_eq!(
            matcher()
                .port_on_line("could not listen on port 8080: Address already in use")
                .as_deref(),
            Some("8080")
        );
        for line in [
            "",
            "INFO server started",
            "GET /index.html 200 3ms",
            "\u{0}\u{1}\u{fffd}\u{fffd}",
            "Permission denied",
        ] {
            assert!(matcher().recognise(line).is_none(), "{line:?}");
        }
    }

    #[test]
    fn ports_are_kept_as_written_for_the_caller_to_check() {
        check(
            "Error: listen EADDRINUSE: address already in use :::70000",
            "node_listen",
            Failure::AddrInUse,
            ip("::"),
            Some("70000"),
        );
    }

    #[test]
    fn host_forms() {
        let split = split_host_port;
        let both = |host: &str, port: &str| (host.to_owned(), Some(port.to_owned()));
        assert_eq!(split(":::3000"), both("::", "3000"));
        assert_eq!(split("::1:3000"), both("::1", "3000"));
        assert_eq!(split("[::1]:80"), both("::1", "80"));
        assert_eq!(split("[::1]%lo:80"), both("::1%lo", "80"));
        assert_eq!(split(":8080"), both("", "8080"));
        assert_eq!(split("db.internal"), ("db.internal".to_owned(), None));
        assert_eq!(parse_host("*"), Some(HostText::Wildcard));
        assert_eq!(parse_host("fe80::1%eth0"), ip("fe80::1"));
        assert_eq!(parse_host("[::1]"), ip("::1"));
        assert_eq!(parse_host("localhost"), name("localhost"));
        assert_eq!(parse_host("not a host!"), None);
        assert_eq!(
            url_host_port("http://localhost/"),
            ("localhost".to_owned(), Some("80".to_owned()))
        );
        assert_eq!(
            url_host_port("https://[::1]:8443/x"),
            ("::1".to_owned(), Some("8443".to_owned()))
        );
    }

    #[test]
    fn failures_read_names_numbers_and_words() {
        assert_eq!(Failure::from_text("EADDRINUSE"), Some(Failure::AddrInUse));
        assert_eq!(Failure::from_text("98"), Some(Failure::AddrInUse));
        assert_eq!(
            Failure::from_text("Couldn't connect to server"),
            Some(Failure::ConnectFailed)
        );
        assert_eq!(Failure::from_text("i/o timeout"), Some(Failure::TimedOut));
        assert_eq!(Failure::from_text("no such host"), None);
    }

    #[test]
    fn help_lists_every_family() {
        let help = formats_help();
        for format in FORMATS {
            assert!(help.contains(format.name), "{}", format.name);
        }
    }
}
