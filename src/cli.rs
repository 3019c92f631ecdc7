//! The command line: clap's types and the help text, nothing more.
//! [`crate::config`] validates a parsed [`Cli`] into the invocation to run;
//! no clap type goes further than that conversion.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::bind::TryResult;
use crate::exit::CommandResult;
use crate::free::FreeResult;
use crate::resolve::ResolveResult;
use crate::stop::StopResult;
use crate::wait::WaitResult;
use crate::who::WhoResult;
use crate::why::WhyResult;

const ABOUT: &str = "Explains port conflicts from the kernel's own data";

const LONG_ABOUT: &str = "\
Explains port conflicts from the kernel's own data.

portcheck reads the socket table straight from the kernel (netlink sock_diag \
on Linux), finds every process that holds each socket, and says what other \
tools leave out: whether [::] also takes IPv4 (dual-stack) or is IPv6 only, \
SO_REUSEADDR/SO_REUSEPORT, the bound device, and what it could not see.

On macOS and Windows the socket table comes from the netstat2 crate, which \
does not report IPV6_V6ONLY, socket options, the bound device or UDP state: \
those are null in JSON and ? in tables, with the warning field_unavailable, \
and `try` makes no prediction there (no_model_for_os), only the trial bind.

Environment: PORTCHECK_SOCKET_SOURCE=netlink|netstat2 picks the socket source \
on Linux, as a diagnostic aid (netstat2 needs a build with `--features \
netstat2`).

Process names and command lines are any bytes a process chose; they never \
reach the terminal raw. In tables, control characters, escape sequences, \
bidirectional overrides and bytes that are not UTF-8 are escaped (\\u{1b}, \
\\n, \\xff) and a long command line is cut. In JSON, `name` and `cmdline` are \
UTF-8 strings (a byte that is not UTF-8 becomes U+FFFD; control characters, \
DEL, C1 controls and bidirectional overrides are \\u escapes, so the \
document is safe to print), and only when the bytes were not UTF-8, \
`name_bytes` and `cmdline_bytes` (one string per argument) give the exact \
bytes in base64; they are null otherwise. Nothing is cut in JSON.

Ctrl-C ends portcheck at once, by the signal (a shell reports 130), with \
nothing printed; the kernel closes its trial sockets, which never connect.";

const AFTER_HELP: &str = "\
Exit codes: 0 something matched (or the command succeeded), 1 nothing matched, 2 error.";

#[derive(Debug, Parser)]
#[command(
    name = "portcheck",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Print exactly one JSON document on stdout (diagnostics go to stderr).
    #[arg(long, global = true)]
    pub json: bool,

    /// Show every table cell whole, command lines too: in a terminal,
    /// tables are fitted to its width (the last column, PROCESS, LISTENER
    /// or RULE, is cut with `…`; others wrap within their cells), and a
    /// command line is cut at 60 characters. Output that is not a terminal
    /// is not fitted.
    #[arg(short = 'w', long, global = true)]
    pub wide: bool,

    /// When to colour the human output; NO_COLOR is honoured under `auto`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Run in this network namespace: an `ip netns` NAME, a PATH such as
    /// /proc/PID/ns/net, or a PID.
    #[arg(long, global = true, value_name = "NAME|PATH|PID", value_hint = clap::ValueHint::Other)]
    pub netns: Option<String>,

    #[command(subcommand)]
    pub command: CommandArgs,
}

/// `try`'s examples and exit codes, under `-h` and (with the rules) `--help`
/// and the man page, as every command has them.
const TRY_EXAMPLES: &str = "\
Examples:
  portcheck try '[::]:443' 0.0.0.0:443
  portcheck try '[::]:443/v6only' 0.0.0.0:443
  portcheck try udp:0.0.0.0:5353/reuseaddr --json
  portcheck try --file plan.txt --no-trial
  portcheck try 8000            (how many more services fit on port 8000)

Exit codes: 0 every candidate binds, 1 some candidate would fail (or depends on what could not be read), 2 error.";

