//! Signals and cleanup (issue #7, item 8): Ctrl-C during `try` or `wait`
//! leaves nothing behind and ends at once; a reader that goes away ends
//! every command quietly.
//!
//! portcheck keeps SIGINT's default action, so an interrupted run dies by
//! the signal (a shell says 130) and the kernel closes its sockets. What
//! these tests guard is that nothing outlives it: no trial socket kept
//! open by a child that inherited it, none left in TIME_WAIT (a trial
//! never connects), no handler that delays the end or prints half a
//! document.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{
    BIN, Opts, in_netns, listener, parse_who, portcheck, portcheck_into_closed_pipe, udp,
    without_new_processes,
};

fn spawn(args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .env_remove("PORTCHECK_SOCKET_SOURCE")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start portcheck")
}

fn interrupt(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) on our own child, which has not been reaped yet.
    let rc = unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
}

/// Ended by SIGINT, as Ctrl-C ends it.
fn interrupted(status: ExitStatus) -> bool {
    status.signal() == Some(libc::SIGINT)
}

/// The plan: TCP and UDP, both families, listening and bound only, on
/// ports 9900-9904.
const PLAN: [&str; 6] = [
    "127.0.0.1:9900",
    "[::]:9901/v6only",
    "0.0.0.0:9901",
    "udp:127.0.0.1:9902",
    "[::1]:9903",
    "127.0.0.1:9904/nolisten",
];

/// Interrupted runs of the plan.
const RUNS: u32 = 50;

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn signals_ctrl_c_during_try_leaves_every_port_free() {
    in_netns("signals_ctrl_c_during_try", || {
        let mut args = vec!["try"];
        args.extend(PLAN);
        let mut stopped = 0;
        for run in 0..RUNS {
            // 0 to 7.5 ms: a run takes a few milliseconds, so the signal
            // lands before, during and after the trial.
            let delay = Duration::from_micros(u64::from(run) * 150);
            let (status, stdout, stderr) = without_new_processes(|| {
                let child = spawn(&args);
                std::thread::sleep(delay);
                interrupt(&child);
                let output = child.wait_with_output().expect("wait for portcheck");
                (output.status, output.stdout, output.stderr)
            });
            let stderr = String::from_utf8_lossy(&stderr);
            if interrupted(status) {
                stopped += 1;
            } else {
                // Finished first: a whole answer, every candidate binds.
                assert_eq!(status.code(), Some(0), "run {run}: {stderr}");
                assert!(!stdout.is_empty(), "run {run}");
            }
            assert!(!stderr.contains("panicked"), "run {run}: {stderr}");
        }
        eprintln!("{stopped} of {RUNS} runs were interrupted");
        assert!(
            stopped >= RUNS / 4,
            "only {stopped} of {RUNS} runs were interrupted"
        );

        // Nothing is left on those ports: no socket in any state.
        let run = portcheck(&["who", "9900-9904", "--all", "--json"]);
        assert_eq!(run.code, 1, "{run:#?}");
        let doc = parse_who(&run);
        assert!(doc.sockets.is_empty(), "{doc:#?}");
        assert!(doc.summary.by_state.is_empty(), "{doc:#?}");
        // And strict binds (no SO_REUSEADDR) succeed on every one.
        let _strict: Vec<_> = (9900..=9904)
            .flat_map(|port| {
                [
                    listener(&format!("0.0.0.0:{port}"), Opts::new()),
                    listener(&format!("[::]:{port}"), Opts::new().v6only(true)),
                    udp(&format!("0.0.0.0:{port}"), Opts::new()),
                    udp(&format!("[::]:{port}"), Opts::new().v6only(true)),
                ]
            })
            .collect();
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn signals_ctrl_c_ends_wait_at_once_with_no_output() {
    in_netns("signals_ctrl_c_ends_wait", || {
        // A timeout longer than the clock can add is no deadline (it
        // was a panic).
        for (json, timeout) in [(false, "30s"), (true, "30s"), (false, "500000000000y")] {
            let mut args = vec!["wait", "9910", "--until", "listening", "--timeout", timeout];
            if json {
                args.push("--json");
            }
            let (status, took, output) = without_new_processes(|| {
                let child = spawn(&args);
                std::thread::sleep(Duration::from_millis(300));
                let start = Instant::now();
                interrupt(&child);
                let output = child.wait_with_output().expect("wait for portcheck");
                (output.status, start.elapsed(), output)
            });
            assert!(interrupted(status), "{args:?}: {status:?} {output:?}");
            assert!(took < Duration::from_secs(1), "{args:?}: took {took:?}");
            // No half document, no message: the shell says "^C" and 130.
            assert!(output.stdout.is_empty(), "{args:?}: {output:?}");
            assert!(output.stderr.is_empty(), "{args:?}: {output:?}");
        }
        // The port it watched is free and untouched.
        let run = portcheck(&["who", "9910", "--all"]);
        assert_eq!(run.code, 1, "{run:#?}");
    });
}

/// `portcheck ... | head -0`: every command, table and JSON, ends with
/// its own exit code and says nothing (who's 700-socket case is in who.rs).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn signals_closed_stdout_ends_every_command_quietly() {
    in_netns("signals_closed_stdout", || {
        let _held = listener("127.0.0.1:9920", Opts::new());
        for (args, code) in [
            (&["who", "9920"][..], 0),
            (&["who", "9929"][..], 1),
            (&["try", "127.0.0.1:9920"][..], 1),
            (&["try", "127.0.0.1:9921", "[::1]:9921"][..], 0),
            (&["resolve", "127.0.0.1:9920"][..], 0),
            (&["free", "--range", "9921-9925"][..], 0),
            (&["wait", "9920"][..], 0),
            (&["wait", "9929", "--timeout", "100ms"][..], 1),
            (
                &[
                    "why",
                    "Error: listen EADDRINUSE: address already in use 127.0.0.1:9920",
                ][..],
                0,
            ),
            (&["who", "not-a-port"][..], 2),
        ] {
            for json in [false, true] {
                let mut args = args.to_vec();
                if json {
                    args.push("--json");
                }
                let run = portcheck_into_closed_pipe(&args);
                assert_eq!(run.code, code, "{args:?}: {run:#?}");
                assert!(!run.stderr.contains("panicked"), "{args:?}: {run:#?}");
                assert!(!run.stderr.contains("Broken pipe"), "{args:?}: {run:#?}");
                // free writes its race note to stderr; an error its message.
                if args[0] != "free" && code != 2 {
                    assert!(run.stderr.is_empty(), "{args:?}: {run:#?}");
                }
            }
        }
    });
}
