
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
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand who 'List the sockets that hold a port, with every owning process'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'portcheck;who'= {
            cand --color 'When to colour the human output; NO_COLOR is honoured under `auto`'
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
            cand --json 'Print exactly one JSON document on stdout (diagnostics go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'portcheck;help'= {
            cand who 'List the sockets that hold a port, with every owning process'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'portcheck;help;who'= {
        }
        &'portcheck;help;help'= {
        }
    ]
    $completions[$command]
}
