//! `portcheck why`: paste the error, get the diagnosis.
//!
//! Read the message (arguments or standard input) and recognise every
//! line a format knows ([`patterns`], [`input`]), with the sockets the
//! program announced before it ([`announce`]); fill what each leaves out
//! from neighbouring lines, flags and the runtime's defaults
//! ([`recognise`], [`runtime`]); diagnose on this host with the engines that
//! exist, `try` for a bind failure and `resolve` for a connect failure
//! ([`diagnose`]); then suggest fixes as commands, never actions
//! ([`fixes`]).

pub mod announce;
pub mod diagnose;
pub mod fixes;
pub mod input;
pub mod nearby;
pub mod patterns;
pub mod recognise;
pub mod runtime;

use std::fmt;
use std::io::IsTerminal;
use std::net::IpAddr;

use crate::error::Error;
use crate::sockets::SocketSource;
use crate::warning::Warning;
use diagnose::{Diagnosis, Status};
use fixes::Fix;
use recognise::Recognised;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyConfig {
    /// The message from the arguments; `None`: read standard input.
    pub message: Option<String>,
    /// `--port`: fills (or overrides) the message's port.
    pub port: Option<u16>,
    /// `--address`: fills (or overrides) the message's address.
    pub address: Option<Host>,
    /// `-t`/`-u`: the protocol, where the message does not say it (or to
    /// check the other).
    pub protocol: Option<crate::model::Protocol>,
    /// Confirm a bind prediction with `try`'s safe trial.
    pub trial: bool,
}

/// An address or a name, as a message or `--address` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// Parses `--address`: an IP address (brackets allowed) or a host name.
pub fn parse_address(text: &str) -> Result<Host, Error> {
    match patterns::parse_host(text) {
        Some(patterns::HostText::Ip(ip)) => Ok(Host::Ip(ip)),
        Some(patterns::HostText::Name(name)) => Ok(Host::Name(name)),
        Some(patterns::HostText::Wildcard) | None => Err(Error::BadArgument {
            flag: "--address",
            value: text.to_owned(),
            why: "write an IP address (0.0.0.0, ::, 127.0.0.1, [::1]) or a host name".into(),
        }),
    }
}

/// One failure line, diagnosed.
#[derive(Debug, Clone)]
pub struct Diagnosed {
    pub recognised: Recognised,
    pub diagnosis: Diagnosis,
    pub fixes: Vec<Fix>,
}

#[derive(Debug, Clone)]
pub struct WhyResult {
    pub recognised: Recognised,
    pub diagnosis: Diagnosis,
    pub fixes: Vec<Fix>,
    /// The other failure lines of the input, each diagnosed (repeats of
    /// one already diagnosed are left out).
    pub also: Vec<Diagnosed>,
    pub warnings: Vec<Warning>,
}

impl crate::exit::CommandResult for WhyResult {
    const NAME: &'static str = "why";

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    fn warnings_mut(&mut self) -> &mut Vec<Warning> {
        &mut self.warnings
    }

    /// Met: the cause is on this host now (a holder, or the program's own
    /// earlier socket); not: recognised, but the cause is not here now
    /// (gone, or out of sight on another host). Decided by the first
    /// failure.
    fn exit_code(&self) -> crate::exit::Exit {
        crate::exit::Exit::met(matches!(
            self.diagnosis.status,
            Status::Present | Status::OwnSocket
        ))
    }
}

pub fn run(config: &WhyConfig, source: &dyn SocketSource) -> Result<WhyResult, Error> {
    let matcher = patterns::matcher();
    let scan = if let Some(text) = &config.message {
        input::scan_text(text, matcher)
    } else {
        if std::io::stdin().is_terminal() {
            return Err(Error::NotRecognised(
                "no message: give it as an argument (portcheck why 'listen EADDRINUSE: address already in use :::3000') or pipe it (npm start 2>&1 | portcheck why)".into(),
            ));
        }
        input::scan_stdin(matcher)
    }
    .map_err(|e| Error::io("reading the message", e))?;
    let Some((first, rest)) = scan.found.split_first() else {
        return Err(Error::NotRecognised(not_recognised(&scan)));
    };
    let (first, mut warnings) = recognise::recognise(first, config, matcher)?;
    // Repeats are left out before any is diagnosed: nginx retries each
    // bind five times, and each diagnosis is a `try` with a trial.
    let mut seen = vec![first.clone()];
    let mut others = Vec::new();
    for found in rest {
        match recognise::recognise(found, config, matcher) {
            Ok((recognised, more)) => {
                if !seen.iter().any(|r| same_failure(r, &recognised)) {
                    seen.push(recognised.clone());
                    warnings.extend(more);
                    others.push(recognised);
                }
            }
            Err(error) => warnings.push(Warning::note(
                "line_not_diagnosed",
                format!("line {}: {error}", found.line.number),
            )),
        }
    }
    let primary = diagnose_line(first, config, source, &mut warnings)?;
    let mut also = Vec::new();
    for recognised in others {
        let line = recognised.line;
        match diagnose_line(recognised, config, source, &mut warnings) {
            Ok(diagnosed) => also.push(diagnosed),
            Err(error) => warnings.push(Warning::note(
                "line_not_diagnosed",
                format!("line {line}: {error}"),
            )),
        }
    }
    warnings.sort();
    warnings.dedup();
    Ok(WhyResult {
        recognised: primary.recognised,
        diagnosis: primary.diagnosis,
        fixes: primary.fixes,
        also,
        warnings,
    })
}

/// Diagnoses one recognised failure line and suggests fixes.
fn diagnose_line(
    recognised: Recognised,
    config: &WhyConfig,
    source: &dyn SocketSource,
    warnings: &mut Vec<Warning>,
) -> Result<Diagnosed, Error> {
    let diagnosis = diagnose::diagnose(&recognised, config, source)?;
    let fixes = fixes::suggest(&recognised, &diagnosis, source);
    warnings.extend(diagnosis.warnings.iter().cloned());
    Ok(Diagnosed {
        recognised,
        diagnosis,
        fixes,
    })
}

/// The same failure of the same socket (nginx retries each bind five
/// times; Spring says it twice).
fn same_failure(a: &Recognised, b: &Recognised) -> bool {
    a.failure == b.failure
        && a.protocol == b.protocol
        && a.check_host == b.check_host
        && a.check_port == b.check_port
}

/// Says what was read and what was expected.
fn not_recognised(scan: &input::Scan) -> String {
    let read = if scan.lines == 0 {
        "the input is empty".to_owned()
    } else if scan.binary {
        format!(
            "no line of the input ({} lines, binary data) reports a bind or connect failure",
            scan.lines
        )
    } else {
        format!(
            "no line of the input ({}) reports a bind or connect failure",
            crate::warning::counted(scan.lines, "line", "lines")
        )
    };
    let capped = if scan.capped {
        format!(
            " (only the first {} MiB were read)",
            input::MAX_INPUT_BYTES / (1024 * 1024)
        )
    } else {
        String::new()
    };
    format!(
        "{read}{capped}; expected a message such as 'listen EADDRINUSE: address already in use :::3000', 'listen tcp :8080: bind: address already in use', 'bind() to 0.0.0.0:80 failed (98: Address already in use)' or 'connect ECONNREFUSED ::1:3000' (portcheck why --help lists every format); for a bare 'Address already in use', add the port: portcheck why --port PORT 'Address already in use'"
    )
}
