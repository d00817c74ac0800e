"""docker-py (Debian's python3-docker) operating containers on berthd: stats, pause, update,
healthcheck start period, kill then inspect, exec_start(socket=True) with and without a TTY
on either side, events(since, until, decode=True), and the config file's detachKeys.

Usage: python3 dockerpy_operate.py unix:///path/to/berth.sock
Exits non-zero with a message on the first mismatch.
"""
import socket
import sys
import time

import docker


def until(what, f, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        v = f()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def read_all(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def exec_stream(client, cid, cmd, create_tty, start_tty):
    e = client.api.exec_create(cid, cmd, tty=create_tty)
    sock = client.api.exec_start(e["Id"], tty=start_tty, socket=True)._sock
    data = read_all(sock)
    sock.close()
    return data


def main(url):
    client = docker.DockerClient(base_url=url, version="auto", timeout=60)
    t0 = int(time.time()) - 1

    c = client.containers.run("busybox", ["sleep", "1000"], detach=True, name="op", mem_limit="64m")

    # stats(stream=False): one sample, precpu primed, the limit in effect.
    s = c.stats(stream=False)
    assert s["name"] == "/op", s["name"]
    assert s["memory_stats"]["limit"] == 64 * 1024 * 1024, s["memory_stats"]
    assert s["cpu_stats"]["system_cpu_usage"] > s["precpu_stats"]["system_cpu_usage"], s
    assert s["pids_stats"]["current"] >= 1, s["pids_stats"]
    stream = c.stats(decode=True)
    first, second = next(stream), next(stream)
    assert second["precpu_stats"] == first["cpu_stats"]
    stream.close()

    # pause / unpause.
    c.pause()
    c.reload()
    assert c.status == "paused", c.status
    assert c.attrs["State"]["Paused"] is True
    try:
        c.exec_run("true")
        raise AssertionError("exec in a paused container must fail")
    except docker.errors.APIError as e:
        assert e.status_code == 409, e
    c.unpause()
    c.reload()
    assert c.status == "running", c.status

    # update: limits and restart policy.
    c.update(mem_limit="128m", memswap_limit="256m", cpu_shares=512, restart_policy={"Name": "always"})
    c.reload()
    hc = c.attrs["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["CpuShares"]) == (128 << 20, 256 << 20, 512), hc
    assert hc["RestartPolicy"]["Name"] == "always"
    assert c.stats(stream=False)["memory_stats"]["limit"] == 128 << 20

    # exec_start(socket=True): the start request's Tty decides the framing.
    both = exec_stream(client, c.id, ["sh", "-c", "echo out"], True, True)
    assert both == b"out\r\n", both
    framed = exec_stream(client, c.id, ["sh", "-c", "echo out"], True, False)
    assert framed == b"\x01\x00\x00\x00\x00\x00\x00\x05out\r\n", framed
    unframed = exec_stream(client, c.id, ["sh", "-c", "echo out; echo err >&2"], False, True)
    assert sorted(unframed.split(b"\n")) == sorted([b"out", b"err", b""]), unframed
    plain = exec_stream(client, c.id, ["sh", "-c", "echo out"], False, False)
    assert plain == b"\x01\x00\x00\x00\x00\x00\x00\x04out\n", plain

    # kill, then inspect at once: stopped.
    c.update(restart_policy={"Name": "no"})
    c.kill()
    c.reload()
    assert (c.attrs["State"]["Running"], c.attrs["State"]["ExitCode"]) == (False, 137), c.attrs["State"]

    # A healthcheck with a start period: starting, then healthy.
    h = client.containers.run(
        "busybox",
        ["sh", "-c", "sleep 1; touch /tmp/ok; sleep 1000"],
        detach=True,
        name="hc",
        healthcheck={
            "test": ["CMD-SHELL", "test -f /tmp/ok"],
            "interval": 200_000_000,
            "start_period": 30_000_000_000,
            "start_interval": 200_000_000,
            "retries": 1,
        },
    )
    h.reload()
    assert h.attrs["State"]["Health"]["Status"] == "starting", h.attrs["State"]
    def healthy():
        h.reload()
        return h.attrs["State"]["Health"]["Status"] == "healthy"
    until("healthy", healthy)
    assert h.attrs["State"]["Health"]["FailingStreak"] == 0

    # events(since, until, decode=True): the history, replayed then ended.
    t1 = int(time.time()) + 1
    time.sleep(1.1)
    evs = list(client.events(since=t0, until=t1, decode=True))
    actions = [e["Action"] for e in evs if e.get("Type") == "container"]
    for a in ["create", "start", "pause", "unpause", "update", "kill", "die", "health_status: healthy"]:
        assert a in actions, (a, actions)
    assert any(a.startswith("exec_start: sh -c echo out") for a in actions), actions
    only = list(client.events(since=t0, until=t1, filters={"event": "pause"}, decode=True))
    assert [e["Action"] for e in only] == ["pause"], only

    h.remove(force=True)
    c.remove(force=True)
    print("docker-py operate OK")


def detach_keys(url, config_dir):
    """The config file's detachKeys reach exec create (as `detachKeys`) and attach."""
    import json, os
    os.makedirs(config_dir, exist_ok=True)
    with open(os.path.join(config_dir, "config.json"), "w") as f:
        json.dump({"detachKeys": "ctrl-x"}, f)
    os.environ["DOCKER_CONFIG"] = config_dir
    client = docker.DockerClient(base_url=url, version="auto", timeout=60)
    c = client.containers.run("busybox", ["sleep", "1000"], detach=True, name="dk")
    e = client.api.exec_create(c.id, ["cat"], tty=True, stdin=True)
    assert client.api.exec_inspect(e["Id"])["DetachKeys"] == "GA==", client.api.exec_inspect(e["Id"])
    sock = client.api.exec_start(e["Id"], tty=True, socket=True)._sock
    sock.settimeout(10)
    sock.sendall(b"abc\n")
    data = b""
    while b"abc" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    # The detach key alone (dockerd matches keys typed one at a time): the stream ends.
    sock.sendall(b"\x18")
    read_all(sock)
    # Detached, the exec still runs.
    assert client.api.exec_inspect(e["Id"])["Running"] is True
    c.remove(force=True)
    print("docker-py detach keys OK")


if __name__ == "__main__":
    main(sys.argv[1])
    detach_keys(sys.argv[1], sys.argv[2])
