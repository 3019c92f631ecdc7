//! Shadow runs: portcheck without privileges, next to every root run.
//!
//! Every `who`, `try`, `resolve` and `why` command line a test runs as root
//! (through [`crate::harness::portcheck`], [`crate::harness::portcheck_fed`]
//! or [`crate::harness::Etc::portcheck`]) is run
//! again, right after, with portcheck as uid 65534 in the same network
//! namespace (and the same private /etc), and the two outputs are held to
//! the invariants below. So the whole suite also says what an ordinary user
//! sees, without a second copy of any test:
//!
//! - every socket root saw is listed, with the same kernel facts; its owners
//!   and SO_REUSEADDR/SO_REUSEPORT are either root's or shown as unknown
//!   (`owner_gap` owner_unreadable / owner_not_visible, `null`), never
//!   different; whatever is hidden makes `complete` false with a warning
//!   that says so;
//! - the exit code is root's (a port is never "free" because its owner is
//!   unreadable), except in `try` where the uid itself decides;
//! - a `try` prediction is root's, or differs where the uid legitimately
//!   matters (a privileged port, SO_REUSEPORT's same-uid rule, and what
//!   follows from them on that port), or is "depends" on a rule that names
//!   the unreadable fact, with a possible outcome that includes root's; a
//!   trial never contradicts it;
//! - `resolve` gives the same destinations, order, outcomes and listeners;
//!   `why` recognises the same message and finds the same holders;
//! - nothing about permissions on stderr, and no panic.
//!
//! Not shadowed, by command line: `free` and `wait` (their answer is the
//! uid's own or a matter of time), `stop` (it acts: a second run would find
//! a different world, and stop.rs runs it as uid 65534 on purpose), `--netns`/`--all-netns` (entering a
//! namespace needs CAP_SYS_ADMIN, so the difference is the point; the
//! namespace tests say what an unprivileged run reports there), and
//! `--connect`, `--probe`, `--dns`, `--dns-server` (they contact servers of
//! the test, which count what reaches them, or wait out one that is silent).
//! No test opts out otherwise: where root and uid 65534 legitimately
//! differ, the invariants say how.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use crate::harness::{NOBODY, Run, SocketDoc, WhoDoc};

/// The command of a command line that is shadowed, if it is.
fn shadowed_command<'a>(args: &[&'a str]) -> Option<&'a str> {
    let contacts_or_enters = [
        "--netns",
        "--all-netns",
        "--connect",
        "--probe",
        "--dns",
        "--dns-server",
    ];
    if args.iter().any(|arg| {
        contacts_or_enters
            .iter()
            .any(|flag| *arg == *flag || arg.starts_with(&format!("{flag}=")))
    }) {
        return None;
    }
    // The first word that is neither a flag nor the value of `--color`.
    let mut words = args.iter();
    while let Some(&word) = words.next() {
        if word == "--color" {
            words.next();
        } else if !word.starts_with('-') {
            return match word {
                "who" | "try" | "resolve" | "reach" | "why" => Some(word),
                _ => None,
            };
        }
    }
    None
}

/// After `root` (a run of `portcheck ARGS` as root), runs the same command
/// line through `as_nobody` when it is shadowed, and fails the test, showing
/// both runs, on any broken invariant.
pub fn after(args: &[&str], root: &Run, as_nobody: impl FnOnce(&[&str]) -> Run) {
    let Some(command) = shadowed_command(args) else {
        return;
    };
    let shadow = as_nobody(args);
    let json = args.contains(&"--json");
    let problems = compare(command, json, root, &shadow);
    assert!(
        problems.is_empty(),
        "portcheck {args:?} as uid {NOBODY} (the shadow of a root run) broke {} invariant(s):\n  - {}\n\n{}\nroot run: {}\n\nuid {NOBODY} run: {}",
        problems.len(),
        problems.join("\n  - "),
        kept(root, &shadow),
        shown(root),
        shown(&shadow)
    );
}

/// Both runs' whole output, written to files for a failure message that
/// cannot show all of it.
fn kept(root: &Run, shadow: &Run) -> String {
    static FAILURES: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "portcheck-shadow-{}-{}",
        std::process::id(),
        FAILURES.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        for (name, text) in [
            ("root.stdout", &root.stdout),
            ("root.stderr", &root.stderr),
            ("unprivileged.stdout", &shadow.stdout),
            ("unprivileged.stderr", &shadow.stderr),
        ] {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(())
    });
    match written {
        Ok(()) => format!("both runs in full: {}\n", dir.display()),
        Err(e) => format!("(could not keep both runs in {}: {e})\n", dir.display()),
    }
}

