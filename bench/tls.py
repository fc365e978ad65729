"""Certificates for the benchmark's HTTPS hosts: a throwaway local CA made with ``trustme``.

The CA's certificate is what every checker is told to trust (``--ca-bundle`` for linkcheck,
``SSL_CERT_FILE`` for lychee, ``NODE_EXTRA_CA_CERTS`` for linkinator); the server gets one
leaf certificate naming every host address. Nothing is written outside the work dir and the
key never leaves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TlsFiles:
    """PEM files in the work dir: the CA to trust, and the server's chain and key."""

    ca: Path
    cert_chain: Path
    key: Path


def write_tls_files(addresses: Sequence[str], folder: Path) -> TlsFiles:
    """A new CA and a leaf certificate for ``addresses`` (IP SANs), written under ``folder``."""
    import trustme  # a test extra, needed only when some host speaks HTTPS

    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="linkcheck bench")
    leaf = ca.issue_cert(*addresses)
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(files.ca))
    leaf.private_key_pem.write_to_path(str(files.key))
    files.cert_chain.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    return files
