
use builtin;
use str;

set edit:completion:arg-completer[portcheck] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'portcheck'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'portcheck'= {
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -w 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand --wide 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand who 'List the sockets that hold a port, with every owning process'
            cand try 'Predict whether binds succeed and why not, then confirm with a safe trial'
            cand resolve 'Which service does HOST:PORT reach? Resolve, order, map to listeners'
            cand reach 'Which service does HOST:PORT reach? Resolve, order, map to listeners'
            cand free 'Find ports any program could bind now (both families, every address)'
            cand wait 'Wait until a socket listens on TARGET, or until it is free'
            cand why 'Paste a bind or connect error; get the cause on this host and the fix'
            cand stop 'Stop what holds a port: SIGTERM through a pidfd, wait, then SIGKILL'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'portcheck;who'= {
            cand --format 'The output: table (the default), json (the same as --json), openmetrics (OpenMetrics 1.0 text, for a Prometheus scrape) or prometheus (the Prometheus text format, for node_exporter''s textfile collector, which reads no OpenMetrics). --json with another format is refused'
            cand --output 'Write the output to FILE instead of standard output, atomically (a temporary file in the same directory, renamed over FILE once complete), so that a reader such as node_exporter never sees half a file. On an error FILE is left as it was'
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand -t 'TCP sockets only (default: TCP and UDP)'
            cand --tcp 'TCP sockets only (default: TCP and UDP)'
            cand -u 'UDP sockets only (default: TCP and UDP)'
            cand --udp 'UDP sockets only (default: TCP and UDP)'
            cand -4 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)'
            cand --ipv4 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)'
            cand -6 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds'
            cand --ipv6 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds'
            cand -a 'List every state: connections and TIME_WAIT too'
            cand --all 'List every state: connections and TIME_WAIT too'
            cand --all-netns 'Look in every network namespace a process here is in (containers), and the named ones (ip netns); each socket says its namespace'
            cand --probe 'Identify the service behind each listening TCP socket: banner, TLS certificate, HTTP status and title; Redis gets only PING, PostgreSQL only an SSLRequest, a server that speaks first (sshd, mariadbd) is only listened to (bounded: 3 s per socket, run concurrently; never leaves this host). Not with -u: UDP has no handshake to probe'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -w 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand --wide 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'portcheck;try'= {
            cand --file 'Read candidates from PLAN, one per line (''#'' comments; ''-'' for stdin)'
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand -t 'TCP candidates (the default)'
            cand --tcp 'TCP candidates (the default)'
            cand -u 'UDP candidates unless a candidate says tcp:'
            cand --udp 'UDP candidates unless a candidate says tcp:'
            cand --v6only 'Set IPV6_V6ONLY on IPv6 candidates'
            cand --dual-stack 'Clear IPV6_V6ONLY on IPv6 candidates ([::] also takes IPv4)'
            cand --reuseaddr 'Set SO_REUSEADDR (the TCP default)'
            cand --no-reuseaddr 'Do not set SO_REUSEADDR'
            cand --reuseport 'Set SO_REUSEPORT'
            cand --no-listen 'Bind only; do not listen'
            cand --no-trial 'Predict only; make no real bind'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -w 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand --wide 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'portcheck;resolve'= {
            cand --dns-server 'Ask this nameserver (ADDRESS or ADDRESS:PORT) for --dns'
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand -t 'TCP (the default)'
            cand --tcp 'TCP (the default)'
            cand -u 'UDP: which socket would receive a datagram'
            cand --udp 'UDP: which socket would receive a datagram'
            cand --connect 'Really connect to each local destination and report who accepted'
            cand --dns 'Also ask DNS directly (the nameservers of /etc/resolv.conf) for A and AAAA records, to show what the system answer hides'
            cand --probe 'Identify the service behind each destination that accepts: banner, TLS certificate, HTTP status and title; Redis gets only PING, PostgreSQL only an SSLRequest (bounded: 3 s per address). Addresses of other hosts are probed only because HOST names them. Not with -u: UDP has no handshake to probe'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -w 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand --wide 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'portcheck;reach'= {
            cand --dns-server 'Ask this nameserver (ADDRESS or ADDRESS:PORT) for --dns'
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand -t 'TCP (the default)'
            cand --tcp 'TCP (the default)'
            cand -u 'UDP: which socket would receive a datagram'
            cand --udp 'UDP: which socket would receive a datagram'
            cand --connect 'Really connect to each local destination and report who accepted'
            cand --dns 'Also ask DNS directly (the nameservers of /etc/resolv.conf) for A and AAAA records, to show what the system answer hides'
            cand --probe 'Identify the service behind each destination that accepts: banner, TLS certificate, HTTP status and title; Redis gets only PING, PostgreSQL only an SSLRequest (bounded: 3 s per address). Addresses of other hosts are probed only because HOST names them. Not with -u: UDP has no handshake to probe'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -w 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand --wide 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'portcheck;free'= {
            cand --range 'Search LOW-HIGH (default: ip_unprivileged_port_start-65535)'
            cand --count 'How many ports to find'
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand -t 'Free for TCP (the default)'
            cand --tcp 'Free for TCP (the default)'
            cand -u 'Free for UDP'
            cand --udp 'Free for UDP'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -w 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand --wide 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'portcheck;wait'= {
            cand --until 'The condition to wait for'
            cand --timeout 'Give up after this long (30s, 500ms, 2m)'
            cand --interval 'Time between polls'
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand -t 'TCP sockets only (default: TCP and UDP)'
            cand --tcp 'TCP sockets only (default: TCP and UDP)'
            cand -u 'UDP sockets only (default: TCP and UDP)'
            cand --udp 'UDP sockets only (default: TCP and UDP)'
            cand -4 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)'
            cand --ipv4 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)'
            cand -6 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds'
            cand --ipv6 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -w 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand --wide 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'portcheck;why'= {
            cand --port 'The port, when the message does not name it (or to check another)'
            cand --address 'The address, when the message does not name it (or to check another)'
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand -t 'TCP: where the message does not say (socat, nginx and bare errno words read the same for both), or to check TCP instead'
            cand --tcp 'TCP: where the message does not say (socat, nginx and bare errno words read the same for both), or to check TCP instead'
            cand -u 'UDP: where the message does not say, or to check UDP instead'
            cand --udp 'UDP: where the message does not say, or to check UDP instead'
            cand --no-trial 'Predict only; make no trial bind'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -w 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand --wide 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'portcheck;stop'= {
            cand --signal 'The first signal: TERM, INT, HUP, QUIT, USR1, USR2 or KILL'
            cand --grace 'How long to wait for the port to be free before SIGKILL'
            cand --respawn-window 'How long to watch a freed port for a restarted holder (0 to skip)'
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand -t 'TCP sockets only (default: TCP and UDP)'
            cand --tcp 'TCP sockets only (default: TCP and UDP)'
            cand -u 'UDP sockets only (default: TCP and UDP)'
            cand --udp 'UDP sockets only (default: TCP and UDP)'
            cand -4 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)'
            cand --ipv4 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)'
            cand -6 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds'
            cand --ipv6 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds'
            cand --dry-run 'Print the plan (what would be signalled or run, in order) and change nothing'
            cand -y 'Act without asking (needed when standard input is not a terminal)'
            cand --yes 'Act without asking (needed when standard input is not a terminal)'
            cand --no-escalate 'Never send SIGKILL: report the port still held after the grace'
            cand --parent 'Also stop the parent that restarts a stopped holder (a shell loop, nodemon), and the holder it restarted'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -w 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand --wide 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'portcheck;help'= {
            cand who 'List the sockets that hold a port, with every owning process'
            cand try 'Predict whether binds succeed and why not, then confirm with a safe trial'
            cand resolve 'Which service does HOST:PORT reach? Resolve, order, map to listeners'
            cand free 'Find ports any program could bind now (both families, every address)'
            cand wait 'Wait until a socket listens on TARGET, or until it is free'
            cand why 'Paste a bind or connect error; get the cause on this host and the fix'
            cand stop 'Stop what holds a port: SIGTERM through a pidfd, wait, then SIGKILL'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'portcheck;help;who'= {
        }
        &'portcheck;help;try'= {
        }
        &'portcheck;help;resolve'= {
        }
        &'portcheck;help;free'= {
        }
        &'portcheck;help;wait'= {
        }
        &'portcheck;help;why'= {
        }
        &'portcheck;help;stop'= {
        }
        &'portcheck;help;help'= {
        }
    ]
    $completions[$command]
}
