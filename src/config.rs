//! The validated invocation: every conversion from the command line's clap
//! types into the commands' configurations, and the reads they need (plan
//! files, standard input, the environment, the terminal). Nothing here is
//! clap's own: [`crate::cli`] defines the command line, this module decides
//! what it asks for.

use std::io::IsTerminal;
use std::path::PathBuf;

use crate::bind::TryConfig;
use crate::bind::candidate::{OptionChoices, parse_bare_port, parse_candidate, parse_plan};
use crate::cli::{
    Cli, ColorChoice, CommandArgs, FormatArg, FreeArgs, SocketKinds, StopArgs, TryArgs, UntilArg,
    WaitArgs, WhoArgs, WhyArgs,
};
use crate::error::Error;
use crate::free::FreeConfig;
use crate::model::{Family, Protocol};
use crate::resolve::ResolveConfig;
use crate::resolve::input::parse_query;
use crate::stop::{StopConfig, StopSignal};
use crate::target::{parse_port_range, parse_target};
use crate::wait::{Until, WaitConfig};
use crate::who::WhoConfig;
use crate::why::WhyConfig;

/// A validated invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The output is JSON (`--json`, or `who --format json`).
    pub json: bool,
    /// `who --format openmetrics|prometheus`; `None` for a table or JSON.
    pub metrics: Option<crate::report::openmetrics::Flavour>,
    /// `who --output FILE`: where the output goes, atomically.
    pub output: Option<PathBuf>,
    pub color: bool,
    /// The width tables are fitted to: the terminal's, unless `--wide` or
    /// stdout is not a terminal.
    pub width: Option<usize>,
    /// `--wide`: every cell whole (command lines too).
    pub wide: bool,
    /// The network namespace to enter first.
    pub netns: Option<String>,
    pub command: CommandConfig,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandConfig {
    Who(WhoConfig),
    Try(TryConfig),
    /// `try PORT`: every slot of one port, each on its own.
    TryPort(crate::bind::slots::PortMapConfig),
    Resolve(ResolveConfig),
    Free(FreeConfig),
    Wait(WaitConfig),
    Why(WhyConfig),
    Stop(StopConfig),
}

impl Config {
    /// Validates a parsed command line (reading what it names: a plan
    /// file, standard input, the terminal) into the invocation to run.
    pub fn from_cli(cli: Cli) -> Result<Config, Error> {
        let color = resolve_color(cli.color);
        let json = cli.json_output();
        let (metrics, output) = match &cli.command {
            CommandArgs::Who(args) => (
                match args.format {
                    Some(FormatArg::OpenMetrics) => {
                        Some(crate::report::openmetrics::Flavour::OpenMetrics)
                    }
                    Some(FormatArg::Prometheus) => {
                        Some(crate::report::openmetrics::Flavour::Prometheus)
                    }
                    _ => None,
                },
                args.output.clone(),
            ),
            _ => (None, None),
        };
        let command = match cli.command {
            CommandArgs::Who(args) => CommandConfig::Who(who_config(&args)?),
            CommandArgs::Try(args) => try_command(&args)?,
            CommandArgs::Resolve(args) => CommandConfig::Resolve(ResolveConfig {
                query: parse_query(&args.host, args.port.as_deref())?,
                protocol: if args.udp {
                    Protocol::Udp
                } else {
                    Protocol::Tcp
                },
                connect: args.connect,
                dns: args.dns || args.dns_server.is_some(),
                dns_server: args
                    .dns_server
                    .as_deref()
                    .map(parse_dns_server)
                    .transpose()?,
                probe: args.probe,
            }),
            CommandArgs::Free(args) => CommandConfig::Free(free_config(&args)?),
            CommandArgs::Wait(args) => CommandConfig::Wait(wait_config(&args)?),
            CommandArgs::Why(args) => CommandConfig::Why(why_config(&args)?),
            CommandArgs::Stop(args) => CommandConfig::Stop(stop_config(&args)?),
        };
        Ok(Config {
            json,
            metrics,
            // Colour is for a terminal, never for a file.
            color: color && output.is_none(),
            // A file gets the whole table, as a pipe does.
            width: if cli.wide || output.is_some() {
                None
            } else {
                terminal_width()
            },
            wide: cli.wide,
            output,
            netns: cli.netns,
            command,
        })
    }
}

