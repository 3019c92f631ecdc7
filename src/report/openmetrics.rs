//! `who` as metrics for Prometheus: OpenMetrics 1.0 text
//! (`--format openmetrics`, what a scrape with
//! `Accept: application/openmetrics-text` gets) or the Prometheus text
//! format 0.0.4 (`--format prometheus`, what node_exporter's textfile
//! collector reads from `*.prom` files: its parser knows no `info` type and
//! refuses such a file; tests/cli/metrics.rs runs both through promtool
//! and a real node_exporter).
//!
//! One series per socket and holding process:
//! `portcheck_socket_info{protocol,address,port,state,takes,process,pid,
//! user,container,netns,inode,remote} 1`, then `portcheck_complete` and
//! `portcheck_warnings{code}`. Label values that a process or an
//! administrator chose (process names, namespace names, container ids) are
//! escaped as tables escape them (`text::escape`: no control character,
//! escape sequence or bidirectional override survives, so `cat` of the
//! file is safe), and then as the format requires (`\\`, `\"`, `\n`).

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::model::{Process, Socket};
use crate::who::WhoResult;

/// Which text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// OpenMetrics 1.0: `info` type, `# EOF` at the end.
    OpenMetrics,
    /// Prometheus text format 0.0.4: `gauge` throughout, no `# EOF`.
    Prometheus,
}

/// Longest label value taken from untrusted text, in characters.
const UNTRUSTED_MAX: usize = 128;

pub fn write(out: &mut dyn Write, result: &WhoResult, flavour: Flavour) -> io::Result<()> {
    let (info_type, info_family) = match flavour {
        Flavour::OpenMetrics => ("info", "portcheck_socket"),
        Flavour::Prometheus => ("gauge", "portcheck_socket_info"),
    };
    writeln!(
        out,
        "# HELP {info_family} A socket that holds a port (or, with --all, any socket), once per holding process."
    )?;
    writeln!(out, "# TYPE {info_family} {info_type}")?;
    // Identical label sets are one series: a format allows each once.
    let mut seen = HashSet::new();
    let mut line = String::new();
    for socket in &result.sockets {
        let holders: Vec<Option<&Process>> = if socket.processes.is_empty() {
            vec![None]
        } else {
            socket.processes.iter().map(Some).collect()
        };
        for process in holders {
            line.clear();
            line.push_str("portcheck_socket_info");
            labels(&mut line, &socket_labels(socket, process));
            if seen.insert(line.clone()) {
                writeln!(out, "{line} 1")?;
            }
        }
    }

    writeln!(
        out,
        "# HELP portcheck_complete 1 when portcheck saw everything it looked for, 0 when a warning says what it could not see."
    )?;
    writeln!(out, "# TYPE portcheck_complete gauge")?;
    writeln!(out, "portcheck_complete {}", u8::from(result.complete()))?;

    writeln!(
        out,
        "# HELP portcheck_warnings Warnings of the run, by stable code."
    )?;
    writeln!(out, "# TYPE portcheck_warnings gauge")?;
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for warning in &result.warnings {
        *by_code.entry(warning.code).or_default() += 1;
    }
    for (code, count) in by_code {
        line.clear();
        line.push_str("portcheck_warnings");
        labels(&mut line, &[("code", code.to_owned())]);
        writeln!(out, "{line} {count}")?;
    }

    writeln!(
        out,
        "# HELP portcheck_unlisted_sockets Matching sockets counted but not listed (connections, TIME_WAIT without --all), by state."
    )?;
    writeln!(out, "# TYPE portcheck_unlisted_sockets gauge")?;
    for (state, count) in &result.unlisted {
        line.clear();
        line.push_str("portcheck_unlisted_sockets");
        labels(&mut line, &[("state", state.name().to_owned())]);
        writeln!(out, "{line} {count}")?;
    }

    if flavour == Flavour::OpenMetrics {
        writeln!(out, "# EOF")?;
    }
    out.flush()
}

/// The labels of one series, in a fixed order. Unknown is the empty
/// string, which Prometheus treats as an absent label.
fn socket_labels(socket: &Socket, process: Option<&Process>) -> [(&'static str, String); 12] {
    let untrusted = |text: &str| crate::text::untrusted(text, UNTRUSTED_MAX);
    let or_empty = |value: Option<String>| value.unwrap_or_default();
    [
        ("protocol", socket.protocol.name().to_owned()),
        ("address", socket.local_address.to_string()),
        ("port", socket.local_port.to_string()),
        ("state", socket.state.name().to_owned()),
        ("takes", super::table::takes(socket)),
        (
            "process",
            or_empty(
                process
                    .and_then(|p| p.name.as_ref())
                    .map(|name| name.escaped(UNTRUSTED_MAX)),
            ),
        ),
        ("pid", or_empty(process.map(|p| p.pid.to_string()))),
        (
            "user",
            or_empty(
                socket
                    .user
                    .as_deref()
                    .map(untrusted)
                    .or(socket.uid.map(|uid| uid.to_string())),
            ),
        ),
        (
            "container",
            or_empty(
                process
                    .and_then(|p| p.container.as_ref())
                    .map(|c| untrusted(&format!("{}:{}", c.runtime, c.id))),
            ),
        ),
        (
            "netns",
            or_empty(
                socket
                    .netns_name
                    .as_deref()
                    .or(socket.netns.as_deref())
                    .map(untrusted),
            ),
        ),
        ("inode", or_empty(socket.inode.map(|i| i.to_string()))),
        (
            "remote",
            or_empty(
                socket
                    .remote
                    .map(|(address, port)| crate::model::endpoint(address, port, None)),
            ),
        ),
    ]
}

/// `{name="value",...}` with values escaped as both formats require.
fn labels(line: &mut String, pairs: &[(&str, String)]) {
    line.push('{');
    for (index, (name, value)) in pairs.iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        let _ = write!(line, "{name}=\"");
        escape_label_value(line, value);
        line.push('"');
    }
    line.push('}');
}

/// OpenMetrics 1.0 (and the Prometheus text format): in a label value a
/// backslash, a double quote and a line feed are escaped, nothing else.
fn escape_label_value(line: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => line.push_str("\\\\"),
            '"' => line.push_str("\\\""),
            '\n' => line.push_str("\\n"),
            c => line.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(value: &str) -> String {
        let mut out = String::new();
        escape_label_value(&mut out, value);
        out
    }

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escaped(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escaped("a\nb"), "a\\nb");
        assert_eq!(escaped("日本 ä"), "日本 ä");
    }

    #[test]
    fn labels_are_written_in_order() {
        let mut line = String::new();
        labels(
            &mut line,
            &[("code", "x\"y".to_owned()), ("state", String::new())],
        );
        assert_eq!(line, r#"{code="x\"y",state=""}"#);
    }
}
