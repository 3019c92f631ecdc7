# -*- coding: utf-8 -*-
# portcheck: MIT OR Apache-2.0
"""Filter: every host's portcheck_facts entries, grouped by port."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def holders_by_port(hostvars, hosts):
    """{port: [{"host", "protocol", "address", "takes", "name", "pid",
    "user", "netns"}, ...]} over `hosts`, sorted by port, then host."""
    by_port = {}
    for host in hosts:
        facts = hostvars[host]
        for entry in list(facts.get("tcp_listen") or []) + list(facts.get("udp_listen") or []):
            by_port.setdefault(entry["port"], []).append({
                "host": host,
                "protocol": entry["protocol"],
                "address": entry["address"],
                "state": entry.get("state"),
                "name": entry["name"],
                "pid": entry["pid"],
                "user": entry["user"],
                "netns": entry.get("netns"),
            })
    return {
        port: sorted(holders, key=lambda h: (h["host"], h["protocol"], h["address"], h["pid"]))
        for port, holders in sorted(by_port.items())
    }


def held_ports(by_port, ports):
    """The ports of `ports` that some host holds."""
    wanted = set(int(port) for port in ports)
    return sorted(port for port in by_port if int(port) in wanted)


class FilterModule(object):
    def filters(self):
        return {"holders_by_port": holders_by_port, "held_ports": held_ports}
