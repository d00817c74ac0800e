"""docker-py (Debian's python3-docker) against berthd: volumes and the archive calls.

Usage: python3 dockerpy_volumes.py unix:///path/to/berth.sock
Exits non-zero with a message on the first mismatch.
"""
import io
import sys
import tarfile

import docker
from docker.types import Mount


def tar_of(name, data):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main(url):
    client = docker.DockerClient(base_url=url, version="auto", timeout=60)

    v = client.volumes.create(name="pyvol", driver="local", labels={"suite": "docker-py"})
    assert v.name == "pyvol", v.name
    assert v.attrs["Driver"] == "local" and v.attrs["Scope"] == "local", v.attrs
    assert v.attrs["Labels"] == {"suite": "docker-py"}, v.attrs
    assert v.attrs["Mountpoint"].endswith("/volumes/pyvol/_data"), v.attrs
    assert client.volumes.get("pyvol").id == "pyvol"
    assert [x.name for x in client.volumes.list(filters={"label": "suite=docker-py"})] == ["pyvol"]
    try:
        client.volumes.get("nope")
        raise AssertionError("NotFound expected")
    except docker.errors.NotFound as e:
        assert "no such volume" in str(e), e

    # Volumes in run: the dict form and Mount objects, read-only enforced.
    out = client.containers.run(
        "busybox", ["sh", "-c", "echo data > /d/file; cat /d/file"],
        volumes={"pyvol": {"bind": "/d", "mode": "rw"}}, remove=True)
    assert out == b"data\n", out
    out = client.containers.run(
        "busybox", ["cat", "/m/file"],
        mounts=[Mount(target="/m", source="pyvol", type="volume", read_only=True)], remove=True)
    assert out == b"data\n", out
    try:
        client.containers.run("busybox", ["touch", "/d/x"], volumes=["pyvol:/d:ro"], remove=True)
        raise AssertionError("ContainerError expected")
    except docker.errors.ContainerError as e:
        assert e.exit_status != 0
    out = client.containers.run(
        "busybox", ["sh", "-c", "df -k /t | tail -1"],
        mounts=[Mount(target="/t", source="", type="tmpfs", tmpfs_size=2 * 1024 * 1024)], remove=True)
    assert b" 2048 " in out, out

    # A volume in use cannot go; the container keeps it.
    c = client.containers.create("busybox", ["true"], volumes=["pyvol:/d"], name="py-user")
    try:
        v.remove()
        raise AssertionError("APIError expected")
    except docker.errors.APIError as e:
        assert e.status_code == 409, e
        assert c.id in str(e), e

    # The archive calls: put, stat, get.
    assert c.put_archive("/tmp", tar_of("hello.txt", b"from python\n")) is True
    stream, stat = c.get_archive("/tmp/hello.txt")
    assert stat["name"] == "hello.txt" and stat["size"] == 12, stat
    data = b"".join(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        assert t.extractfile("hello.txt").read() == b"from python\n"
    stream, stat = c.get_archive("/d")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
        assert t.extractfile("d/file").read() == b"data\n", t.getnames()
    try:
        c.get_archive("/nope")
        raise AssertionError("NotFound expected")
    except docker.errors.NotFound as e:
        assert "Could not find the file /nope in container" in str(e), e

    # df counts it; rm -v keeps named volumes; prune removes what nothing uses.
    df = client.df()
    assert any(x["Name"] == "pyvol" and x["UsageData"]["RefCount"] == 1 for x in df["Volumes"]), df["Volumes"]
    c.remove(v=True)
    assert client.volumes.get("pyvol")
    client.volumes.create(name="pyidle")
    report = client.volumes.prune(filters={"all": "true"})
    assert sorted(report["VolumesDeleted"]) == ["pyidle", "pyvol"], report
    assert client.volumes.list() == []
    print("docker-py volumes OK")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except AssertionError as e:
        print("FAILED:", e)
        raise
