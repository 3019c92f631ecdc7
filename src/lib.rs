//! portcheck explains port conflicts from the kernel's own data.
//!
//! The binary is a thin wrapper over [`run`]: parse the command line into a
//! [`config::Config`], run one command (gather facts, decide), and render its
//! [`report::Report`] as a table or as JSON.

pub mod bind;
pub mod cli;
pub(crate) mod config;
pub(crate) mod elsewhere;
pub(crate) mod error;
pub(crate) mod exit;
pub(crate) mod free;
pub(crate) mod hostport;
pub mod model;
#[cfg(target_os = "linux")]
pub(crate) mod netns;
pub(crate) mod platform;
pub(crate) mod probe;
pub(crate) mod report;
pub mod resolve;
pub(crate) mod reuseport;
pub mod sockets;
pub(crate) mod stop;
pub mod target;
pub mod text;
pub(crate) mod wait;
pub(crate) mod warning;
pub(crate) mod who;
pub mod why;

use std::ffi::OsString;
use std::io::{self, Write};

use clap::Parser;

use crate::cli::Cli;
use crate::config::{CommandConfig, Config};
use crate::error::Error;
use crate::exit::Exit;
use crate::platform::Platform;
use crate::report::{Report, json, table};

/// Whether `--json` was asked for, before a `--` that ends the options: a
/// usage error is then a JSON error document too.
fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|arg| *arg != "--")
        .any(|arg| arg == "--json")
}

/// Runs portcheck with these arguments and returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_args(&args.into_iter().map(Into::into).collect::<Vec<_>>()).code()
}

fn run_args(args: &[OsString]) -> Exit {
    let cli = match Cli::try_parse_from(args).and_then(Cli::check_conflicts) {
        Ok(cli) => cli,
        Err(error) => {
            // Usage errors exit 2; --help and --version exit 0.
            let _ = error.print();
            if error.use_stderr() && wants_json(args) {
                let rendered = error.render().to_string();
                let first = rendered.lines().next().unwrap_or_default();
                write_error_document(
                    cli::subcommand_named(args).unwrap_or("portcheck"),
                    "usage",
                    first.strip_prefix("error: ").unwrap_or(first).to_owned(),
                );
            }
            return if error.use_stderr() {
                Exit::Error
            } else {
                Exit::Ok
            };
        }
    };
    let json_output = cli.json_output();
    let command = cli.command_name();
    match Config::from_cli(cli).and_then(|config| execute(&config).map(|report| (config, report))) {
        Ok((config, report)) => {
            let code = match &config.output {
                // `--output FILE`: whole or not at all.
                Some(path) => match report::output::write_atomically(path, |out| {
                    render(&config, &report, out)
                }) {
                    Ok(()) => report.exit_code(),
                    Err(error) => {
                        return fail(
                            json_output,
                            command,
                            &Error::io(format!("writing {}", path.display()), error),
                        );
                    }
                },
                // Streamed: a large table is never held twice in memory.
                None => finish_output(
                    render(
                        &config,
                        &report,
                        &mut io::BufWriter::new(io::stdout().lock()),
                    ),
                    report.exit_code(),
                ),
            };
            if !config.json && config.metrics.is_none() {
                // Notes that must not mix with the output (free's race note).
                let _ = io::stderr().write_all(report.notes(table::Style::PLAIN).as_bytes());
            }
            code
        }
        Err(error) => fail(json_output, command, &error),
    }
}

/// Writes the report in the format asked for, and flushes it.
fn render(config: &Config, report: &Report, out: &mut dyn Write) -> io::Result<()> {
    match (config.metrics, report) {
        (Some(flavour), Report::Who(result)) => report::openmetrics::write(out, result, flavour),
        _ if config.json => report.write_json(out),
        _ => {
            out.write_all(
                report
                    .to_human(table::Style {
                        color: config.color,
                        width: config.width,
                        wide: config.wide,
                    })
                    .as_bytes(),
            )?;
            out.flush()
        }
    }
}

/// Reports an error (a JSON error document under `--json`, else a line on
/// stderr) and returns its exit code.
fn fail(json_output: bool, command: &'static str, error: &Error) -> Exit {
    if json_output {
        write_error_document(command, error.code(), error.to_string());
    } else {
        let _ = io::stderr()
            .write_all(table::error(&error.to_string(), table::Style::PLAIN).as_bytes());
    }
    // Errors exit 2 in every command.
    Exit::Error
}

/// The JSON error document on stdout (`--json`): for usage errors and for
/// errors of a command alike.
fn write_error_document(command: &'static str, code: &'static str, message: String) {
    let document = json::ErrorDoc {
        schema_version: json::SCHEMA_VERSION,
        command,
        origin: json::MadeOn::here(),
        error: json::ErrorBody { code, message },
    };
    let mut stdout = io::stdout().lock();
    let _ = json::write(&mut stdout, &document).and_then(|()| stdout.flush());
}

fn execute(config: &Config) -> Result<Report, Error> {
    if let Some(spec) = &config.netns {
        // Before anything reads sockets or starts a thread: threads started
        // later inherit the namespace.
        platform::Os::enter_netns(spec)?;
    }
    let source = sockets::source_from_env()?;
    let source = source.as_ref();
    let mut report = run_command(config, source)?;
    // Once per run, however many dumps the command made.
    let gaps = source.warnings();
    if !gaps.is_empty() {
        let warnings = report.warnings_mut();
        warnings.extend(gaps);
        warnings.sort();
        warnings.dedup();
    }
    Ok(report)
}

fn run_command(config: &Config, source: &dyn sockets::SocketSource) -> Result<Report, Error> {
    match &config.command {
        CommandConfig::Who(c) => who::run(c, source).map(Report::Who),
        CommandConfig::Try(c) => bind::run(c, source).map(Report::Try),
        CommandConfig::TryPort(c) => bind::slots::run(c, source).map(Report::Try),
        CommandConfig::Resolve(c) => resolve::run(c, source).map(Report::Resolve),
        CommandConfig::Free(c) => free::run(c, source).map(Report::Free),
        CommandConfig::Wait(c) => wait::run(c, source).map(Report::Wait),
        CommandConfig::Why(c) => why::run(c, source).map(|r| Report::Why(Box::new(r))),
        CommandConfig::Stop(c) => stop::run(c, source).map(|r| Report::Stop(Box::new(r))),
    }
}

/// The exit code once the output is written: a closed pipe keeps the
/// command's own code, any other write error is an error.
fn finish_output(written: io::Result<()>, exit_code: Exit) -> Exit {
    match written {
        Ok(()) => exit_code,
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => exit_code,
        Err(_) => Exit::Error,
    }
}
