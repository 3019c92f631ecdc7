//! `resolve` as a table.

use std::fmt::Write as _;

use comfy_table::Cell;

use super::grid::render;
use super::{Style, answers, takes, warnings};
use crate::model::endpoint;
use crate::resolve::route::Delivery;
use crate::resolve::{ConnectReport, Reach, ResolveResult};

pub fn resolve(result: &ResolveResult, style: Style) -> String {
    let query = &result.config.query;
    let mut out = String::new();
    let _ = writeln!(out, "{} ({})", query.shown(), result.config.protocol.name());
    let show_probe = result.destinations.iter().any(|d| d.probe.is_some());
    let mut header = vec![
        "RANK", "ADDRESS", "ORIGIN", "SOURCE", "RFC6724", "OUTCOME", "LISTENER",
    ];
    if show_probe {
        header.push("ANSWERS");
    }
    let rows = || {
        result.destinations.iter().map(|destination| {
            let listener = destination
                .receivers
                .iter()
                .filter_map(|&i| result.live.get(i))
                .map(|s| {
                    format!(
                        "{} {}  {}",
                        endpoint(s.local_address, s.local_port, s.device_shown()),
                        takes(s),
                        crate::bind::explain::holder_name(s)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            let mut row = vec![
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
            ];
            if show_probe {
                row.push(Cell::new(answers(destination.probe.as_ref())));
            }
            row
        })
    };
    out.push_str(&render(&header, style, rows));
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
    if let Some(view) = &result.dns {
        // "none" only when DNS said so: a question it never answered is
        // not an empty answer.
        let list = |record: &str, addresses: &[std::net::IpAddr]| {
            let unanswered = view.errors.iter().any(|e| {
                e.strip_prefix(record)
                    .is_some_and(|rest| rest.starts_with(':'))
            });
            if addresses.is_empty() && unanswered {
                "no answer".to_owned()
            } else if addresses.is_empty() {
                "none".to_owned()
            } else {
                addresses
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let _ = writeln!(
            out,
            "dns ({}): A {}; AAAA {}",
            view.servers.join(", "),
            list("A", &view.a),
            list("AAAA", &view.aaaa)
        );
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
        if result.cannot_tell() {
            // Another host's sockets are not seen: no verdict of failure.
            let _ = writeln!(
                out,
                "→ cannot tell from here whether anything accepts {}:{port}: the destinations on another host could not be checked (--probe or --connect asks them)",
                result.config.query.host
            );
            return out;
        }
        let _ = writeln!(
            out,
            "→ nothing accepts {}: every client fails",
            result.config.query.shown()
        );
        return out;
    };
    let names: Vec<String> = reached
        .receivers
        .iter()
        .filter_map(|&i| result.live.get(i))
        .map(crate::bind::explain::holder_name)
        .collect();
    let who = match (reached.delivery, names.as_slice()) {
        (_, []) => "an unseen listener".to_owned(),
        (Some(Delivery::Hash), all) => format!(
            "one of {} ({}), per connection by a hash of the client's address and port (not round robin, not the newest; a steering BPF program attached to the group, which the socket table does not show, would decide instead)",
            all.len(),
            all.join(", ")
        ),
        (Some(Delivery::Newest), [newest, ..]) => format!(
            "{newest}, the most recently bound of the sockets sharing it by SO_REUSEADDR: Linux gives it every unicast datagram, the older ones none"
        ),
        (None, all) if all.len() > 1 => format!(
            "one of {} ({}); which one could not be told",
            all.len(),
            all.join(", ")
        ),
        (_, [one, ..]) => one.clone(),
    };
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
            "  a client that tries only the first address fails with ECONNREFUSED {}; one that falls back to the next address reaches the above",
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
