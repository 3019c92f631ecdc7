
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
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
            cand --netns 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID'
            cand -t 'TCP sockets only (default: TCP and UDP)'
            cand --tcp 'TCP sockets only (default: TCP and UDP)'
            cand -u 'UDP sockets only (default: TCP and UDP)'
            cand --udp 'UDP sockets only (default: TCP and UDP)'
            cand -4 'IPv4 sockets only (an IPv6 dual-stack socket is IPv6 here, as in ss)'
            cand --ipv4 'IPv4 sockets only (an IPv6 dual-stack socket is IPv6 here, as in ss)'
            cand -6 'IPv6 sockets only'
            cand --ipv6 'IPv6 sockets only'
            cand -a 'List every state: connections and TIME_WAIT too'
            cand --all 'List every state: connections and TIME_WAIT too'
            cand --all-netns 'Look in every network namespace a process here is in (containers), and the named ones (ip netns); each socket says its namespace'
            cand --probe 'Identify the service behind each listening TCP socket: banner, TLS certificate, HTTP status and title (bounded: 3 s per socket, run concurrently; never leaves this host). Not with -u: UDP has no handshake to probe'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
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
            cand --probe 'Identify the service behind each destination that accepts: banner, TLS certificate, HTTP status and title (bounded: 3 s per address). Addresses of other hosts are probed only because HOST names them. Not with -u: UDP has no handshake to probe'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
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
            cand --probe 'Identify the service behind each destination that accepts: banner, TLS certificate, HTTP status and title (bounded: 3 s per address). Addresses of other hosts are probed only because HOST names them. Not with -u: UDP has no handshake to probe'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
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
            cand -4 'IPv4 sockets only (an IPv6 dual-stack socket is IPv6 here, as in ss)'
            cand --ipv4 'IPv4 sockets only (an IPv6 dual-stack socket is IPv6 here, as in ss)'
            cand -6 'IPv6 sockets only'
            cand --ipv6 'IPv6 sockets only'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
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
            cand --no-trial 'Predict only; make no trial bind'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
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
            cand -4 'IPv4 sockets only (an IPv6 dual-stack socket is IPv6 here, as in ss)'
            cand --ipv4 'IPv4 sockets only (an IPv6 dual-stack socket is IPv6 here, as in ss)'
            cand -6 'IPv6 sockets only'
            cand --ipv6 'IPv6 sockets only'
            cand --dry-run 'Print the plan (what would be signalled or run, in order) and change nothing'
            cand -y 'Act without asking (needed when standard input is not a terminal)'
            cand --yes 'Act without asking (needed when standard input is not a terminal)'
            cand --no-escalate 'Never send SIGKILL: report the port still held after the grace'
            cand --parent 'Also stop the parent that restarts a stopped holder (a shell loop, nodemon), and the holder it restarted'
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
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
