//! Input as people write it, in the field (issue 16, items 8 to 10): the
//! host:port forms runtimes print, names where a name makes sense,
//! interfaces that do not exist, and defaults a user relies on.

use crate::harness::{
    Etc, Opts, Run, WaitDoc, in_netns, listener, parse_error, portcheck, udp, who_json,
    without_new_processes,
};

fn parse_wait(run: &Run) -> WaitDoc {
    let doc: WaitDoc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one `wait` document ({e}): {run:#?}"));
    assert_eq!((doc.schema_version, doc.command.as_str()), (1, "wait"));
    assert_eq!(
        run.code,
        i32::from(!doc.met),
        "exit code against met: {run:#?}"
    );
    doc
}

/// `who :::80` is Node's `[::]:80`; `who ::1:80` can be read two ways and
/// is refused with both spellings (it silently meant the address `::1:80`).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_reads_nodes_forms_and_refuses_ambiguous_ones() {
    in_netns("who_reads_nodes_forms_and_refuses_ambiguous_ones", || {
        let _server = listener("[::]:3000", Opts::new().v6only(false));
        let (run, doc) = who_json(&[":::3000"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.query.targets, [":::3000"], "{doc:#?}");
        assert!(
            doc.sockets
                .iter()
                .any(|s| s.local_address == "::" && s.local_port == 3000),
            "{doc:#?}"
        );

        let run = portcheck(&["who", "::1:3000"]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert!(
            run.stderr
                .contains("write [::1]:3000 for port 3000 on ::1, or [::1:3000]"),
            "{run:#?}"
        );
        let run = portcheck(&["--json", "who", "::1:3000"]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert_eq!(parse_error(&run).error.code, "bad_target", "{run:#?}");

        // Both bracketed readings are accepted as written.
        let (run, _) = who_json(&["[::1]:3000"]);
        assert_eq!(run.code, 0, "{run:#?}");
        // Every port of the address `::1:3000`: the dual-stack wildcard
        // covers it on 3000 only.
        let (run, _) = who_json(&["[::1:3000]"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let (run, _) = who_json(&["[::1:3000]:4000"]);
        assert_eq!(run.code, 1, "{run:#?}");
        let (run, _) = who_json(&["[::1]%lo:3000"]);
        assert_eq!(run.code, 0, "{run:#?}");
    });
}

/// An interface that does not exist is an error naming it, never "free".
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_and_wait_refuse_unknown_interfaces() {
    in_netns("who_and_wait_refuse_unknown_interfaces", || {
        for args in [
            &["who", "[fe80::1%nosuchif]:80"][..],
            &["who", "[fe80::1]%nosuchif:80"],
            &["wait", "[fe80::1%nosuchif]:80", "--timeout", "100ms"],
        ] {
            let run = portcheck(args);
            assert_eq!(run.code, 2, "{args:?}: {run:#?}");
            assert!(run.stderr.contains("'nosuchif'"), "{args:?}: {run:#?}");
            let mut json = args.to_vec();
            json.push("--json");
            let run = portcheck(&json);
            assert_eq!(run.code, 2, "{run:#?}");
            assert_eq!(
                parse_error(&run).error.code,
                "no_such_interface",
                "{run:#?}"
            );
        }
        // A device that exists is no error.
        let (run, _) = who_json(&["[::1%lo]:80"]);
        assert_eq!(run.code, 1, "{run:#?}");
    });
}

/// `wait NAME:PORT` looks the name up (system order) and is met when one
/// of its destinations accepts, as a client trying them in order connects.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn wait_for_a_name_is_met_when_one_destination_accepts() {
    in_netns(
        "wait_for_a_name_is_met_when_one_destination_accepts",
        || {
            let etc = Etc::new("wait-name", "::1 web\n127.0.0.1 web\n");
            let _v4 = listener("127.0.0.1:8443", Opts::new());

            let run = etc.portcheck(&["wait", "web:8443", "--timeout", "5s", "--json"]);
            let doc = parse_wait(&run);
            assert!(doc.met, "{doc:#?}");
            assert_eq!(doc.target, "web:8443");
            assert_eq!(doc.destinations, etc.system_order("web"), "{doc:#?}");
            assert_eq!(doc.destinations.len(), 2, "{doc:#?}");
            assert!(
                doc.sockets
                    .iter()
                    .any(|s| s.local_address == "127.0.0.1" && s.local_port == 8443),
                "{doc:#?}"
            );

            // Nothing on either destination: not met, and free is met at once.
            let run = etc.portcheck(&["wait", "web:8444", "--timeout", "200ms", "--json"]);
            assert!(!parse_wait(&run).met, "{run:#?}");
            let run = etc.portcheck(&["wait", "web:8444", "--until", "free", "--json"]);
            assert!(parse_wait(&run).met, "{run:#?}");
            let run = etc.portcheck(&["wait", "web:8443", "--until", "free", "--timeout", "200ms"]);
            assert_eq!(run.code, 1, "{run:#?}");

            // An unknown name is an error, not a wait.
            let run = etc.portcheck(&["wait", "nosuchname.test:80", "--timeout", "100ms"]);
            assert_eq!(run.code, 2, "{run:#?}");
        },
    );
}

/// `wait PORT` waits for a TCP server, as `free` looks for TCP ports: a
/// UDP socket on the port does not meet it; `-u` asks for UDP.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn wait_defaults_to_tcp() {
    in_netns("wait_defaults_to_tcp", || {
        let _datagrams = udp("127.0.0.1:7002", Opts::new());
        let run = portcheck(&["wait", "7002", "--timeout", "200ms", "--json"]);
        let doc = parse_wait(&run);
        assert!(!doc.met, "{doc:#?}");
        let run = portcheck(&["wait", "-u", "7002", "--timeout", "5s", "--json"]);
        assert!(parse_wait(&run).met, "{run:#?}");
        let _stream = listener("127.0.0.1:7002", Opts::new());
        let run = portcheck(&["wait", "7002", "--timeout", "5s", "--json"]);
        assert!(parse_wait(&run).met, "{run:#?}");
    });
}

/// A real nginx (its own config in a temporary directory, in this test's
/// namespace): its workers rewrite their title to `nginx: worker process`
/// and pad it with NULs; `who` lists the title alone, as ps does.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_trims_the_padding_of_rewritten_titles() {
    in_netns("who_trims_the_padding_of_rewritten_titles", || {
        let test = "who_trims_the_padding_of_rewritten_titles";
        let Some(nginx) = crate::field::program("nginx", test) else {
            return;
        };
        let dir = std::env::temp_dir().join(format!("portcheck-nginx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let d = dir.display();
        let config = format!(
            "worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\n\
             http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};\n\
             server {{ listen 127.0.0.1:8088; }} }}\n"
        );
        std::fs::write(dir.join("nginx.conf"), config).expect("config");
        let conf = dir.join("nginx.conf");
        let status = without_new_processes(|| {
            std::process::Command::new(&nginx)
                .arg("-c")
                .arg(&conf)
                .arg("-p")
                .arg(&dir)
                .status()
        })
        .expect("start nginx");
        assert!(status.success(), "nginx: {status}");
        let master: i32 = std::fs::read_to_string(dir.join("nginx.pid"))
            .expect("pid file")
            .trim()
            .parse()
            .expect("a pid");
        let stop = Stop(master);

        // The workers start after the master has written its pid.
        let mut workers = Vec::new();
        for _ in 0..50 {
            let (run, doc) = who_json(&["127.0.0.1:8088"]);
            assert_eq!(run.code, 0, "{run:#?}");
            workers = doc
                .sockets
                .iter()
                .flat_map(|s| &s.processes)
                .filter(|p| p.pid != master.unsigned_abs())
                .cloned()
                .collect();
            if workers.len() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        assert_eq!(workers.len(), 2, "{workers:#?}");
        for worker in &workers {
            // The kernel's bytes: the title, then NUL padding.
            let raw = std::fs::read(format!("/proc/{}/cmdline", worker.pid)).expect("cmdline");
            assert!(raw.ends_with(b"\0\0"), "{raw:?}");
            assert_eq!(worker.cmdline, ["nginx: worker process"], "{worker:#?}");
        }
        drop(stop);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// Stops the nginx master this test started (by its pid) when dropped.
struct Stop(i32);

impl Drop for Stop {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of a process this test started.
        unsafe {
            libc::kill(self.0, libc::SIGQUIT);
        }
        for _ in 0..50 {
            // SAFETY: signal 0 only checks that the pid still exists.
            if unsafe { libc::kill(self.0, 0) } != 0 {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// `free` in a range the kernel keeps for outgoing connections says every
/// port was skipped, and how to widen the search.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn free_says_when_every_port_was_skipped_as_ephemeral() {
    in_netns("free_says_when_every_port_was_skipped_as_ephemeral", || {
        let ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .expect("ip_local_port_range");
        let mut bounds = ephemeral
            .split_whitespace()
            .map(|n| n.parse::<u16>().expect("a port"));
        let (low, high) = (bounds.next().expect("low"), bounds.next().expect("high"));
        let range = format!("{}-{high}", high.saturating_sub(10).max(low));
        let run = portcheck(&["free", "--range", &range]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(run.stderr.contains("[ports_skipped]"), "{run:#?}");
        assert!(
            run.stderr
                .contains(&format!("every port of {range} was skipped")),
            "{run:#?}"
        );
        assert!(
            run.stderr
                .contains(&format!("ephemeral range {low}-{high}")),
            "{run:#?}"
        );
        assert!(run.stderr.contains("--range"), "{run:#?}");
    });
}

/// A usage error under `--json` is an error document too (exit 2), and
/// still says on stderr what clap says.
#[test]
fn usage_errors_under_json_are_error_documents() {
    for args in [
        &["--json", "who", "--no-such-flag"][..],
        &["who", "--no-such-flag", "--json"],
        &["--json", "wait"],
    ] {
        let run = portcheck(args);
        assert_eq!(run.code, 2, "{args:?}: {run:#?}");
        let doc = parse_error(&run);
        assert_eq!(
            (doc.schema_version, doc.error.code.as_str()),
            (1, "usage"),
            "{run:#?}"
        );
        assert!(["who", "wait"].contains(&doc.command.as_str()), "{run:#?}");
        assert!(run.stderr.starts_with("error:"), "{run:#?}");
    }
    // Without --json, stdout stays empty; --help is no error.
    let run = portcheck(&["who", "--no-such-flag"]);
    assert_eq!((run.code, run.stdout.as_str()), (2, ""), "{run:#?}");
    let run = portcheck(&["--json", "who", "--help"]);
    assert_eq!(run.code, 0, "{run:#?}");
}

/// The tables in a real 80x24 terminal (tmux): every line fits, the
/// command line is cut with `…`; `-w` shows it whole (and wraps).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn tables_fit_an_80_column_terminal() {
    in_netns("tables_fit_an_80_column_terminal", || {
        let Some(tmux) = crate::field::program("tmux", "tables_fit_an_80_column_terminal") else {
            return;
        };
        // Held by this test, whose command line is long.
        let _server = listener("127.0.0.1:8000", Opts::new());
        let server = format!("portcheck-{}", std::process::id());
        let tmux_run = |args: &[&str]| {
            let output = without_new_processes(|| {
                std::process::Command::new(&tmux)
                    .args(["-L", &server])
                    .args(args)
                    .output()
            })
            .expect("run tmux");
            String::from_utf8_lossy(&output.stdout).into_owned()
        };
        let screen = |session: &str, command: &str| -> Vec<String> {
            let line = format!("{command}; echo END-OF-OUTPUT; sleep 60");
            tmux_run(&[
                "new-session",
                "-d",
                "-s",
                session,
                "-x",
                "80",
                "-y",
                "24",
                &line,
            ]);
            for _ in 0..100 {
                // -J joins the lines the terminal wrapped: a line longer than
                // 80 columns shows as one.
                let shown = tmux_run(&["capture-pane", "-p", "-J", "-t", session]);
                if shown.contains("END-OF-OUTPUT") {
                    return shown
                        .lines()
                        .take_while(|line| !line.contains("END-OF-OUTPUT"))
                        .map(str::to_owned)
                        .collect();
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            panic!("tmux showed no end of output for {command}");
        };
        let bin = crate::harness::BIN;
        let fitted = screen("fitted", &format!("{bin} who 8000"));
        let wide = screen("wide", &format!("{bin} who -w 8000"));
        let try_plan = screen("plan", &format!("{bin} try 127.0.0.1:8000 0.0.0.0:8000"));
        let _ = tmux_run(&["kill-server"]);

        let columns = |line: &String| line.chars().count();
        for lines in [&fitted, &try_plan] {
            // The table: up to the first blank line (prose after it wraps
            // as prose does).
            let table: Vec<&String> = lines.iter().take_while(|l| !l.trim().is_empty()).collect();
            assert!(
                table.iter().any(|l| l.contains("127.0.0.1:8000")),
                "{lines:#?}"
            );
            assert!(table.iter().all(|l| columns(l) <= 80), "{lines:#?}");
        }
        let row = fitted
            .iter()
            .find(|l| l.contains("127.0.0.1:8000"))
            .expect("the row");
        assert!(row.ends_with('…'), "{fitted:#?}");
        let whole = wide
            .iter()
            .find(|l| l.contains("127.0.0.1:8000"))
            .expect("the row");
        assert!(columns(whole) > 80 && !whole.ends_with('…'), "{wide:#?}");
    });
}

/// `try --help` and its man page carry Examples and Exit codes as every
/// command's do; `who`'s explain its columns.
#[test]
fn help_and_man_pages_explain_examples_exit_codes_and_columns() {
    let man = |page: &str| {
        std::fs::read_to_string(format!("{}/man/{page}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{page}: {e}"))
    };
    // `why --help` (issue 15's) lists the message formats instead.
    for command in ["who", "try", "resolve", "free", "wait"] {
        let run = portcheck(&[command, "--help"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let page = man(&format!("portcheck-{command}.1"));
        for text in [run.stdout.as_str(), page.as_str()] {
            assert!(text.contains("Examples:"), "{command}: {text}");
            assert!(text.contains("Exit codes:"), "{command}: {text}");
        }
    }
    let who = man("portcheck-who.1");
    for column in ["TAKES is", "REUSE is", "USER is"] {
        assert!(who.contains(column), "{column}: {who}");
    }
}
