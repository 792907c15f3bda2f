"""Prints the OpenVPN state (CONNECTED, WAIT, ...) of each named instance, one per line."""
import socket
import sys


def state(instance):
    path = "/run/bonded-openvpn/%s/management.sock" % instance
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(3)
            sock.connect(path)
            sock.sendall(b"state\n")
            data = b""
            while b"\r\nEND" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
    except OSError as error:
        return "UNREACHABLE(%s)" % error.__class__.__name__
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[0].isdigit():
            return fields[1]
    return "UNKNOWN"


for name in sys.argv[1:]:
    print(state(name))
