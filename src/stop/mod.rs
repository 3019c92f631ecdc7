//! `portcheck stop`: stop what holds a port, safely. The holders are found
//! as `who` finds them (listening and bound sockets only, never processes
//! that only hold connections), a pure plan decides how each is stopped
//! (`plan`, `method`), pidfds opened at lookup time carry the signals
//! (`pidfd`), and `wait`'s polling says when the port is free.

pub mod method;
#[cfg(target_os = "linux")]
mod pidfd;
pub mod plan;
#[cfg(target_os = "linux")]
mod process;

use std::collections::BTreeMap;
#[cfg(target_os = "linux")]
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::model::{Socket, State};
use crate::sockets::SocketSource;
use crate::text::Text;
use crate::warning::Warning;
use crate::who;
use crate::who::WhoConfig;
use method::Method;
use plan::{Plan, Respawn};

/// The JSON document, for the man page (CONTRACT.md style).
pub const JSON_HELP: &str = r#"JSON (--json):
  {"schema_version":1,"command":"stop","complete":true,"warnings":[],
   "query":{"targets":["8000"],"protocols":["tcp","udp"],"families":["ipv4","ipv6"],
            "signal":"SIGTERM","grace_ms":5000,"escalate":true,"parent":false,
            "respawn_window_ms":1000,"dry_run":false,"yes":true},
   "outcome":"acted",      // acted | dry_run | refused | not_confirmed | declined | nothing_held
   "plan":[{"pid":4242,"name":"python3","cmdline":["python3","-m","http.server"],
            "method":"signal",          // signal | systemctl | docker | podman
            "signal":"SIGTERM",         // null unless method is signal
            "command":null,             // e.g. ["systemctl","stop","app.service"]
            "unit":null,"container":null,
            "sockets":["tcp 0.0.0.0:8000 LISTEN"],
            "covers":[],                // workers that go with their master
            "reason":"python3 holds it"}],
   "refused":[{"pid":1,"name":"init","code":"pid_1","message":"..."}],
             // pid_1 | kernel_owned | not_permitted | portcheck_ancestor | owner_unseen |
             // socket_activation | other_users_unit | kubernetes_pod |
             // unmanaged_container | pidfd_unavailable | no_pidfd
   "actions":[{"pid":4242,"name":"python3","method":"signal","signal":"SIGTERM",
               "command":null,
               "stage":"stop",          // stop | escalate | parent | respawned
               "ok":true,"error":null,
               "waited_ms":12,          // until the port was free, or the wait gave up
               "freed":true,            // free when that wait ended
               "note":null}],           // e.g. it had already exited
   "respawns":[{"pid":4300,"name":"python3","parent_pid":4100,"parent_name":"sh",
                "parent_cmdline":["sh","-c","while :; do ...; done"],"same_parent":true}],
   "freed":true,
   "remaining":[ <socket>, ... ]}       // what holds the targets at the end

Warnings: not_confirmed, respawned, holder_exited, and who's.
Exit codes: 0 every target is free afterwards (also: nothing held it, or a
dry run that refuses nothing); 1 a target is still held (or the question
was declined); 2 refused, not confirmed, an action failed, or an error."#;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopConfig {
    pub who: WhoConfig,
    pub dry_run: bool,
    pub yes: bool,
    pub signal: StopSignal,
    pub grace: Duration,
    pub escalate: bool,
    /// Also stop the parent that restarts a stopped holder.
    pub parent: bool,
    /// How long the port is watched for a restarted holder once free.
    pub respawn_window: Duration,
    /// Standard input and standard error are a terminal: ask once.
    pub interactive: bool,
}

/// The signals `--signal` takes: the ones servers give a meaning to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopSignal {
    Hup,
    Int,
    Quit,
    Kill,
    Usr1,
    Usr2,
    Term,
}

impl StopSignal {
    pub const ALL: [StopSignal; 7] = [
        StopSignal::Hup,
        StopSignal::Int,
        StopSignal::Quit,
        StopSignal::Kill,
        StopSignal::Usr1,
        StopSignal::Usr2,
        StopSignal::Term,
    ];

