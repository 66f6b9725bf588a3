"""Redis servers a test owns: plain ones (the sharded channel layer) and a local Redis Cluster
(the state role on a Cluster). All run the suite's Redis binary (``redis_server_binary``: the
system's ``redis-server``, else the embedded Valkey) on loopback free ports, without
persistence, in a temporary directory, and are stopped by their owner.

The cluster is built with redis-py alone (CLUSTER ADDSLOTSRANGE, CLUSTER MEET), not with
``redis-cli --cluster create``: the embedded Valkey ships no cli.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis

from seendr.testing.servers import ServerProcess, free_port, redis_server_binary

HASH_SLOTS = 16384


def start_redis(workdir: Path, *extra: str, config: Path | None = None) -> ServerProcess:
    """A ``redis-server`` on a free loopback port, nothing saved to disk (a ``config`` file
    comes first on the command line, as a Sentinel's must)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"redis-{port}.log"
    command = [redis_server_binary(), *([str(config)] if config else [])]
    command += ["--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir)]
    command += ["--save", "", "--appendonly", "no", *extra]
    proc = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT)
    server = ServerProcess(proc, port, log)
    deadline = time.monotonic() + 10
    while not _listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"redis-server did not start:\n{server.output()}")
        time.sleep(0.02)
    return server


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def redis_url(server: ServerProcess, db: int = 0) -> str:
    return f"redis://127.0.0.1:{server.port}/{db}"


class LocalCluster:
    """``masters`` cluster-enabled servers (no replicas), the hash slots split evenly between them."""

    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.workdir = workdir
        self.masters = masters
        self.nodes: list[ServerProcess] = []
        self.bus_ports: list[int] = []

    @property
    def url(self) -> str:
        """A cluster URL (``seendr.redis_state``) naming every node as a seed."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{node.port}" for node in self.nodes)

    def start(self, timeout: float = 30.0) -> LocalCluster:
        # A node finding an old cluster config would rejoin that cluster (its slots, its peers).
        for stale in self.workdir.glob("nodes-*.conf"):
            stale.unlink()
        try:
            for _ in range(self.masters):
                self.bus_ports.append(free_port())
                self.nodes.append(
                    start_redis(
                        self.workdir,
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        f"nodes-{len(self.nodes)}.conf",
                        "--cluster-node-timeout",
                        "5000",
                        # The bus port defaults to port + 10000, which a free port may not have.
                        "--cluster-port",
                        str(self.bus_ports[-1]),
                    )
                )
            self._assign_slots_and_meet()
            self._wait_until_ok(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def clients(self) -> list[redis.Redis]:
        return [redis.Redis(host="127.0.0.1", port=node.port, socket_timeout=5) for node in self.nodes]

    def _assign_slots_and_meet(self) -> None:
        clients = self.clients()
        share = HASH_SLOTS // self.masters
        for i, client in enumerate(clients):
            first = i * share
            last = HASH_SLOTS - 1 if i == self.masters - 1 else first + share - 1
            client.execute_command("CLUSTER ADDSLOTSRANGE", first, last)
        for node, bus_port in zip(self.nodes[1:], self.bus_ports[1:], strict=True):
            clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port, bus_port)
        for client in clients:
            client.close()

    def _wait_until_ok(self, timeout: float) -> None:
        """Every node agrees the cluster is whole: all slots served, all nodes known."""
        deadline = time.monotonic() + timeout
        clients = self.clients()
        try:
            while True:
                infos = [client.cluster("info") for client in clients]
                if all(
                    info["cluster_state"] == "ok" and int(info["cluster_known_nodes"]) == self.masters
                    for info in infos
                ):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"cluster not ok after {timeout}s: {infos}")
                time.sleep(0.05)
        finally:
            for client in clients:
                client.close()

    def flush(self) -> None:
        """Empty every node (these servers are the caller's own, never the shared Redis)."""
        for client in self.clients():
            client.flushall()
            client.close()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.nodes.clear()
        self.bus_ports.clear()


def start_sentinel(workdir: Path, service: str, primary: ServerProcess) -> ServerProcess:
    """A Sentinel watching ``primary`` as ``service``, alone (quorum 1) and quick to act: a
    failover it is asked for (SENTINEL FAILOVER) completes within seconds."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / f"sentinel-{service}-{primary.port}.conf"  # Sentinel rewrites it
    config.write_text(
        f"sentinel monitor {service} 127.0.0.1 {primary.port} 1\n"
        f"sentinel down-after-milliseconds {service} 300\n"
        f"sentinel failover-timeout {service} 3000\n"
    )
    return start_redis(workdir, "--sentinel", config=config)
