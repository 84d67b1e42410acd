"""A test certificate authority and Flask served over TLS on 127.0.0.1.

The certificates are made here with ``cryptography`` (a dependency of the
identity tokens): a CA, and a server certificate it signs for
``127.0.0.1`` and ``localhost``, so both transports verify a real chain and
a real host name. A second, unrelated CA stands for "a certificate no one
trusts".
"""

from __future__ import annotations

import datetime
import ipaddress
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from werkzeug.serving import make_server

from tests.upstream import RunningServer, _HTTP11Handler


@dataclass(frozen=True)
class Authority:
    """A CA's certificate (its PEM file is what UPSTREAM_CA_BUNDLE names) and key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    pem: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return builder.not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(
        now + datetime.timedelta(days=1)
    )


def make_authority(directory: Path, name: str) -> Authority:
    """A self-signed CA certificate, written to ``directory/name.pem``."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    certificate = _validity(builder).sign(key, hashes.SHA256())
    pem = directory / f"{name}.pem"
    pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Authority(certificate, key, pem)


def issue_server_certificate(authority: Authority, directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost signed by ``authority``: (cert, key) files."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("strangler test upstream"))
        .issuer_name(authority.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key()),
            critical=False,
        )
    )
    certificate = _validity(builder).sign(authority.key, hashes.SHA256())
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class TlsUpstream:
    """Flask over TLS: its https:// URL, the CA that signed it, and one that did not."""

    server: RunningServer
    trusted: Path
    untrusted: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"


def serve_tls(app: Flask, directory: Path) -> TlsUpstream:
    """Run ``app`` on a threaded HTTP/1.1 server over TLS on 127.0.0.1 (a free port)."""
    authority = make_authority(directory, "test-ca")
    stranger = make_authority(directory, "other-ca")
    cert, key = issue_server_certificate(authority, directory)
    server = make_server(
        "127.0.0.1",
        0,
        app,
        threaded=True,
        request_handler=_HTTP11Handler,
        ssl_context=(str(cert), str(key)),
    )
    thread = threading.Thread(target=server.serve_forever, name="flask-tls", daemon=True)
    thread.start()
    return TlsUpstream(RunningServer(server, thread), authority.pem, stranger.pem)