/// A run for a failure message; very long output is cut (a matrix run's
/// document runs to megabytes).
fn shown(run: &Run) -> String {
    const MOST: usize = 20_000;
    let cut = |text: &str| {
        if text.len() <= MOST {
            return text.to_owned();
        }
        let mut end = MOST;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}\n... ({} more bytes)", &text[..end], text.len() - end)
    };
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}",
        run.code,
        cut(&run.stdout),
        cut(&run.stderr)
    )
}

/// Words that mean a permission error leaked out instead of being reported
/// as what it hid.
const PERMISSION_NOISE: [&str; 6] = [
    "permission denied",
    "operation not permitted",
    "eacces",
    "eperm",
    "os error 13",
    "os error 1)",
];

fn compare(command: &str, json: bool, root: &Run, shadow: &Run) -> Vec<String> {
    let mut problems = Vec::new();
    let stderr = shadow.stderr.to_lowercase();
    if stderr.contains("panicked") {
        problems.push("it panicked".to_owned());
    }
    for noise in PERMISSION_NOISE {
        if stderr.contains(noise) {
            problems.push(format!("stderr speaks of permissions ({noise:?})"));
        }
    }
    if root.stderr.is_empty() && !shadow.stderr.is_empty() {
        problems.push("stderr is not empty where root's is".to_owned());
    }
    if !json {
        // Words for people: only the exit code says something comparable.
        // `try` may refuse where root binds (the uid decides), never the
        // other way round.
        let fine =
            shadow.code == root.code || command == "try" && (root.code, shadow.code) == (0, 1);
        if !fine {
            problems.push(format!(
                "exit {} where root's is {}",
                shadow.code, root.code
            ));
        }
        return problems;
    }
    let (root_doc, shadow_doc) = match (
        serde_json::from_str::<Value>(&root.stdout),
        serde_json::from_str::<Value>(&shadow.stdout),
    ) {
        (Ok(r), Ok(s)) => (r, s),
        (Ok(_), Err(e)) => {
            problems.push(format!("stdout is not one JSON document: {e}"));
            return problems;
        }
        // Root's own output is the test's business.
        (Err(_), _) => return problems,
    };
    if root_doc.get("error").is_some() || shadow_doc.get("error").is_some() {
        if shadow_doc.pointer("/error/code") != root_doc.pointer("/error/code") {
            problems.push(format!(
                "error {} where root's is {}",
                shadow_doc.pointer("/error/code").unwrap_or(&Value::Null),
                root_doc.pointer("/error/code").unwrap_or(&Value::Null)
            ));
        }
        if shadow.code != root.code {
            problems.push(format!(
                "exit {} where root's is {}",
                shadow.code, root.code
            ));
        }
        return problems;
    }
    let mut check = Check {
        problems,
        hidden: false,
    };
    match command {
        "who" => check.who(root, shadow),
        "try" => check.try_documents(&root_doc, &shadow_doc, root.code, shadow.code),
        "why" => check.why(&root_doc, &shadow_doc, root.code, shadow.code),
        _ => check.resolve(&root_doc, &shadow_doc, root.code, shadow.code),
    }
    check.completeness(&root_doc, &shadow_doc);
    check.problems
}

/// Warning codes that say something that exists could not be seen
/// because of who portcheck runs as.
const HIDING_CODES: [&str; 6] = [
    "owners_unreadable",
    // Which of several UDP sockets gets a datagram, from unreadable
    // SO_REUSEPORT.
    "delivery_unknown",
    "owner_not_visible",
    "options_unreadable",
    "proc_unreadable",
    "prediction_depends_on_unreadable_facts",
];

/// Warnings root gives that may be missing from an incomplete unprivileged
/// document: they are drawn from owners or options the run could not read
/// (which process gets which family; which bound socket's listen() a
/// candidate breaks).
const NEEDS_OWNERS: [&str; 4] = [
    "split_by_family",
    "split_by_address",
    "breaks_live_listen",
    // A UDP group is known by its members' SO_REUSEPORT.
    "reuseport_group",
];

