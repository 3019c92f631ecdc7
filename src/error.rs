//! Every way a command can fail, each with a stable code for JSON and the
//! exit code the contract gives errors.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad target '{target}': {why}")]
    BadTarget { target: String, why: String },

    #[error("bad {context} '{candidate}': {why}")]
    BadCandidate {
        context: String,
        candidate: String,
        why: String,
    },

    #[error("the plan {0} has no candidates (one ADDRESS:PORT per line; '#' starts a comment)")]
    EmptyPlan(String),

    #[error("nothing to try: give a candidate such as 0.0.0.0:8080 or --file PLAN")]
    NoCandidates,

    #[error("bad host '{input}': {why}")]
    BadHost { input: String, why: String },

    #[error("{host}: {why}")]
    HostNotFound { host: String, why: String },

    #[error("resolving {host}: {why}")]
    ResolverFailed { host: String, why: String },

    #[error("bad {flag} '{value}': {why}")]
    BadArgument {
        flag: &'static str,
        value: String,
        why: String,
    },

    #[error(
        "{context}: no network interface is named '{name}' here (`ip link` lists them; binding to it fails with ENODEV)"
    )]
    NoSuchInterface { name: String, context: String },

    #[error("network namespace: {0}")]
    Netns(String),

    #[error("reading the socket table over netlink (sock_diag) failed: {0}")]
    Netlink(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("this source cannot read sockets here: {0}")]
    Unsupported(String),

    /// `why`: no line of the input is a bind or connect failure.
    #[error("{0}")]
    NotRecognised(String),

    /// `why`: the message is recognised but lacks the port (or address).
    #[error("{message}")]
    MissingInMessage {
        missing: &'static str,
        message: String,
    },

    /// `why`: the message is recognised but says something impossible.
    #[error("the message '{line}' cannot be checked: {why}")]
    BadMessage { line: String, why: String },
}

impl Error {
    /// The stable snake_case code printed in JSON error documents.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadTarget { .. } => "bad_target",
            Error::BadCandidate { .. } => "bad_candidate",
            Error::EmptyPlan(_) => "empty_plan",
            Error::NoCandidates => "no_candidates",
            Error::BadHost { .. } => "bad_host",
            Error::Netns(_) => "netns_unavailable",
            Error::NoSuchInterface { .. } => "no_such_interface",
            Error::BadArgument { .. } => "bad_argument",
            Error::HostNotFound { .. } => "host_not_found",
            Error::ResolverFailed { .. } => "resolver_failed",
            Error::Netlink(_) => "netlink_failed",
            Error::Io { .. } => "io_error",
            Error::Unsupported(_) => "unsupported",
            Error::NotRecognised(_) => "not_recognised",
            Error::MissingInMessage { missing, .. } => {
                if *missing == "port" {
                    "missing_port"
                } else {
                    "missing_address"
                }
            }
            Error::BadMessage { .. } => "bad_message",
        }
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
