# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_portcheck_global_optspecs
    string join \n json w/wide color= netns= h/help V/version
end

function __fish_portcheck_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_portcheck_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_portcheck_using_subcommand
    set -l cmd (__fish_portcheck_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c portcheck -n "__fish_portcheck_needs_command" -l color -d 'When to colour the human output; NO_COLOR is honoured under `auto`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portcheck -n "__fish_portcheck_needs_command" -l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 " ")' -f
complete -c portcheck -n "__fish_portcheck_needs_command" -l json -d 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
complete -c portcheck -n "__fish_portcheck_needs_command" -s w -l wide -d 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
complete -c portcheck -n "__fish_portcheck_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portcheck -n "__fish_portcheck_needs_command" -s V -l version -d 'Print version'
complete -c portcheck -n "__fish_portcheck_needs_command" -f -a "who" -d 'List the sockets that hold a port, with every owning process'
complete -c portcheck -n "__fish_portcheck_needs_command" -f -a "try" -d 'Predict whether binds succeed and why not, then confirm with a safe trial'
complete -c portcheck -n "__fish_portcheck_needs_command" -f -a "resolve" -d 'Which service does HOST:PORT reach? Resolve, order, map to listeners'
complete -c portcheck -n "__fish_portcheck_needs_command" -f -a "reach" -d 'Which service does HOST:PORT reach? Resolve, order, map to listeners'
complete -c portcheck -n "__fish_portcheck_needs_command" -f -a "free" -d 'Find ports any program could bind now (both families, every address)'
complete -c portcheck -n "__fish_portcheck_needs_command" -f -a "wait" -d 'Wait until a socket listens on TARGET, or until it is free'
complete -c portcheck -n "__fish_portcheck_needs_command" -f -a "why" -d 'Paste a bind or connect error; get the cause on this host and the fix'
complete -c portcheck -n "__fish_portcheck_needs_command" -f -a "stop" -d 'Stop what holds a port: SIGTERM through a pidfd, wait, then SIGKILL'
complete -c portcheck -n "__fish_portcheck_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -l format -d 'The output: table (the default), json (the same as --json), openmetrics (OpenMetrics 1.0 text, for a Prometheus scrape) or prometheus (the Prometheus text format, for node_exporter\'s textfile collector, which reads no OpenMetrics). --json with another format is refused' -r -f -a "table\t''
json\t''
openmetrics\t''
prometheus\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -l output -d 'Write the output to FILE instead of standard output, atomically (a temporary file in the same directory, renamed over FILE once complete), so that a reader such as node_exporter never sees half a file. On an error FILE is left as it was' -r -F
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -l color -d 'When to colour the human output; NO_COLOR is honoured under `auto`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 " ")' -f
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -s t -l tcp -d 'TCP sockets only (default: TCP and UDP)'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -s u -l udp -d 'UDP sockets only (default: TCP and UDP)'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -s 4 -l ipv4 -d 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -s 6 -l ipv6 -d 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -s a -l all -d 'List every state: connections and TIME_WAIT too'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -l all-netns -d 'Look in every network namespace a process here is in (containers), and the named ones (ip netns); each socket says its namespace'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -l probe -d 'Identify the service behind each listening TCP socket: banner, TLS certificate, HTTP status and title; Redis gets only PING, PostgreSQL only an SSLRequest, a server that speaks first (sshd, mariadbd) is only listened to (bounded: 3 s per socket, run concurrently; never leaves this host). Not with -u: UDP has no handshake to probe'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -l json -d 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -s w -l wide -d 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portcheck -n "__fish_portcheck_using_subcommand who" -s V -l version -d 'Print version'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l file -d 'Read candidates from PLAN, one per line (\'#\' comments; \'-\' for stdin)' -r -F
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l color -d 'When to colour the human output; NO_COLOR is honoured under `auto`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 " ")' -f
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -s t -l tcp -d 'TCP candidates (the default)'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -s u -l udp -d 'UDP candidates unless a candidate says tcp:'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l v6only -d 'Set IPV6_V6ONLY on IPv6 candidates'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l dual-stack -d 'Clear IPV6_V6ONLY on IPv6 candidates ([::] also takes IPv4)'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l reuseaddr -d 'Set SO_REUSEADDR (the TCP default)'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l no-reuseaddr -d 'Do not set SO_REUSEADDR'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l reuseport -d 'Set SO_REUSEPORT'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l no-listen -d 'Bind only; do not listen'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l no-trial -d 'Predict only; make no real bind'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -l json -d 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -s w -l wide -d 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portcheck -n "__fish_portcheck_using_subcommand try" -s V -l version -d 'Print version'
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -l dns-server -d 'Ask this nameserver (ADDRESS or ADDRESS:PORT) for --dns' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -l color -d 'When to colour the human output; NO_COLOR is honoured under `auto`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 " ")' -f
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -s t -l tcp -d 'TCP (the default)'
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -s u -l udp -d 'UDP: which socket would receive a datagram'
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -l connect -d 'Really connect to each local destination and report who accepted'
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -l dns -d 'Also ask DNS directly (the nameservers of /etc/resolv.conf) for A and AAAA records, to show what the system answer hides'
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -l probe -d 'Identify the service behind each destination that accepts: banner, TLS certificate, HTTP status and title; Redis gets only PING, PostgreSQL only an SSLRequest (bounded: 3 s per address). Addresses of other hosts are probed only because HOST names them. Not with -u: UDP has no handshake to probe'
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -l json -d 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -s w -l wide -d 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portcheck -n "__fish_portcheck_using_subcommand resolve" -s V -l version -d 'Print version'
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -l dns-server -d 'Ask this nameserver (ADDRESS or ADDRESS:PORT) for --dns' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -l color -d 'When to colour the human output; NO_COLOR is honoured under `auto`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 " ")' -f
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -s t -l tcp -d 'TCP (the default)'
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -s u -l udp -d 'UDP: which socket would receive a datagram'
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -l connect -d 'Really connect to each local destination and report who accepted'
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -l dns -d 'Also ask DNS directly (the nameservers of /etc/resolv.conf) for A and AAAA records, to show what the system answer hides'
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -l probe -d 'Identify the service behind each destination that accepts: banner, TLS certificate, HTTP status and title; Redis gets only PING, PostgreSQL only an SSLRequest (bounded: 3 s per address). Addresses of other hosts are probed only because HOST names them. Not with -u: UDP has no handshake to probe'
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -l json -d 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -s w -l wide -d 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portcheck -n "__fish_portcheck_using_subcommand reach" -s V -l version -d 'Print version'
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -l range -d 'Search LOW-HIGH (default: ip_unprivileged_port_start-65535)' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -l count -d 'How many ports to find' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -l color -d 'When to colour the human output; NO_COLOR is honoured under `auto`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 " ")' -f
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -s t -l tcp -d 'Free for TCP (the default)'
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -s u -l udp -d 'Free for UDP'
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -l json -d 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -s w -l wide -d 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portcheck -n "__fish_portcheck_using_subcommand free" -s V -l version -d 'Print version'
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -l until -d 'The condition to wait for' -r -f -a "listening\t''
free\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -l timeout -d 'Give up after this long (30s, 500ms, 2m)' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -l interval -d 'Time between polls' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -l color -d 'When to colour the human output; NO_COLOR is honoured under `auto`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 " ")' -f
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -s t -l tcp -d 'TCP sockets only (default: TCP and UDP)'
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -s u -l udp -d 'UDP sockets only (default: TCP and UDP)'
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -s 4 -l ipv4 -d 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)'
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -s 6 -l ipv6 -d 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds'
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -l json -d 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -s w -l wide -d 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portcheck -n "__fish_portcheck_using_subcommand wait" -s V -l version -d 'Print version'
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -l port -d 'The port, when the message does not name it (or to check another)' -r -f
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -l address -d 'The address, when the message does not name it (or to check another)' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -l color -d 'When to colour the human output; NO_COLOR is honoured under `auto`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 " ")' -f
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -s t -l tcp -d 'TCP: where the message does not say (socat, nginx and bare errno words read the same for both), or to check TCP instead'
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -s u -l udp -d 'UDP: where the message does not say, or to check UDP instead'
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -l no-trial -d 'Predict only; make no trial bind'
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -l json -d 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -s w -l wide -d 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portcheck -n "__fish_portcheck_using_subcommand why" -s V -l version -d 'Print version'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -l signal -d 'The first signal: TERM, INT, HUP, QUIT, USR1, USR2 or KILL' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -l grace -d 'How long to wait for the port to be free before SIGKILL' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -l respawn-window -d 'How long to watch a freed port for a restarted holder (0 to skip)' -r
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -l color -d 'When to colour the human output; NO_COLOR is honoured under `auto`' -r -f -a "auto\t''
always\t''
never\t''"
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -l netns -d 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID' -r -f -a '(ip netns list 2>/dev/null | string split -f1 " ")' -f
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -s t -l tcp -d 'TCP sockets only (default: TCP and UDP)'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -s u -l udp -d 'UDP sockets only (default: TCP and UDP)'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -s 4 -l ipv4 -d 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -s 6 -l ipv6 -d 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -l dry-run -d 'Print the plan (what would be signalled or run, in order) and change nothing'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -s y -l yes -d 'Act without asking (needed when standard input is not a terminal)'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -l no-escalate -d 'Never send SIGKILL: report the port still held after the grace'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -l parent -d 'Also stop the parent that restarts a stopped holder (a shell loop, nodemon), and the holder it restarted'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -l json -d 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -s w -l wide -d 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c portcheck -n "__fish_portcheck_using_subcommand stop" -s V -l version -d 'Print version'
complete -c portcheck -n "__fish_portcheck_using_subcommand help; and not __fish_seen_subcommand_from who try resolve free wait why stop help" -f -a "who" -d 'List the sockets that hold a port, with every owning process'
complete -c portcheck -n "__fish_portcheck_using_subcommand help; and not __fish_seen_subcommand_from who try resolve free wait why stop help" -f -a "try" -d 'Predict whether binds succeed and why not, then confirm with a safe trial'
complete -c portcheck -n "__fish_portcheck_using_subcommand help; and not __fish_seen_subcommand_from who try resolve free wait why stop help" -f -a "resolve" -d 'Which service does HOST:PORT reach? Resolve, order, map to listeners'
complete -c portcheck -n "__fish_portcheck_using_subcommand help; and not __fish_seen_subcommand_from who try resolve free wait why stop help" -f -a "free" -d 'Find ports any program could bind now (both families, every address)'
complete -c portcheck -n "__fish_portcheck_using_subcommand help; and not __fish_seen_subcommand_from who try resolve free wait why stop help" -f -a "wait" -d 'Wait until a socket listens on TARGET, or until it is free'
complete -c portcheck -n "__fish_portcheck_using_subcommand help; and not __fish_seen_subcommand_from who try resolve free wait why stop help" -f -a "why" -d 'Paste a bind or connect error; get the cause on this host and the fix'
complete -c portcheck -n "__fish_portcheck_using_subcommand help; and not __fish_seen_subcommand_from who try resolve free wait why stop help" -f -a "stop" -d 'Stop what holds a port: SIGTERM through a pidfd, wait, then SIGKILL'
complete -c portcheck -n "__fish_portcheck_using_subcommand help; and not __fish_seen_subcommand_from who try resolve free wait why stop help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
