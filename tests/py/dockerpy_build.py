"""docker-py's build calls against berthd (the classic POST /build API).

Usage: python3 dockerpy_build.py unix:///path/to/berth.sock CONTEXT_DIR
Exits non-zero with a message on the first mismatch.
"""
import gzip
import io
import os
import sys
import tarfile

import docker


def tar_of(files, compress=False):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    return io.BytesIO(gzip.compress(raw) if compress else raw)


def run(client, image, cmd=None):
    return client.containers.run(image, cmd, remove=True, network_mode="none")


def main(url, ctx_dir):
    client = docker.DockerClient(base_url=url, version="auto", timeout=120)

    # A Dockerfile as a file object (docker-py wraps it in a tar), build args and labels.
    df = b'FROM busybox\nARG WHO=nobody\nRUN echo hello $WHO > /hello\nCMD ["cat", "/hello"]\n'
    image, logs = client.images.build(
        fileobj=io.BytesIO(df), tag="py-fileobj", buildargs={"WHO": "python"},
        labels={"made-by": "docker-py"}, rm=True,
    )
    assert "py-fileobj:latest" in image.tags, image.tags
    assert image.labels.get("made-by") == "docker-py", image.labels
    logs = list(logs)
    streams = "".join(l.get("stream", "") for l in logs)
    assert "Step 1/" in streams and "Successfully built" in streams, streams
    assert any("aux" in l and l["aux"]["ID"] == image.id for l in logs), logs
    assert run(client, "py-fileobj") == b"hello python\n"

    # A custom context (a tar) with two stages, built up to a target.
    two = (
        b"FROM busybox AS first\nCOPY note.txt /note.txt\nCMD [\"cat\", \"/note.txt\"]\n"
        b"FROM first\nRUN echo second >> /note.txt\n"
    )
    image, _ = client.images.build(
        fileobj=tar_of({"Dockerfile": two, "note.txt": b"first stage\n"}),
        custom_context=True, tag="py-target", target="first",
    )
    assert run(client, "py-target") == b"first stage\n"

    # The same, gzip-compressed (docker-py's `encoding`), to the end.
    image, _ = client.images.build(
        fileobj=tar_of({"Dockerfile": two, "note.txt": b"first stage\n"}, compress=True),
        custom_context=True, encoding="gzip", tag="py-gzip",
    )
    assert run(client, "py-gzip") == b"first stage\nsecond\n"

    # extra_hosts and network_mode reach the RUN containers.
    hosts = b"FROM busybox\nRUN grep myhost /etc/hosts > /hosts\nCMD [\"cat\", \"/hosts\"]\n"
    image, _ = client.images.build(
        fileobj=io.BytesIO(hosts), tag="py-hosts",
        extra_hosts={"myhost": "10.1.2.3"}, network_mode="none",
    )
    assert run(client, "py-hosts").split() == [b"10.1.2.3", b"myhost"], run(client, "py-hosts")

    # A directory context (docker-py applies .dockerignore itself) and the cache.
    first, _ = client.images.build(path=ctx_dir, tag="py-dir")
    again, logs = client.images.build(path=ctx_dir, tag="py-dir")
    assert first.id == again.id
    assert any("Using cache" in l.get("stream", "") for l in logs)
    listing = run(client, "py-dir", ["ls", "/app"])
    assert b"kept.txt" in listing and b"skipped.log" not in listing, listing

    # A failing RUN is a BuildError with dockerd's message.
    try:
        client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN exit 7\n"))
        raise AssertionError("BuildError expected")
    except docker.errors.BuildError as e:
        assert "returned a non-zero code: 7" in str(e), str(e)

    # A Dockerfile that does not parse is a 400 before any output.
    try:
        client.images.build(fileobj=io.BytesIO(b"FROM busybox\nBOGUS x\n"))
        raise AssertionError("APIError expected")
    except docker.errors.APIError as e:
        assert e.status_code == 400, e.status_code
        assert "unknown instruction: BOGUS" in str(e), str(e)

    # The low-level API, quiet: the stream is the image id alone.
    out = list(client.api.build(fileobj=io.BytesIO(df), quiet=True, decode=True))
    assert len(out) == 1 and out[0]["stream"].strip().startswith("sha256:"), out

    print("docker-py build OK")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
