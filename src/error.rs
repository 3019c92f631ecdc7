//! Every way a command can fail, each with a stable code for JSON and the
//! exit code the contract gives errors.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad target '{target}': {why}")]
    BadTarget { target: String, why: String },

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
}

impl Error {
    /// The stable snake_case code printed in JSON error documents.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadTarget { .. } => "bad_target",
            Error::Netlink(_) => "netlink_failed",
            Error::Io { .. } => "io_error",
            Error::Unsupported(_) => "unsupported",
        }
    }

    /// Errors exit 2 in every command.
    pub fn exit_code(&self) -> i32 {
        2
    }

    pub fn io(context: impl Into<String>, source: io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
