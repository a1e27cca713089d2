"""A certificate authority and one server certificate for the secured local cluster, made with
the JDK's keytool on first start and kept in the run directory.

The servers (brokers, ksqlDB, Connect) all answer on 127.0.0.1, so one certificate whose subject
alternative names are `IP:127.0.0.1` and `DNS:localhost` serves them all; clients trust the CA
(`ca.pem` for librdkafka and requests, `truststore.p12` for the JVMs), so a server with another
certificate is refused, as on a real cluster.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from core.errors import StackError
from infra.local.jars import require_tool

SUBJECT_NAMES = "SAN=ip:127.0.0.1,dns:localhost"
VALID_DAYS = "825"


@dataclass(frozen=True)
class TlsFiles:
    """The TLS material of one run directory; `password` opens both PKCS12 stores."""

    directory: Path
    password: str

    @property
    def ca_pem(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.directory / "server.p12"

    @property
    def truststore(self) -> Path:
        return self.directory / "truststore.p12"

    def java_settings(self, prefix: str = "", keystore: bool = True) -> dict[str, str]:
        """The JVM side's `ssl.*` settings (keystore for a server, truststore always)."""
        settings = {f"{prefix}ssl.truststore.location": str(self.truststore),
                    f"{prefix}ssl.truststore.password": self.password,
                    f"{prefix}ssl.truststore.type": "PKCS12"}
        if keystore:
            settings |= {f"{prefix}ssl.keystore.location": str(self.keystore),
                         f"{prefix}ssl.keystore.password": self.password,
                         f"{prefix}ssl.key.password": self.password,
                         f"{prefix}ssl.keystore.type": "PKCS12"}
        return settings


def _keytool(*args: str) -> None:
    result = subprocess.run([require_tool("keytool", "install a JDK 17"), *args],
                            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise StackError(f"keytool {args[0]} failed: {(result.stdout + result.stderr)[-1500:]}")


def ensure_tls(directory: Path, password: str | None = None) -> TlsFiles:
    """The CA and server certificate in `directory`, made on the first call (about 5 s)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    password_file = directory / "store-password"
    if password_file.exists():
        tls = TlsFiles(directory, password_file.read_text().strip())
        if tls.ca_pem.exists() and tls.keystore.exists() and tls.truststore.exists():
            return tls
    tls = TlsFiles(directory, password or secrets.token_urlsafe(18))
    password_file.write_text(tls.password + "\n")
    password_file.chmod(0o600)
    ca_store, csr, signed = directory / "ca.p12", directory / "server.csr", directory / "server.pem"
    for path in (ca_store, tls.keystore, tls.truststore):
        path.unlink(missing_ok=True)
    store = ("-storetype", "PKCS12", "-storepass", tls.password)
    _keytool("-genkeypair", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048",
             "-dname", "CN=fraud-detection local cluster CA", "-ext", "bc:c",
             "-validity", VALID_DAYS, "-keystore", str(ca_store), *store)
    _keytool("-exportcert", "-rfc", "-alias", "ca", "-keystore", str(ca_store), *store,
             "-file", str(tls.ca_pem))
    _keytool("-genkeypair", "-alias", "server", "-keyalg", "RSA", "-keysize", "2048",
             "-dname", "CN=localhost", "-ext", SUBJECT_NAMES, "-validity", VALID_DAYS,
             "-keystore", str(tls.keystore), *store)
    _keytool("-certreq", "-alias", "server", "-keystore", str(tls.keystore), *store,
             "-file", str(csr))
    _keytool("-gencert", "-alias", "ca", "-keystore", str(ca_store), *store, "-rfc",
             "-infile", str(csr), "-outfile", str(signed), "-ext", SUBJECT_NAMES,
             "-validity", VALID_DAYS)
    _keytool("-importcert", "-noprompt", "-alias", "ca", "-file", str(tls.ca_pem),
             "-keystore", str(tls.keystore), *store)
    _keytool("-importcert", "-noprompt", "-alias", "server", "-file", str(signed),
             "-keystore", str(tls.keystore), *store)
    _keytool("-importcert", "-noprompt", "-alias", "ca", "-file", str(tls.ca_pem),
             "-keystore", str(tls.truststore), *store)
    csr.unlink()
    for path in directory.iterdir():
        path.chmod(0o600)
    return tls
