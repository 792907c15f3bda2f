"""Hypothesis strategies for whole inventories: a valid fleet, then a few mutations.

A mutation puts into one field of one bond, one host's ansible_host or the pool either a
merely plausible value or one a careless or hostile user could write: strings with
newlines, '#', control characters, look-alike letters and trailing block-scalar newlines;
YAML sets, mappings, lists, floats, booleans and nulls in scalar fields; huge numbers;
networks that capture the hosts' own addresses or the pool. Addresses come from a few
small ranges so that collisions (underlay capture, overlaps, a pool holding a host)
happen often enough to be exercised.
"""
import ipaddress

from hypothesis import strategies as st

HOST_NAMES = ["hq", "paris1", "berlin1", "lisbon-gw", "edge_2.example"]
BOND_NAMES = ["paris", "berlin", "lyon", "a", "x1"]
INJECTIONS = ["\n", "\nscript-security 2\nup /tmp/x.sh\n#", " #", "#", " ", "\t", "\r", "\x00", ";", '"', "{", "}",
              "\u2028", "\u200b", "\x1b[2J", "$(reboot)"]
LOOK_ALIKES = {"a": "\u0430", "p": "\u0440", "e": "\u0435", "o": "\u043e", "i": "\u0131", "1": "\uff11"}


def _spoiled(valid):
    """A valid string made hostile: a suffix, an infix or a look-alike letter."""
    def spoil(draw):
        text = str(draw(valid))
        how = draw(st.sampled_from(["suffix", "prefix", "middle", "look-alike"]))
        extra = draw(st.sampled_from(INJECTIONS))
        if how == "suffix":
            return text + extra
        if how == "prefix":
            return extra + text
        if how == "middle" and len(text) > 1:
            cut = draw(st.integers(1, len(text) - 1))
            return text[:cut] + extra + text[cut:]
        letters = [c for c in text if c in LOOK_ALIKES]
        return text.replace(letters[0], LOOK_ALIKES[letters[0]], 1) if letters else text + "\u0430"
    return st.composite(spoil)()


def wrong_types():
    """What YAML gives when a scalar was expected and something else was written."""
    return st.one_of(
        st.none(), st.booleans(), st.floats(allow_nan=True), st.integers(-(2 ** 70), 2 ** 70),
        st.lists(st.integers(0, 3), max_size=2), st.sets(st.sampled_from(["a", 1, "udp"]), max_size=2),
        st.dictionaries(st.sampled_from(["a", "host"]), st.integers(0, 3), max_size=2),
        st.text(max_size=6),
    )


def hostile(valid):
    return st.one_of(_spoiled(valid), wrong_types())


def ipv4_in(prefixes):
    # Few third and fourth octets: hosts, remotes and networks collide often.
    return st.builds(lambda prefix, a, b: "%s.%d.%d" % (prefix, a, b),
                     st.sampled_from(prefixes), st.integers(0, 3), st.integers(1, 6))


def ipv6_in(prefixes):
    # As few distinct values: an IPv6 remote meets IPv6 networks and the pool6 often.
    return st.builds(lambda prefix, a, b: "%s:%x::%x" % (prefix, a, b),
                     st.sampled_from(prefixes), st.integers(0, 3), st.integers(1, 6))


POOL6 = "fd00:0:0:ff00::/56"
ADDRESSES = st.one_of(ipv4_in(["198.51", "203.0", "192.168"]), ipv6_in(["2001:db8"]))
# Addresses a mutation may give a host or a remote: sometimes inside the default pool, or the pool6.
ANY_ADDRESSES = st.one_of(ipv4_in(["198.51", "203.0", "192.168", "10.255"]), ipv6_in(["2001:db8", "fd00:0:0:ff01"]))
DNS_NAMES = st.sampled_from(["vpn.example.net", "hq", "edge-1.example.org", "a.b-c.d"])