/// Rules under which the uid decides: a privileged port, SO_REUSEPORT's
/// same-uid rule either way, and the kernel's SO_REUSEPORT shortcut (which
/// remembers the uid that set it).
const UID_RULES: [&str; 5] = [
    "privileged_port",
    "reuseport_needs_same_uid",
    "shared_reuseport",
    "reuseport_shortcut",
    "depends_on_bind_order",
];

/// Warnings of the unprivileged run that root may not give, each checked
/// on its own (see `Check::broken_listens`) rather than refused outright.
const LOOKED_AT_APART: [&str; 2] = ["breaks_live_listen", "trial_not_permitted"];

/// The invariants of one pair of documents.
struct Check {
    problems: Vec<String>,
    /// Whether anything root saw was shown as unknown.
    hidden: bool,
}

impl Check {
    fn fail(&mut self, problem: String) {
        self.problems.push(problem);
    }

    /// `complete` and the warnings: whatever was hidden is said, and root's
    /// warnings stay (unless drawn from what was hidden).
    fn completeness(&mut self, root: &Value, shadow: &Value) {
        let codes = |doc: &Value| -> BTreeSet<String> {
            doc["warnings"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w["code"].as_str().map(str::to_owned))
                .collect()
        };
        let (root_codes, shadow_codes) = (codes(root), codes(shadow));
        let complete = shadow["complete"].as_bool();
        if self.hidden {
            if complete != Some(false) {
                self.fail("something root saw is hidden, yet `complete` is not false".into());
            }
            if !HIDING_CODES.iter().any(|c| shadow_codes.contains(*c)) {
                self.fail(format!(
                    "something root saw is hidden, and no warning says so (warnings {shadow_codes:?})"
                ));
            }
        }
        if root["complete"].as_bool() == Some(false) && complete != Some(false) {
            self.fail("complete where root's document is not".into());
        }
        for code in shadow_codes.difference(&root_codes) {
            if !HIDING_CODES.contains(&code.as_str()) && !LOOKED_AT_APART.contains(&code.as_str()) {
                self.fail(format!(
                    "warning {code}, which root does not give and which says nothing was hidden"
                ));
            }
        }
        for code in root_codes.difference(&shadow_codes) {
            let excused = complete == Some(false) && NEEDS_OWNERS.contains(&code.as_str());
            if !excused {
                self.fail(format!("root's warning {code} is missing"));
            }
        }
    }

    /// One socket as root and as uid 65534 saw it.
    fn socket(&mut self, what: &str, root: &SocketDoc, shadow: &SocketDoc) {
        // Owners, and what is read from them (a demultiplexer's routes),
        // may be hidden; the rest is the kernel's.
        let kernel_view = |s: &SocketDoc| SocketDoc {
            processes: Vec::new(),
            owner_gap: None,
            reuseaddr: None,
            reuseport: None,
            probe: None,
            demultiplexer: None,
            forwards_by_protocol: Vec::new(),
            ..s.clone()
        };
        if kernel_view(root) != kernel_view(shadow) {
            self.fail(format!(
                "{what}: another socket than root's: {shadow:?} where root saw {root:?}"
            ));
            return;
        }
        for (name, mine, roots) in [
            ("reuseaddr", shadow.reuseaddr, root.reuseaddr),
            ("reuseport", shadow.reuseport, root.reuseport),
        ] {
            match (mine, roots) {
                (None, Some(_)) => self.hidden = true,
                (mine, roots) if mine != roots => {
                    self.fail(format!("{what}: {name} {mine:?} where root read {roots:?}"));
                }
                _ => {}
            }
        }
        if shadow.processes == root.processes && shadow.owner_gap == root.owner_gap {
            return;
        }
        let unknown = matches!(
            shadow.owner_gap.as_deref(),
            Some("owner_unreadable" | "owner_not_visible")
        );
        let seen_by_root: BTreeSet<u32> = root.processes.iter().map(|p| p.pid).collect();
        let foreign: Vec<u32> = shadow
            .processes
            .iter()
            .filter(|p| !root.processes.contains(p))
            .map(|p| p.pid)
            .collect();
        if !foreign.is_empty() {
            self.fail(format!(
                "{what}: owners {foreign:?} that root did not list as such (root: {seen_by_root:?})"
            ));
        } else if root.owner_gap.as_deref() == Some("kernel_owned") {
            self.fail(format!(
                "{what}: owner_gap {:?} for an entry the kernel owns",
                shadow.owner_gap
            ));
        } else if !unknown {
            // Some or all of root's owners are missing, and nothing on the
            // socket says its owners could not be read.
            self.fail(format!(
                "{what}: lists {} of root's {} owner(s) with owner_gap {:?}",
                shadow.processes.len(),
                root.processes.len(),
                shadow.owner_gap
            ));
        } else {
            self.hidden = true;
        }
    }

