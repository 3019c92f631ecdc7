//! `portcheck wait`: poll until a socket listens on the target, or until the
//! port is free, then show the final `who` view. Polling uses sock_diag
//! alone (no /proc scan) until the end.

use std::thread;
use std::time::{Duration, Instant};

use crate::cli::WhoConfig;
use crate::error::Error;
use crate::model::{Protocol, State};
use crate::sockets::{DumpRequest, SocketSource};
use crate::target::Target;
use crate::who::{self, WhoResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// A TCP socket listens (or a UDP socket is bound) on the target.
    Listening,
    /// Nothing holds the port for binding: no listener, no bound socket.
    /// Connections and TIME_WAIT entries do not count (see `who --all`).
    Free,
}

impl Until {
    pub fn name(self) -> &'static str {
        match self {
            Until::Listening => "listening",
            Until::Free => "free",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitConfig {
    pub who: WhoConfig,
    pub until: Until,
    pub timeout: Duration,
    pub interval: Duration,
}

#[derive(Debug, Clone)]
pub struct WaitResult {
    pub config: WaitConfig,
    pub met: bool,
    pub waited: Duration,
    pub polls: u32,
    /// The `who` view at the end.
    pub final_view: WhoResult,
}

impl WaitResult {
    /// 0 met, 1 timed out.
    pub fn exit_code(&self) -> i32 {
        i32::from(!self.met)
    }
}

/// Whether a poll's sockets meet the condition for these targets.
pub fn condition_met(sockets: &[crate::model::Socket], targets: &[Target], until: Until) -> bool {
    let holding = sockets.iter().any(|socket| {
        targets.iter().any(|t| t.matches(socket))
            && match socket.protocol {
                Protocol::Tcp => match until {
                    Until::Listening => socket.state == State::Listen,
                    Until::Free => matches!(socket.state, State::Listen | State::Unconn),
                },
                Protocol::Udp => true,
            }
    });
    match until {
        Until::Listening => holding,
        Until::Free => !holding,
    }
}

pub fn run(config: &WaitConfig, source: &dyn SocketSource) -> Result<WaitResult, Error> {
    let (met, waited, polls) = poll(config, source)?;
    let final_view = who::run(&config.who, source)?;
    Ok(WaitResult {
        config: config.clone(),
        met,
        waited,
        polls,
        final_view,
    })
}

/// Polls until the condition holds or the timeout passes: whether it was
/// met, how long it took, and how many polls (`stop` waits with it too).
pub fn poll(
    config: &WaitConfig,
    source: &dyn SocketSource,
) -> Result<(bool, Duration, u32), Error> {
    let who = &config.who;
    let request = DumpRequest {
        protocols: who.protocols.clone(),
        families: who.families.clone(),
        ports: who.targets.iter().filter_map(|t| t.ports).collect(),
    };
    let start = Instant::now();
    // A timeout too long for the clock to add (`--timeout 500000000000y`)
    // is no deadline at all, which is what it means.
    let deadline = start.checked_add(config.timeout);
    let mut polls: u32 = 0;
    let met = loop {
        polls = polls.saturating_add(1);
        let sockets = source.dump(&request)?;
        if condition_met(&sockets, &who.targets, config.until) {
            break true;
        }
        let now = Instant::now();
        let left = deadline.map(|deadline| deadline.saturating_duration_since(now));
        if left == Some(Duration::ZERO) {
            break false;
        }
        thread::sleep(left.map_or(config.interval, |left| config.interval.min(left)));
    };
    Ok((met, start.elapsed(), polls))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Socket;
    use crate::target::parse_target;

    fn sock(protocol: Protocol, port: u16, state: State) -> Socket {
        Socket::bare(protocol, "127.0.0.1".parse().expect("addr"), port, state)
    }

    #[test]
    fn listening_and_free_read_the_same_sockets() {
        let targets = vec![parse_target("8000").expect("target")];
        let listening = [sock(Protocol::Tcp, 8000, State::Listen)];
        let time_wait = [sock(Protocol::Tcp, 8000, State::TimeWait)];
        let other_port = [sock(Protocol::Tcp, 8001, State::Listen)];
        assert!(condition_met(&listening, &targets, Until::Listening));
        assert!(!condition_met(&listening, &targets, Until::Free));
        assert!(!condition_met(&time_wait, &targets, Until::Listening));
        assert!(condition_met(&time_wait, &targets, Until::Free));
        assert!(condition_met(&other_port, &targets, Until::Free));
        let bound = [sock(Protocol::Tcp, 8000, State::Unconn)];
        assert!(!condition_met(&bound, &targets, Until::Listening));
        assert!(!condition_met(&bound, &targets, Until::Free));
        let udp = [sock(Protocol::Udp, 8000, State::Unconn)];
        assert!(condition_met(&udp, &targets, Until::Listening));
    }
}