fn try_long_help() -> String {
    format!("{TRY_EXAMPLES}\n\n{}", crate::bind::rules::rules_help())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum CommandArgs {
    /// List the sockets that hold a port, with every owning process.
    #[command(
        name = WhoResult::NAME,
        long_about = "\
List the sockets that hold a port, with every owning process.

TARGET is PORT, LOW-HIGH, ADDRESS:PORT, [IPV6]:PORT, or an ADDRESS alone \
(every port on it). An address finds the sockets a bind to it would meet: \
127.0.0.1:8000 also lists 0.0.0.0:8000 and a dual-stack [::]:8000. With no \
target, every listening or bound socket is listed.

By default the sockets that hold a port for binding are listed (TCP LISTEN \
and bound-but-idle, every UDP socket) and connections are counted per state \
below the table; --all lists them too.

A socket whose owner cannot be seen is still listed, with the reason: \
TIME_WAIT entries belong to the kernel, other users' processes need root, \
and an owner in another PID namespace is out of view; /proc mounted with \
hidepid hides other users' processes (warning proc_hidepid), and a missing \
/proc, or an empty one, every owner (proc_unreadable). Then the JSON \
`complete` is false and a warning says what is missing.

Sockets that share one address and port by SO_REUSEPORT are a group, named \
once by the warning reuseport_group: the address, port, size, owners and \
uids, and how new connections are spread. On Linux each new connection (or \
datagram) goes to one member by a hash of the client's address and port \
(reuseport_select_sock, net/core/sock_reuseport.c): not round robin, not \
the newest; a steering BPF program attached to the group \
(SO_ATTACH_REUSEPORT_CBPF/EBPF) would decide instead, and the socket table \
does not show one. For a TCP group the message gives \
net.ipv4.tcp_migrate_req of this network namespace: at 0, when a member \
closes (the group shrinks, as in a rolling restart) the connections still \
queued on it are reset; 1 (Linux 5.14+) moves them to another member. On \
macOS plain SO_REUSEPORT does not balance: in_pcblookup_hash (XNU \
bsd/netinet/in_pcb.c) returns one socket by its hash chain's order (for a \
specific address the most recently bound, for a wildcard the earliest). On \
FreeBSD the lookup (sys/netinet/in_pcb.c, in_pcblookup_hash_wild_smr) \
returns the first match, the most recently bound; only SO_REUSEPORT_LB \
groups are spread by a hash (in_pcblookup_lbgroup).

A socket held by a known protocol demultiplexer (sslh) names it \
(demultiplexer) and, from its command line, where each protocol goes \
(forwards_by_protocol: --ssh 127.0.0.1:22 --tls 127.0.0.1:443); a \
configuration file (-F) is not read.

Columns: TAKES is which traffic the socket takes: IPv4, IPv6, \
\"IPv6 + IPv4\" for a dual-stack wildcard [::] (IPV6_V6ONLY off), \
\"IPv6 only\" for a v6only one, \"IPv4 A (mapped)\" for an IPv4-mapped \
address; a \"?\" where IPV6_V6ONLY could not be read. REUSE is what the \
socket set of SO_REUSEADDR (addr) and SO_REUSEPORT (port), read from its \
owner; \"-\" neither, \"?\" unreadable (another user's process, without \
root). USER is the socket's own uid, the user that created it (which \
decides whom SO_REUSEPORT lets share the port); each process under \
PROCESS runs as its own user, which may differ (a socket passed to a \
child, or a daemon that dropped privileges after binding); JSON has \
both uids. PROCESS \
lists every process holding the socket, one a line: name, pid, \
descriptors and command line.",
        after_help = "\
Examples:
  portcheck who 8000
  portcheck who 8000-8100 --tcp
  portcheck who 127.0.0.1:5432 [::1]:5432
  portcheck who --all --json 443

Exit codes: 0 at least one socket matched, 1 nothing matched (the port is free), 2 error."
    )]
    Who(WhoArgs),

    /// Predict whether binds succeed and why not, then confirm with a safe trial.
    #[command(
        name = TryResult::NAME,
        long_about = "\
Predict whether binds succeed and why not, then confirm with a safe trial.