    /// `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Hup => "SIGHUP",
            StopSignal::Int => "SIGINT",
            StopSignal::Quit => "SIGQUIT",
            StopSignal::Kill => "SIGKILL",
            StopSignal::Usr1 => "SIGUSR1",
            StopSignal::Usr2 => "SIGUSR2",
            StopSignal::Term => "SIGTERM",
        }
    }

    /// `TERM`, `SIGTERM` or `term`.
    pub fn parse(text: &str) -> Option<StopSignal> {
        let upper = text.to_ascii_uppercase();
        let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
        StopSignal::ALL
            .into_iter()
            .find(|s| s.name().strip_prefix("SIG") == Some(bare))
    }

    #[cfg(target_os = "linux")]
    fn raw(self) -> i32 {
        use rustix::process::Signal;
        match self {
            StopSignal::Hup => Signal::HUP,
            StopSignal::Int => Signal::INT,
            StopSignal::Quit => Signal::QUIT,
            StopSignal::Kill => Signal::KILL,
            StopSignal::Usr1 => Signal::USR1,
            StopSignal::Usr2 => Signal::USR2,
            StopSignal::Term => Signal::TERM,
        }
        .as_raw()
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing held the targets: nothing to do.
    NothingHeld,
    /// `--dry-run`: the plan only.
    DryRun,
    /// Something is refused: nothing was stopped.
    Refused,
    /// Not a terminal and no `--yes`: nothing was stopped.
    NotConfirmed,
    /// Asked on the terminal, and not told yes.
    Declined,
    /// The plan was carried out.
    Acted,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::NothingHeld => "nothing_held",
            Outcome::DryRun => "dry_run",
            Outcome::Refused => "refused",
            Outcome::NotConfirmed => "not_confirmed",
            Outcome::Declined => "declined",
            Outcome::Acted => "acted",
        }
    }
}

/// Why an action was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
pub enum Stage {
    /// The planned stop of a holder.
    Stop,
    /// SIGKILL after the grace.
    Escalate,
    /// `--parent`: the process that restarted a holder.
    Parent,
    /// The holder a parent restarted.
    Respawned,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Stop => "stop",
            Stage::Escalate => "escalate",
            Stage::Parent => "parent",
            Stage::Respawned => "respawned",
        }
    }
}

/// One thing done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub pid: u32,
    pub name: Option<Text>,
    /// `None`: nothing was sent (the process had gone already).
    pub method: Option<Method>,
    pub signal: Option<StopSignal>,
    pub command: Option<Vec<String>>,
    pub stage: Stage,
    pub ok: bool,
    pub error: Option<String>,
    /// From this action until the port was free, or the wait gave up.
    pub waited: Duration,
    /// Whether the port was free at the end of that wait.
    pub freed: bool,
    /// Something worth saying (the process had already exited).
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StopResult {
    pub config: StopConfig,
    pub plan: Plan,
    pub outcome: Outcome,
    pub actions: Vec<Action>,
    pub respawns: Vec<Respawn>,
    /// Every target is free now.
    pub freed: bool,
    /// What holds the targets at the end.
    pub remaining: Vec<Socket>,
    pub warnings: Vec<Warning>,
    /// The plan was shown on the terminal before asking: the human view
    /// does not print it twice there.
    pub plan_shown: bool,
}

impl crate::exit::CommandResult for StopResult {
    const NAME: &'static str = "stop";

    fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    fn warnings_mut(&mut self) -> &mut Vec<Warning> {
        &mut self.warnings
    }

    /// Ok: every target is free; not met: one is still held; error:
    /// refused, not confirmed, or an action failed. A dry run is Ok unless
    /// refused.
    fn exit_code(&self) -> crate::exit::Exit {
        use crate::exit::Exit;
        match self.outcome {
            Outcome::Refused | Outcome::NotConfirmed => Exit::Error,
            Outcome::DryRun => Exit::Ok,
            Outcome::NothingHeld => Exit::met(self.freed),
            Outcome::Acted if self.freed => Exit::Ok,
            Outcome::Acted if self.actions.iter().any(|a| !a.ok) => Exit::Error,
            Outcome::Declined | Outcome::Acted => Exit::NotMet,
        }
    }
}

/// The time after SIGKILL to see the port free: the kernel closes a
/// killed process's sockets as it exits.
#[cfg(target_os = "linux")]
const AFTER_KILL: Duration = Duration::from_secs(5);
/// Poll interval while waiting for the port.
#[cfg(target_os = "linux")]
const POLL: Duration = Duration::from_millis(25);

