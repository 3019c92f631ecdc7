//! `try` candidates: `[tcp:|udp:]ADDRESS:PORT[/OPTION[,OPTION]...]`, the
//! options a runtime would set, and plan files of one candidate per line.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use crate::error::Error;
use crate::hostport;
use crate::model::{Protocol, endpoint};

/// The socket options a candidate is bound with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub v6only: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub listen: bool,
    pub freebind: bool,
    pub device: Option<String>,
}

/// Options a user set, on the command line or on one candidate; `None`
/// leaves the runtime default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OptionChoices {
    pub v6only: Option<bool>,
    pub reuseaddr: Option<bool>,
    pub reuseport: Option<bool>,
    pub listen: Option<bool>,
    pub freebind: Option<bool>,
    pub device: Option<String>,
}

impl OptionChoices {
    /// `self` where set, else `fallback`.
    #[must_use]
    pub fn or(&self, fallback: &OptionChoices) -> OptionChoices {
        OptionChoices {
            v6only: self.v6only.or(fallback.v6only),
            reuseaddr: self.reuseaddr.or(fallback.reuseaddr),
            reuseport: self.reuseport.or(fallback.reuseport),
            listen: self.listen.or(fallback.listen),
            freebind: self.freebind.or(fallback.freebind),
            device: self.device.clone().or_else(|| fallback.device.clone()),
        }
    }

    /// The options a typical server runtime on Linux sets: TCP sets
    /// SO_REUSEADDR and listens (Go, Node, nginx, Python's servers); UDP
    /// sets neither; IPV6_V6ONLY follows `net.ipv6.bindv6only`.
    pub fn resolve(&self, protocol: Protocol, bindv6only: bool) -> Options {
        let tcp = protocol == Protocol::Tcp;
        Options {
            v6only: self.v6only.unwrap_or(bindv6only),
            reuseaddr: self.reuseaddr.unwrap_or(tcp),
            reuseport: self.reuseport.unwrap_or(false),
            listen: tcp && self.listen.unwrap_or(true),
            freebind: self.freebind.unwrap_or(false),
            device: self.device.clone(),
        }
    }
}

/// A candidate as written, before defaults are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateSpec {
    pub text: String,
    pub protocol: Option<Protocol>,
    pub address: IpAddr,
    /// The `%zone` of a link-local IPv6 address: the device it is bound to.
    pub scope: Option<String>,
    pub port: u16,
    pub choices: OptionChoices,
}

/// A candidate with every option decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub index: usize,
    pub text: String,
    pub protocol: Protocol,
    pub address: IpAddr,
    pub port: u16,
    pub scope: Option<String>,
    pub options: Options,
}

impl Candidate {
    /// The candidate `spec` describes, as the `index`th of a plan: its own
    /// options, else `defaults` (flags), else the runtime's.
    pub fn from_spec(
        index: usize,
        spec: &CandidateSpec,
        defaults: &OptionChoices,
        default_protocol: Protocol,
        bindv6only: bool,
    ) -> Candidate {
        let protocol = spec.protocol.unwrap_or(default_protocol);
        Candidate {
            index,
            text: spec.text.clone(),
            protocol,
            address: spec.address,
            port: spec.port,
            scope: spec.scope.clone(),
            options: spec.choices.or(defaults).resolve(protocol, bindv6only),
        }
    }

    /// The device the socket ends up bound to: SO_BINDTODEVICE, or the
    /// scope of a link-local address.
    pub fn device(&self) -> Option<&str> {
        self.options.device.as_deref().or(self.scope.as_deref())
    }

    pub fn endpoint(&self) -> String {
        endpoint(self.address, self.port, self.device())
    }

    /// A plan of `texts` in candidate syntax, TCP unless a text says
    /// otherwise, with the runtime's defaults: for the tests of the model
    /// and of `try`.
    #[cfg(test)]
    pub fn plan(texts: &[&str]) -> Vec<Candidate> {
        texts
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let spec = parse_candidate(text, "test").expect("candidate");
                Candidate::from_spec(
                    index,
                    &spec,
                    &OptionChoices::default(),
                    Protocol::Tcp,
                    false,
                )
            })
            .collect()
    }
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.protocol.name(), self.endpoint())
    }
}