    /// Socket objects (or nulls) at the same place of both documents.
    fn socket_values(&mut self, what: &str, root: &Value, shadow: &Value) {
        match (root.is_null(), shadow.is_null()) {
            (true, true) => {}
            (false, false) => match (socket_doc(root), socket_doc(shadow)) {
                (Ok(r), Ok(s)) => self.socket(what, &r, &s),
                (_, Err(e)) | (Err(e), _) => self.fail(format!("{what}: not a socket: {e}")),
            },
            _ => self.fail(format!("{what}: {shadow} where root has {root}")),
        }
    }

    fn who(&mut self, root: &Run, shadow: &Run) {
        let Ok(shadow_doc) = serde_json::from_str::<WhoDoc>(&shadow.stdout) else {
            self.fail("not a `who` document of the contract's shape".into());
            return;
        };
        let Ok(root_doc) = serde_json::from_str::<WhoDoc>(&root.stdout) else {
            return;
        };
        if shadow.code != root.code {
            self.fail(format!(
                "exit {} where root's is {}",
                shadow.code, root.code
            ));
        }
        if shadow_doc.query != root_doc.query || shadow_doc.summary != root_doc.summary {
            self.fail("another query or summary than root's".into());
        }
        if shadow_doc.sockets.len() != root_doc.sockets.len() {
            self.fail(format!(
                "{} sockets where root lists {}",
                shadow_doc.sockets.len(),
                root_doc.sockets.len()
            ));
            return;
        }
        for (index, (r, s)) in root_doc.sockets.iter().zip(&shadow_doc.sockets).enumerate() {
            self.socket(&format!("socket #{index}"), r, s);
        }
    }

    fn resolve(&mut self, root: &Value, shadow: &Value, root_code: i32, shadow_code: i32) {
        if shadow_code != root_code {
            self.fail(format!("exit {shadow_code} where root's is {root_code}"));
        }
        for key in ["host", "port", "protocol", "order_agrees", "decisions"] {
            if shadow[key] != root[key] {
                self.fail(format!(
                    "{key} {} where root's is {}",
                    shadow[key], root[key]
                ));
            }
        }
        let (Some(rs), Some(ss)) = (
            root["destinations"].as_array(),
            shadow["destinations"].as_array(),
        ) else {
            self.fail("no destinations list".into());
            return;
        };
        if rs.len() != ss.len() {
            self.fail(format!(
                "{} destinations where root has {}",
                ss.len(),
                rs.len()
            ));
            return;
        }
        for (r, s) in rs.iter().zip(ss) {
            let what = format!("destination {}", r["address"]);
            for key in [
                "address",
                "family",
                "system_rank",
                "rfc6724_rank",
                "source_address",
                "origin",
                "outcome",
            ] {
                if s[key] != r[key] {
                    self.fail(format!(
                        "{what}: {key} {} where root's is {}",
                        s[key], r[key]
                    ));
                }
            }
            self.socket_values(&format!("{what} listener"), &r["listener"], &s["listener"]);
            let (rl, sl) = (array(&r["listeners"]), array(&s["listeners"]));
            // Unprivileged, SO_REUSEPORT of another user's UDP sockets may
            // be unreadable: the shadow then names every tied socket (the
            // newest first) and says it cannot tell, with delivery null.
            let cannot_tell = s["delivery"].is_null() && !r["delivery"].is_null();
            if rl.len() == sl.len() {
                for (index, (r, s)) in rl.iter().zip(sl).enumerate() {
                    self.socket_values(&format!("{what} listeners[{index}]"), r, s);
                }
            } else if !(cannot_tell && sl.len() > rl.len()) {
                self.fail(format!(
                    "{what}: {} listeners where root has {}",
                    sl.len(),
                    rl.len()
                ));
            }
        }
        let (r, s) = (&root["reached"], &shadow["reached"]);
        if r["address"] != s["address"] || r["port"] != s["port"] {
            self.fail(format!("reached {s} where root's is {r}"));
        } else if !r.is_null() {
            self.socket_values("reached socket", &r["socket"], &s["socket"]);
        }
    }

