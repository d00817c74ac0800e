"""docker-py (Debian's python3-docker) against berthd: the calls a Python user makes.

Usage: python3 dockerpy_smoke.py unix:///path/to/berth.sock
Exits non-zero with a message on the first mismatch.
"""
import sys

import docker


def main(url):
    client = docker.DockerClient(base_url=url, version="auto", timeout=60)
    assert client.ping() is True
    version = client.version()
    assert version["ApiVersion"] == "1.47", version
    assert client.info()["OSType"] == "linux"

    image = client.images.get("busybox:latest")
    assert "busybox:latest" in image.tags, image.tags
    assert image.id.startswith("sha256:")

    # run in the foreground: output comes back as bytes.
    out = client.containers.run("busybox", ["sh", "-c", "echo hello from docker-py"], remove=True)
    assert out == b"hello from docker-py\n", out

    # a failing command raises ContainerError with the exit status.
    try:
        client.containers.run("busybox", ["sh", "-c", "echo oops >&2; exit 3"], remove=True, stderr=True)
        raise AssertionError("ContainerError expected")
    except docker.errors.ContainerError as e:
        assert e.exit_status == 3, e.exit_status

    # detached: logs, attributes, stop, wait, remove.
    c = client.containers.run(
        "busybox",
        ["sh", "-c", "echo ready; trap 'exit 0' TERM; while true; do sleep 0.1; done"],
        detach=True,
        name="py-worker",
        labels={"suite": "docker-py"},
        environment={"GREETING": "salut"},
        mem_limit="64m",
    )
    c.reload()
    assert c.status == "running", c.status
    assert c.name == "py-worker"
    assert c.labels["suite"] == "docker-py"
    assert c.attrs["HostConfig"]["Memory"] == 64 * 1024 * 1024
    for _ in range(200):
        if b"ready" in c.logs():
            break
        import time
        time.sleep(0.05)
    assert c.logs() == b"ready\n", c.logs()
    assert [x.name for x in client.containers.list(filters={"label": "suite=docker-py"})] == ["py-worker"]
    c.stop(timeout=10)
    assert c.wait()["StatusCode"] == 0
    c.reload()
    assert c.status == "exited"
    c.remove()
    assert client.containers.list(all=True) == []

    # missing objects raise NotFound.
    try:
        client.containers.get("no-such-container")
        raise AssertionError("NotFound expected")
    except docker.errors.NotFound:
        pass
    try:
        client.images.get("no-such-image:1")
        raise AssertionError("ImageNotFound expected")
    except docker.errors.ImageNotFound:
        pass
    print("docker-py OK")


if __name__ == "__main__":
    main(sys.argv[1])
