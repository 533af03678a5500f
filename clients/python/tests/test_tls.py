"""TlsOptions against a webhookd serving gRPC over TLS with client
certificates required (mTLS). Certificates are made with the openssl CLI."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import webhookd
from support import ADMIN_TOKEN, WebhookdServer, base_config

CA_CONFIG = """
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = webhookd python test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
"""

LEAF_CONFIG = """
[req]
distinguished_name = dn
prompt = no
[dn]
CN = {cn}
[v3_leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = {usage}
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
"""


def openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_leaf(directory: Path, name: str, usage: str, serial: int) -> None:
    (directory / f"{name}.cnf").write_text(LEAF_CONFIG.format(cn=name, usage=usage))
    openssl(directory, "genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", f"{name}.key")
    openssl(directory, "req", "-new", "-config", f"{name}.cnf", "-key", f"{name}.key",
            "-out", f"{name}.csr")
    openssl(directory, "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem",
            "-CAkey", "ca.key", "-set_serial", str(serial), "-days", "30", "-sha256",
            "-extfile", f"{name}.cnf", "-extensions", "v3_leaf", "-out", f"{name}.pem")


@pytest.fixture(scope="module")
def certs():
    if shutil.which("openssl") is None:
        pytest.fail("openssl not found (scripts/install-deps.sh installs it)")
    directory = Path(tempfile.mkdtemp(prefix="webhookd-py-certs-"))
    (directory / "ca.cnf").write_text(CA_CONFIG)
    openssl(directory, "genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", "ca.key")
    openssl(directory, "req", "-x509", "-new", "-config", "ca.cnf", "-key", "ca.key",
            "-sha256", "-days", "30", "-out", "ca.pem")
    make_leaf(directory, "server", "serverAuth", 2)
    make_leaf(directory, "client", "clientAuth", 3)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_server(certs):
    config = base_config()
    config.tls.cert_file = str(certs / "server.pem")
    config.tls.key_file = str(certs / "server.key")
    config.tls.client_ca_file = str(certs / "ca.pem")
    process = WebhookdServer(config)
    yield process
    process.stop()


def test_mtls_client_calls_the_server(tls_server, certs):
    tls = webhookd.TlsOptions.from_files(ca=certs / "ca.pem", cert=certs / "client.pem",
                                         key=certs / "client.key")
    with webhookd.Client(tls_server.address, ADMIN_TOKEN, tls=tls, timeout=10) as client:
        dialects = client.dialects.list_dialects()
        assert "default" in [d.name for d in dialects.dialects]
        # The token still decides: without it the call is refused.
        with pytest.raises(webhookd.UnauthenticatedError):
            client.with_token(None).dialects.list_dialects()


def test_server_name_override(tls_server, certs):
    tls = webhookd.TlsOptions.from_files(ca=certs / "ca.pem", cert=certs / "client.pem",
                                         key=certs / "client.key", server_name="localhost")
    with webhookd.Client(tls_server.address, ADMIN_TOKEN, tls=tls, timeout=10) as client:
        client.dialects.get_dialect(name="default")


def test_without_client_certificate_the_handshake_fails(tls_server, certs):
    tls = webhookd.TlsOptions.from_files(ca=certs / "ca.pem")
    with webhookd.Client(tls_server.address, ADMIN_TOKEN, tls=tls, timeout=5) as client:
        with pytest.raises(webhookd.UnavailableError):
            client.dialects.list_dialects()


def test_untrusted_server_certificate_fails(tls_server, certs):
    # The system roots do not know the test CA.
    with webhookd.Client(tls_server.address, ADMIN_TOKEN, tls=True, timeout=5) as client:
        with pytest.raises(webhookd.UnavailableError):
            client.dialects.list_dialects()


def test_plaintext_client_cannot_talk_to_a_tls_server(tls_server):
    with webhookd.Client(tls_server.address, ADMIN_TOKEN, timeout=5) as client:
        with pytest.raises(webhookd.UnavailableError):
            client.dialects.list_dialects()


def test_half_a_client_certificate_is_rejected():
    with pytest.raises(ValueError):
        webhookd.Client("127.0.0.1:1", tls=webhookd.TlsOptions(certificate_chain=b"x"))


def test_subscription_client_certificate_and_bypass_proxy(tls_server, certs):
    """The SDK carries a subscription's client certificate (for mTLS to the
    receiver) and bypass_proxy; the private key is never returned."""
    from google.protobuf import field_mask_pb2
    from webhookd import pb
    tls = webhookd.TlsOptions.from_files(ca=certs / "ca.pem", cert=certs / "client.pem",
                                         key=certs / "client.key")
    cert = pb.ClientCertificate(certificate_pem=(certs / "client.pem").read_text(),
                                private_key_pem=(certs / "client.key").read_text())
    with webhookd.Client(tls_server.address, ADMIN_TOKEN, tls=tls, timeout=10) as client:
        subs = client.subscriptions
        with pytest.raises(webhookd.InvalidArgumentError) as raised:
            subs.create_subscription(subscription=pb.Subscription(
                resource_type="user", event_type="added",
                target_url="https://hooks.example.com/mtls",
                client_certificate=pb.ClientCertificate(
                    certificate_pem=cert.certificate_pem,
                    private_key_pem=(certs / "server.key").read_text())))
        assert raised.value.field == "subscription.client_certificate.private_key_pem"
        sub = subs.create_subscription(subscription=pb.Subscription(
            resource_type="user", event_type="added",
            target_url="https://hooks.example.com/mtls", client_certificate=cert,
            bypass_proxy=True))
        assert sub.bypass_proxy
        assert sub.client_certificate.subject == "CN=client"
        assert sub.client_certificate.private_key_pem == ""
        updated = subs.update_subscription(
            subscription=pb.Subscription(id=sub.id),
            update_mask=field_mask_pb2.FieldMask(paths=["client_certificate"]))
        assert not updated.HasField("client_certificate")
