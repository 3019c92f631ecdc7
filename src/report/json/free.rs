//! `free`'s document.

use serde::Serialize;

use crate::free::FreeResult;
use crate::target::PortRange;

#[derive(Serialize)]
pub struct RangeDoc {
    pub low: u16,
    pub high: u16,
}

impl From<PortRange> for RangeDoc {
    fn from(range: PortRange) -> Self {
        RangeDoc {
            low: range.low,
            high: range.high,
        }
    }
}

#[derive(Serialize)]
pub struct ExcludedDoc {
    /// `net.ipv4.ip_local_port_range`.
    pub ephemeral: RangeDoc,
    /// `net.ipv4.ip_local_reserved_ports`.
    pub reserved: Vec<RangeDoc>,
}

#[derive(Serialize)]
pub struct FreeBody {
    pub ports: Vec<u16>,
    pub protocols: Vec<&'static str>,
    pub count: usize,
    pub range: RangeDoc,
    pub excluded: ExcludedDoc,
}

impl From<&FreeResult> for FreeBody {
    fn from(result: &FreeResult) -> Self {
        FreeBody {
            ports: result.ports.clone(),
            protocols: result.config.protocols.iter().map(|p| p.name()).collect(),
            count: result.config.count,
            range: result.range.into(),
            excluded: ExcludedDoc {
                ephemeral: result.ephemeral.into(),
                reserved: result.reserved.iter().map(|r| (*r).into()).collect(),
            },
        }
    }
}
