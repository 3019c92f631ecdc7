//! How a run ends: the contract's exit codes, and what every command's
//! result tells the run (its name, its warnings, its exit code).

use crate::warning::Warning;

/// The exit codes of the contract (CONTRACT.md, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the answer is yes (a socket matched, every candidate binds, a
    /// listener accepts, the ports were found, the condition was met, the
    /// cause is on this host, the targets are free).
    Ok,
    /// 1: the answer is no (nothing matched, a candidate would fail,
    /// nothing accepts, fewer ports were found, timed out, the cause has
    /// gone, a target is still held).
    NotMet,
    /// 2: an error, a usage error, or a refusal (stop), or nothing
    /// recognised (why).
    Error,
}

impl Exit {
    /// `Ok` when the command's condition holds, else `NotMet`.
    pub fn met(condition: bool) -> Exit {
        if condition { Exit::Ok } else { Exit::NotMet }
    }

    pub fn code(self) -> i32 {
        match self {
            Exit::Ok => 0,
            Exit::NotMet => 1,
            Exit::Error => 2,
        }
    }
}

/// A command's result, as the run and its document's header see it.
pub trait CommandResult {
    /// The command's name: its subcommand on the command line and the
    /// JSON `command` field.
    const NAME: &'static str;
    fn warnings(&self) -> &[Warning];
    /// For what the run adds after the command (the socket source's gaps).
    fn warnings_mut(&mut self) -> &mut Vec<Warning>;
    fn exit_code(&self) -> Exit;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_contracts() {
        assert_eq!(
            [Exit::Ok, Exit::NotMet, Exit::Error].map(Exit::code),
            [0, 1, 2]
        );
        assert_eq!(Exit::met(true), Exit::Ok);
        assert_eq!(Exit::met(false), Exit::NotMet);
    }
}