Each CANDIDATE is [tcp:|udp:]ADDRESS:PORT[/OPTION[,OPTION]...], OPTION one of \
v6only, dualstack, reuseaddr, noreuseaddr, reuseport, listen, nolisten, \
freebind, device=IFNAME. IPv6 addresses are written in brackets ([::]:443); \
':8080' means [::]:8080, as in Go and Node. A name such as localhost is \
refused: resolve it first (portcheck resolve) and try its addresses.

A PORT alone (8000; tcp:8000 or udp:8000 for one protocol, else both \
unless -t/-u) checks every slot of that port instead, each on its own as a \
different service would bind it: 0.0.0.0, [::] dual-stack, [::] with \
IPV6_V6ONLY, and every address of every interface of the network namespace \
(loopbacks too; a link-local address on its device). The table is grouped \
per protocol and ends with how many more services the port can take: the \
largest set of slots that can all be bound at once, where a service on \
0.0.0.0 takes every IPv4 slot, one on [::] v6only every IPv6 slot and one on \
[::] dual-stack all of them (without SO_REUSEPORT, which lets one user put \
any number of sockets on one slot; and counting 127.0.0.1 as the loopback's \
one slot, though all of 127.0.0.0/8 binds). JSON adds port_map: port; \
protocols [{protocol, slots, binding (slots that bind on their own), more \
(how many more services)}]; free (one largest set of slots new services \
could hold together, `more` per protocol); taken (slots whose bind fails \
now); undecided (slots that depend on what could not be seen); each slot \
{protocol, address, v6only (the wildcards' flag, else null), device, \
candidate (its index in candidates)}. port_map is null for a plan.

Candidates form a plan, as one program would open them: every candidate is \
bound in order and kept, then the listening ones listen in order. So a later \
candidate meets the live sockets and every earlier candidate, and two \
candidates that share an address through SO_REUSEADDR fail at listen.

Defaults mirror a typical server runtime on Linux: TCP sets SO_REUSEADDR and \
listens, UDP sets neither; IPV6_V6ONLY follows net.ipv6.bindv6only. Flags \
change the default for every candidate; options on a candidate win.

The trial makes the same binds for real and closes them at once. It never \
takes traffic meant for a live service: listen() is not tried where a live \
socket overlaps the candidate, a UDP bind is not tried where it would share a \
live port, and every trial socket drops all packets. trial.skipped says why a \
step was not tried.",
        after_long_help = try_long_help(),
        after_help = TRY_EXAMPLES
    )]
    Try(TryArgs),

    /// Which service does HOST:PORT reach? Resolve, order, map to listeners.
    #[command(
        name = ResolveResult::NAME,
        visible_alias = "reach",
        long_about = "\
Which service does HOST:PORT reach? Resolve as clients do, order by RFC 6724, \
and map each destination to the socket the kernel would hand it to.