def cidr_around(address, prefix, keep_host_bits=False):
    if ":" in address:
        # IPv6: the same prefix lengths, counted from the end (a /24 of IPv4 is a /120 here).
        return str(ipaddress.ip_interface("%s/%d" % (address, min(128, 96 + prefix))).network
                   if not keep_host_bits else "%s/%d" % (address, min(128, 96 + prefix)))
    octets = [int(x) for x in address.split(".")]
    number = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
    if not keep_host_bits:
        number &= (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    return "%d.%d.%d.%d/%d" % (number >> 24, (number >> 16) & 255, (number >> 8) & 255, number & 255, prefix)


def cidrs(addresses=ADDRESSES):
    """Networks around ``addresses``: any prefix, mostly /8 to /30, host bits masked mostly."""
    return st.builds(cidr_around, addresses, st.one_of(st.integers(8, 30), st.integers(0, 32)),
                     st.integers(0, 9).map(lambda n: n == 0))


def plausible(field):
    """Values a user might well write for ``field``, valid or not by a little."""
    return {
        "name": st.sampled_from(BOND_NAMES + ["Paris", "parisnorth12"]),
        "id": st.integers(-1, 300),
        "server": st.sampled_from(HOST_NAMES + ["nowhere"]),
        "client": st.sampled_from(HOST_NAMES + ["nowhere"]),
        "tunnels": st.integers(0, 33),
        "port": st.sampled_from([0, 1, 1194, 1195, 1294, 65534, 65535, 65536]),
        "remote": st.one_of(st.none(), ANY_ADDRESSES, DNS_NAMES),
        "proto": st.sampled_from(["udp", "tcp", "sctp"]),
        "balance": st.sampled_from(["packet", "flow", "random"]),
        "weights": st.one_of(st.lists(st.integers(0, 300), min_size=1, max_size=4),
                             st.lists(st.integers(1, 10 ** 12), min_size=1, max_size=4)),
        "server_networks": st.lists(cidrs(), max_size=3),
        "client_networks": st.lists(cidrs(), max_size=3),
        "snat": st.booleans(),
        "snat6": st.one_of(st.booleans(), st.just("yes")),
        "shaper": st.one_of(st.none(), st.integers(0, 10 ** 9)),
    }[field]


FIELDS = ["name", "id", "server", "client", "tunnels", "port", "remote", "proto", "balance", "weights",
          "server_networks", "client_networks", "snat", "snat6", "shaper"]


@st.composite
def valid_fleet(draw):
    """A fleet the planner accepts, mostly: distinct names, ids, ports and networks."""
    host_count = draw(st.integers(2, 4))
    names = HOST_NAMES[:host_count]
    hosts = dict((name, draw(st.one_of(ADDRESSES, st.just(name)))) for name in names)
    bonds = []
    for i in range(draw(st.integers(1, 3))):
        server, client = draw(st.lists(st.integers(0, host_count - 1), min_size=2, max_size=2, unique=True))
        tunnels = draw(st.integers(1, 4))
        bond = {"name": BOND_NAMES[i], "id": i + 1, "server": names[server], "client": names[client],
                "tunnels": tunnels, "port": 1194 + 100 * i}
        if draw(st.booleans()):
            bond["server_networks"] = ["172.16.%d.0/24" % server]
        if draw(st.booleans()):
            bond["client_networks"] = ["172.17.%d.0/24" % client]
        if draw(st.booleans()):
            bond["balance"] = draw(st.sampled_from(["packet", "flow"]))
        if draw(st.booleans()):
            bond["weights"] = draw(st.lists(st.integers(1, 5), min_size=tunnels, max_size=tunnels))
        if draw(st.integers(0, 3)) == 0:
            bond["remote"] = draw(st.one_of(ADDRESSES, DNS_NAMES))
        if draw(st.integers(0, 3)) == 0:
            bond["proto"] = "tcp"
        if draw(st.integers(0, 3)) == 0:
            bond["snat"] = True
        if draw(st.integers(0, 5)) == 0:
            bond["shaper"] = draw(st.integers(100, 100000000))
        if draw(st.integers(0, 3)) == 0:
            bond.setdefault("server_networks", []).append("2001:db8:16:%x::/64" % server)
            if draw(st.booleans()):
                bond["snat6"] = True
        bonds.append(bond)
    return bonds, hosts


def _endpoints(bond, hosts):
    """The IPv4 addresses a bond's own tunnels use (dial address, client's ansible_host),
    to aim a network at; any inventory address when the bond has none."""
    found = [bond.get("remote") or hosts.get(bond.get("server")), hosts.get(bond.get("client"))]
    found = [value for value in found if isinstance(value, str) and _is_address(value)]
    return found or [value for value in hosts.values() if isinstance(value, str) and _is_address(value)] or [
        "198.51.0.1"]


def _is_address(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@st.composite
def inventories(draw):
    """(bonds, pool, hosts, pool6): a valid fleet with 0 to 3 mutations, each a hostile or
    merely plausible value in one field of one bond, one host's ansible_host, or a pool."""
    bonds, hosts = draw(valid_fleet())
    pool, pool6 = "10.255.0.0/16", POOL6
    for _mutation in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        target = draw(st.sampled_from(["field"] * 8 + ["host", "pool", "pool6", "fleet"]))
        if target == "field":
            bond = draw(st.sampled_from(bonds)) if isinstance(bonds, list) and bonds else None
            field = draw(st.sampled_from(FIELDS))
            if isinstance(bond, dict) and field.endswith("_networks") and draw(st.booleans()):
                aim = st.sampled_from(_endpoints(bond, hosts))
                bond[field] = draw(st.lists(st.builds(cidr_around, aim, st.integers(8, 32)), min_size=1, max_size=2))
            elif isinstance(bond, dict):
                bond[field] = draw(st.one_of(plausible(field), hostile(plausible(field))))
        elif target == "host":
            host = draw(st.sampled_from(sorted(hosts)))
            hosts[host] = draw(st.one_of(ANY_ADDRESSES, DNS_NAMES, hostile(ADDRESSES)))
        elif target == "pool":
            pool = draw(st.one_of(st.sampled_from([None, "10.0.0.0/8", "172.16.0.0/12", "198.51.0.0/16",
                                                   "0.0.0.0/0", "10.255.0.0/25"]), hostile(st.just("10.255.0.0/16"))))
        elif target == "pool6":
            pool6 = draw(st.one_of(st.sampled_from([None, "fd00::/48", "2001:db8::/32", "::/0", "fd00:0:0:ff00::/57",
                                                    "10.254.0.0/16"]), hostile(st.just(POOL6))))
        else:
            grown = (bonds + [draw(wrong_types())]) if isinstance(bonds, list) else []
            bonds = draw(st.one_of(wrong_types(), st.just([]), st.just(grown)))
    return bonds, pool, hosts, pool6
