"""files.write_atomic, the one way modules replace a file: unique temporary names in the
target's directory, mode and owner before the rename, nothing left behind on failure."""
import os
import shutil

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._host import files


class Module(object):
    """The one AnsibleModule method the helper uses; ``fail`` makes the move fail."""

    def __init__(self, fail=False):
        self.fail, self.moves = fail, []

    def atomic_move(self, src, dest, unsafe_writes=False, keep_dest_attrs=True):
        if keep_dest_attrs and os.path.exists(dest):
            shutil.copymode(dest, src)  # what atomic_move does with an existing file
        self.moves.append((src, dest, oct(os.stat(src).st_mode & 0o777)))
        if self.fail:
            raise OSError(16, "Device or resource busy")
        os.rename(src, dest)


def test_the_new_content_appears_with_its_mode_already_set(tmp_path):
    module = Module()
    target = tmp_path / "sub" / "key"
    files.write_atomic(module, str(target), b"secret\n", 0o600)
    assert target.read_bytes() == b"secret\n" and oct(target.stat().st_mode & 0o777) == oct(0o600)
    source, dest, mode = module.moves[0]
    assert os.path.dirname(source) == str(tmp_path / "sub") and dest == str(target) and mode == oct(0o600)


def test_a_failed_move_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "spec.conf"
    target.write_bytes(b"old\n")
    with pytest.raises(OSError):
        files.write_atomic(Module(fail=True), str(target), b"new\n", 0o644)
    assert target.read_bytes() == b"old\n" and os.listdir(str(tmp_path)) == ["spec.conf"]


def test_temporary_names_are_unique_and_private(tmp_path):
    first, second = (files.temporary_path(str(tmp_path / "a.conf")) for dummy in range(2))
    assert first != second and oct(os.stat(first).st_mode & 0o777) == oct(0o600)


def test_a_loosely_readable_old_file_never_lends_its_mode_to_the_new_content(tmp_path):
    module = Module()
    target = tmp_path / "host.key"
    target.write_bytes(b"old key\n")
    target.chmod(0o644)
    files.write_atomic(module, str(target), b"new key\n", 0o600)
    assert module.moves[0][2] == oct(0o600) and oct(target.stat().st_mode & 0o777) == oct(0o600)