HOST may be a name, an address, [IPV6]:PORT, HOST:PORT or a URL \
(http://localhost:8000/, the port from the scheme when absent); the port may \
also be a second argument. The name is resolved with getaddrinfo as Python's \
socket.create_connection calls it (no AI_ADDRCONFIG), so the hosts file, \
nsswitch and /etc/gai.conf apply; system_rank is that order, the one clients \
try. rfc6724_rank is portcheck's own RFC 6724 ordering, and every adjacent \
pair says which rule decided.

For each local destination the listener is found by the kernel's lookup \
rules: an exact address beats a wildcard, for IPv4 an IPv4 socket beats an \
IPv6 one, a v6only [::] never takes IPv4, a bound device must match. \
reached is the first destination in system order that accepts: what a \
client that tries addresses in order reaches. --connect makes real \
connections to local destinations and names the process that accepted.

Each destination's delivery says how the kernel picks among its listeners: \
single; hash, a SO_REUSEPORT group, one of N per connection by a hash of \
the client's address and port (--connect names the member that took its \
connection); newest, UDP sockets sharing the address by SO_REUSEADDR \
without SO_REUSEPORT, where Linux gives every unicast datagram to the most \
recently bound one (udp4_lib_lookup2 keeps the first best-scoring socket of \
a chain that udp_lib_get_port fills newest first), the only one listed. \
null when it cannot be told (delivery_unknown): another user's SO_REUSEPORT \
unreadable, or an OS whose lookup is not modelled (see who).

The system resolver is given 10 s (glibc's own timeout and attempts from \
resolv.conf usually end it sooner: `options timeout:1 attempts:1` gives up on \
a silent nameserver in about 1 s); --dns gives each nameserver 2 s (6 s in \
all), shows only what a nameserver sent back, and says at once when one \
refuses (ICMP port unreachable). An /etc/gai.conf that cannot be parsed is read as \
glibc reads it, skipping the lines it cannot parse, with a note.",
        after_help = "\
Examples:
  portcheck resolve localhost:8000
  portcheck reach http://localhost:3000/ --connect
  portcheck resolve db.internal 5432 --json

Exit codes: 0 a destination accepts (or, with no port, the name resolved), 1 resolved but nothing accepts, 2 error (host_not_found included)."
    )]
    Resolve(ResolveArgs),

    /// Find ports any program could bind now (both families, every address).
    #[command(
        name = FreeResult::NAME,
        long_about = "\
Find ports any program could bind now: on every address and both families \
(0.0.0.0 and a dual-stack [::]), for every protocol asked, even without \
SO_REUSEADDR (so a TIME_WAIT entry makes a port not free). Ports in the \
ephemeral range (net.ipv4.ip_local_port_range) and ip_local_reserved_ports \
are skipped. Each port is judged by the try model and confirmed by a \
bind-only trial. The lowest free ports are listed, in order.

A port free now can be taken before your program binds it. Where the \
program can, bind port 0 and read the port back instead.",
        after_help = "\
Examples:
  portcheck free
  portcheck free --range 8000-8999 --count 3 --json
  portcheck free -t -u

Exit codes: 0 COUNT free ports were found, 1 fewer were, 2 error."
    )]
    Free(FreeArgs),

    /// Wait until a socket listens on TARGET, or until it is free.
    #[command(
        name = WaitResult::NAME,
        long_about = "\
Wait until a socket listens on TARGET (--until listening, the default), or \
until nothing holds it for binding (--until free: no listener, no bound \
socket; connections and TIME_WAIT entries do not count). TCP unless -u is \
given. TARGET may name a host (localhost:3000): its addresses, as the system \
resolver returns them, are looked up once, and the wait is met when one of \
them accepts, as a client trying them in order would connect (with --until \
free, when none of them is held). Polls the kernel's \
socket table every --interval (sock_diag only, cheap), gives up after \
--timeout, and prints the final `who` view.",
        after_help = "\
Examples:
  portcheck wait 8080 --timeout 30s
  portcheck wait 127.0.0.1:5432 --until listening --interval 250ms --json
  portcheck wait 3000 --until free
  portcheck wait localhost:3000

Exit codes: 0 the condition was met, 1 timed out, 2 error."
    )]
    Wait(WaitArgs),

    /// Paste a bind or connect error; get the cause on this host and the fix.
    #[command(
        name = WhyResult::NAME,
        long_about = "\
Paste a bind or connect error; get the cause on this host and the fix.

