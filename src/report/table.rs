//! The human view: a table and a few lines of prose.

use std::fmt::Write as _;

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};

use crate::bind::candidate::Candidate;
use crate::bind::rules::{Errno, Stage};
use crate::bind::{Outcome, TryResult};
use crate::model::{OwnerGap, Process, Socket, endpoint};
use crate::resolve::{ConnectReport, Reach, ResolveResult};
use crate::warning::Warning;
use crate::who::WhoResult;

/// Colours on or off, decided once from `--color`, NO_COLOR and the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, text: &str, style: anstyle::Style) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    fn warning(self, text: &str) -> String {
        let yellow = anstyle::Style::new()
            .fg_color(Some(anstyle::AnsiColor::Yellow.into()))
            .bold();
        self.paint(text, yellow)
    }
}

pub fn who(result: &WhoResult, style: Style) -> String {
    let mut out = String::new();
    if result.sockets.is_empty() {
        out.push_str(&nothing_listed(result));
        out.push('\n');
    } else {
        for line in socket_table(&result.sockets, style).lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
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
    if result.unlisted.is_empty() {
        format!("{what} ({}): free.", kinds.join(", "))
    } else {
        format!("{what} ({}).", kinds.join(", "))
    }
}

fn socket_table(sockets: &[Socket], style: Style) -> Table {
    let show_peer = sockets.iter().any(|s| s.remote.is_some());
    let mut header = vec!["PROTO", "LOCAL", "TAKES", "STATE"];
    if show_peer {
        header.push("PEER");
    }
    header.extend(["REUSE", "USER", "PROCESS"]);

    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.into_iter().map(|h| {
            let cell = Cell::new(h);
            if style.color {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        }));
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    for socket in sockets {
        let mut row = vec![
            Cell::new(socket.protocol.name()),
            Cell::new(endpoint(
                socket.local_address,
                socket.local_port,
                socket.interface.as_deref(),
            )),
            takes_cell(socket, style),
            Cell::new(socket.state.name()),
        ];
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
        row.push(Cell::new(owners(socket)));
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table
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
        cell.fg(Color::Cyan)
    } else {
        cell
    }
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

fn owners(socket: &Socket) -> String {
    if socket.processes.is_empty() {
        return match socket.owner_gap {
            Some(OwnerGap::KernelOwned) => {
                format!("(no process: the kernel keeps this {} entry)", socket.state)
            }
            Some(OwnerGap::Unreadable) => "(owner unreadable: run as root)".into(),
            Some(OwnerGap::NotVisible) => {
                "(owner not visible: another PID namespace or the kernel)".into()
            }
            None => "(no owner found)".into(),
        };
    }
    socket
        .processes
        .iter()
        .map(process_line)
        .collect::<Vec<_>>()
        .join("\n")
}

fn process_line(process: &Process) -> String {
    let name = process.name.as_deref().unwrap_or("?");
    let fds: Vec<String> = process.fds.iter().map(u32::to_string).collect();
    let mut line = format!("{name} (pid {}, fd {})", process.pid, fds.join(","));
    let cmdline = process.cmdline.join(" ");
    if !cmdline.is_empty() {
        const MAX: usize = 60;
        let shown: String = cmdline.chars().take(MAX).collect();
        let ellipsis = if cmdline.chars().count() > MAX {
            "…"
        } else {
            ""
        };
        let _ = write!(line, ": {shown}{ellipsis}");
    }
    line
}

pub fn warnings(warnings: &[Warning], style: Style) -> String {
    let mut out = String::new();
    for warning in warnings {
        let label = if warning.incomplete {
            "incomplete"
        } else {
            "note"
        };
        let _ = writeln!(
            out,
            "{} {} [{}]",
            style.warning(&format!("{label}:")),
            warning.message,
            warning.code
        );
    }
    out
}

pub fn error(message: &str, style: Style) -> String {
    let red = anstyle::Style::new()
        .fg_color(Some(anstyle::AnsiColor::Red.into()))
        .bold();
    format!("{} {message}\n", style.paint("portcheck: error:", red))
}

pub fn try_plan(result: &TryResult, style: Style) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(
            ["#", "CANDIDATE", "OPTIONS", "PREDICTED", "TRIAL", "RULE"].map(|h| {
                let cell = Cell::new(h);
                if style.color {
                    cell.add_attribute(Attribute::Bold)
                } else {
                    cell
                }
            }),
        );
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    for outcome in &result.outcomes {
        let candidate = &outcome.candidate;
        table.add_row(vec![
            Cell::new(candidate.index),
            Cell::new(candidate.to_string()),
            Cell::new(options_summary(candidate)),
            Cell::new(predicted(outcome)),
            Cell::new(trial_summary(outcome)),
            Cell::new(outcome.verdict.rule),
        ]);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    for outcome in &result.outcomes {
        let mark = match outcome.binds() {
            Some(true) => "ok",
            Some(false) => "FAILS",
            None => "DEPENDS",
        };
        let _ = writeln!(
            out,
            "#{} {mark}: {}",
            outcome.candidate.index, outcome.message
        );
        if outcome.agree == Some(false) {
            let loud = style.warning(&format!(
                "#{} DISAGREEMENT: the model predicted {}, the kernel said {}. The kernel is right; this is a rule the model does not know.",
                outcome.candidate.index,
                predicted(outcome),
                trial_summary(outcome)
            ));
            let _ = writeln!(out, "{loud}");
        }
    }
    out.push_str(&warnings(&result.warnings, style));
    out
}

fn options_summary(candidate: &Candidate) -> String {
    let options = &candidate.options;
    let mut parts = Vec::new();
    if candidate.address.is_ipv6() {
        parts.push(
            if options.v6only {
                "v6only"
            } else {
                "dualstack"
            }
            .to_owned(),
        );
    }
    for (on, name) in [
        (options.reuseaddr, "reuseaddr"),
        (options.reuseport, "reuseport"),
        (options.listen, "listen"),
        (options.freebind, "freebind"),
    ] {
        if on {
            parts.push(name.to_owned());
        }
    }
    if let Some(device) = candidate.device() {
        parts.push(format!("device={device}"));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(",")
    }
}

fn predicted(outcome: &Outcome) -> String {
    let verdict = &outcome.verdict;
    let at = |error: Option<Errno>| {
        format!(
            "{} at {}",
            error.map_or("error", Errno::name),
            verdict.stage.map_or("bind", Stage::name)
        )
    };
    match verdict.ok {
        Some(true) => "ok".into(),
        Some(false) => at(verdict.error),
        None => format!("ok or {}", at(verdict.error)),
    }
}

fn trial_summary(outcome: &Outcome) -> String {
    let trial = &outcome.trial;
    if let Some(setup) = &trial.setup_error {
        return format!("not made ({setup})");
    }
    if !trial.performed {
        return trial
            .skipped
            .map_or("not made".into(), |s| format!("skipped: {}", s.code()));
    }
    let result = match trial.ok {
        Some(true) => "ok".to_owned(),
        _ => format!(
            "{} at {}",
            trial.error.as_deref().unwrap_or("error"),
            trial.stage.map_or("bind", Stage::name)
        ),
    };
    match (trial.ok, trial.skipped) {
        (Some(true), Some(skip)) => format!("bind ok (listen skipped: {})", skip.code()),
        _ => result,
    }
}

pub fn resolve(result: &ResolveResult, style: Style) -> String {
    let query = &result.config.query;
    let mut out = String::new();
    let target = match query.port {
        Some(port) => format!("{}:{port}", query.host),
        None => query.host.clone(),
    };
    let _ = writeln!(out, "{target} ({})", result.config.protocol.name());
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(
            [
                "RANK", "ADDRESS", "ORIGIN", "SOURCE", "RFC6724", "OUTCOME", "LISTENER",
            ]
            .map(|h| {
                let cell = Cell::new(h);
                if style.color {
                    cell.add_attribute(Attribute::Bold)
                } else {
                    cell
                }
            }),
        );
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    for destination in &result.destinations {
        let listener = destination
            .receivers
            .iter()
            .filter_map(|&i| result.live.get(i))
            .map(|s| {
                format!(
                    "{} {}  {}",
                    endpoint(s.local_address, s.local_port, s.interface.as_deref()),
                    takes(s),
                    crate::bind::explain::holder_name(s)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        table.add_row(vec![
            Cell::new(destination.system_rank),
            Cell::new(destination.address),
            Cell::new(destination.origin),
            Cell::new(destination.source.map_or("-".into(), |s| s.to_string())),
            Cell::new(destination.rfc6724_rank),
            Cell::new(destination.outcome.map_or("-", Reach::name)),
            Cell::new(if listener.is_empty() {
                "-".into()
            } else {
                listener
            }),
        ]);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if let Some(port) = query.port {
        out.push_str(&reach_summary(result, port));
    }
    for decision in &result.decisions {
        let _ = writeln!(
            out,
            "order: {} before {} by rule {}: {}",
            decision.before, decision.after, decision.rule, decision.reason
        );
    }
    if !result.order_agrees {
        let loud = style.warning(
            "The system resolver's order differs from RFC 6724's; clients use the system's (RANK).",
        );
        let _ = writeln!(out, "{loud}");
    }
    if let Some(reports) = &result.connect {
        for report in reports {
            let _ = writeln!(out, "{}", connect_line(report, style));
        }
    }
    out.push_str(&warnings(&result.warnings, style));
    out
}

fn reach_summary(result: &ResolveResult, port: u16) -> String {
    let mut out = String::new();
    let Some(reached) = result.reached.and_then(|i| result.destinations.get(i)) else {
        let _ = writeln!(
            out,
            "→ nothing accepts {}:{port}: every client fails",
            result.config.query.host
        );
        return out;
    };
    let who = reached
        .receivers
        .first()
        .and_then(|&i| result.live.get(i))
        .map_or_else(
            || "an unseen listener".to_owned(),
            crate::bind::explain::holder_name,
        );
    let _ = writeln!(
        out,
        "→ a client trying in order reaches {}: {who}",
        crate::resolve::destination_endpoint(reached.address, port)
    );
    if let Some(first) = result.destinations.first()
        && first.outcome == Some(Reach::Refused)
    {
        let _ = writeln!(
            out,
            "  a client that tries only the first address (Node before autoSelectFamily) fails with ECONNREFUSED {}; Happy Eyeballs clients (curl, browsers) fall back as above",
            crate::resolve::destination_endpoint(first.address, port)
        );
    }
    out
}

fn connect_line(report: &ConnectReport, style: Style) -> String {
    let address = report.address;
    if let Some(skip) = report.skipped {
        return format!("connect {address}: not tried ({skip})");
    }
    let outcome = report.outcome.map_or("?", Reach::name);
    let by = report
        .accepted_by
        .as_ref()
        .map(|s| format!(" by {}", crate::bind::explain::holder_name(s)))
        .unwrap_or_default();
    let agreement = match report.agrees {
        Some(true) => " (as predicted)".to_owned(),
        Some(false) => style.warning(" DISAGREES with the prediction"),
        None => String::new(),
    };
    format!("connect {address}: {outcome}{by}{agreement}")
}
