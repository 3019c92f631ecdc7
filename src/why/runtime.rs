//! What a runtime does when it binds, for the candidate `try` checks on its
//! behalf: the address it means when the message names none (or writes a
//! wildcard as `""`/`*`), and the socket options it sets on a listener.
//!
//! Where a runtime sets an option explicitly, the source that does it is
//! cited; everywhere else the OS default stands (`None`: SO_REUSEADDR as
//! `try` assumes for TCP, IPV6_V6ONLY from `net.ipv6.bindv6only`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The runtimes (and servers) whose messages `why` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Node.js `net` (libuv TCP).
    Node,
    /// Node.js `dgram` (libuv UDP).
    NodeDgram,
    /// Vite and other Node dev servers that listen on `localhost`.
    Vite,
    Go,
    /// A bare `socket.socket()` bind.
    PythonSocket,
    /// `http.server.HTTPServer` (a `socketserver.TCPServer`) and servers built on it.
    PythonHttpServer,
    /// `asyncio`'s `create_server` (uvicorn and friends).
    PythonAsyncio,
    Gunicorn,
    /// Werkzeug's development server (`flask run`), an `http.server` subclass.
    Werkzeug,
    Java,
    /// Rust's `std::net`.
    Rust,
    Nginx,
    Apache,
    Postgres,
    Redis,
    Mysql,
    /// docker-proxy, a Go program binding what `docker run -p` publishes.
    Docker,
    Kestrel,
    Sshd,
    Ruby,
    Php,
    Socat,
    /// A client (curl, ssh, psql, ...): only the address it tried matters.
    Client,
    /// A message that does not say which program wrote it.
    Unknown,
}

/// The address a runtime binds when the message gives none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultHost {
    /// The program is unknown: `why` checks the widest bind instead.
    Unknown,
    Address(IpAddr),
    /// A name the runtime resolves (Vite's `localhost`).
    Name(&'static str),
}

/// The defaults of one runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    /// As people call it: "Node.js", "Go".
    pub name: &'static str,
    pub default_host: DefaultHost,
    /// Why that default, in words (shown as an assumption).
    pub default_note: &'static str,
    /// IPV6_V6ONLY on an IPv6 listener; `None`: the OS default.
    pub v6only: Option<bool>,
    /// SO_REUSEADDR on the listener; `None`: what `try` assumes.
    pub reuseaddr: Option<bool>,
    /// A name is resolved and only its first address bound (Node's
    /// `dns.lookup`), rather than every address (PostgreSQL, Kestrel).
    pub binds_first_address_only: bool,
    /// How to turn IPV6_V6ONLY on in this runtime.
    pub v6only_setting: &'static str,
    /// How to turn SO_REUSEADDR on in this runtime.
    pub reuseaddr_setting: &'static str,
    /// The program to grant CAP_NET_BIND_SERVICE to, when it is a known binary.
    pub binary: Option<&'static str>,
}

const V6_ANY: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
const V4_ANY: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
const V4_LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

const GENERIC_V6ONLY: &str = "setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) before bind()";
const GENERIC_REUSEADDR: &str = "setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1) before bind()";
const PYTHON_V6ONLY: &str = "sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)";
const PYTHON_REUSEADDR: &str = "sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)";

const BASE: Defaults = Defaults {
    name: "the program",
    default_host: DefaultHost::Unknown,
    default_note: "",
    v6only: None,
    reuseaddr: None,
    binds_first_address_only: false,
    v6only_setting: GENERIC_V6ONLY,
    reuseaddr_setting: GENERIC_REUSEADDR,
    binary: None,
};