MESSAGE is the error as the program printed it (several words are joined). \
Without MESSAGE, standard input is read (npm start 2>&1 | portcheck why): \
every line that reports a bind or connect failure is diagnosed (the first \
as the main answer, the others under `also`, repeats once), with a few \
lines around each for what it leaves out (PostgreSQL's port hint, \
MariaDB's port line, Tomcat's connector). At most 16 MiB are read, and \
lines are cut at 8 KiB.

Lines where the program announced a socket of its own before the failure \
(`listening on [::]:443`, `Serving HTTP on :: port 8000`, `Running on \
http://127.0.0.1:5000`) are read too, and the failed bind is checked as \
the plan the program ran: its own sockets first, then the failed one. When \
its own earlier socket is in the way (a Rust server's dual-stack [::]:443 \
before its 0.0.0.0:443 redirect), the status is own_socket, exit 0: \
starting it again fails the same way. With no such line and nothing in the \
way now, the answer names the `portcheck try` plan that checks that case.

A bind failure (EADDRINUSE, EACCES, EADDRNOTAVAIL) is checked as `try` \
checks the address the program asked for, with that runtime's options: Node \
(libuv) and Go bind [::] without IPV6_V6ONLY and set SO_REUSEADDR; a bare \
Python socket is IPv4 ('' is 0.0.0.0) without SO_REUSEADDR; nginx, \
PostgreSQL, Redis and sshd set IPV6_V6ONLY on [::]. It is predicted for the \
program that failed, not for portcheck's own privileges. A connect failure \
(ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH) is checked as `resolve` checks the \
address the client tried, beside every socket listening on the port; \
curl's \"Couldn't connect to server\" and MariaDB's (115) say only that the \
connect failed (CONNECT_FAILED), and what can be seen here decides \
(refused by the socket table, unreachable by the routes). Where the \
message cannot tell TCP from UDP (socat, nginx, bare errno words), TCP is \
assumed and said: -u checks UDP.

Where the message leaves out the address, the runtime's default is assumed \
and said; where it leaves out the port, pass --port (or --address). Fixes \
are suggestions with the exact command (portcheck stop PORT, for a master \
and its workers the master once, systemctl stop UNIT, portcheck free, \
IPV6_V6ONLY in the runtime's terms, the program's own address flag such as \
redis-cli -h or python3 -m http.server --bind); portcheck never kills or \
changes anything.",
        after_long_help = crate::why::patterns::formats_help(),
        after_help = "\
Examples:
  portcheck why 'Error: listen EADDRINUSE: address already in use :::3000'
  npm start 2>&1 | portcheck why
  python3 -m http.server 8000 2>&1 | portcheck why --port 8000 --json
  portcheck why --port 5432 'could not connect to server: Connection refused'

Exit codes: 0 the cause is on this host now, 1 recognised but the cause has gone (or is on another host), 2 nothing recognised, a port missing, or an error."
    )]
    Why(WhyArgs),

    /// Stop what holds a port: SIGTERM through a pidfd, wait, then SIGKILL.
    #[command(
        name = StopResult::NAME,
        long_about = "\
Stop what holds a port, safely.

TARGET is PORT, ADDRESS:PORT or [IPV6]:PORT as in `who`, optionally \
prefixed tcp: or udp: (udp:5353, the same as -u). Only the processes that hold a matching listening or bound socket \
are stopped, never processes that only hold connections to it (a browser \
connected to :3000 is left alone).

Each holder gets --signal (SIGTERM) through a pidfd opened when it was \
looked up and checked to hold the socket, so a pid that passes to another \
process meanwhile is never signalled. portcheck then waits until the port \
is free (as `wait --until free`), up to --grace, and sends SIGKILL to \
holders still running unless --no-escalate. Every step is reported with \
how long it took.

Workers (nginx, Apache, gunicorn, PHP-FPM) share the master's socket: the \
master is signalled and stops them itself. A systemd service's own process \
(started by the manager) is stopped with `systemctl stop UNIT` (`--user` for \
a user unit), since the unit would restart it; a process further down a \
unit's tree gets a signal; a socket held by pid 1 (socket activation) with \
`systemctl stop NAME.socket`; a container's process or its docker-proxy \
with `docker stop` / `podman stop`, never a signal to docker-proxy.

After the port is free it is watched for --respawn-window: a new holder \
is named with the parent that started it (nodemon, npm, a shell loop), \
and --parent stops that parent and the new holder too (never by default).