    /// `why`: the same message recognised, the same diagnosis status and
    /// holders (owners hidden as in `who`), the same exit code. The
    /// diagnosis itself asks as the program that failed, not as portcheck.
    fn why(&mut self, root: &Value, shadow: &Value, root_code: i32, shadow_code: i32) {
        if shadow_code != root_code {
            self.fail(format!("exit {shadow_code} where root's is {root_code}"));
        }
        for pointer in ["/input", "/recognised", "/diagnosis/status"] {
            if shadow.pointer(pointer) != root.pointer(pointer) {
                self.fail(format!("{pointer} differs from root's"));
            }
        }
        let (rh, sh) = (
            array(&root["diagnosis"]["holders"]),
            array(&shadow["diagnosis"]["holders"]),
        );
        if rh.len() == sh.len() {
            for (index, (r, s)) in rh.iter().zip(sh).enumerate() {
                self.socket_values(&format!("holder {index}"), r, s);
            }
        } else {
            self.fail(format!("{} holders where root has {}", sh.len(), rh.len()));
        }
    }

    fn try_documents(&mut self, root: &Value, shadow: &Value, root_code: i32, shadow_code: i32) {
        if shadow.pointer("/assumed/euid") != Some(&Value::from(NOBODY)) {
            self.fail(format!("assumed euid {}", shadow["assumed"]["euid"]));
        }
        if shadow_code != i32::from(shadow["ok"] != Value::Bool(true)) {
            self.fail(format!("exit {shadow_code} against ok {}", shadow["ok"]));
        }
        let (rs, ss) = (array(&root["candidates"]), array(&shadow["candidates"]));
        if rs.len() != ss.len() {
            self.fail(format!(
                "{} candidates where root has {}",
                ss.len(),
                rs.len()
            ));
            return;
        }
        // Ports where the uid changed an earlier verdict: later candidates
        // there meet another bind table than root's did.
        let mut diverged: BTreeMap<String, String> = BTreeMap::new();
        for (r, s) in rs.iter().zip(ss) {
            self.candidate(r, s, &mut diverged);
        }
        if root_code == 1 && shadow_code == 0 && diverged.is_empty() {
            self.fail("every candidate binds, where root's run says some would fail".into());
        }
        self.broken_listens(root, shadow);
        self.unfiltered_trials(shadow);
    }

    /// A live socket whose listen() a candidate breaks: root says so too,
    /// or the candidate's own bind "depends" and the warning says "may".
    fn broken_listens(&mut self, root: &Value, shadow: &Value) {
        let about = |doc: &Value| -> BTreeSet<String> {
            array(&doc["warnings"])
                .iter()
                .filter(|w| w["code"] == "breaks_live_listen")
                .filter_map(|w| w["message"].as_str())
                .filter_map(|m| m.split_whitespace().next().map(str::to_owned))
                .collect()
        };
        let roots = about(root);
        for warning in array(&shadow["warnings"]) {
            if warning["code"] != "breaks_live_listen" {
                continue;
            }
            let message = warning["message"].as_str().unwrap_or("");
            let mut words = message.split_whitespace();
            let (Some(who), Some(verb)) = (words.next(), words.next()) else {
                continue;
            };
            let index = who.trim_start_matches('#').parse::<usize>().ok();
            let rule_of = |doc: &Value| {
                index
                    .and_then(|i| array(&doc["candidates"]).get(i))
                    .map(|c| c["prediction"]["rule"].as_str().unwrap_or("").to_owned())
                    .unwrap_or_default()
            };
            let depends = index
                .and_then(|i| array(&shadow["candidates"]).get(i))
                .is_some_and(|c| c["prediction"]["ok"].is_null());
            // Another uid than root's makes another reuseport group.
            let by_uid = [rule_of(root), rule_of(shadow)]
                .iter()
                .any(|rule| UID_RULES.contains(&rule.as_str()));
            let fine = roots.contains(who) || depends && verb == "may" || by_uid;
            if !fine {
                self.fail(format!(
                    "a broken listen() root does not foresee, stated as certain: {message}"
                ));
            }
        }
    }

    /// Trials the kernel refused its filter: skipped for that reason, with
    /// one note for the run and no errno text.
    fn unfiltered_trials(&mut self, shadow: &Value) {
        let skipped = array(&shadow["candidates"])
            .iter()
            .filter(|c| c["trial"]["skipped"] == "filter_not_permitted")
            .count();
        let notes = array(&shadow["warnings"])
            .iter()
            .filter(|w| w["code"] == "trial_not_permitted")
            .count();
        if notes != usize::from(skipped > 0) {
            self.fail(format!(
                "{notes} trial_not_permitted note(s) for {skipped} trial(s) skipped as filter_not_permitted"
            ));
        }
    }

