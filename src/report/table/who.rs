//! `who` as a table.

use std::fmt::Write as _;

use comfy_table::Cell;

use super::grid::render;
use super::{Style, warnings};
use crate::model::{OwnerGap, Process, Socket, endpoint};
use crate::probe::Probe;
use crate::who::WhoResult;

pub fn who(result: &WhoResult, style: Style) -> String {
    let mut out = String::new();
    if result.sockets.is_empty() {
        out.push_str(&nothing_listed(result));
        out.push('\n');
    } else {
        out.push_str(&probed_socket_table(
            &result.sockets,
            &result.probes,
            result.config.all_netns,
            style,
        ));
        out.push_str(&listed_for_ipv4(result));
    }
    if !result.unlisted.is_empty() {
        let counts: Vec<String> = result
            .unlisted
            .iter()
            .map(|(state, count)| format!("{count} {state}"))
            .collect();
        let lead = if result.sockets.is_empty() {
            "Held only by"
        } else {
            "plus"
        };
        let _ = writeln!(out, "{lead} {}: --all to list", counts.join(", "));
    }
    out.push_str(&warnings(&result.warnings, style));
    out
}

/// Under `-4` alone, why IPv6 rows are listed: they take IPv4 too (`ss -4`
/// would not show them, so the table says it).
fn listed_for_ipv4(result: &WhoResult) -> String {
    use crate::model::Family;
    if result.config.families != [Family::Ipv4] {
        return String::new();
    }
    let mut out = String::new();
    for socket in result.sockets.iter().filter(|s| s.family == Family::Ipv6) {
        let place = endpoint(
            socket.local_address,
            socket.local_port,
            socket.device_shown(),
        );
        let why = match (socket.mapped_ipv4(), socket.accepts_ipv4()) {
            (Some(v4), _) => format!("bound to the IPv4-mapped address of {v4}"),
            (None, Some(true)) => "dual-stack: IPV6_V6ONLY is off".to_owned(),
            _ => "IPV6_V6ONLY could not be read, so it may take IPv4".to_owned(),
        };
        let _ = writeln!(
            out,
            "-4 lists {place} ({}): an IPv6 socket that takes IPv4 ({why})",
            socket.protocol.name()
        );
    }
    out
}

fn nothing_listed(result: &WhoResult) -> String {
    let targets: Vec<&str> = result
        .config
        .targets
        .iter()
        .map(|t| t.text.as_str())
        .collect();
    let what = if targets.is_empty() {
        "No socket is listening or bound".to_owned()
    } else {
        format!("Nothing listens on or is bound to {}", targets.join(", "))
    };
    let kinds: Vec<&str> = result
        .config
        .protocols
        .iter()
        .map(|p| p.name())
        .chain(result.config.families.iter().map(|f| f.name()))
        .collect();
    if !result.unlisted.is_empty() {
        format!("{what} ({}).", kinds.join(", "))
    } else if crate::warning::complete(&result.warnings) {
        format!("{what} ({}): free.", kinds.join(", "))
    } else {
        // Never "free" on a partial view (a namespace not entered): the
        // lines below say what could not be seen.
        format!(
            "{what} ({}) in what could be seen; not everything could, so it may not be free.",
            kinds.join(", ")
        )
    }
}

/// The sockets without `--probe` answers.
pub(super) fn socket_table(sockets: &[Socket], all_netns: bool, style: Style) -> String {
    probed_socket_table(sockets, &[], all_netns, style)
}

/// The sockets, with an ANSWERS column when `probes` is not empty.
fn probed_socket_table(
    sockets: &[Socket],
    probes: &[Option<Probe>],
    all_netns: bool,
    style: Style,
) -> String {
    let show_peer = sockets.iter().any(|s| s.remote.is_some());
    let show_netns = all_netns || sockets.iter().any(|s| s.netns != sockets[0].netns);
    let mut header = if show_netns {
        vec!["NETNS"]
    } else {
        Vec::new()
    };
    header.extend(["PROTO", "LOCAL", "TAKES", "STATE"]);
    if show_peer {
        header.push("PEER");
    }
    header.extend(["REUSE", "USER", "PROCESS"]);
    let show_probe = !probes.is_empty();
    if show_probe {
        header.push("ANSWERS");
    }

    let row = |(index, socket): (usize, &Socket)| {
        let mut row = Vec::new();
        if show_netns {
            // A namespace name is a file name under /run/netns: any bytes.
            row.push(Cell::new(
                socket
                    .netns_name
                    .as_deref()
                    .map(|name| crate::text::untrusted(name, 64))
                    .or_else(|| socket.netns.clone())
                    .unwrap_or_else(|| "?".into()),
            ));
        }
        row.extend([
            Cell::new(socket.protocol.name()),
            Cell::new(endpoint(
                socket.local_address,
                socket.local_port,
                socket.device_shown(),
            )),
            takes_cell(socket, style),
            Cell::new(socket.state.name()),
        ]);
        if show_peer {
            row.push(Cell::new(
                socket
                    .remote
                    .map(|(address, port)| endpoint(address, port, None))
                    .unwrap_or_default(),
            ));
        }
        row.push(Cell::new(reuse(socket)));
        row.push(Cell::new(
            socket
                .user
                .clone()
                .or(socket.uid.map(|u| u.to_string()))
                .unwrap_or_else(|| "-".into()),
        ));
        row.push(Cell::new(owners(socket, style.wide)));
        if show_probe {
            row.push(Cell::new(answers(
                probes.get(index).and_then(Option::as_ref),
            )));
        }
        row
    };
    render(&header, style, || sockets.iter().enumerate().map(row))
}