impl SocketKinds {
    fn protocols(&self) -> Vec<Protocol> {
        chosen(
            &[(self.tcp, Protocol::Tcp), (self.udp, Protocol::Udp)],
            &Protocol::ALL,
        )
    }

    fn families(&self) -> Vec<Family> {
        chosen(
            &[(self.ipv4, Family::Ipv4), (self.ipv6, Family::Ipv6)],
            &Family::ALL,
        )
    }
}

fn who_config(args: &WhoArgs) -> Result<WhoConfig, Error> {
    let targets = args
        .targets
        .iter()
        .map(|text| parse_target(text))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(WhoConfig {
        targets,
        protocols: args.kinds.protocols(),
        families: args.kinds.families(),
        all: args.all,
        all_netns: args.all_netns,
        probe: args.probe,
    })
}

/// `try CANDIDATE...`, or `try PORT` (`tcp:PORT`, `udp:PORT`) alone.
fn try_command(args: &TryArgs) -> Result<CommandConfig, Error> {
    let bare: Vec<_> = args
        .candidates
        .iter()
        .filter_map(|text| parse_bare_port(text))
        .collect();
    let Some(first) = bare.into_iter().next() else {
        return try_config(args).map(CommandConfig::Try);
    };
    let (protocol, port) = first?;
    if args.candidates.len() > 1 || args.file.is_some() {
        return Err(Error::BadCandidate {
            context: "candidate".to_owned(),
            candidate: args.candidates.join(" "),
            why: "a port alone checks every slot of that port, so it comes alone (no other candidate, no --file)".to_owned(),
        });
    }
    let protocols = match protocol {
        Some(protocol) => vec![protocol],
        // -u alone narrows to UDP; -t is the default, and a bare port
        // without either means both.
        None if args.udp => vec![Protocol::Udp],
        None if args.tcp => vec![Protocol::Tcp],
        None => vec![Protocol::Tcp, Protocol::Udp],
    };
    Ok(CommandConfig::TryPort(crate::bind::slots::PortMapConfig {
        port,
        protocols,
        defaults: try_defaults(args),
        trial: !args.no_trial,
    }))
}

fn try_config(args: &TryArgs) -> Result<TryConfig, Error> {
    let mut specs = args
        .candidates
        .iter()
        .map(|text| parse_candidate(text, "candidate"))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(path) = &args.file {
        let name = path.display().to_string();
        let text = if name == "-" {
            std::io::read_to_string(std::io::stdin())
                .map_err(|e| Error::io("reading the plan from stdin", e))?
        } else {
            std::fs::read_to_string(path)
                .map_err(|e| Error::io(format!("reading the plan {name}"), e))?
        };
        specs.extend(parse_plan(&text, &name)?);
    }
    if specs.is_empty() {
        return Err(Error::NoCandidates);
    }
    Ok(TryConfig {
        specs,
        defaults: try_defaults(args),
        default_protocol: if args.udp {
            Protocol::Udp
        } else {
            Protocol::Tcp
        },
        trial: !args.no_trial,
    })
}

/// The options `try`'s flags set for every candidate.
fn try_defaults(args: &TryArgs) -> OptionChoices {
    let flag = |on: bool, off: bool| {
        if on {
            Some(true)
        } else if off {
            Some(false)
        } else {
            None
        }
    };
    OptionChoices {
        v6only: flag(args.v6only, args.dual_stack),
        reuseaddr: flag(args.reuseaddr, args.no_reuseaddr),
        reuseport: args.reuseport.then_some(true),
        listen: args.no_listen.then_some(false),
        freebind: None,
        device: None,
    }
}

fn free_config(args: &FreeArgs) -> Result<FreeConfig, Error> {
    let range = args
        .range
        .as_deref()
        .map(|text| {
            parse_port_range(text).map_err(|why| Error::BadArgument {
                flag: "--range",
                value: text.to_owned(),
                why,
            })
        })
        .transpose()?;
    if args.count == 0 {
        return Err(Error::BadArgument {
            flag: "--count",
            value: "0".into(),
            why: "ask for at least one port".into(),
        });
    }
    let protocols = chosen(
        &[(args.tcp, Protocol::Tcp), (args.udp, Protocol::Udp)],
        &[Protocol::Tcp],
    );
    Ok(FreeConfig {
        range,
        protocols,
        count: args.count,
    })
}