    fn candidate(&mut self, root: &Value, shadow: &Value, diverged: &mut BTreeMap<String, String>) {
        let what = format!("candidate #{} {}", root["index"], root["text"]);
        for key in [
            "index", "text", "protocol", "family", "address", "port", "options",
        ] {
            if shadow[key] != root[key] {
                self.fail(format!(
                    "{what}: {key} {} where root's is {}",
                    shadow[key], root[key]
                ));
            }
        }
        let (r, s) = (&root["prediction"], &shadow["prediction"]);
        let verdict = |p: &Value| (p["ok"].clone(), p["error"].clone(), p["stage"].clone());
        let rule = |p: &Value| p["rule"].as_str().unwrap_or("").to_owned();
        let port = format!("{} {}", root["protocol"], root["port"]);

        let trial = &shadow["trial"];
        if trial["performed"] == Value::Bool(false) && trial["skipped"].is_null() {
            self.fail(format!(
                "{what}: no trial, and `skipped` does not say why: {trial}"
            ));
        }
        if shadow["agree"] == Value::Bool(false) {
            self.fail(format!(
                "{what}: the trial contradicts the prediction: {shadow}"
            ));
        }
        if s["ok"].is_null() {
            self.hidden = true;
            if !rule(s).starts_with("depends_on_") {
                self.fail(format!(
                    "{what}: 'depends' on rule {}, which names no unreadable fact",
                    s["rule"]
                ));
            }
        }
        if verdict(r) == verdict(s) {
            if !diverged.contains_key(&port) {
                self.conflicts(&what, r, s);
            }
            return;
        }
        // The uid decides: a privileged port, SO_REUSEPORT's same-uid rule
        // (either way), or an earlier verdict on this port that did.
        let by_uid = UID_RULES.contains(&rule(r).as_str()) || UID_RULES.contains(&rule(s).as_str());
        if by_uid || diverged.contains_key(&port) {
            diverged.entry(port).or_insert(what);
            return;
        }
        let possible = match s["ok"].as_bool() {
            // "Depends": binds, or fails with its error.
            None => r["ok"] == Value::Bool(true) || r["ok"].is_null() || r["error"] == s["error"],
            Some(_) => false,
        };
        if !possible {
            self.fail(format!(
                "{what}: predicted {} (rule {}) where root predicts {} (rule {}), and no uid rule explains it",
                brief(s),
                s["rule"],
                brief(r),
                r["rule"]
            ));
        }
    }

    /// A live socket both runs name as a conflict is the same socket, its
    /// owners and options root's or shown as unknown. The lists themselves
    /// may differ: a conflict explains a verdict, and which socket explains
    /// it best depends on what could be read (and on the uid, through
    /// SO_REUSEPORT).
    fn conflicts(&mut self, what: &str, root: &Value, shadow: &Value) {
        let root_conflicts = array(&root["conflicts"]);
        for (index, s) in array(&shadow["conflicts"]).iter().enumerate() {
            let same_socket = root_conflicts
                .iter()
                .find(|r| !s["socket"].is_null() && r["socket"]["inode"] == s["socket"]["inode"]);
            if let Some(r) = same_socket {
                self.socket_values(
                    &format!("{what} conflict {index}"),
                    &r["socket"],
                    &s["socket"],
                );
            }
        }
    }
}

fn array(value: &Value) -> &[Value] {
    value.as_array().map_or(&[], Vec::as_slice)
}

fn socket_doc(value: &Value) -> Result<SocketDoc, serde_json::Error> {
    serde_json::from_value(value.clone())
}

/// A prediction in a few words: `ok`, `EADDRINUSE at bind`, `depends`.
fn brief(prediction: &Value) -> String {
    let mut text = String::new();
    match prediction["ok"].as_bool() {
        Some(true) => text.push_str("ok"),
        ok => {
            if ok.is_none() {
                text.push_str("depends: ok or ");
            }
            let _ = write!(
                text,
                "{} at {}",
                prediction["error"].as_str().unwrap_or("?"),
                prediction["stage"].as_str().unwrap_or("?")
            );
        }
    }
    text
}
