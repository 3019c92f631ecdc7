#!/usr/bin/python
# -*- coding: utf-8 -*-
# portcheck: MIT OR Apache-2.0
"""Ansible module: port owners from `portcheck who --json`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: portcheck_facts
short_description: Who holds which port, from portcheck (a superset of listen_ports_facts)
description:
  - Runs C(portcheck who --json) on the host and sets C(tcp_listen) and
    C(udp_listen) with the keys community.general.listen_ports_facts returns
    (address, port, protocol, name, pid, stime, user: one entry per socket
    and holding process; pid 0 and name "" where no process is visible), and
    portcheck's own beside them, and the whole who document as C(portcheck).
  - Needs portcheck on the host, and root to see every owner.
options:
  all_netns:
    description: Look in every network namespace (C(--all-netns)).
    type: bool
    default: false
  targets:
    description: Limit to these targets (PORT, LOW-HIGH, ADDRESS:PORT).
    type: list
    elements: str
    default: []
  executable:
    description: The portcheck binary.
    type: str
    default: portcheck
"""

RETURN = r"""
ansible_facts:
  description: tcp_listen, udp_listen (listen_ports_facts' keys plus family,
    state, takes, v6only, accepts_ipv4, reuseaddr, reuseport, interface,
    netns, netns_name, inode, owner_gap, cmdline, fd, container, uid) and
    portcheck (the who document, host and kernel included).
  returned: always
  type: dict
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule

# Keys of community.general.listen_ports_facts's entries (its RETURN
# block, plugins/modules/listen_ports_facts.py in
# ansible-collections/community.general): address, name, pid, port,
# protocol, stime, user. Kept first and with the same meaning.


def boot_time():
    """Seconds since the epoch at boot (btime of /proc/stat)."""
    try:
        with open("/proc/stat") as stat:
            for line in stat:
                if line.startswith("btime "):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def start_time(pid, booted, ticks):
    """The process's start as `ps -o lstart` prints it (what
    listen_ports_facts reports as stime), or "" where unknown."""
    if not pid or booted is None:
        return ""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            text = stat.read()
        # The name may hold spaces and parentheses: fields follow the last ")".
        fields = text[text.rindex(")") + 2:].split()
        started = booted + int(fields[19]) / ticks
    except (OSError, ValueError, IndexError):
        return ""
    return time.asctime(time.localtime(started))


def entries(socket, booted, ticks):
    """One entry per holding process (one with pid 0 when none is seen)."""
    processes = socket["processes"] or [None]
    for process in processes:
        pid = process["pid"] if process else 0
        user = (process or {}).get("user") or socket.get("user") or ""
        container = (process or {}).get("container")
        yield {
            "address": socket["local_address"],
            "name": (process or {}).get("name") or "",
            "pid": pid,
            "port": socket["local_port"],
            "protocol": socket["protocol"],
            "stime": start_time(pid, booted, ticks),
            "user": user,
            # portcheck's own.
            "family": socket["family"],
            "state": socket["state"],
            "v6only": socket["v6only"],
            "accepts_ipv4": socket["accepts_ipv4"],
            "reuseaddr": socket["reuseaddr"],
            "reuseport": socket["reuseport"],
            "interface": socket["interface"],
            "netns": socket["netns"],
            "netns_name": socket.get("netns_name"),
            "inode": socket["inode"],
            "owner_gap": socket.get("owner_gap"),
            "cmdline": (process or {}).get("cmdline") or [],
            "fd": (process or {}).get("fd"),
            "uid": (process or {}).get("uid", socket.get("uid")),
            "container": container,
        }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            all_netns=dict(type="bool", default=False),
            targets=dict(type="list", elements="str", default=[]),
            executable=dict(type="str", default="portcheck"),
        ),
        supports_check_mode=True,
    )
    binary = module.params["executable"]
    if os.sep not in binary:
        binary = module.get_bin_path(binary, required=True)
    command = [binary, "who", "--json"]
    if module.params["all_netns"]:
        command.append("--all-netns")
    command.extend(module.params["targets"])
    rc, stdout, stderr = module.run_command(command)
    # 0: something matched; 1: nothing did (free); 2: an error document.
    try:
        document = json.loads(stdout)
    except ValueError:
        module.fail_json(msg="portcheck printed no JSON (exit %d): %s" % (rc, stderr.strip()))
    if rc not in (0, 1) or "error" in document:
        error = document.get("error") or {}
        module.fail_json(
            msg="portcheck: %s" % error.get("message", stderr.strip()),
            code=error.get("code"),
            rc=rc,
        )
    booted = boot_time()
    ticks = os.sysconf("SC_CLK_TCK")
    facts = {"tcp_listen": [], "udp_listen": [], "portcheck": document}
    for socket in document["sockets"]:
        key = "tcp_listen" if socket["protocol"] == "tcp" else "udp_listen"
        facts[key].extend(entries(socket, booted, ticks))
    module.exit_json(changed=False, ansible_facts=facts)


if __name__ == "__main__":
    main()