/// `PORT`, `tcp:PORT` or `udp:PORT`: a port alone, which `try` reads as
/// "every slot of this port" (see `bind::slots`). `None` when `text` is not
/// of that form (it is then an ordinary candidate); an error for a port
/// alone that is 0 or out of range.
pub fn parse_bare_port(text: &str) -> Option<Result<(Option<Protocol>, u16), Error>> {
    let trimmed = text.trim();
    let (protocol, rest) = match trimmed.split_once(':') {
        Some(("tcp", rest)) => (Some(Protocol::Tcp), rest),
        Some(("udp", rest)) => (Some(Protocol::Udp), rest),
        Some(_) => return None,
        None => (None, trimmed),
    };
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        crate::target::port_number(rest)
            .and_then(|port| match port {
                0 => Err("port 0 has no slots: the kernel picks a port for it".into()),
                port => Ok((protocol, port)),
            })
            .map_err(|why| Error::BadCandidate {
                context: "candidate".to_owned(),
                candidate: trimmed.to_owned(),
                why,
            }),
    )
}

/// Parses one candidate; `context` names where it came from in errors
/// (`"candidate"`, `"plan.txt line 3"`).
pub fn parse_candidate(text: &str, context: &str) -> Result<CandidateSpec, Error> {
    let bad = |why: String| Error::BadCandidate {
        context: context.to_owned(),
        candidate: text.to_owned(),
        why,
    };
    let trimmed = text.trim();
    let (protocol, rest) = if let Some(rest) = trimmed.strip_prefix("tcp:") {
        (Some(Protocol::Tcp), rest)
    } else if let Some(rest) = trimmed.strip_prefix("udp:") {
        (Some(Protocol::Udp), rest)
    } else {
        (None, trimmed)
    };
    let (endpoint_text, options_text) = match rest.split_once('/') {
        Some((endpoint_text, options_text)) => (endpoint_text, Some(options_text)),
        None => (rest, None),
    };
    let (address, scope, port) = parse_endpoint(endpoint_text.trim()).map_err(bad)?;
    let choices = match options_text {
        Some(list) => parse_options(list).map_err(bad)?,
        None => OptionChoices::default(),
    };
    Ok(CandidateSpec {
        text: trimmed.to_owned(),
        protocol,
        address,
        scope,
        port,
        choices,
    })
}

fn parse_endpoint(text: &str) -> Result<(IpAddr, Option<String>, u16), String> {
    if text.is_empty() {
        return Err("it is empty; write ADDRESS:PORT, e.g. 0.0.0.0:8080 or [::]:8080".into());
    }
    let split = hostport::split(text, hostport::Writer::Person)?;
    let (Some(host), Some(port_text)) = (split.host, split.port) else {
        return Err("the port is missing; write ADDRESS:PORT".into());
    };
    let (address_text, scope) = match hostport::split_zone(&host) {
        (_, Some("")) => return Err("the interface after '%' is empty".into()),
        (address, zone) => (address, zone.map(str::to_owned)),
    };
    let address: IpAddr = match address_text {
        // Go's and Node's `:8080` means every address.
        "" | "*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        other => other.parse().map_err(|_| {
            format!(
                "'{other}' is not an IP address; try binds an address, so resolve a name first (`portcheck resolve {other}`)"
            )
        })?,
    };
    if scope.is_some() && !matches!(address, IpAddr::V6(_)) {
        return Err("only an IPv6 address takes a %zone".into());
    }
    let port = parse_port(&port_text)?;
    Ok((address, scope, port))
}

/// Ports for `try` may be 0: the kernel then picks an ephemeral port.
fn parse_port(text: &str) -> Result<u16, String> {
    crate::target::port_number(text).map_err(|why| why.replace("(1-65535)", "(0-65535)"))
}