pub fn run(config: &StopConfig, source: &dyn SocketSource) -> Result<StopResult, Error> {
    let found = who::run(&config.who, source)?;
    let time_wait = found.unlisted.get(&State::TimeWait).copied().unwrap_or(0);
    let mut warnings = found.warnings.clone();
    let lookup = Lookup::new(&found.sockets);
    test_pause("lookup");
    let mut plan = lookup.plan(&found.sockets, time_wait);
    let (handles, gone) = Lookup::open(&mut plan);
    warnings.extend(gone);
    let mut result = StopResult {
        config: config.clone(),
        plan,
        outcome: Outcome::DryRun,
        actions: Vec::new(),
        respawns: Vec::new(),
        freed: found.sockets.is_empty(),
        remaining: found.sockets.clone(),
        warnings: Vec::new(),
        plan_shown: false,
    };
    result.outcome = if !result.plan.refused.is_empty() {
        Outcome::Refused
    } else if result.plan.steps.is_empty() {
        Outcome::NothingHeld
    } else if config.dry_run {
        Outcome::DryRun
    } else if !config.yes && !config.interactive {
        warnings.push(Warning::note(
            "not_confirmed",
            "standard input is not a terminal and --yes was not given: nothing was stopped (a script says --yes)",
        ));
        Outcome::NotConfirmed
    } else if !config.yes && !confirm(&mut result) {
        Outcome::Declined
    } else {
        Outcome::Acted
    };
    if result.outcome == Outcome::NothingHeld && !found.sockets.is_empty() {
        // Every holder exited between the lookup and the pidfd: look again.
        result.remaining = who::run(&config.who, source)?.sockets;
        result.freed = result.remaining.is_empty();
    }
    if result.outcome == Outcome::Acted {
        test_pause("signal");
        lookup.act(config, source, &mut result, &handles)?;
    }
    warnings.extend(std::mem::take(&mut result.warnings));
    warnings.sort();
    warnings.dedup();
    result.warnings = warnings;
    Ok(result)
}