Refused, nothing stopped, exit 2: pid 1 itself, TIME_WAIT entries (the \
kernel's: nothing to stop; they end within 60 s, and SO_REUSEADDR binds \
beside them), a holder that cannot be seen, another user's process \
without the right to signal it (portcheck never raises its privileges), \
portcheck's own ancestors. On a terminal portcheck asks once unless \
-y/--yes; without a terminal and without --yes it prints the plan and exits \
2. --dry-run prints the plan and changes nothing.

Off Linux there is no pidfd: stop prints the plan and refuses to act \
(no_pidfd).",
        after_long_help = crate::stop::JSON_HELP,
        after_help = "\
Examples:
  portcheck stop 3000
  portcheck stop 8080 --dry-run
  portcheck stop 127.0.0.1:5432 --yes --grace 10s
  portcheck stop udp:5353 -y --signal INT --no-escalate
  portcheck stop 3000 -y --parent --json

Exit codes: 0 every target is free afterwards (or nothing held it; a dry run that refuses nothing), 1 a target is still held, 2 refused, not confirmed, an action failed, or an error."
    )]
    Stop(StopArgs),
}

#[derive(Debug, Args)]
pub struct WhoArgs {
    /// PORT, LOW-HIGH, ADDRESS:PORT, [IPV6]:PORT or ADDRESS.
    #[arg(value_name = "TARGET")]
    pub targets: Vec<String>,

    #[command(flatten)]
    pub kinds: SocketKinds,

    /// List every state: connections and TIME_WAIT too.
    #[arg(short = 'a', long)]
    pub all: bool,

    /// Look in every network namespace a process here is in (containers),
    /// and the named ones (ip netns); each socket says its namespace.
    #[arg(long, conflicts_with = "netns")]
    pub all_netns: bool,

    /// Identify the service behind each listening TCP socket: banner, TLS
    /// certificate, HTTP status and title; Redis gets only PING, PostgreSQL
    /// only an SSLRequest, a server that speaks first (sshd, mariadbd) is
    /// only listened to (bounded: 3 s per socket, run concurrently; never
    /// leaves this host). Not with -u: UDP has no handshake to probe.
    #[arg(long, conflicts_with = "udp")]
    pub probe: bool,

    /// The output: table (the default), json (the same as --json),
    /// openmetrics (OpenMetrics 1.0 text, for a Prometheus scrape) or
    /// prometheus (the Prometheus text format, for node_exporter's textfile
    /// collector, which reads no OpenMetrics). --json with another format
    /// is refused.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,

    /// Write the output to FILE instead of standard output, atomically (a
    /// temporary file in the same directory, renamed over FILE once
    /// complete), so that a reader such as node_exporter never sees half a
    /// file. On an error FILE is left as it was.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `who --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
    #[value(name = "openmetrics")]
    OpenMetrics,
    Prometheus,
}

#[derive(Debug, Args)]
pub struct TryArgs {
    /// [tcp:|udp:]ADDRESS:PORT[/OPTION,...], e.g. '[::]:443/v6only'; or a
    /// [tcp:|udp:]PORT alone: every slot of that port.
    #[arg(value_name = "CANDIDATE")]
    pub candidates: Vec<String>,

    /// Read candidates from PLAN, one per line ('#' comments; '-' for stdin).
    #[arg(long, value_name = "PLAN", value_hint = clap::ValueHint::FilePath)]
    pub file: Option<PathBuf>,

    /// TCP candidates (the default).
    #[arg(short = 't', long, conflicts_with = "udp")]
    pub tcp: bool,

    /// UDP candidates unless a candidate says tcp:.
    #[arg(short = 'u', long)]
    pub udp: bool,

    /// Set IPV6_V6ONLY on IPv6 candidates.
    #[arg(long, conflicts_with = "dual_stack")]
    pub v6only: bool,

    /// Clear IPV6_V6ONLY on IPv6 candidates ([::] also takes IPv4).
    #[arg(long)]
    pub dual_stack: bool,

    /// Set SO_REUSEADDR (the TCP default).
    #[arg(long, conflicts_with = "no_reuseaddr")]
    pub reuseaddr: bool,

    /// Do not set SO_REUSEADDR.
    #[arg(long)]
    pub no_reuseaddr: bool,

    /// Set SO_REUSEPORT.
    #[arg(long)]
    pub reuseport: bool,

    /// Bind only; do not listen.
    #[arg(long)]
    pub no_listen: bool,

