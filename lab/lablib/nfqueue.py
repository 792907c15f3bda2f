"""nfnetlink_queue spoken over a raw netlink socket, standard library only: the messages the
delay stage (delayer.py) sends and the packet notices it reads. No libnetfilter_queue: the
lab image and CI hosts have no build tools for it, and four message kinds are all we need.

Layout (linux/netfilter/nfnetlink_queue.h): nlmsghdr (host order), nfgenmsg (family,
version, queue number big-endian), then attributes (u16 length, u16 type, padded to 4)
whose payloads are big-endian.
"""
import socket
import struct

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
MSG_PACKET, MSG_VERDICT, MSG_CONFIG, MSG_VERDICT_BATCH = 0, 1, 2, 3
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK = 1, 4

CFG_CMD, CFG_PARAMS, CFG_QUEUE_MAXLEN, CFG_MASK, CFG_FLAGS = 1, 2, 3, 4, 5
CMD_BIND, CMD_UNBIND = 1, 2
COPY_META = 1
CFG_F_FAIL_OPEN, CFG_F_GSO = 1, 4
ATTR_PACKET_HDR, ATTR_VERDICT_HDR = 1, 2
NF_DROP, NF_ACCEPT = 0, 1

_NLMSGHDR = struct.Struct("=IHHII")
_NFGENMSG = struct.Struct("!BBH")
_ATTR = struct.Struct("=HH")
HEADER = _NLMSGHDR.size + _NFGENMSG.size


def _attr(kind, payload):
    length = _ATTR.size + len(payload)
    return _ATTR.pack(length, kind) + payload + b"\0" * (-length % 4)


def message(kind, queue, attrs, seq=0, flags=NLM_F_REQUEST):
    """One nfnetlink_queue message of type ``kind`` for queue number ``queue``."""
    body = _NFGENMSG.pack(socket.AF_UNSPEC, 0, queue) + b"".join(_attr(k, p) for k, p in attrs)
    return _NLMSGHDR.pack(_NLMSGHDR.size + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + body


def bind(queue, maxlen, seq=0):
    """Binds ``queue`` to this socket, metadata only (no payload copied to us), with room
    for ``maxlen`` packets in the kernel and GSO packets passed whole; the kernel drops
    (does not pass) a packet when the queue is full, so a full queue is a loss we count."""
    return [
        message(MSG_CONFIG, queue, [(CFG_CMD, struct.pack("!BxH", CMD_BIND, socket.AF_INET))], seq, NLM_F_REQUEST | NLM_F_ACK),
        message(MSG_CONFIG, queue, [(CFG_PARAMS, struct.pack("!IB", 0, COPY_META)),
                                    (CFG_QUEUE_MAXLEN, struct.pack("!I", maxlen)),
                                    (CFG_FLAGS, struct.pack("!I", CFG_F_GSO)),
                                    (CFG_MASK, struct.pack("!I", CFG_F_GSO))], seq + 1, NLM_F_REQUEST | NLM_F_ACK),
    ]


def unbind(queue, seq=0):
    return message(MSG_CONFIG, queue, [(CFG_CMD, struct.pack("!BxH", CMD_UNBIND, socket.AF_INET))], seq)


def verdict(queue, packet_id, accept=True):
    """Accept or drop one packet."""
    return message(MSG_VERDICT, queue, [(ATTR_VERDICT_HDR, struct.pack("!II", NF_ACCEPT if accept else NF_DROP, packet_id))])


def verdict_batch(queue, last_id):
    """Accept every packet of ``queue`` whose id is <= ``last_id``, in one message: the kernel
    walks its list in arrival order, which is the order a link releases in."""
    return message(MSG_VERDICT_BATCH, queue, [(ATTR_VERDICT_HDR, struct.pack("!II", NF_ACCEPT, last_id))])


def attributes(data, start, end):
    """{type: payload} of the attributes in data[start:end]."""
    found = {}
    while start + _ATTR.size <= end:
        length, kind = _ATTR.unpack_from(data, start)
        if length < _ATTR.size:
            break
        found[kind & 0x3fff] = bytes(data[start + _ATTR.size:start + length])
        start += (length + 3) & ~3
    return found


def parse(data, size):
    """The messages in one datagram: (kind, queue, packet_id) for a packet notice (packet_id
    None for anything else); an error answer gives ("error", errno, seq)."""
    found, offset = [], 0
    while offset + _NLMSGHDR.size <= size:
        length, kind, _flags, seq, _pid = _NLMSGHDR.unpack_from(data, offset)
        if length < _NLMSGHDR.size:
            break
        if kind == NLMSG_ERROR:
            found.append(("error", -struct.unpack_from("=i", data, offset + _NLMSGHDR.size)[0], seq))
        elif kind >> 8 == NFNL_SUBSYS_QUEUE and length >= HEADER:
            queue = _NFGENMSG.unpack_from(data, offset + _NLMSGHDR.size)[2]
            packet_id = None
            if kind & 0xff == MSG_PACKET:
                header = attributes(data, offset + HEADER, offset + length).get(ATTR_PACKET_HDR)
                if header is not None:
                    packet_id = struct.unpack_from("!I", header)[0]
            found.append((kind & 0xff, queue, packet_id))
        offset += (length + 3) & ~3
    return found


def open_socket(buffer_bytes=8 << 20):
    """A non-blocking nfnetlink socket with a large receive buffer (SO_RCVBUFFORCE: root):
    packet notices wait there while the delay stage is busy."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    try:
        sock.setsockopt(socket.SOL_SOCKET, 33, buffer_bytes)      # SO_RCVBUFFORCE
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_bytes)
    return sock
