"""SSH into lab containers, as a real fleet is reached: the lab image with sshd (built from
sshd.Containerfile, cached by a hash of its recipe and of LAB_IMAGE, like lab/lib.sh does),
a key pair generated per run, and inventories for the ssh connection.

    image = sshd.image()                       # builds once, then reuses
    keys = sshd.KeyPair(workdir)               # fresh ed25519 key pair
    lab.container(name, networks, image=...)   # see ssh_container()
    sshd.authorize(name, keys)                 # root's authorized_keys in the container
"""
import hashlib
import os
import subprocess

from lablib.podman import exec_in, exists, run

HERE = os.path.dirname(os.path.abspath(__file__))
CONTAINERFILE = os.path.join(HERE, "sshd.Containerfile")
REPOSITORY = "localhost/bonded-openvpn-lab-sshd"


def image_tag(base=None):
    base = base or os.environ["LAB_IMAGE"]
    with open(CONTAINERFILE, "rb") as handle:
        digest = hashlib.sha256(handle.read() + b"\n" + base.encode()).hexdigest()[:12]
    return "%s:%s" % (REPOSITORY, digest)


def image(base=None):
    """The sshd image's tag; builds it (about a minute) when it is missing."""
    base = base or os.environ["LAB_IMAGE"]
    tag = image_tag(base)
    if not exists("image", tag):
        print("building %s from %s" % (tag, base), flush=True)
        run(["podman", "build", "--build-arg", "LAB_IMAGE=" + base, "-f", CONTAINERFILE, "-t", tag, HERE],
            capture=False)
    return tag


class KeyPair(object):
    """An ed25519 key pair made for this run only (no passphrase), in workdir."""

    def __init__(self, workdir):
        os.makedirs(workdir, exist_ok=True)
        self.private = os.path.join(workdir, "id_ed25519")
        for path in (self.private, self.private + ".pub"):
            if os.path.exists(path):
                os.remove(path)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bonded-openvpn-lab",
                        "-f", self.private], check=True)
        with open(self.private + ".pub") as handle:
            self.public = handle.read().strip()


def authorize(container, keys):
    exec_in(container, ["sh", "-c", "umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys"],
            stdin=keys.public + "\n")


def address(container, network):
    """The container's address on that podman network."""
    fmt = '{{ (index .NetworkSettings.Networks "%s").IPAddress }}' % network
    return run(["podman", "inspect", "--format", fmt, container]).stdout.strip()


def ssh_vars(private_key, extra_args=""):
    """Inventory variables that reach lab containers over SSH as root: their host keys are
    throw-away (the image's), so they are neither checked nor recorded."""
    return {
        "ansible_connection": "ansible.builtin.ssh",
        "ansible_user": "root",
        "ansible_ssh_private_key_file": private_key,
        "ansible_ssh_common_args": ("-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                    "-o LogLevel=ERROR " + extra_args).strip(),
        "ansible_python_interpreter": "/usr/bin/python3",
    }