    /// Predict only; make no real bind.
    #[arg(long)]
    pub no_trial: bool,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// A name, an address, HOST:PORT, [IPV6]:PORT or a URL.
    #[arg(value_name = "HOST")]
    pub host: String,

    /// The port, when HOST does not carry one.
    #[arg(value_name = "PORT", value_hint = clap::ValueHint::Other)]
    pub port: Option<String>,

    /// TCP (the default).
    #[arg(short = 't', long, conflicts_with = "udp")]
    pub tcp: bool,

    /// UDP: which socket would receive a datagram.
    #[arg(short = 'u', long)]
    pub udp: bool,

    /// Really connect to each local destination and report who accepted.
    #[arg(long)]
    pub connect: bool,

    /// Also ask DNS directly (the nameservers of /etc/resolv.conf) for A and
    /// AAAA records, to show what the system answer hides.
    #[arg(long)]
    pub dns: bool,

    /// Ask this nameserver (ADDRESS or ADDRESS:PORT) for --dns.
    #[arg(long, value_name = "SERVER")]
    pub dns_server: Option<String>,

    /// Identify the service behind each destination that accepts: banner,
    /// TLS certificate, HTTP status and title; Redis gets only PING,
    /// PostgreSQL only an SSLRequest (bounded: 3 s per address).
    /// Addresses of other hosts are probed only because HOST names them.
    /// Not with -u: UDP has no handshake to probe.
    #[arg(long, conflicts_with = "udp")]
    pub probe: bool,
}

#[derive(Debug, Args)]
pub struct FreeArgs {
    /// Search LOW-HIGH (default: ip_unprivileged_port_start-65535).
    #[arg(long, value_name = "LOW-HIGH")]
    pub range: Option<String>,

    /// Free for TCP (the default).
    #[arg(short = 't', long)]
    pub tcp: bool,

    /// Free for UDP.
    #[arg(short = 'u', long)]
    pub udp: bool,

    /// How many ports to find.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub count: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UntilArg {
    Listening,
    Free,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// PORT, ADDRESS:PORT or [IPV6]:PORT.
    #[arg(value_name = "TARGET")]
    pub target: String,

    /// The condition to wait for.
    #[arg(long, value_enum, default_value_t = UntilArg::Listening)]
    pub until: UntilArg,

    /// Give up after this long (30s, 500ms, 2m).
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub timeout: String,

    /// Time between polls.
    #[arg(long, default_value = "100ms", value_name = "DURATION")]
    pub interval: String,

    #[command(flatten)]
    pub kinds: SocketKinds,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The error message; read from standard input when absent.
    #[arg(value_name = "MESSAGE")]
    pub message: Vec<String>,

    /// The port, when the message does not name it (or to check another).
    #[arg(long, value_name = "PORT", value_hint = clap::ValueHint::Other)]
    pub port: Option<String>,

    /// The address, when the message does not name it (or to check another).
    #[arg(long, value_name = "ADDRESS")]
    pub address: Option<String>,

    /// TCP: where the message does not say (socat, nginx and bare errno
    /// words read the same for both), or to check TCP instead.
    #[arg(short = 't', long, conflicts_with = "udp")]
    pub tcp: bool,

    /// UDP: where the message does not say, or to check UDP instead.
    #[arg(short = 'u', long)]
    pub udp: bool,

    /// Predict only; make no trial bind.
    #[arg(long)]
    pub no_trial: bool,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// PORT, ADDRESS:PORT or [IPV6]:PORT.
    #[arg(value_name = "TARGET", required = true)]
    pub targets: Vec<String>,

    #[command(flatten)]
    pub kinds: SocketKinds,

    /// Print the plan (what would be signalled or run, in order) and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Act without asking (needed when standard input is not a terminal).
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// The first signal: TERM, INT, HUP, QUIT, USR1, USR2 or KILL.
    #[arg(long, default_value = "TERM", value_name = "NAME")]
    pub signal: String,

    /// How long to wait for the port to be free before SIGKILL.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub grace: String,

    /// Never send SIGKILL: report the port still held after the grace.
    #[arg(long)]
    pub no_escalate: bool,

