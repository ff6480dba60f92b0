#!/usr/bin/env python3
"""The docker-py side of bench/docker: one operation per process.

    python docker_py_bench.py WORKLOAD [--image I] [--graph FILE] [--context DIR]
                              [--tag T] [--min-running N]

bench-docker times this whole process from spawn to exit. The script prints
one JSON line: `import_s` (how long `import docker` took), `op_s` (from
`docker.from_env()`, which asks the daemon its API version, to the result)
and `result` (what bench-docker checks: exit code, SVG size, container count
or image id). What it creates carries the label dev.ondemand.bench=docker.
"""

import argparse
import json
import socket
import struct
import sys
import time

import_started = time.perf_counter()
import docker  # noqa: E402  (timed on purpose)

import_s = time.perf_counter() - import_started

LABELS = {"dev.ondemand.bench": "docker"}


def run_true(client, args):
    # Creates, starts, waits, fetches the logs, removes; a non-zero exit
    # raises ContainerError.
    client.containers.run(args.image, "true", remove=True, labels=LABELS)
    return {"exit_code": 0}


def render(client, args):
    # docker-py's containers.run cannot feed stdin, so: create with
    # stdin_open (which, not detached, also sets StdinOnce: the daemon closes
    # the container's stdin when we half-close ours), attach stdin, stdout and
    # stderr before the start as the docker CLI does, send the graph,
    # half-close, read the multiplexed output to its end, wait, remove.
    with open(args.graph, "rb") as f:
        graph = f.read()
    container = client.containers.create(
        args.image, ["-Tsvg"], stdin_open=True, network_mode="none", labels=LABELS
    )
    try:
        attached = container.attach_socket(
            params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        )
        # On a unix socket docker-py hands back a SocketIO; its _sock is the
        # raw socket, which can be half-closed.
        raw = getattr(attached, "_sock", attached)
        container.start()
        raw.sendall(graph)
        raw.shutdown(socket.SHUT_WR)
        stdout, stderr = read_frames(raw)
        raw.close()
        exit_code = container.wait()["StatusCode"]
    finally:
        container.remove(force=True)
    if exit_code != 0:
        sys.stderr.write(stderr.decode(errors="replace"))
    return {"exit_code": exit_code, "stdout_bytes": len(stdout), "svg": b"<svg" in stdout}


def read_frames(raw):
    """Reads an attach stream to its end: 8-byte headers (stream, 0, 0, 0,
    big-endian length), each followed by its payload."""
    data = bytearray()
    while True:
        chunk = raw.recv(65536)
        if not chunk:
            break
        data += chunk
    streams = {1: bytearray(), 2: bytearray()}
    at = 0
    while at + 8 <= len(data):
        kind, length = struct.unpack(">BxxxL", data[at : at + 8])
        streams.setdefault(kind, bytearray()).extend(data[at + 8 : at + 8 + length])
        at += 8 + length
    return bytes(streams[1]), bytes(streams[2])


def list_running(client, args):
    # The default (sparse=False) inspects every listed container: what a
    # user of containers.list() gets.
    count = len(client.containers.list())
    if count < args.min_running:
        raise SystemExit(f"listed {count} containers, expected at least {args.min_running}")
    return {"count": count}


def build(client, args):
    image, _logs = client.images.build(path=args.context, tag=args.tag, rm=True)
    return {"image_id": image.id}


WORKLOADS = {
    "run": run_true,
    "render": render,
    "list": list_running,
    "rebuild": build,
    "context": build,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--image")
    parser.add_argument("--graph")
    parser.add_argument("--context")
    parser.add_argument("--tag")
    parser.add_argument("--min-running", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    client = docker.from_env()
    result = WORKLOADS[args.workload](client, args)
    op_s = time.perf_counter() - started
    client.close()
    print(json.dumps({"import_s": import_s, "op_s": op_s, "result": result}))


if __name__ == "__main__":
    main()
