import subprocess

from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn.pem import certificate_fingerprint


def test_fingerprint_matches_openssl(tmp_path):
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "1", "-subj", "/CN=t", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    expected = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
                              check=True, capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    assert certificate_fingerprint(cert.read_bytes()) == expected


def test_no_certificate_gives_none():
    assert certificate_fingerprint(b"not a certificate") is None