    /// Also stop the parent that restarts a stopped holder (a shell loop,
    /// nodemon), and the holder it restarted.
    #[arg(long)]
    pub parent: bool,

    /// How long to watch a freed port for a restarted holder (0 to skip).
    #[arg(long, default_value = "1s", value_name = "DURATION")]
    pub respawn_window: String,
}

/// Which sockets to look at: `-t -u -4 -6`, both of each by default.
#[derive(Debug, Args)]
pub struct SocketKinds {
    /// TCP sockets only (default: TCP and UDP).
    #[arg(short = 't', long)]
    pub tcp: bool,

    /// UDP sockets only (default: TCP and UDP).
    #[arg(short = 'u', long)]
    pub udp: bool,

    /// Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY
    /// off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which
    /// shows IPv4 sockets only).
    #[arg(short = '4', long = "ipv4")]
    pub ipv4: bool,

    /// Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
}

/// The clap command, for parsing and for generating man pages and
/// completions from the same definition.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Every command's name, as [`CommandResult::NAME`] spells it for the
/// command line and the JSON `command` field alike.
pub const COMMAND_NAMES: [&str; 7] = [
    WhoResult::NAME,
    TryResult::NAME,
    ResolveResult::NAME,
    FreeResult::NAME,
    WaitResult::NAME,
    WhyResult::NAME,
    StopResult::NAME,
];

/// The subcommand named among `args` (its name or alias), for an error
/// document when the arguments do not parse.
pub fn subcommand_named(args: &[std::ffi::OsString]) -> Option<&'static str> {
    let command = command();
    args.iter().skip(1).find_map(|arg| {
        let found = command.find_subcommand(arg)?;
        COMMAND_NAMES
            .into_iter()
            .find(|name| *name == found.get_name())
    })
}

impl Cli {
    /// Conflicts clap misses: a global flag given before the subcommand is
    /// not checked against the subcommand's `conflicts_with` (clap #1204),
    /// so `--netns X who --all-netns` would pass where `who --all-netns
    /// --netns X` is refused.
    pub fn check_conflicts(self) -> Result<Cli, clap::Error> {
        if let CommandArgs::Who(args) = &self.command {
            if self.json && args.format.is_some_and(|format| format != FormatArg::Json) {
                return Err(command().error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "the argument '--json' cannot be used with '--format' other than json",
                ));
            }
            if args.all_netns && self.netns.is_some() {
                return Err(command().error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "the argument '--all-netns' cannot be used with '--netns <NAME|PATH|PID>'",
                ));
            }
        }
        Ok(self)
    }

    /// The command name, known even when the rest does not validate (so an
    /// error document can name it).
    pub fn command_name(&self) -> &'static str {
        match self.command {
            CommandArgs::Who(_) => WhoResult::NAME,
            CommandArgs::Try(_) => TryResult::NAME,
            CommandArgs::Resolve(_) => ResolveResult::NAME,
            CommandArgs::Free(_) => FreeResult::NAME,
            CommandArgs::Wait(_) => WaitResult::NAME,
            CommandArgs::Why(_) => WhyResult::NAME,
            CommandArgs::Stop(_) => StopResult::NAME,
        }
    }

    /// Whether the output is JSON: `--json`, or `who --format json`.
    pub fn json_output(&self) -> bool {
        self.json
            || matches!(&self.command, CommandArgs::Who(args) if args.format == Some(FormatArg::Json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn every_subcommand_is_named_once() {
        let clap_names: Vec<String> = command()
            .get_subcommands()
            .map(|sub| sub.get_name().to_owned())
            .collect();
        assert_eq!(clap_names, COMMAND_NAMES);
        let named = |words: &[&str]| {
            let args: Vec<std::ffi::OsString> = words.iter().map(Into::into).collect();
            subcommand_named(&args)
        };
        for name in COMMAND_NAMES {
            assert_eq!(named(&["portcheck", name, "--bogus"]), Some(name));
        }
        assert_eq!(named(&["portcheck", "reach", "x"]), Some("resolve"));
        assert_eq!(named(&["portcheck", "--json"]), None);
    }
}