/// Asks once on the terminal (standard error), showing the plan.
fn confirm(result: &mut StopResult) -> bool {
    use std::io::{IsTerminal as _, Write as _};
    result.plan_shown = std::io::stdout().is_terminal();
    let plan = crate::report::table::stop_plan(result, crate::report::table::Style::PLAIN);
    let mut stderr = std::io::stderr().lock();
    let _ = write!(
        stderr,
        "{plan}Stop {}? [y/N] ",
        if result.plan.steps.len() == 1 {
            "it"
        } else {
            "them"
        }
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// A pause for the tests, and only for them: with
/// `PORTCHECK_TEST_ONLY_PAUSE=STAGE:DIR`, at STAGE (`lookup`: the sockets
/// and owners are read, no pidfd is open yet; `signal`: confirmed, the
/// pidfds are open, nothing is sent) portcheck creates DIR/paused-STAGE
/// and waits (at most 60 s) for DIR/resume-STAGE. This is how a test makes
/// a holder's pid go to another process at the one moment that matters.
fn test_pause(stage: &str) {
    let Ok(value) = std::env::var("PORTCHECK_TEST_ONLY_PAUSE") else {
        return;
    };
    let Some((wanted, dir)) = value.split_once(':') else {
        return;
    };
    if wanted != stage {
        return;
    }
    let dir = std::path::Path::new(dir);
    if std::fs::write(dir.join(format!("paused-{stage}")), b"").is_err() {
        return;
    }
    let resume = dir.join(format!("resume-{stage}"));
    let start = Instant::now();
    while !resume.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The holders' facts, read once at lookup.
struct Lookup {
    #[cfg(target_os = "linux")]
    facts: BTreeMap<u32, plan::ProcFacts>,
    #[cfg(target_os = "linux")]
    context: plan::Context,
}

#[cfg(target_os = "linux")]
type Handles = BTreeMap<u32, pidfd::Handle>;
#[cfg(not(target_os = "linux"))]
type Handles = ();

#[cfg(target_os = "linux")]
impl Lookup {
    fn new(sockets: &[Socket]) -> Lookup {
        let pids: BTreeSet<u32> = sockets
            .iter()
            .flat_map(|s| s.processes.iter().map(|p| p.pid))
            .collect();
        Lookup {
            facts: pids
                .into_iter()
                .filter_map(|pid| process::facts(pid).map(|f| (pid, f)))
                .collect(),
            context: process::context(),
        }
    }

    fn plan(&self, sockets: &[Socket], time_wait: usize) -> Plan {
        let mut plan = plan::plan(sockets, time_wait, &self.facts, &self.context);
        // pid 1 (systemd) holding a socket: its .socket unit, if systemd
        // names exactly one.
        let mut kept = Vec::new();
        for refused in std::mem::take(&mut plan.refused) {
            if refused.code != "socket_activation" || refused.pid != Some(1) {
                kept.push(refused);
                continue;
            }
            let listed = std::process::Command::new("systemctl")
                .args(["list-sockets", "--all", "--full", "--no-legend"])
                .stdin(std::process::Stdio::null())
                .output();
            let text = match &listed {
                Ok(out) if out.status.success() => {
                    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
                }
                Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
                Err(e) => Err(e.to_string()),
            };
            match plan::socket_activation(&refused, text.as_deref().map_err(String::as_str)) {
                Ok(step) => plan.steps.push(step),
                Err(refused) => kept.push(refused),
            }
        }
        plan.refused = kept;
        plan
    }

    /// Opens a pidfd on every holder to be signalled, now, at lookup: a
    /// holder that has exited (or whose pid another process has taken) is
    /// dropped from the plan, and said.
    fn open(plan: &mut Plan) -> (Handles, Vec<Warning>) {
        let mut handles = BTreeMap::new();
        let mut gone = Vec::new();
        for step in &plan.steps {
            if step.method != Method::Signal {
                continue;
            }
            match pidfd::open(step.pid, &step.sockets, None) {
                pidfd::Opened::Ready(handle) => {
                    handles.insert(step.pid, handle);
                }
                pidfd::Opened::Gone => gone.push(step.pid),
                pidfd::Opened::Failed(why) => plan.refused.push(plan::Refused {
                    pid: Some(step.pid),
                    name: step.name.clone(),
                    code: "pidfd_unavailable",
                    message: format!(
                        "{why}: without a pidfd a signal could reach a process that took the pid since (Linux 5.3 or later has pidfd_open)"
                    ),
                    port: step.port(),
                }),
            }
        }
        plan.steps.retain(|step| !gone.contains(&step.pid));
        let said = gone.iter().map(|pid| {
            Warning::note(
                "holder_exited",
                format!(
                    "pid {pid} exited before it could be signalled (its pid may belong to another process by now, which is left alone)"
                ),
            )
        });
        (handles, said.collect())
    }

    fn act(
        &self,
        config: &StopConfig,
        source: &dyn SocketSource,
        result: &mut StopResult,
        handles: &Handles,
    ) -> Result<(), Error> {
        let steps = result.plan.steps.clone();
        let mut sent: Vec<(usize, &pidfd::Handle)> = Vec::new();
        for step in &steps {
            let index = result.actions.len();
            match &step.method {
                Method::Signal => {
                    let Some(handle) = handles.get(&step.pid) else {
                        continue;
                    };
                    result.actions.push(signal_action(
                        handle,
                        step.name.clone(),
                        config.signal,
                        Stage::Stop,
                    ));
                    sent.push((index, handle));
                }
                managed => result.actions.push(run_manager(step, managed)),
            }
        }
        let (free, waited) = wait_free(config, source, config.grace)?;
        finish_round(&mut result.actions, 0, waited, free);
        let mut free = free;
        if !free && config.escalate {
            free = Self::escalate(config, source, result, &sent)?;
        }
        if free && !config.respawn_window.is_zero() {
            free = self.watch_respawn(config, source, result, &steps)?;
        }
        let mut last = who::run(&config.who, source)?;
        if free && !last.sockets.is_empty() && result.respawns.is_empty() {
            // Taken again after the watch ended (a slow restart): said,
            // and stopped with --parent, all the same.
            free = self.respawn_in(config, source, result, &steps, &last.sockets)?;
            last = who::run(&config.who, source)?;
        }
        result.freed = free && last.sockets.is_empty();
        result.remaining = last.sockets;
        Ok(())
    }

    /// SIGKILL to every signalled holder still running after the grace.
    fn escalate(
        config: &StopConfig,
        source: &dyn SocketSource,
        result: &mut StopResult,
        sent: &[(usize, &pidfd::Handle)],
    ) -> Result<bool, Error> {
        let first = result.actions.len();
        for (index, handle) in sent {
            if handle.exited() {
                continue;
            }
            let name = result.actions.get(*index).and_then(|a| a.name.clone());
            result.actions.push(signal_action(
                handle,
                name,
                StopSignal::Kill,
                Stage::Escalate,
            ));
        }
        if result.actions.len() == first {
            return Ok(false);
        }
        let (free, waited) = wait_free(config, source, AFTER_KILL)?;
        finish_round(&mut result.actions, first, waited, free);
        Ok(free)
    }

    /// Watches the port for a holder that appears after the old ones
    /// exited, names who started it, and with `--parent` stops that
    /// parent and the new holder. Returns whether the port is free.
    fn watch_respawn(
        &self,
        config: &StopConfig,
        source: &dyn SocketSource,
        result: &mut StopResult,
        steps: &[plan::Step],
    ) -> Result<bool, Error> {
        let watch = crate::wait::WaitConfig {
            who: config.who.clone(),
            until: crate::wait::Until::Listening,
            timeout: config.respawn_window,
            interval: POLL,
            name: None,
        };
        let seen = crate::wait::run(&watch, source)?;
        if !seen.met {
            return Ok(true);
        }
        self.respawn_in(config, source, result, steps, &seen.final_view.sockets)
    }

    /// Names who started the holders in `view` (sockets that hold the
    /// targets again after the stopped holders exited), and with
    /// `--parent` stops the parents and those holders. Returns whether
    /// the port is free.
    fn respawn_in(
        &self,
        config: &StopConfig,
        source: &dyn SocketSource,
        result: &mut StopResult,
        steps: &[plan::Step],
        view: &[Socket],
    ) -> Result<bool, Error> {
        let stopped: BTreeSet<u32> = steps
            .iter()
            .flat_map(|s| std::iter::once(s.pid).chain(s.covers.iter().copied()))
            .collect();
        let parents: BTreeSet<u32> = stopped
            .iter()
            .filter_map(|pid| self.facts.get(pid).and_then(|f| f.ppid))
            .collect();
        let now: Vec<(u32, Option<u32>)> = view
            .iter()
            .flat_map(|s| s.processes.iter())
            .map(|p| (p.pid, process::facts(p.pid).and_then(|f| f.ppid)))
            .collect();
        let newcomers = plan::respawned(&parents, &stopped, &now);
        // Only the topmost new holder of a group (a new master), by the
        // same rule as the plan.
        let new_pids: BTreeSet<u32> = newcomers.iter().map(|n| n.0).collect();
        for (pid, parent, same_parent) in newcomers {
            if parent.is_some_and(|p| new_pids.contains(&p)) {
                continue;
            }
            let name = view
                .iter()
                .flat_map(|s| s.processes.iter())
                .find(|p| p.pid == pid)
                .and_then(|p| p.name.clone());
            let (parent_name, parent_cmdline) = parent.map(process::describe).unwrap_or_default();
            result.respawns.push(Respawn {
                pid,
                name,
                parent_pid: parent,
                parent_name,
                parent_cmdline,
                same_parent,
            });
        }
        if result.respawns.is_empty() {
            return Ok(false);
        }
        if !config.parent {
            result.warnings.push(Warning::note(
                "respawned",
                format!(
                    "the port was taken again after the holder exited: {}; --parent also stops the process that restarts it",
                    respawn_words(&result.respawns)
                ),
            ));
            return Ok(false);
        }
        self.stop_parents(config, source, result, view)
    }

    /// `--parent`: each restarting parent, then the holders it started.
    fn stop_parents(
        &self,
        config: &StopConfig,
        source: &dyn SocketSource,
        result: &mut StopResult,
        now: &[Socket],
    ) -> Result<bool, Error> {
        let first = result.actions.len();
        let mut sent = Vec::new();
        let respawns = result.respawns.clone();
        let mut handles = Vec::new();
        for respawn in &respawns {
            let Some(parent) = respawn.parent_pid else {
                continue;
            };
            if let Some(refusal) = self.parent_refusal(parent) {
                result.actions.push(Action {
                    pid: parent,
                    name: respawn.parent_name.clone(),
                    method: None,
                    signal: None,
                    command: None,
                    stage: Stage::Parent,
                    ok: false,
                    error: Some(refusal),
                    waited: Duration::ZERO,
                    freed: false,
                    note: None,
                });
                continue;
            }
            let started = pidfd::start_time(parent);
            // The parent is checked by its start time, the new holder by
            // its socket, each through its own pidfd.
            if let pidfd::Opened::Ready(handle) = pidfd::open(parent, &[], started) {
                handles.push((handle, respawn.parent_name.clone(), Stage::Parent));
            }
            let held: Vec<plan::HeldSocket> = now
                .iter()
                .filter_map(|s| {
                    let p = s.processes.iter().find(|p| p.pid == respawn.pid)?;
                    Some(plan::HeldSocket {
                        inode: s.inode?,
                        fds: p.fds.clone(),
                        shown: String::new(),
                        port: s.local_port,
                    })
                })
                .collect();
            if let pidfd::Opened::Ready(handle) = pidfd::open(respawn.pid, &held, None) {
                handles.push((handle, respawn.name.clone(), Stage::Respawned));
            }
        }
        for (handle, name, stage) in &handles {
            let index = result.actions.len();
            result
                .actions
                .push(signal_action(handle, name.clone(), config.signal, *stage));
            sent.push((index, handle));
        }
        if sent.is_empty() {
            return Ok(false);
        }
        let (mut free, waited) = wait_free(config, source, config.grace)?;
        finish_round(&mut result.actions, first, waited, free);
        if !free && config.escalate {
            free = Self::escalate(config, source, result, &sent)?;
        }
        Ok(free)
    }

    /// Why the parent that restarts a holder is not stopped, if it is not.
    fn parent_refusal(&self, parent: u32) -> Option<String> {
        let context = &self.context;
        if parent == 1 {
            return Some("the parent is pid 1, the init of this PID namespace: not stopped".into());
        }
        if parent == context.our_pid || context.ancestors.contains(&parent) {
            return Some(
                "the parent is one of portcheck's ancestors (its shell or terminal): not stopped"
                    .into(),
            );
        }
        let facts = process::facts(parent).unwrap_or_default();
        if !plan::may_signal(context, &facts) {
            return Some(format!(
                "the parent runs as uid {}, which portcheck (uid {}) may not signal",
                facts.real_uid.map_or_else(|| "?".into(), |u| u.to_string()),
                context.effective_uid
            ));
        }
        None
    }
}

/// Off Linux there is no pidfd: a signal by pid could reach a process that
/// took the pid since the lookup, so `stop` plans (and `--dry-run` shows
/// the plan) but acts on nothing.
// The Linux signatures, kept so `run` is one function everywhere.
#[cfg(not(target_os = "linux"))]
#[allow(clippy::unused_self, clippy::trivially_copy_pass_by_ref)]
impl Lookup {
    fn new(_sockets: &[Socket]) -> Lookup {
        Lookup {}
    }

    fn plan(&self, sockets: &[Socket], time_wait: usize) -> Plan {
        let context = plan::Context {
            our_pid: std::process::id(),
            privileged: true,
            ..plan::Context::default()
        };
        let mut plan = plan::plan(sockets, time_wait, &BTreeMap::new(), &context);
        if !plan.steps.is_empty() {
            plan.refused.push(plan::Refused {
                pid: None,
                name: None,
                code: "no_pidfd",
                message: "this OS has no pidfd: a signal by pid could reach a process that took the pid since it was looked up, so portcheck stops nothing here; the plan lists the holders to stop yourself".into(),
                port: 0,
            });
        }
        plan
    }

    fn open(_plan: &mut Plan) -> (Handles, Vec<Warning>) {
        ((), Vec::new())
    }

    fn act(
        &self,
        _config: &StopConfig,
        _source: &dyn SocketSource,
        _result: &mut StopResult,
        _handles: &Handles,
    ) -> Result<(), Error> {
        Err(Error::Unsupported(
            "stop acts only on Linux (pidfds)".into(),
        ))
    }
}

#[cfg(target_os = "linux")]
fn signal_action(
    handle: &pidfd::Handle,
    name: Option<Text>,
    signal: StopSignal,
    stage: Stage,
) -> Action {
    let sent = handle.signal(signal.raw());
    Action {
        pid: handle.pid,
        name,
        method: Some(Method::Signal),
        signal: Some(signal),
        command: None,
        stage,
        ok: sent.is_ok(),
        note: matches!(sent, Ok(false))
            .then(|| "it had already exited: nothing was sent".to_owned()),
        error: sent.err(),
        waited: Duration::ZERO,
        freed: false,
    }
}

/// `systemctl stop UNIT`, `docker stop ID`: run, and their result said.
#[cfg(target_os = "linux")]
fn run_manager(step: &plan::Step, method: &Method) -> Action {
    let mut action = Action {
        pid: step.pid,
        name: step.name.clone(),
        method: Some(method.clone()),
        signal: None,
        command: method.command(step.port()),
        stage: Stage::Stop,
        ok: false,
        error: None,
        waited: Duration::ZERO,
        freed: false,
        note: None,
    };
    let line = match method {
        Method::Container { runtime, id: None } => match published_by(step.port()) {
            Ok(id) => vec![runtime.program().to_owned(), "stop".to_owned(), id],
            Err(why) => {
                action.error = Some(why);
                return action;
            }
        },
        _ => action.command.clone().unwrap_or_default(),
    };
    let Some((program, args)) = line.split_first() else {
        return action;
    };
    action.command = Some(line.clone());
    match std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => action.ok = true,
        Ok(out) => {
            action.error = Some(format!(
                "{} failed ({}): {}",
                line.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Err(e) => action.error = Some(format!("{program}: {e}")),
    }
    action
}

/// The docker container publishing `port` (`docker ps --filter
/// publish=PORT`, documented in docker's `ps` reference).
#[cfg(target_os = "linux")]
fn published_by(port: u16) -> Result<String, String> {
    let out = std::process::Command::new("docker")
        .args(["ps", "--quiet", "--no-trunc", "--filter"])
        .arg(format!("publish={port}"))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("docker ps: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "docker ps failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let ids: Vec<&str> = text.split_whitespace().collect();
    match ids.as_slice() {
        [id] => Ok((*id).to_owned()),
        [] => Err(format!(
            "no running container publishes port {port} (docker ps)"
        )),
        _ => Err(format!(
            "several containers publish port {port}: {}",
            ids.join(", ")
        )),
    }
}

/// Waits until no socket holds the targets for binding, at most `limit`.
#[cfg(target_os = "linux")]
fn wait_free(
    config: &StopConfig,
    source: &dyn SocketSource,
    limit: Duration,
) -> Result<(bool, Duration), Error> {
    let wait = crate::wait::WaitConfig {
        who: config.who.clone(),
        until: crate::wait::Until::Free,
        timeout: limit,
        interval: POLL,
        name: None,
    };
    crate::wait::poll(&wait, &wait.who, source).map(|(met, waited, _)| (met, waited))
}

/// Fills the wait of the actions from `first` on (sent together): how long
/// the port took to be free after them, or how long was waited in vain.
#[cfg(target_os = "linux")]
fn finish_round(actions: &mut [Action], first: usize, waited: Duration, free: bool) {
    for action in actions.iter_mut().skip(first) {
        action.waited = waited;
        action.freed = free;
    }
}

/// "python3 (pid 120), started by sh (pid 50, `sh -c while …`)".
pub fn respawn_words(respawns: &[Respawn]) -> String {
    respawns
        .iter()
        .map(|r| {
            let name = r
                .name
                .as_ref()
                .map_or_else(|| "?".into(), |n| n.escaped(32));
            let parent = match r.parent_pid {
                Some(pid) => {
                    let cmdline: Vec<String> =
                        r.parent_cmdline.iter().map(|a| a.escaped(60)).collect();
                    format!(
                        "{} {} (pid {pid}{})",
                        if r.same_parent {
                            "restarted by its parent"
                        } else {
                            "started by"
                        },
                        r.parent_name
                            .as_ref()
                            .map_or_else(|| "?".into(), |n| n.escaped(32)),
                        if cmdline.is_empty() {
                            String::new()
                        } else {
                            format!(", `{}`", crate::text::untrusted(&cmdline.join(" "), 120))
                        }
                    )
                }
                None => "whose parent could not be read".into(),
            };
            format!("{name} (pid {}) {parent}", r.pid)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_names_are_read_as_kill_reads_them() {
        assert_eq!(StopSignal::parse("TERM"), Some(StopSignal::Term));
        assert_eq!(StopSignal::parse("sigint"), Some(StopSignal::Int));
        assert_eq!(StopSignal::parse("SIGKILL"), Some(StopSignal::Kill));
        assert_eq!(StopSignal::parse("STOP"), None);
        assert_eq!(StopSignal::parse(""), None);
    }
}