fn parse_options(list: &str) -> Result<OptionChoices, String> {
    let mut choices = OptionChoices::default();
    for option in list.split(',').map(str::trim) {
        match option {
            "v6only" => choices.v6only = Some(true),
            "dualstack" => choices.v6only = Some(false),
            "reuseaddr" => choices.reuseaddr = Some(true),
            "noreuseaddr" => choices.reuseaddr = Some(false),
            "reuseport" => choices.reuseport = Some(true),
            "listen" => choices.listen = Some(true),
            "nolisten" => choices.listen = Some(false),
            "freebind" => choices.freebind = Some(true),
            other => match other.strip_prefix("device=") {
                Some("") => return Err("device= needs an interface name".into()),
                Some(name) => choices.device = Some(name.to_owned()),
                None => {
                    return Err(format!(
                        "unknown option '{other}' (known: v6only, dualstack, reuseaddr, noreuseaddr, reuseport, listen, nolisten, freebind, device=IFNAME)"
                    ));
                }
            },
        }
    }
    Ok(choices)
}

/// Parses a plan file: one candidate per line, `#` starts a comment.
pub fn parse_plan(text: &str, name: &str) -> Result<Vec<CandidateSpec>, Error> {
    let mut specs = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        specs.push(parse_candidate(
            content,
            &format!("{name} line {}", number + 1),
        )?);
    }
    if specs.is_empty() {
        return Err(Error::EmptyPlan(name.to_owned()));
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> CandidateSpec {
        parse_candidate(text, "candidate").unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str) -> String {
        match parse_candidate(text, "candidate") {
            Ok(spec) => panic!("{text} parsed as {spec:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn parses_the_contract_forms() {
        let s = spec("[::]:443/v6only");
        assert_eq!(s.address, "::".parse::<IpAddr>().expect("addr"));
        assert_eq!(s.port, 443);
        assert_eq!(s.choices.v6only, Some(true));
        let s = spec("udp:0.0.0.0:53/reuseaddr,reuseport,device=lo");
        assert_eq!(s.protocol, Some(Protocol::Udp));
        assert_eq!(s.choices.reuseport, Some(true));
        assert_eq!(s.choices.device.as_deref(), Some("lo"));
        let s = spec("tcp:127.0.0.1:0/nolisten,noreuseaddr");
        assert_eq!(s.port, 0);
        assert_eq!(s.choices.listen, Some(false));
        assert_eq!(s.choices.reuseaddr, Some(false));
        assert_eq!(spec(":8080").address, "::".parse::<IpAddr>().expect("addr"));
        assert_eq!(spec("[fe80::1%lo]:80").scope.as_deref(), Some("lo"));
        assert_eq!(spec("[fe80::1]%lo:80").scope.as_deref(), Some("lo"));
        // Node's spelling of the wildcard with a port.
        let s = spec(":::3000");
        assert_eq!((s.address, s.port), ("::".parse().expect("addr"), 3000));
        assert_eq!(
            spec("[::ffff:127.0.0.1]:80/dualstack").choices.v6only,
            Some(false)
        );
    }

    #[test]
    fn a_port_alone_is_recognised() {
        let bare = |text: &str| parse_bare_port(text).map(|r| r.map_err(|e| e.to_string()));
        assert_eq!(bare("8000"), Some(Ok((None, 8000))));
        assert_eq!(bare("tcp:8000"), Some(Ok((Some(Protocol::Tcp), 8000))));
        assert_eq!(bare(" udp:53 "), Some(Ok((Some(Protocol::Udp), 53))));
        assert!(matches!(bare("0"), Some(Err(e)) if e.contains("port 0")));
        assert!(matches!(bare("99999"), Some(Err(e)) if e.contains("out of range")));
        for candidate in [
            "0.0.0.0:80",
            ":8080",
            "[::]:80",
            "tcp:1.2.3.4:80",
            "80/v6only",
            "sctp:80",
            "",
        ] {
            assert_eq!(bare(candidate), None, "{candidate}");
        }
    }

    #[test]
    fn rejects_bad_candidates_naming_the_part() {
        assert!(err("1.2.3.4:99999").contains("99999 is out of range"));
        assert!(err("[::1]:80/bogus").contains("unknown option 'bogus'"));
        assert!(err("localhost:80").contains("'localhost' is not an IP address"));
        assert!(err("127.0.0.1").contains("port is missing"));
        assert!(err("::1:80").contains("write [::1]:80 for port 80 on ::1"));
        assert!(err("::1").contains("port is missing"));
        assert!(err("[::1:80").contains("missing ']'"));
        assert!(err("10.0.0.1%eth0:80").contains("%zone"));
        assert!(err("").contains("empty"));
    }

    #[test]
    fn defaults_mirror_a_server_runtime() {
        let defaults = OptionChoices::default();
        let tcp = defaults.resolve(Protocol::Tcp, false);
        assert!(tcp.reuseaddr && tcp.listen && !tcp.v6only && !tcp.reuseport);
        let udp = defaults.resolve(Protocol::Udp, true);
        assert!(!udp.reuseaddr && !udp.listen && udp.v6only);
        let forced = OptionChoices {
            listen: Some(true),
            ..OptionChoices::default()
        };
        assert!(
            !forced.resolve(Protocol::Udp, false).listen,
            "UDP never listens"
        );
    }

    #[test]
    fn plans_skip_comments_and_name_bad_lines() {
        let plan = "# web\n[::]:443/v6only\n\n0.0.0.0:443 # redirect\n";
        assert_eq!(parse_plan(plan, "plan").expect("plan").len(), 2);
        let error = parse_plan("0.0.0.0:80\nnonsense\n", "plan.txt").expect_err("bad line");
        assert!(error.to_string().contains("plan.txt line 2"));
        assert!(parse_plan("# only comments\n", "plan.txt").is_err());
    }
}

/// Properties of the parsers over generated text (proptest).
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    const CANDIDATEISH: &str = "(tcp:|udp:)?[\\[\\]0-9a-f:.%*]{0,20}(/[a-z6=,]{0,20})?";
    const OPTIONS: &[&str] = &[
        "v6only",
        "dualstack",
        "reuseaddr",
        "noreuseaddr",
        "reuseport",
        "listen",
        "nolisten",
        "freebind",
        "device=eth0",
    ];

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn parsers_never_panic(text in any::<String>(), candidateish in CANDIDATEISH) {
            let _ = parse_candidate(&text, "test");
            let _ = parse_candidate(&candidateish, "test");
            let _ = parse_plan(&text, "test");
            let _ = parse_plan(&format!("{candidateish}\n{text}\n# {candidateish}"), "test");
        }

        /// A candidate written from its parts parses back to them, and its
        /// endpoint prints as written.
        #[test]
        fn candidates_parse_back(
            protocol in prop::option::of(prop::sample::select(&[Protocol::Tcp, Protocol::Udp][..])),
            address in any::<IpAddr>(),
            port in any::<u16>(),
            options in prop::sample::subsequence(OPTIONS, 0..4),
        ) {
            let endpoint_text = endpoint(address, port, None);
            let prefix = match protocol {
                Some(p) => format!("{}:", p.name()),
                None => String::new(),
            };
            let suffix = if options.is_empty() {
                String::new()
            } else {
                format!("/{}", options.join(","))
            };
            let text = format!("{prefix}{endpoint_text}{suffix}");
            let spec = parse_candidate(&text, "test").expect("a well-formed candidate");
            prop_assert_eq!(spec.protocol, protocol);
            prop_assert_eq!(spec.address, address);
            prop_assert_eq!(spec.port, port);
            prop_assert_eq!(&spec.text, &text);
            let device = options.contains(&"device=eth0").then(|| "eth0".to_owned());
            prop_assert_eq!(&spec.choices.device, &device);
            let candidate = Candidate::from_spec(0, &spec, &OptionChoices::default(), Protocol::Tcp, false);
            if device.is_none() {
                prop_assert_eq!(candidate.endpoint(), endpoint_text);
            }
            // The same line in a plan, between a comment and a blank line.
            let plan = parse_plan(&format!("# plan\n\n{text}  # the one\n"), "test").expect("a plan");
            prop_assert_eq!(plan.len(), 1);
            prop_assert_eq!(plan[0].address, address);
        }
    }
}