/// Which traffic the socket takes, in words: the difference between a
/// dual-stack `[::]` and a v6-only one must be obvious at a glance.
pub fn takes(socket: &Socket) -> String {
    if let Some(v4) = socket.mapped_ipv4() {
        return format!("IPv4 {v4} (mapped)");
    }
    match (
        socket.family,
        socket.local_address.is_unspecified(),
        socket.accepts_ipv4(),
    ) {
        (crate::model::Family::Ipv4, _, _) => "IPv4".into(),
        (_, true, Some(true)) => "IPv6 + IPv4".into(),
        (_, true, Some(false)) => "IPv6 only".into(),
        (_, true, None) => "IPv6 (+IPv4?)".into(),
        (_, false, _) => "IPv6".into(),
    }
}

fn takes_cell(socket: &Socket, style: Style) -> Cell {
    let cell = Cell::new(takes(socket));
    if style.color && socket.is_dual_stack_wildcard() {
        cell.fg(comfy_table::Color::Cyan)
    } else {
        cell
    }
}

/// The probe's summary for a table cell: untrusted text from the network,
/// control characters escaped, kept short; `-` where none was made.
pub fn answers(probe: Option<&Probe>) -> String {
    probe.map_or_else(
        || "-".to_owned(),
        |p| crate::probe::untrusted(&p.summary, 72),
    )
}

fn reuse(socket: &Socket) -> String {
    match (socket.reuseaddr, socket.reuseport) {
        (Some(addr), Some(port)) => match (addr, port) {
            (true, true) => "addr+port".into(),
            (true, false) => "addr".into(),
            (false, true) => "port".into(),
            (false, false) => "-".into(),
        },
        _ => "?".into(),
    }
}

fn owners(socket: &Socket, wide: bool) -> String {
    if socket.processes.is_empty() {
        return match socket.owner_gap {
            Some(OwnerGap::KernelOwned) => {
                format!("(no process: the kernel keeps this {} entry)", socket.state)
            }
            Some(OwnerGap::Unreadable) => "(owner unreadable: run as root)".into(),
            Some(OwnerGap::NoProc) => "(owner unreadable: no /proc here)".into(),
            Some(OwnerGap::NotVisible) => {
                "(owner not visible: another PID namespace or the kernel)".into()
            }
            None => "(no owner found)".into(),
        };
    }
    let mut lines: Vec<String> = socket
        .processes
        .iter()
        .map(|process| process_line(process, wide))
        .collect();
    if socket.owner_gap == Some(OwnerGap::Unreadable) {
        lines.push("(maybe more owners unreadable: run as root)".into());
    }
    if let Some(target) = &socket.forwards_to {
        lines.push(format!("→ forwards to container {target}"));
    }
    if let Some(name) = socket.demultiplexer {
        let routes: Vec<String> = socket
            .forwards_by_protocol
            .iter()
            .map(|(protocol, to)| format!("{protocol} to {to}"))
            .collect();
        lines.push(if routes.is_empty() {
            format!(
                "→ {name} splits this port by protocol (its targets are not on its command line)"
            )
        } else {
            format!(
                "→ {name} splits this port by protocol: {}",
                routes.join(", ")
            )
        });
    }
    lines.join("\n")
}

/// The command line shown after the name: one line of at most this many
/// characters (JSON has it whole, and so has `--wide`).
const CMDLINE_WIDTH: usize = 60;

fn process_line(process: &Process, wide: bool) -> String {
    let shown = if wide { usize::MAX / 8 } else { CMDLINE_WIDTH };
    let name = process.shown_name().unwrap_or_else(|| "?".to_owned());
    let fds: Vec<String> = process.fds.iter().map(u32::to_string).collect();
    let mut line = format!("{name} (pid {}, fd {})", process.pid, fds.join(","));
    if let Some(container) = &process.container {
        let short: String = container.id.chars().take(12).collect();
        let _ = write!(line, " [{} {short}]", container.runtime);
    }
    // A process writes its own command line: newlines, escape sequences
    // and bytes that are not UTF-8 are escaped, and a long one is cut.
    if !process.cmdline.is_empty() {
        // A character shown takes at most 4 bytes: however long the command
        // line, no more than this is joined, and one byte more is enough
        // for `escape` to see that it must cut.
        let enough = shown * 4 + 1;
        let mut joined = Vec::with_capacity(enough.min(4096));
        for (index, arg) in process.cmdline.iter().enumerate() {
            if index > 0 {
                joined.push(b' ');
            }
            let room = enough.saturating_sub(joined.len());
            joined.extend_from_slice(&arg.bytes()[..arg.bytes().len().min(room)]);
            if joined.len() >= enough {
                break;
            }
        }
        let _ = write!(line, ": {}", crate::text::escape(&joined, shown));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Protocol, State};

    #[test]
    fn unknowns_show_as_question_marks() {
        let mut socket = Socket::bare(
            Protocol::Udp,
            "::".parse().expect("address"),
            5353,
            State::Unknown,
        );
        socket.interface_known = false;
        assert_eq!(reuse(&socket), "?");
        assert_eq!(takes(&socket), "IPv6 (+IPv4?)");
        assert_eq!(
            endpoint(
                socket.local_address,
                socket.local_port,
                socket.device_shown()
            ),
            "[::]%?:5353"
        );
        socket.interface_known = true;
        assert_eq!(socket.device_shown(), None);
    }
}
