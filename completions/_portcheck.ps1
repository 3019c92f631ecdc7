
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'portcheck' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'portcheck'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'portcheck' {
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the human output; NO_COLOR is honoured under `auto`')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout (diagnostics go to stderr)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('who', 'who', [CompletionResultType]::ParameterValue, 'List the sockets that hold a port, with every owning process')
            [CompletionResult]::new('try', 'try', [CompletionResultType]::ParameterValue, 'Predict whether binds succeed and why not, then confirm with a safe trial')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Which service does HOST:PORT reach? Resolve, order, map to listeners')
            [CompletionResult]::new('reach', 'reach', [CompletionResultType]::ParameterValue, 'Which service does HOST:PORT reach? Resolve, order, map to listeners')
            [CompletionResult]::new('free', 'free', [CompletionResultType]::ParameterValue, 'Find ports any program could bind now (both families, every address)')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until a socket listens on TARGET, or until it is free')
            [CompletionResult]::new('why', 'why', [CompletionResultType]::ParameterValue, 'Paste a bind or connect error; get the cause on this host and the fix')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop what holds a port: SIGTERM through a pidfd, wait, then SIGKILL')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'portcheck;who' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'The output: table (the default), json (the same as --json), openmetrics (OpenMetrics 1.0 text, for a Prometheus scrape) or prometheus (the Prometheus text format, for node_exporter''s textfile collector, which reads no OpenMetrics). --json with another format is refused')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the output to FILE instead of standard output, atomically (a temporary file in the same directory, renamed over FILE once complete), so that a reader such as node_exporter never sees half a file. On an error FILE is left as it was')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the human output; NO_COLOR is honoured under `auto`')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'TCP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'TCP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'UDP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'UDP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'List every state: connections and TIME_WAIT too')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'List every state: connections and TIME_WAIT too')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Look in every network namespace a process here is in (containers), and the named ones (ip netns); each socket says its namespace')
            [CompletionResult]::new('--probe', '--probe', [CompletionResultType]::ParameterName, 'Identify the service behind each listening TCP socket: banner, TLS certificate, HTTP status and title; Redis gets only PING, PostgreSQL only an SSLRequest, a server that speaks first (sshd, mariadbd) is only listened to (bounded: 3 s per socket, run concurrently; never leaves this host). Not with -u: UDP has no handshake to probe')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout (diagnostics go to stderr)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'portcheck;try' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read candidates from PLAN, one per line (''#'' comments; ''-'' for stdin)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the human output; NO_COLOR is honoured under `auto`')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'TCP candidates (the default)')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'TCP candidates (the default)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'UDP candidates unless a candidate says tcp:')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'UDP candidates unless a candidate says tcp:')
            [CompletionResult]::new('--v6only', '--v6only', [CompletionResultType]::ParameterName, 'Set IPV6_V6ONLY on IPv6 candidates')
            [CompletionResult]::new('--dual-stack', '--dual-stack', [CompletionResultType]::ParameterName, 'Clear IPV6_V6ONLY on IPv6 candidates ([::] also takes IPv4)')
            [CompletionResult]::new('--reuseaddr', '--reuseaddr', [CompletionResultType]::ParameterName, 'Set SO_REUSEADDR (the TCP default)')
            [CompletionResult]::new('--no-reuseaddr', '--no-reuseaddr', [CompletionResultType]::ParameterName, 'Do not set SO_REUSEADDR')
            [CompletionResult]::new('--reuseport', '--reuseport', [CompletionResultType]::ParameterName, 'Set SO_REUSEPORT')
            [CompletionResult]::new('--no-listen', '--no-listen', [CompletionResultType]::ParameterName, 'Bind only; do not listen')
            [CompletionResult]::new('--no-trial', '--no-trial', [CompletionResultType]::ParameterName, 'Predict only; make no real bind')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout (diagnostics go to stderr)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'portcheck;resolve' {
            [CompletionResult]::new('--dns-server', '--dns-server', [CompletionResultType]::ParameterName, 'Ask this nameserver (ADDRESS or ADDRESS:PORT) for --dns')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the human output; NO_COLOR is honoured under `auto`')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'TCP (the default)')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'TCP (the default)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'UDP: which socket would receive a datagram')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'UDP: which socket would receive a datagram')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Really connect to each local destination and report who accepted')
            [CompletionResult]::new('--dns', '--dns', [CompletionResultType]::ParameterName, 'Also ask DNS directly (the nameservers of /etc/resolv.conf) for A and AAAA records, to show what the system answer hides')
            [CompletionResult]::new('--probe', '--probe', [CompletionResultType]::ParameterName, 'Identify the service behind each destination that accepts: banner, TLS certificate, HTTP status and title; Redis gets only PING, PostgreSQL only an SSLRequest (bounded: 3 s per address). Addresses of other hosts are probed only because HOST names them. Not with -u: UDP has no handshake to probe')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout (diagnostics go to stderr)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'portcheck;reach' {
            [CompletionResult]::new('--dns-server', '--dns-server', [CompletionResultType]::ParameterName, 'Ask this nameserver (ADDRESS or ADDRESS:PORT) for --dns')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the human output; NO_COLOR is honoured under `auto`')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'TCP (the default)')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'TCP (the default)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'UDP: which socket would receive a datagram')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'UDP: which socket would receive a datagram')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Really connect to each local destination and report who accepted')
            [CompletionResult]::new('--dns', '--dns', [CompletionResultType]::ParameterName, 'Also ask DNS directly (the nameservers of /etc/resolv.conf) for A and AAAA records, to show what the system answer hides')
            [CompletionResult]::new('--probe', '--probe', [CompletionResultType]::ParameterName, 'Identify the service behind each destination that accepts: banner, TLS certificate, HTTP status and title; Redis gets only PING, PostgreSQL only an SSLRequest (bounded: 3 s per address). Addresses of other hosts are probed only because HOST names them. Not with -u: UDP has no handshake to probe')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout (diagnostics go to stderr)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'portcheck;free' {
            [CompletionResult]::new('--range', '--range', [CompletionResultType]::ParameterName, 'Search LOW-HIGH (default: ip_unprivileged_port_start-65535)')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'How many ports to find')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the human output; NO_COLOR is honoured under `auto`')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Free for TCP (the default)')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'Free for TCP (the default)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'Free for UDP')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'Free for UDP')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout (diagnostics go to stderr)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'portcheck;wait' {
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'The condition to wait for')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this long (30s, 500ms, 2m)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between polls')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the human output; NO_COLOR is honoured under `auto`')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'TCP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'TCP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'UDP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'UDP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout (diagnostics go to stderr)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'portcheck;why' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The port, when the message does not name it (or to check another)')
            [CompletionResult]::new('--address', '--address', [CompletionResultType]::ParameterName, 'The address, when the message does not name it (or to check another)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the human output; NO_COLOR is honoured under `auto`')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'TCP: where the message does not say (socat, nginx and bare errno words read the same for both), or to check TCP instead')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'TCP: where the message does not say (socat, nginx and bare errno words read the same for both), or to check TCP instead')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'UDP: where the message does not say, or to check UDP instead')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'UDP: where the message does not say, or to check UDP instead')
            [CompletionResult]::new('--no-trial', '--no-trial', [CompletionResultType]::ParameterName, 'Predict only; make no trial bind')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout (diagnostics go to stderr)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'portcheck;stop' {
            [CompletionResult]::new('--signal', '--signal', [CompletionResultType]::ParameterName, 'The first signal: TERM, INT, HUP, QUIT, USR1, USR2 or KILL')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'How long to wait for the port to be free before SIGKILL')
            [CompletionResult]::new('--respawn-window', '--respawn-window', [CompletionResultType]::ParameterName, 'How long to watch a freed port for a restarted holder (0 to skip)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the human output; NO_COLOR is honoured under `auto`')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'Run in this network namespace: an `ip netns` NAME, a PATH such as /proc/PID/ns/net, or a PID')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'TCP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'TCP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'UDP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'UDP sockets only (default: TCP and UDP)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'Sockets that take IPv4: IPv4 sockets, a dual-stack [::] (IPV6_V6ONLY off) and IPv4-mapped [::ffff:a.b.c.d] binds (unlike ss -4, which shows IPv4 sockets only)')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'Sockets that take IPv6: IPv6 sockets except IPv4-mapped binds')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (what would be signalled or run, in order) and change nothing')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Act without asking (needed when standard input is not a terminal)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Act without asking (needed when standard input is not a terminal)')
            [CompletionResult]::new('--no-escalate', '--no-escalate', [CompletionResultType]::ParameterName, 'Never send SIGKILL: report the port still held after the grace')
            [CompletionResult]::new('--parent', '--parent', [CompletionResultType]::ParameterName, 'Also stop the parent that restarts a stopped holder (a shell loop, nodemon), and the holder it restarted')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print exactly one JSON document on stdout (diagnostics go to stderr)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'Show every table cell whole, command lines too: in a terminal, tables are fitted to its width (the last column, PROCESS, LISTENER or RULE, is cut with `…`; others wrap within their cells), and a command line is cut at 60 characters. Output that is not a terminal is not fitted')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'portcheck;help' {
            [CompletionResult]::new('who', 'who', [CompletionResultType]::ParameterValue, 'List the sockets that hold a port, with every owning process')
            [CompletionResult]::new('try', 'try', [CompletionResultType]::ParameterValue, 'Predict whether binds succeed and why not, then confirm with a safe trial')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Which service does HOST:PORT reach? Resolve, order, map to listeners')
            [CompletionResult]::new('free', 'free', [CompletionResultType]::ParameterValue, 'Find ports any program could bind now (both families, every address)')
            [CompletionResult]::new('wait', 'wait', [CompletionResultType]::ParameterValue, 'Wait until a socket listens on TARGET, or until it is free')
            [CompletionResult]::new('why', 'why', [CompletionResultType]::ParameterValue, 'Paste a bind or connect error; get the cause on this host and the fix')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop what holds a port: SIGTERM through a pidfd, wait, then SIGKILL')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'portcheck;help;who' {
            break
        }
        'portcheck;help;try' {
            break
        }
        'portcheck;help;resolve' {
            break
        }
        'portcheck;help;free' {
            break
        }
        'portcheck;help;wait' {
            break
        }
        'portcheck;help;why' {
            break
        }
        'portcheck;help;stop' {
            break
        }
        'portcheck;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