fn duration(flag: &'static str, text: &str) -> Result<std::time::Duration, Error> {
    let bad = |why: String| Error::BadArgument {
        flag,
        value: text.to_owned(),
        why,
    };
    // A bare number is seconds, as in `timeout 30`.
    let parsed = match text.parse::<u64>() {
        Ok(seconds) => Ok(std::time::Duration::from_secs(seconds)),
        Err(_) => humantime::parse_duration(text)
            .map_err(|e| bad(format!("{e}; write e.g. 30s, 500ms or 2m"))),
    }?;
    if parsed.is_zero() && flag == "--interval" {
        return Err(bad("the interval must be more than 0".into()));
    }
    Ok(parsed)
}

fn wait_config(args: &WaitArgs) -> Result<WaitConfig, Error> {
    let (target, name) = match parse_target(&args.target) {
        Ok(target) => (target, None),
        Err(error) => match crate::wait::name_target(&args.target) {
            Some((target, name)) => (target, Some(name)),
            None => return Err(error),
        },
    };
    if target.ports.is_none() {
        return Err(Error::BadTarget {
            target: args.target.clone(),
            why: "wait needs a port: PORT, ADDRESS:PORT, [IPV6]:PORT or NAME:PORT".into(),
        });
    }
    Ok(WaitConfig {
        who: WhoConfig {
            targets: vec![target],
            // TCP unless -u, as `free`: a UDP socket on the port is no
            // server accepting connections.
            protocols: chosen(
                &[
                    (args.kinds.tcp, Protocol::Tcp),
                    (args.kinds.udp, Protocol::Udp),
                ],
                &[Protocol::Tcp],
            ),
            families: args.kinds.families(),
            all: false,
            all_netns: false,
            probe: false,
        },
        name,
        until: match args.until {
            UntilArg::Listening => Until::Listening,
            UntilArg::Free => Until::Free,
        },
        timeout: duration("--timeout", &args.timeout)?,
        interval: duration("--interval", &args.interval)?,
    })
}

fn stop_config(args: &StopArgs) -> Result<StopConfig, Error> {
    let mut targets = Vec::new();
    let mut prefixed = Vec::new();
    for text in &args.targets {
        let (protocol, bare) = match text.split_once(':') {
            Some(("tcp", rest)) => (Some(Protocol::Tcp), rest),
            Some(("udp", rest)) => (Some(Protocol::Udp), rest),
            _ => (None, text.as_str()),
        };
        prefixed.extend(protocol);
        let mut target = parse_target(bare)?;
        target.text.clone_from(text);
        if target.ports.is_none() {
            return Err(Error::BadTarget {
                target: text.clone(),
                why: "stop needs a port: PORT, ADDRESS:PORT or [IPV6]:PORT".into(),
            });
        }
        targets.push(target);
    }
    prefixed.sort();
    prefixed.dedup();
    if prefixed.len() > 1 {
        return Err(Error::BadArgument {
            flag: "TARGET",
            value: args.targets.join(" "),
            why: "tcp: and udp: targets are stopped in separate runs".into(),
        });
    }
    let protocols = if prefixed.is_empty() {
        args.kinds.protocols()
    } else {
        prefixed
    };
    let signal = StopSignal::parse(&args.signal).ok_or_else(|| Error::BadArgument {
        flag: "--signal",
        value: args.signal.clone(),
        why: "give one of TERM, INT, HUP, QUIT, USR1, USR2, KILL (SIG prefix optional)".into(),
    })?;
    Ok(StopConfig {
        who: WhoConfig {
            targets,
            protocols,
            families: args.kinds.families(),
            all: false,
            all_netns: false,
            probe: false,
        },
        dry_run: args.dry_run,
        yes: args.yes,
        signal,
        grace: duration("--grace", &args.grace)?,
        escalate: !args.no_escalate,
        parent: args.parent,
        respawn_window: duration("--respawn-window", &args.respawn_window)?,
        interactive: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
    })
}

