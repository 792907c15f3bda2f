"""The config tree tunnel_instances finds on a host, made in a temporary directory: a host
certificate and each bond's tls-crypt key, with systemd recorded and chown a no-op."""
import os

from ansible_collections.bonded.openvpn.plugins.modules import tunnel_instances

from systemd_fake import RecordingSystemd


def make_tree(tmp_path, monkeypatch, keys):
    """``keys``: {bond: the text of its tls-crypt key}."""
    RecordingSystemd.install(monkeypatch, tunnel_instances)
    monkeypatch.setattr(os, "chown", lambda *args: None)
    (tmp_path / "identity").mkdir()
    (tmp_path / "identity" / "host.crt").write_text("not checked here\n")
    for bond, key in keys.items():
        (tmp_path / "bonds" / bond).mkdir(parents=True)
        (tmp_path / "bonds" / bond / "tls-crypt.key").write_text(key)
    return tmp_path
