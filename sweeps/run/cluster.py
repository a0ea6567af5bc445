"""Checks of the Ray cluster a sweep runs on, made before anything of the sweep is written.

Ray waits for ever in two cases a person would rather hear about at once: an address where no
cluster answers (its client retries for minutes and holds Ctrl-C meanwhile), and a trial that
asks for more CPUs or GPUs than the Ray started on this machine has (Tune waits for nodes that
will never come).
"""

from __future__ import annotations

import socket

from sweeps.errors import RayClusterError
from sweeps.space import SweepSpace

#: seconds an address has to accept a connection
CONNECT_SECONDS = 10.0
#: addresses that name no host: Ray finds the cluster itself
_NO_HOST = ("auto", "local")
#: how to do without an address, by where it came from
_WITHOUT = {"--address": "leave out --address", "RAY_ADDRESS": "unset RAY_ADDRESS"}


def reach(address: str, source: str = "--address", timeout: float = CONNECT_SECONDS) -> None:
    """Check that something listens at ``address`` (``HOST:PORT`` or ``ray://HOST:PORT``), given
    by ``source`` (``--address`` or the ``RAY_ADDRESS`` environment variable).

    Raises:
        RayClusterError: the address is malformed, or nothing answers there within ``timeout``.
    """
    if address in _NO_HOST:
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not (host and sep and port.isdigit()):
        raise RayClusterError(f"{source} {address!r}: must be HOST:PORT (the head node's, 6379 "
                              "by default), ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as err:
        raise RayClusterError(
            f"{source} {address}: no Ray cluster answers there ({err.strerror or err}); check "
            f"the head node's address and port (`ray status` on it), or {_WITHOUT[source]} for "
            "a Ray on this machine") from None


def trial_problem(space: SweepSpace, cluster: dict[str, float]) -> tuple[str, str] | None:
    """``(field, message)`` when one trial asks for more than ``cluster`` (Ray's
    ``cluster_resources()``) holds, or None."""
    for field, key, need in (("cpu", "CPU", space.resources.cpu),
                             ("gpu", "GPU", space.resources.gpu)):
        have = cluster.get(key, 0.0)
        if need > have:
            return (f"resources.{field}", f"a trial asks for {need:g} {key}s but this machine's "
                    f"Ray has {have:g} ({cluster.get('CPU', 0.0):g} CPUs, "
                    f"{cluster.get('GPU', 0.0):g} GPUs), so it would wait for ever; lower it, "
                    "or run on a cluster that has them (--address)")
    return None