impl Runtime {
    #[allow(clippy::too_many_lines)] // one table
    pub fn defaults(self) -> Defaults {
        match self {
            // libuv, src/unix/tcp.c, uv__tcp_bind(): `on = 1;
            // setsockopt(..., SOL_SOCKET, SO_REUSEADDR, ...)` on every TCP
            // bind, and for AF_INET6 `on = (flags & UV_TCP_IPV6ONLY) != 0;
            // setsockopt(..., IPV6_V6ONLY, ...)`: off unless Node's
            // `ipv6Only: true`, whatever net.ipv6.bindv6only says. Node's
            // lib/net.js (createServerHandle) binds `::` when no host is
            // given and falls back to `0.0.0.0` where IPv6 is missing.
            // libuv also defers EADDRINUSE from bind() to listen(), which is
            // why Node says "listen EADDRINUSE".
            Runtime::Node => Defaults {
                name: "Node.js",
                default_host: DefaultHost::Address(V6_ANY),
                default_note: "Node's listen() without a host binds :: (dual-stack), falling back to 0.0.0.0 without IPv6",
                v6only: Some(false),
                reuseaddr: Some(true),
                binds_first_address_only: true,
                v6only_setting: "server.listen({ port: PORT, host: '::', ipv6Only: true })",
                reuseaddr_setting: "(libuv always sets SO_REUSEADDR on TCP)",
                binary: Some("node"),
            },
            // libuv, src/unix/udp.c, uv__udp_bind(): SO_REUSEADDR only with
            // UV_UDP_REUSEADDR (dgram's `reuseAddr: true`), IPV6_V6ONLY only
            // with UV_UDP_IPV6ONLY; otherwise the OS defaults.
            Runtime::NodeDgram => Defaults {
                name: "Node.js (dgram)",
                default_host: DefaultHost::Address(V4_ANY),
                default_note: "dgram's bind() without an address binds the wildcard of the socket type (udp4: 0.0.0.0)",
                reuseaddr: Some(false),
                binds_first_address_only: true,
                v6only_setting: "dgram.createSocket({ type: 'udp6', ipv6Only: true })",
                reuseaddr_setting: "dgram.createSocket({ type: 'udp4', reuseAddr: true })",
                binary: Some("node"),
                ..BASE
            },
            Runtime::Vite => Defaults {
                name: "the Node dev server",
                default_host: DefaultHost::Name("localhost"),
                default_note: "Vite listens on localhost by default: the first address the resolver gives for it",
                ..Runtime::Node.defaults()
            },
            // Go, src/net/sockopt_linux.go: setDefaultSockopts() sets
            // IPV6_V6ONLY to `boolint(ipv6only)` on every AF_INET6 socket
            // (off for "tcp" with a wildcard, on for "tcp6"), and
            // setDefaultListenerSockopts() sets SO_REUSEADDR on listeners
            // ("Allow reuse of recently-used addresses"). `:8080` with
            // "tcp" is the dual-stack [::].
            Runtime::Go => Defaults {
                name: "Go",
                default_host: DefaultHost::Address(V6_ANY),
                default_note: "Go's net.Listen(\"tcp\", \":PORT\") binds [::] dual-stack",
                v6only: Some(false),
                reuseaddr: Some(true),
                v6only_setting: "net.Listen(\"tcp6\", \"[::]:PORT\")",
                reuseaddr_setting: "(Go sets SO_REUSEADDR on every listener)",
                ..BASE
            },
            // CPython: socket.socket() is AF_INET unless asked, and '' is
            // INADDR_ANY. Nothing sets SO_REUSEADDR on a bare socket.
            Runtime::PythonSocket => Defaults {
                name: "Python",
                default_host: DefaultHost::Address(V4_ANY),
                default_note: "Python's socket.socket() is IPv4, and '' binds 0.0.0.0",
                reuseaddr: Some(false),
                v6only_setting: PYTHON_V6ONLY,
                reuseaddr_setting: PYTHON_REUSEADDR,
                binary: Some("python3"),
                ..BASE
            },
            // CPython, Lib/socketserver.py: TCPServer.server_bind() sets
            // SO_REUSEADDR when `allow_reuse_address`, which TCPServer leaves
            // False and Lib/http/server.py's HTTPServer sets to 1.
            Runtime::PythonHttpServer => Defaults {
                name: "Python (http.server)",
                reuseaddr: Some(true),
                ..Runtime::PythonSocket.defaults()
            },
            // CPython, Lib/asyncio/base_events.py, create_server():
            // `reuse_address = os.name == "posix"` by default, and on
            // AF_INET6 sockets IPV6_V6ONLY is set to True ("Disable
            // IPv4/IPv6 dual stack support").
            Runtime::PythonAsyncio => Defaults {
                name: "Python (asyncio)",
                v6only: Some(true),
                reuseaddr: Some(true),
                ..Runtime::PythonSocket.defaults()
            },
            // gunicorn/sock.py sets SO_REUSEADDR on the sockets it binds.
            Runtime::Gunicorn => Defaults {
                name: "gunicorn",
                default_host: DefaultHost::Address(V4_LOOPBACK),
                default_note: "gunicorn binds 127.0.0.1:8000 unless --bind says otherwise",
                reuseaddr: Some(true),
                ..Runtime::PythonSocket.defaults()
            },
            Runtime::Werkzeug => Defaults {
                name: "Werkzeug (Flask)",
                default_host: DefaultHost::Address(V4_LOOPBACK),
                default_note: "flask run binds 127.0.0.1 unless --host says otherwise",
                ..Runtime::PythonHttpServer.defaults()
            },
            // The JDK's sun.nio.ch.Net opens IPv6 sockets with IPV6_V6ONLY
            // cleared when IPv6 is available, and server sockets with
            // SO_REUSEADDR on Unix: `new ServerSocket(port)` is [::] dual-stack.
            Runtime::Java => Defaults {
                name: "Java",
                default_host: DefaultHost::Address(V6_ANY),
                default_note: "Java's ServerSocket without an address binds [::] dual-stack",
                v6only: Some(false),
                reuseaddr: Some(true),
                v6only_setting: "-Djava.net.preferIPv4Stack=true (IPv4 only), or bind 0.0.0.0 and [::1] separately",
                reuseaddr_setting: "serverSocket.setReuseAddress(true)",
                binary: Some("java"),
                ..BASE
            },
            // Rust's std (sys_common/net.rs, TcpListener::bind) sets
            // SO_REUSEADDR outside Windows.
            Runtime::Rust => Defaults {
                name: "Rust",
                reuseaddr: Some(true),
                v6only_setting: "let socket = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None)?; socket.set_only_v6(true)?; socket.set_reuse_address(true)?; socket.bind(&\"[::]:PORT\".parse::<std::net::SocketAddr>()?.into())?; socket.listen(1024)?;",
                ..BASE
            },
            // nginx: `listen [::]:80` is ipv6only=on by default (since
            // 1.3.4), and listening sockets get SO_REUSEADDR.
            Runtime::Nginx => Defaults {
                name: "nginx",
                default_host: DefaultHost::Address(V4_ANY),
                default_note: "nginx's `listen 80` binds 0.0.0.0",
                v6only: Some(true),
                reuseaddr: Some(true),
                v6only_setting: "listen [::]:PORT ipv6only=on;",
                ..BASE
            },
            Runtime::Apache => Defaults {
                name: "Apache httpd",
                ..BASE
            },
            // PostgreSQL, src/backend/libpq/pqcomm.c (ListenServerPort):
            // SO_REUSEADDR outside Windows, IPV6_V6ONLY on AF_INET6.
            // listen_addresses defaults to localhost, bound address by address.
            Runtime::Postgres => Defaults {
                name: "PostgreSQL",
                default_host: DefaultHost::Name("localhost"),
                default_note: "PostgreSQL's listen_addresses defaults to localhost",
                v6only: Some(true),
                reuseaddr: Some(true),
                ..BASE
            },
            // Redis, src/anet.c (_anetTcpServer): SO_REUSEADDR, and
            // IPV6_V6ONLY on AF_INET6; `*` is the IPv4 wildcard.
            Runtime::Redis => Defaults {
                name: "Redis",
                default_host: DefaultHost::Address(V4_ANY),
                default_note: "Redis writes the IPv4 wildcard as *",
                v6only: Some(true),
                reuseaddr: Some(true),
                ..BASE
            },
            Runtime::Mysql => Defaults {
                name: "MySQL",
                default_host: DefaultHost::Address(V6_ANY),
                default_note: "mysqld's bind_address=* binds [::] when IPv6 is available",
                ..BASE
            },
            Runtime::Docker => Defaults {
                name: "Docker (docker-proxy)",
                default_host: DefaultHost::Address(V4_ANY),
                default_note: "`docker run -p PORT:...` publishes on 0.0.0.0",
                ..Runtime::Go.defaults()
            },
            Runtime::Kestrel => Defaults {
                name: ".NET (Kestrel)",
                default_host: DefaultHost::Name("localhost"),
                default_note: "Kestrel listens on http://localhost:5000 by default, both loopbacks",
                ..BASE
            },
            // OpenSSH, sshd.c (listen_on_addrs): SO_REUSEADDR, and
            // IPV6_V6ONLY on AF_INET6 sockets.
            Runtime::Sshd => Defaults {
                name: "sshd",
                default_host: DefaultHost::Address(V4_ANY),
                default_note: "sshd's ListenAddress defaults to 0.0.0.0 and ::",
                v6only: Some(true),
                reuseaddr: Some(true),
                ..BASE
            },
            Runtime::Ruby => Defaults {
                name: "Ruby",
                binary: Some("ruby"),
                ..BASE
            },
            Runtime::Php => Defaults {
                name: "PHP's built-in server",
                binary: Some("php"),
                ..BASE
            },
            // socat 1.7.4.4, measured here: TCP-LISTEN and UDP-LISTEN bind
            // 0.0.0.0, TCP6-LISTEN binds [::] leaving IPV6_V6ONLY to the
            // system, and none sets SO_REUSEADDR unless given `reuseaddr`
            // (`socat -hhh`: ipv6only and reuseaddr are aliases of
            // ipv6-v6only and so-reuseaddr).
            Runtime::Socat => Defaults {
                name: "socat",
                default_host: DefaultHost::Address(V4_ANY),
                default_note: "socat's TCP-LISTEN:PORT and UDP-LISTEN:PORT bind 0.0.0.0",
                reuseaddr: Some(false),
                v6only_setting: "TCP6-LISTEN:PORT,ipv6only=1",
                reuseaddr_setting: "TCP-LISTEN:PORT,reuseaddr",
                binary: Some("socat"),
                ..BASE
            },
            Runtime::Client => Defaults {
                name: "the client",
                default_host: DefaultHost::Name("localhost"),
                default_note: "the message does not say which host the client tried",
                ..BASE
            },
            Runtime::Unknown => BASE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dual_stack_runtimes_clear_v6only_and_single_stack_ones_set_it() {
        for runtime in [Runtime::Node, Runtime::Go, Runtime::Java, Runtime::Vite] {
            assert_eq!(runtime.defaults().v6only, Some(false), "{runtime:?}");
        }
        for runtime in [
            Runtime::Nginx,
            Runtime::Postgres,
            Runtime::Redis,
            Runtime::Sshd,
            Runtime::PythonAsyncio,
        ] {
            assert_eq!(runtime.defaults().v6only, Some(true), "{runtime:?}");
        }
    }

    #[test]
    fn reuseaddr_follows_the_sources() {
        assert_eq!(Runtime::Node.defaults().reuseaddr, Some(true));
        assert_eq!(Runtime::Go.defaults().reuseaddr, Some(true));
        assert_eq!(Runtime::PythonHttpServer.defaults().reuseaddr, Some(true));
        assert_eq!(Runtime::PythonSocket.defaults().reuseaddr, Some(false));
        assert_eq!(Runtime::NodeDgram.defaults().reuseaddr, Some(false));
    }

    #[test]
    fn node_and_python_differ_on_the_default_address() {
        assert_eq!(
            Runtime::Node.defaults().default_host,
            DefaultHost::Address(V6_ANY)
        );
        assert_eq!(
            Runtime::PythonSocket.defaults().default_host,
            DefaultHost::Address(V4_ANY)
        );
    }
}
