"""A secured cluster from Python (TLS with a CA made per run, mutual TLS, the cluster token): the
native client reads and load jobs go through the REST API with the cluster's settings, and a
caller without the token is refused."""

import subprocess
import tempfile

import pytest

import alluvium
from alluvium.jobs import LoadJobs
from conftest import started_cluster

TOKEN = "python-security-test-token-93ad"


def secured_settings(root, mutual):
    """A key and a self-signed certificate for 127.0.0.1 (its own CA), the token file, and the
    settings naming them."""
    key, cert, token = f"{root}/key.pem", f"{root}/cert.pem", f"{root}/token"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=alluvium-test", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    with open(token, "w") as f:
        f.write(TOKEN + "\n")
    return [
        "alluvium.security.tls.enabled=true",
        f"alluvium.security.tls.cert.file={cert}",
        f"alluvium.security.tls.key.file={key}",
        f"alluvium.security.tls.ca.file={cert}",
        f"alluvium.security.tls.client.auth={'true' if mutual else 'false'}",
        f"alluvium.security.token.file={token}",
    ]


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mutual-tls"])
def test_reads_and_loads_on_a_secured_cluster(mutual):
    root = tempfile.mkdtemp(prefix="alluvium-python-secured-")
    files = {"sec/a.bin": b"a" * 70_000, "sec/b.bin": b"b" * 5}
    with started_cluster(2, files, conf=secured_settings(root, mutual), root=root) as c:
        fs = alluvium.AlluviumFileSystem(config=str(c.conf))
        report = fs.load("/sec")
        assert report["mJobState"] == "SUCCEEDED"
        assert fs.cat_file("/sec/a.bin") == files["sec/a.bin"]

        # The same REST API without the token: refused, and nothing done.
        security = dict(fs._client().rest_security, token="")
        anonymous = LoadJobs(c.rest, security=security)
        with pytest.raises(PermissionError):
            anonymous.submit("/sec/b.bin")
        with pytest.raises(PermissionError):
            LoadJobs(c.rest, security=dict(security, token="wrong")).progress("/sec")
        with pytest.raises(FileNotFoundError):
            fs.load_progress("/sec/b.bin")
