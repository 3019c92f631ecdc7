//! The JSON documents of the contract (schema version 1), one file per
//! document (`socket` holds the pieces several share) and the header every
//! document has here. These types are the contract's shape, kept apart
//! from the engine's types so the schema changes only when these files do.

use serde::Serialize;

use crate::exit::CommandResult;
use crate::warning::Warning;

mod error;
mod free;
mod plan;
mod resolve;
mod socket;
mod stop;
mod wait;
mod who;
mod why;

pub use error::*;
pub use free::*;
pub use plan::*;
pub use resolve::*;
pub use socket::*;
pub use stop::*;
pub use wait::*;
pub use who::*;
pub use why::*;

pub const SCHEMA_VERSION: u32 = 1;

/// Every command's document: the contract's four header fields, then the
/// command's own body (flattened into the same object).
#[derive(Serialize)]
pub struct Document<B> {
    pub schema_version: u32,
    pub command: &'static str,
    #[serde(flatten)]
    pub origin: MadeOn,
    pub complete: bool,
    pub warnings: Vec<WarningDoc>,
    #[serde(flatten)]
    pub body: B,
}

impl<'a, R, B> From<&'a R> for Document<B>
where
    R: CommandResult,
    B: From<&'a R>,
{
    fn from(result: &'a R) -> Self {
        let warnings = result.warnings();
        Document {
            schema_version: SCHEMA_VERSION,
            command: R::NAME,
            origin: MadeOn::here(),
            complete: crate::warning::complete(warnings),
            warnings: warnings.iter().map(WarningDoc::from).collect(),
            body: B::from(result),
        }
    }
}

/// Where a document was made, so that documents from many hosts can be
/// merged (Ansible, contrib/ansible): `hostname` (the node name, as
/// `uname -n`; the key is not `host`, which `resolve` already uses for the
/// name it resolved) and `kernel` (the release, as `uname -r`). In every
/// document, error documents included; null where unknown.
#[derive(Serialize, Clone)]
pub struct MadeOn {
    pub hostname: Option<String>,
    pub kernel: Option<String>,
}

impl MadeOn {
    pub fn here() -> MadeOn {
        #[cfg(unix)]
        {
            let name = rustix::system::uname();
            let text = |bytes: &std::ffi::CStr| {
                Some(bytes.to_string_lossy().into_owned()).filter(|t| !t.is_empty())
            };
            MadeOn {
                hostname: text(name.nodename()),
                kernel: text(name.release()),
            }
        }
        #[cfg(not(unix))]
        MadeOn {
            hostname: None,
            kernel: None,
        }
    }
}

pub type WhoDoc<'a> = Document<WhoBody<'a>>;
pub type TryDoc = Document<TryBody>;
pub type ResolveDoc = Document<ResolveBody>;
pub type FreeDoc = Document<FreeBody>;
pub type WaitDoc<'a> = Document<WaitBody<'a>>;
pub type WhyDoc = Document<WhyBody>;
pub type StopDoc<'a> = Document<StopBody<'a>>;

#[derive(Serialize)]
pub struct WarningDoc {
    pub code: &'static str,
    pub message: String,
}

impl From<&Warning> for WarningDoc {
    fn from(warning: &Warning) -> Self {
        WarningDoc {
            code: warning.code,
            message: warning.message.clone(),
        }
    }
}

/// Serializes a document into `out`, pretty, with a trailing newline, and
/// with nothing a terminal would act on left raw in a string
/// (`json_format`).
pub fn write<T: Serialize>(out: &mut dyn std::io::Write, document: &T) -> std::io::Result<()> {
    use std::io::Write;
    let mut chunked = super::json_format::Chunked::new(out);
    let mut serializer = serde_json::Serializer::with_formatter(
        &mut chunked,
        super::json_format::TerminalSafe::default(),
    );
    document
        .serialize(&mut serializer)
        .map_err(std::io::Error::from)?;
    chunked.write_all(b"\n")?;
    chunked.flush()
}
