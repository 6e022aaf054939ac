"""A cluster of hosts on one machine: network namespaces joined by a bridge over shaped veth links.

Layout (names carry the creating process's id, so concurrent runs never share a namespace):

    tessera-<pid>-launcher          tessera-<pid>-hostA     tessera-<pid>-hostB   ...
      br0 10.99.0.1/24  ─ port-hostA ══ eth0 10.99.0.11     │
                        ─ port-hostB ═══════════════════════ eth0 10.99.0.12

mpirun runs in the launcher namespace (it owns the bridge, so it reaches every host without any address
in the machine's own namespace, which is left untouched); each host namespace holds one rank. Every link
is shaped in both directions with a token bucket (tbf) on its two egress sides: the host's eth0 and the
bridge's port toward it. tbf only limits bandwidth; this kernel has no netem, so there is no latency.

The cluster is a context manager: leaving it (normally, by exception, or by SIGTERM/SIGINT turned into
an exception by the caller) kills what still runs inside the namespaces and deletes them. Namespaces left
by a run that was SIGKILLed are removed by the next run (their creator's pid no longer exists).
"""
import json
import os
import re
import subprocess

SUBNET = "10.99.0.0/24"
LAUNCHER_ADDRESS = "10.99.0.1"
PREFIX = "tessera-"


class CannotCreateNamespaces(Exception):
    """The machine refuses network namespaces (no root / CAP_NET_ADMIN, or no iproute2)."""


def sh(*args, check=True):
    result = subprocess.run(list(args), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"`{' '.join(args)}` exited {result.returncode}: {result.stderr.strip()}")
    return result


def remove_stale_namespaces():
    """Deletes namespaces of earlier runs whose creating process is gone (a run killed by SIGKILL)."""
    listing = sh("ip", "netns", "list", check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        match = re.fullmatch(PREFIX + r"(\d+)-\w+", name)
        if match and not os.path.exists(f"/proc/{match.group(1)}"):
            kill_namespace_processes(name)
            sh("ip", "netns", "del", name, check=False)


def kill_namespace_processes(namespace):
    pids = sh("ip", "netns", "pids", namespace, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass


class NetnsCluster:
    def __init__(self, hosts=2, rate="1gbit"):
        if hosts < 1 or hosts > 26:
            raise ValueError("hosts must be 1..26")
        self.rate = rate
        self.tag = f"{PREFIX}{os.getpid()}"
        self.launcher = f"{self.tag}-launcher"
        self.hosts = [f"host{chr(ord('A') + i)}" for i in range(hosts)]
        self.namespace = {h: f"{self.tag}-{h}" for h in self.hosts}
        self.address = {h: f"10.99.0.{11 + i}" for i, h in enumerate(self.hosts)}
        self.created = []

    def __enter__(self):
        try:
            self._create()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        for ns in reversed(self.created):
            kill_namespace_processes(ns)
            sh("ip", "netns", "del", ns, check=False)
        self.created = []

    def _add_namespace(self, name):
        result = sh("ip", "netns", "add", name, check=False)
        if result.returncode != 0:
            raise CannotCreateNamespaces(f"`ip netns add` failed: {result.stderr.strip()}")
        self.created.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def _shape(self, namespace, device):
        # burst: at least one 64 KiB GSO segment; latency bounds the queue (rate x 50 ms).
        sh("ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", device, "root", "tbf", "rate", self.rate,
           "burst", "256kb", "latency", "50ms")

    def _create(self):
        remove_stale_namespaces()
        try:
            self._add_namespace(self.launcher)
        except FileNotFoundError as e:  # no iproute2
            raise CannotCreateNamespaces(f"iproute2 is missing: {e}") from e
        sh("ip", "-n", self.launcher, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.launcher, "addr", "add", f"{LAUNCHER_ADDRESS}/24", "dev", "br0")
        sh("ip", "-n", self.launcher, "link", "set", "br0", "up")
        for host in self.hosts:
            ns = self.namespace[host]
            self._add_namespace(ns)
            # Both ends are created straight in their namespaces: no name ever appears in the machine's own.
            sh("ip", "-n", self.launcher, "link", "add", f"port-{host}", "type", "veth", "peer", "name", "eth0",
               "netns", ns)
            sh("ip", "-n", self.launcher, "link", "set", f"port-{host}", "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.address[host]}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            self._shape(ns, "eth0")
            self._shape(self.launcher, f"port-{host}")

    def link_counters(self, host):
        """Bytes the tbf qdiscs passed on `host`'s link: sent by the host, and sent toward it by the bridge,
        with the interface's own receive count as a cross-check."""
        ns = self.namespace[host]
        return {
            "host_sent": _qdisc_bytes(ns, "eth0"),
            "host_received": _link_rx_bytes(ns, "eth0"),
            "bridge_sent_to_host": _qdisc_bytes(self.launcher, f"port-{host}"),
        }

    def qdisc_text(self, host):
        ns = self.namespace[host]
        return (sh("ip", "netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev", "eth0").stdout +
                sh("ip", "netns", "exec", self.launcher, "tc", "-s", "qdisc", "show", "dev", f"port-{host}").stdout)


def _qdisc_bytes(namespace, device):
    out = sh("ip", "netns", "exec", namespace, "tc", "-s", "-j", "qdisc", "show", "dev", device).stdout
    for qdisc in json.loads(out):
        if qdisc.get("kind") == "tbf" and qdisc.get("root"):
            return int(qdisc["bytes"])
    raise RuntimeError(f"no tbf root qdisc on {device} in {namespace}: {out}")


def _link_rx_bytes(namespace, device):
    out = sh("ip", "-n", namespace, "-j", "-s", "link", "show", "dev", device).stdout
    return int(json.loads(out)[0]["stats64"]["rx"]["bytes"])