fn why_config(args: &WhyArgs) -> Result<WhyConfig, Error> {
    let port = args
        .port
        .as_deref()
        .map(|text| {
            crate::target::port_number(text)
                .and_then(|port| match port {
                    0 => Err("port 0 is never held: give the port the program used".into()),
                    port => Ok(port),
                })
                .map_err(|why| Error::BadArgument {
                    flag: "--port",
                    value: text.to_owned(),
                    why,
                })
        })
        .transpose()?;
    Ok(WhyConfig {
        message: (!args.message.is_empty()).then(|| args.message.join(" ")),
        port,
        address: args
            .address
            .as_deref()
            .map(crate::why::parse_address)
            .transpose()?,
        protocol: if args.udp {
            Some(Protocol::Udp)
        } else if args.tcp {
            Some(Protocol::Tcp)
        } else {
            None
        },
        trial: !args.no_trial,
    })
}

/// `ADDRESS` or `ADDRESS:PORT` (`[v6]:port`) of a nameserver; port 53 by default.
fn parse_dns_server(text: &str) -> Result<std::net::SocketAddr, Error> {
    if let Ok(address) = text.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(address, 53));
    }
    text.parse().map_err(|_| Error::BadHost {
        input: text.to_owned(),
        why: "--dns-server takes ADDRESS or ADDRESS:PORT ([v6]:port), e.g. 127.0.0.1:5353".into(),
    })
}

/// The flagged values, or every value when none is flagged (as `ss -t -u`).
fn chosen<T: Copy>(flags: &[(bool, T)], every: &[T]) -> Vec<T> {
    let picked: Vec<T> = flags
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, v)| *v)
        .collect();
    if picked.is_empty() {
        every.to_vec()
    } else {
        picked
    }
}

/// The columns of the terminal stdout is, as the kernel keeps them
/// (TIOCGWINSZ); `None` when stdout is no terminal or reports no size.
fn terminal_width() -> Option<usize> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    #[cfg(unix)]
    {
        rustix::termios::tcgetwinsize(&stdout)
            .ok()
            .map(|size| usize::from(size.ws_col))
            .filter(|&columns| columns > 0)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

fn resolve_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(args: &[&str]) -> Result<Config, Error> {
        let cli = Cli::try_parse_from(args).map_err(|e| Error::Unsupported(e.to_string()))?;
        Config::from_cli(cli)
    }

    #[test]
    fn json_is_accepted_before_and_after_the_subcommand() {
        for args in [
            ["portcheck", "--json", "who"],
            ["portcheck", "who", "--json"],
        ] {
            assert!(config(&args).expect("parses").json);
        }
    }

    #[test]
    fn protocol_and_family_flags_narrow_the_default_of_both() {
        let Ok(Config {
            command: CommandConfig::Who(who),
            ..
        }) = config(&["portcheck", "who", "-u", "-6"])
        else {
            panic!("who parses");
        };
        assert_eq!(who.protocols, vec![Protocol::Udp]);
        assert_eq!(who.families, vec![Family::Ipv6]);
        let Ok(Config {
            command: CommandConfig::Who(who),
            ..
        }) = config(&["portcheck", "who"])
        else {
            panic!("who parses");
        };
        assert_eq!(who.protocols, Protocol::ALL.to_vec());
        assert_eq!(who.families, Family::ALL.to_vec());
    }

    #[test]
    fn probe_is_part_of_who_and_resolve_and_nothing_else() {
        let probe_of = |args: &[&str]| match config(args).expect("parses").command {
            CommandConfig::Who(who) => Some(who.probe),
            CommandConfig::Resolve(resolve) => Some(resolve.probe),
            _ => None,
        };
        assert_eq!(
            probe_of(&["portcheck", "who", "8000", "--probe"]),
            Some(true)
        );
        assert_eq!(probe_of(&["portcheck", "who", "8000"]), Some(false));
        assert_eq!(
            probe_of(&["portcheck", "resolve", "127.0.0.1:8000", "--probe"]),
            Some(true)
        );
        assert_eq!(
            probe_of(&["portcheck", "resolve", "127.0.0.1:8000"]),
            Some(false)
        );
        // wait and stop look with who's eyes but never probe.
        for args in [["portcheck", "wait", "8000"], ["portcheck", "stop", "8000"]] {
            let (CommandConfig::Wait(WaitConfig { who, .. })
            | CommandConfig::Stop(StopConfig { who, .. })) = config(&args).expect("parses").command
            else {
                panic!("{args:?} parses as itself");
            };
            assert!(!who.probe, "{args:?}");
        }
    }
}
