"""docker-py (Debian's python3-docker) network calls against berthd: create_network with an
IPAM config, connect_container_to_network with aliases and links, inspect, disconnect,
networks.prune.

Usage: python3 dockerpy_network.py unix:///path/to/berth.sock SUBNET GATEWAY
Exits non-zero with a message on the first mismatch.
"""
import sys

import docker
from docker.types import IPAMConfig, IPAMPool


def main(url, subnet, gateway):
    client = docker.DockerClient(base_url=url, version="auto", timeout=60)
    api = client.api

    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=subnet, gateway=gateway)])
    net = api.create_network("pynet", driver="bridge", ipam=ipam, labels={"from": "docker-py"})
    info = api.inspect_network(net["Id"])
    assert info["Name"] == "pynet", info
    cfg = info["IPAM"]["Config"][0]
    assert cfg["Subnet"] == subnet and cfg["Gateway"] == gateway, cfg
    assert info["Labels"] == {"from": "docker-py"}, info["Labels"]
    assert [n.name for n in client.networks.list(names=["pynet"])] == ["pynet"]

    target = client.containers.run("busybox", ["sleep", "300"], name="pytarget", detach=True)
    api.connect_container_to_network("pytarget", "pynet", aliases=["targetalias"])
    client_c = client.containers.run("busybox", ["sleep", "300"], name="pyclient", detach=True)
    api.connect_container_to_network(
        "pyclient", "pynet", aliases=["clientalias"], links=[("pytarget", "tlink")]
    )
    target.reload()
    ep = target.attrs["NetworkSettings"]["Networks"]["pynet"]
    assert ep["Aliases"] == ["targetalias"], ep
    assert ep["IPAddress"].startswith(subnet.rsplit(".", 1)[0] + "."), ep
    client_c.reload()
    cep = client_c.attrs["NetworkSettings"]["Networks"]["pynet"]
    assert cep["Links"] == ["pytarget:tlink"], cep

    # The alias and the link resolve to the target, from the client.
    for name in ["targetalias", "tlink", "pytarget"]:
        code, out = client_c.exec_run(["nslookup", name])
        assert code == 0 and ep["IPAddress"].encode() in out, (name, code, out)
    # The link is the client's only: the target does not resolve it.
    code, out = target.exec_run(["nslookup", "tlink"])
    assert ep["IPAddress"].encode() not in out, out

    members = api.inspect_network("pynet")["Containers"]
    assert sorted(c["Name"] for c in members.values()) == ["pyclient", "pytarget"], members

    api.disconnect_container_from_network("pyclient", "pynet")
    client_c.reload()
    assert "pynet" not in client_c.attrs["NetworkSettings"]["Networks"]

    # Prune: in use is kept, unused goes.
    client.networks.create("pyidle")
    report = client.networks.prune()
    assert report["NetworksDeleted"] == ["pyidle"], report
    for c in (target, client_c):
        c.remove(force=True)
    report = client.networks.prune(filters={"label": "from=docker-py"})
    assert report["NetworksDeleted"] == ["pynet"], report
    assert client.networks.list(names=["pynet"]) == []
    print("docker-py networks OK")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
