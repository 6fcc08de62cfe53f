"""The phone preview's TLS certificate: made on this computer on first use, kept in the user's config folder.

A phone's browser gives the camera only to https pages, and no public authority signs a certificate for a
laptop's LAN address; so the studio signs its own. One private key (kept, owner-only) and one certificate per
address served (an address the phone's browser checks against the certificate). The browser warns once about
a certificate it does not know; the fingerprint lets the person check it is this one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

APP_DIR_NAME = "EdgeAIVisionStudio"
KEY_FILE = "phone-preview-key.pem"
# A year: browsers refuse certificates valid for longer than 398 days.
VALID_DAYS = 365
# Made again this long before it runs out, so a preview never starts on one about to expire.
RENEW_BEFORE = dt.timedelta(days=7)


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    fingerprint: str        # SHA-256 of the certificate (DER), "AB:CD:..." as browsers show it
    spki_sha256_b64: str    # base64 SHA-256 of the public key (Chromium's --ignore-certificate-errors-spki-list)
    created: bool           # made just now (first use for this address)

    @property
    def short_fingerprint(self) -> str:
        """The first 8 bytes: enough to compare by eye with what the phone's browser shows."""
        return ":".join(self.fingerprint.split(":")[:8])


def certificate_dir() -> Path:
    """The user's config folder (platformdirs; XDG_CONFIG_HOME on Linux), ``certificates/`` inside."""
    from platformdirs import user_config_dir

    return Path(user_config_dir(APP_DIR_NAME, appauthor=False)) / "certificates"


def _cert_file(host: str) -> str:
    return f"phone-preview-{host.replace(':', '_')}.pem"


def certificate_for(host: str, folder: Path | None = None) -> Certificate:
    """The certificate for ``host`` (an IP address), made now if missing, unreadable or near its end."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    address = ipaddress.ip_address(host)
    folder = folder or certificate_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = _load_or_make_key(folder / KEY_FILE)
    cert_path = folder / _cert_file(str(address))
    cert = None
    if cert_path.is_file():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        except ValueError:
            cert = None
        if cert is not None and not _still_good(cert, key, address):
            cert = None
    created = cert is None
    if cert is None:
        cert = _make_certificate(key, address)
        _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return _describe(cert, cert_path, folder / KEY_FILE, created)


def _load_or_make_key(path: Path):  # noqa: ANN202 (cryptography's key type, imported lazily)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    if path.is_file():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(key, ec.EllipticCurvePrivateKey):
                return key
        except (ValueError, TypeError):
            pass  # unreadable: a new key (and new certificates) below
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    _write_atomic(path, pem, 0o600)
    for old in path.parent.glob("phone-preview-*.pem"):
        if old.name != KEY_FILE:
            old.unlink(missing_ok=True)  # signed by the old key: useless now
    return key


def _still_good(cert, key, address) -> bool:  # noqa: ANN001
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if cert.public_key().public_bytes(serialization.Encoding.DER, public) != \
            key.public_key().public_bytes(serialization.Encoding.DER, public):
        return False
    if cert.not_valid_after_utc - RENEW_BEFORE < dt.datetime.now(dt.UTC):
        return False
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return address in names.get_values_for_type(x509.IPAddress)


def _make_certificate(key, address):  # noqa: ANN001, ANN202
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Edge AI Vision Studio preview {address}"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Edge AI Vision Studio (this computer)")])
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(address)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))


def _describe(cert, cert_path: Path, key_path: Path, created: bool) -> Certificate:  # noqa: ANN001
    import base64

    from cryptography.hazmat.primitives import hashes, serialization

    fingerprint = ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return Certificate(cert_path, key_path, fingerprint,
                       base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii"), created)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
