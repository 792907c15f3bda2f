# -*- coding: utf-8 -*-
"""Compares the two ends of a bond (and the plan) tunnel by tunnel.

Input: what ``tunnel_facts`` reported on the client and on the server (the whole result, or
just this bond's entry), and optionally this bond's entry of ``plan.build_plan``.
Output: one row per tunnel for the table, and one mismatch per problem, each
``{bond, tunnel, field, client, server, plan, hint}`` (``tunnel`` is None for bond-level
fields).

Checks run in stages per tunnel so that a mismatch names the cause, not its echoes:
a missing config hides the rest of that tunnel; the runtime checks (interface, management
state) run only when the configs agree and both units are active; the traffic probe runs
only when the runtime checks pass. Bond-level: facts present, role, count, certificate,
balancer live sets; for MPTCP, both watchdogs run the bond with mptcp or both without
(and as the plan says), and each end's relay units are active.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import spec as bspec
from ansible_collections.bonded.openvpn.plugins.module_utils._net import family as plan_family


def mismatch(bond, tunnel, field, client, server, hint, plan=None):
    return {"bond": bond, "tunnel": tunnel, "field": field, "client": client, "server": server,
            "plan": plan, "hint": hint}


def describe(item):
    """One line: ``bond X tunnel K field F: client=…, server=…[, plan=…] (hint)``."""
    where = "bond %s" % item["bond"]
    if item["tunnel"] is not None:
        where += " tunnel %s" % item["tunnel"]
    text = "%s field %s: client=%s, server=%s" % (where, item["field"], _show(item["client"]), _show(item["server"]))
    if item.get("plan") is not None:
        text += ", plan=%s" % _show(item["plan"])
    return "%s (%s)" % (text, item["hint"])


def _show(value):
    if value is None:
        return "unknown"
    if isinstance(value, list):
        return "[%s]" % ",".join(str(v) for v in value)
    return str(value)


def bond_entry(facts, bond):
    """This bond's entry from a whole ``tunnel_facts`` result or an entry; None without facts."""
    if not facts:
        return None
    if "bonds" not in facts:
        return facts
    entry = (facts.get("bonds") or {}).get(bond)
    if entry is None:  # the host has nothing of this bond
        entry = {"name": bond, "role": None, "count": 0, "balance": {"live": None}, "tunnels": []}
    entry = dict(entry)
    if not entry.get("host_fingerprint"):
        entry["host_fingerprint"] = facts.get("host_fingerprint")
    return entry


class _Sides(object):
    """Names the two ends in hints: the inventory host when the plan is known."""

    def __init__(self, bond, plan):
        self.bond = bond
        self.hosts = {"client": (plan or {}).get("client"), "server": (plan or {}).get("server")}

    def name(self, side):
        host = self.hosts[side]
        return "%s (%s)" % (host, side) if host else "the %s" % side

    def unit(self, index):
        return "bonded-openvpn@%s-%d" % (self.bond, index)


def compare(bond, client_facts, server_facts, plan=None):
    """Returns ``(rows, mismatches)`` for one bond."""
    sides = _Sides(bond, plan)
    client, server = bond_entry(client_facts, bond), bond_entry(server_facts, bond)
    found = []
    for side, entry in (("client", client), ("server", server)):
        if entry is None:
            found.append(mismatch(bond, None, "facts", "missing" if side == "client" else "present",
                                  "missing" if side == "server" else "present",
                                  "no tunnel_facts from %s: run bonded.openvpn.tunnel_facts there "
                                  "(was the host unreachable or left out by --limit?)" % sides.name(side)))
    if found:
        found = _merge_facts_mismatches(bond, found)
        return _rows(bond, client or {}, server or {}, plan, found), found
    found += _bond_level(bond, client, server, plan, sides)
    planned = _planned_tunnels(plan)
    ctunnels, stunnels = _by_index(client), _by_index(server)
    for index in sorted(set(ctunnels) | set(stunnels) | set(planned)):
        found += _tunnel_checks(bond, index, ctunnels.get(index), stunnels.get(index),
                                planned.get(index), plan, client, server, sides)
    found += uplinks_down(bond, plan, found)
    return _rows(bond, client, server, plan, found), found


def _merge_facts_mismatches(bond, found):
    if len(found) == 1:
        return found
    return [mismatch(bond, None, "facts", "missing", "missing",
                     "no tunnel_facts from either end: run bonded.openvpn.tunnel_facts on both hosts")]


def _planned_tunnels(plan):
    return dict((t["index"], t) for t in (plan or {}).get("tunnel_list", []))


def _by_index(entry):
    return dict((t["index"], t) for t in entry.get("tunnels") or [])


def _bond_level(bond, client, server, plan, sides):
    found = []
    for side, entry in (("client", client), ("server", server)):
        if entry.get("count") and entry.get("role") != side:
            values = {"client": client.get("role"), "server": server.get("role")}
            found.append(mismatch(bond, None, "role", values["client"], values["server"],
                                  "%s holds this bond's configs as %s, expected %s: check the bond's server "
                                  "and client in bonded_openvpn_bonds and re-run site.yml"
                                  % (sides.name(side), entry.get("role"), side)))
            break
    planned = len(plan["tunnel_list"]) if plan else None
    counts = set([client.get("count"), server.get("count")] + ([planned] if plan else []))
    if len(counts) > 1:
        found.append(mismatch(bond, None, "count", client.get("count"), server.get("count"),
                              "tunnel configs held: client %s, server %s%s: re-run site.yml to converge both ends "
                              "to the plan" % (client.get("count"), server.get("count"),
                                               ", plan %d" % planned if plan else ""), plan=planned))
    unreadable = [side for side, entry in (("client", client), ("server", server))
                  if entry.get("count") and not entry.get("host_fingerprint")]
    if unreadable:
        found.append(mismatch(bond, None, "certificate", client.get("host_fingerprint"), server.get("host_fingerprint"),
                              "cannot read the host certificate (identity/host.crt) on %s: re-run site.yml to "
                              "restore the identity and re-pin it" % " and ".join(sides.name(s) for s in unreadable)))
    live = ((client.get("balance") or {}).get("live"), (server.get("balance") or {}).get("live"))
    if None not in live and sorted(live[0]) != sorted(live[1]):
        found.append(mismatch(bond, None, "balance_live", sorted(live[0]), sorted(live[1]),
                              "the balancers spread over different tunnels: check the tunnels missing from one "
                              "set and the balance watchdog's log on both hosts"))
    return (found + _spec_checks(bond, client, server, plan, sides) + _mptcp_check(bond, client, server, plan, sides)
            + _relay_checks(bond, client, server, sides))


# Row names of the agreed fields (balance_<name>).
SPEC_FIELD_NAMES = {"balance": "mode"}


def _planned_spec(plan):
    """The agreed fields as the plan has them (None without a plan)."""
    if not plan or "balance" not in plan:
        return None
    flowlet = plan["balance"] == "flowlet"
    return {"balance": plan["balance"], "weights": [t.get("weight") for t in plan.get("tunnel_list") or []],
            "flowlet_gap": (plan.get("flowlet_gap") or layout.FLOWLET_GAP_DEFAULT) if flowlet else None,
            "mptcp": bool(plan.get("mptcp")), "egress_rate": plan.get("egress_rate"),
            "latency_cutoff": plan.get("latency_cutoff") or 0,
            "udp_balance": plan.get("udp_balance") or layout.UDP_BALANCE_DEFAULT}


def _spec_checks(bond, client, server, plan, sides):
    """One mismatch per balance setting (mode, weights, flowlet gap, mptcp, egress rate, latency cutoff,
    UDP balance)
    on which the two ends' data path specs, or a spec and the plan, differ. Ends without a
    readable spec are left to the count and live-set checks."""
    specs = {"client": (client.get("balance") or {}).get("spec"), "server": (server.get("balance") or {}).get("spec")}
    # An end that holds none of the bond's tunnels is the count check's to name.
    if (specs["client"] is None and specs["server"] is None) or not (client.get("count") and server.get("count")):
        return []
    planned = _planned_spec(plan)
    found = []
    for field in bspec.AGREED_FIELDS:
        values = dict((side, (spec or {}).get(field) if spec is not None else "no spec") for side, spec in specs.items())
        wanted = planned[field] if planned else values["server"]
        if values["client"] == values["server"] == wanted:
            continue
        if field == "weights" and len(set(len(v) for v in list(values.values()) + [wanted] if isinstance(v, list))) > 1:
            continue  # one weight per tunnel: a different count is the count check's to name
        off = [side for side in ("client", "server") if values[side] != wanted]
        found.append(mismatch(bond, None, "balance_%s" % SPEC_FIELD_NAMES.get(field, field), values["client"], values["server"],
                              "the data path of bond %s differs in %s on %s%s: re-run site.yml on both hosts so "
                              "that both ends run the bond as the plan has it (a run limited to one end leaves "
                              "the other behind)" % (bond, field, " and ".join(sides.name(s) for s in off),
                                                     " (the plan has %s)" % _show(wanted) if planned else ""),
                              plan=wanted if planned else None))
    return found


def _mptcp_on(entry):
    return "on" if entry.get("mptcp") else "off"


def _mptcp_check(bond, client, server, plan, sides):
    """Whether each watchdog runs the bond with mptcp, as its metrics say. Null figures also
    mean that no metrics were read, so only two ends whose metrics were both read compare."""
    if client.get("metrics") is None or server.get("metrics") is None:
        return []
    values = {"client": _mptcp_on(client), "server": _mptcp_on(server)}
    planned = ("on" if plan["mptcp"] else "off") if plan and "mptcp" in plan else None
    if len(set(values.values()) | set([planned] if planned else [])) == 1:
        return []
    if values["client"] != values["server"]:
        on = "client" if values["client"] == "on" else "server"
        off = "server" if on == "client" else "client"
        what = "the watchdog on %s runs bond %s with mptcp, the one on %s without%s" % (
            sides.name(on), bond, sides.name(off), "" if planned is None else " (the plan has mptcp %s)" % planned)
    else:
        what = "both watchdogs run bond %s with mptcp %s, the plan has it %s" % (bond, values["client"], planned)
    return [mismatch(bond, None, "mptcp", values["client"], values["server"],
                     "%s: re-run site.yml on both hosts so that both ends run the bond as the plan has it "
                     "(a run limited to one end leaves the other behind)" % what, plan=planned)]


def _relays_down(entry):
    """``[(unit, state)]`` of the end's relay units that are known and not active."""
    relays = (entry.get("mptcp") or {}).get("relays") or {}
    return sorted((unit, state) for unit, state in relays.items() if state is not None and state != "active")


def _relay_value(entry):
    """``active``, or each relay unit not active with its state; None without relays."""
    relays = (entry.get("mptcp") or {}).get("relays")
    if not relays:
        return None
    others = sorted((unit, state or "unknown") for unit, state in relays.items() if state != "active")
    return ", ".join("%s %s" % pair for pair in others) if others else "active"


def _relay_checks(bond, client, server, sides):
    """One mismatch per end whose relay units (a bond with mptcp) are not all active. An
    unknown state is left to the unit check, which already says systemd could not be asked."""
    found = []
    for side, entry in (("client", client), ("server", server)):
        down = _relays_down(entry)
        if not down:
            continue
        units = [unit for unit, _state in down]
        found.append(mismatch(
            bond, None, "mptcp_relay", _relay_value(client), _relay_value(server),
            "%s on %s, so the TCP that bond %s relays there fails: see journalctl %s there, then "
            "re-run site.yml to restore its configuration and systemctl restart %s there once the cause is fixed"
            % (" and ".join("%s is %s" % pair for pair in down), sides.name(side), bond,
               " ".join("-u %s" % unit for unit in units), " ".join(units))))
    return found


def _tunnel_checks(bond, index, ctun, stun, planned, plan, client, server, sides):
    config_problem = _config_presence(bond, index, ctun, stun, planned, plan, sides)
    if config_problem:
        return [config_problem]
    ccfg, scfg = ctun["config"], stun["config"]
    static = _static_checks(bond, index, ccfg, scfg, planned, plan, client, server, sides)
    units = _unit_check(bond, index, ctun, stun, sides)
    if static or units:
        return static + units
    runtime = _runtime_checks(bond, index, ctun, stun, sides)
    if runtime:
        return runtime
    return _uplink_check(bond, index, ctun, stun, planned, plan) + _probe_check(bond, index, ctun, stun, sides)


def _presence(tunnel):
    if not tunnel:
        return "absent"
    if not tunnel["config"]["present"]:
        return "leftover"  # found through its unit or interface only
    if tunnel["config"].get("error"):
        return "unreadable"
    return "present"


def _config_presence(bond, index, ctun, stun, planned, plan, sides):
    values = {"client": _presence(ctun), "server": _presence(stun)}
    want = ("present" if planned else "absent") if plan else None
    expected = want or "present"
    if values["client"] == values["server"] == expected:
        return None
    path = "instances/%s-%d.conf" % (bond, index)
    leftovers = [side for side in ("client", "server") if values[side] == "leftover"]
    if leftovers and not (plan and planned):
        hint = "%s runs without a config on %s: re-run site.yml to remove it, or stop it there" % (
            sides.unit(index), " and ".join(sides.name(s) for s in leftovers))
    elif plan and not planned:
        hint = "tunnel %d is beyond the plan's %d tunnels: re-run site.yml to stop %s and remove its config" \
            % (index, len(plan["tunnel_list"]), sides.unit(index))
    else:
        bad = [side for side in ("client", "server") if values[side] != "present"]
        hint = "%s %s on %s: re-run site.yml to restore it" % (
            path, " / ".join(sorted(set("unreadable" if values[s] == "unreadable" else "missing" for s in bad))), " and ".join(sides.name(s) for s in bad))
        if "unreadable" in values.values():
            hint += " (%s)" % "; ".join(t["config"]["error"] for t in (ctun, stun) if t and t["config"].get("error"))
    return mismatch(bond, index, "config", values["client"], values["server"], hint, plan=want)


def _static_checks(bond, index, ccfg, scfg, planned, plan, client, server, sides):
    rerun = "re-run site.yml to rewrite both configs"
    found = []

    def add(field, cval, sval, hint, pval=None):
        found.append(mismatch(bond, index, field, cval, sval, hint, plan=pval))

    pport = planned["port"] if planned else None
    if ccfg["port"] != scfg["port"] or (plan and scfg["port"] != pport):
        add("port", ccfg["port"], scfg["port"], "the client dials a port the server does not listen on or the plan "
            "does not hold: %s" % rerun, pport)
    pproto = plan.get("proto") if plan else None
    if ccfg["proto"] != scfg["proto"] or (plan and pproto != scfg["proto"]):
        add("proto", ccfg["proto"], scfg["proto"], "the ends speak different transports: %s" % rerun, pproto)
    found += _family_check(bond, index, ccfg, scfg, plan, rerun)
    if plan and (ccfg["dev"] != planned["interface"] or scfg["dev"] != planned["interface"]):
        add("dev", ccfg["dev"], scfg["dev"], "interface name differs from the plan's: %s" % rerun,
            planned["interface"])
    premote = ((planned or {}).get("remote") or plan.get("remote")) if plan else None
    if plan and ccfg["remote"] != str(premote):
        add("remote", ccfg["remote"], None, "the client dials another host than the plan's remote%s: %s"
            % (_over(planned), rerun), premote)
    if plan and planned and ccfg.get("local") != planned.get("client_underlay"):
        add("local", ccfg.get("local"), None, "the client's OpenVPN is bound to another address than %s: %s" % (
            "its uplink's (OpenVPN 'local')" if planned.get("uplink") else "none (nobind), as the plan has no "
            "uplinks", rerun), planned.get("client_underlay"))
    found += _ifconfig_check(bond, index, ccfg, scfg, planned, rerun)
    found += _pin_check(bond, index, ccfg, scfg, client, server, sides)
    if ccfg["data_ciphers"] != scfg["data_ciphers"]:
        add("data_ciphers", ccfg["data_ciphers"], scfg["data_ciphers"],
            "the ends offer different data ciphers: %s" % rerun)
    ckey, skey = ccfg.get("tls_crypt_sha256"), scfg.get("tls_crypt_sha256")
    if ckey != skey or ckey is None:
        add("tls_crypt_key", _digest(ckey), _digest(skey),
            "the ends hold different or missing tls-crypt keys (bonds/%s/tls-crypt.key): re-run site.yml to copy "
            "the server's key to the client" % bond)
    return found


def _family_check(bond, index, ccfg, scfg, plan, rerun):
    """The server listens in the family the client dials (IPv4 only for a plain ``udp``
    server) and in the plan's ``underlay_family``. A client dialing a host name with a
    plain proto may use either family: only the server is then compared."""
    pfamily = (plan or {}).get("underlay_family")
    cfamily, sfamily = ccfg.get("family"), scfg.get("family")
    if cfamily in (None, sfamily) and pfamily in (None, sfamily):
        return []
    return [mismatch(bond, index, "underlay_family", cfamily, sfamily,
                     "the client dials over %s but the server listens on %s%s: %s"
                     % (plan_family.NAMES.get(cfamily, "either family"), plan_family.NAMES.get(sfamily, "?"),
                        " (the plan's underlay is %s)" % plan_family.NAMES[pfamily] if pfamily in plan_family.NAMES
                        else "", rerun), plan=pfamily)]


def _over(planned):
    return " over uplink '%s'" % planned["uplink"] if (planned or {}).get("uplink") else ""


def _uplink_check(bond, index, ctun, stun, planned, plan):
    """Both ends see tunnel k ride its uplink: the client sends from the uplink's address
    and the server receives from it (unless the uplink is behind NAT)."""
    if not (planned and planned.get("uplink")):
        return []
    uplink = _uplink_of(plan, planned["uplink"])
    want = planned["client_underlay"]
    sent_from = ctun["management"].get("local_real_ip")
    seen_from = stun["management"].get("remote_ip")
    wrong_client = sent_from is not None and sent_from != want
    wrong_server = not uplink.get("nat") and seen_from is not None and seen_from != want
    if not (wrong_client or wrong_server):
        return []
    return [mismatch(bond, index, "uplink", sent_from, seen_from,
                     "tunnel %d should ride uplink '%s' (%s, from %s): %s; check the uplink's address on %s and its "
                     "policy rule ('ip rule show'), or set nat: true on an uplink behind NAT"
                     % (index, uplink["name"], uplink["interface"], want,
                        "the server sees it from %s" % seen_from if wrong_server else "the client sends from %s"
                        % sent_from, uplink["interface"]), plan=want)]


def _uplink_of(plan, name):
    for uplink in (plan or {}).get("uplinks") or []:
        if uplink["name"] == name:
            return uplink
    return {"name": name, "interface": "?"}


def uplinks_down(bond, plan, found):
    """A bond-level line for each uplink none of whose tunnels is connected: what an
    operator looks at first when an ISP fails."""
    broken = set(m["tunnel"] for m in found if m["tunnel"] is not None and m["field"] in ("management", "interface"))
    lines = []
    for uplink in (plan or {}).get("uplinks") or []:
        if uplink["tunnels"] and set(uplink["tunnels"]) <= broken:
            lines.append(mismatch(bond, None, "uplink_down", uplink["name"], None,
                                  "uplink '%s' (%s, %s): none of its tunnels %s is connected; the bond runs on its "
                                  "other uplinks. Check the link, its gateway and the route to %s"
                                  % (uplink["name"], uplink["interface"], uplink["address"],
                                     ", ".join(str(k) for k in uplink["tunnels"]), uplink["remote"])))
    return lines


def _digest(value):
    return "sha256:%s" % value[:16] if value else None


def _ifconfig_check(bond, index, ccfg, scfg, planned, rerun):
    found = []
    for field, suffix in (("ifconfig", ""), ("ifconfig_ipv6", "6")):
        cpair = (ccfg.get("local_address" + suffix), ccfg.get("peer_address" + suffix))
        spair = (scfg.get("local_address" + suffix), scfg.get("peer_address" + suffix))
        ppair = (planned.get("client_address" + suffix), planned.get("server_address" + suffix)) if planned else None
        mirrored = cpair == (spair[1], spair[0])
        if mirrored and (ppair is None or cpair == ppair):
            continue
        found.append(mismatch(bond, index, field, " ".join(str(a) for a in cpair), " ".join(str(a) for a in spair),
                              "%s addresses are not mirrored (client local must be server peer and the reverse)%s: %s"
                              % ("transfer" if not suffix else "IPv6 transfer", " or differ from the plan" if ppair
                                 else "", rerun),
                              plan=("client %s server %s" % ppair) if ppair else None))
    return found


def _real_fingerprint(config, entry):
    return config.get("cert_fingerprint") or entry.get("host_fingerprint")


def _pin_check(bond, index, ccfg, scfg, client, server, sides):
    wrong = []
    for side, pins, peer, peer_config, peer_entry in (("client", ccfg, "server", scfg, server),
                                                      ("server", scfg, "client", ccfg, client)):
        real = _real_fingerprint(peer_config, peer_entry)
        if real and real.upper() not in (pins.get("peer_fingerprints") or []):
            wrong.append("%s pins %s but %s's certificate is %s" % (
                sides.name(side), ",".join(pins.get("peer_fingerprints") or []) or "nothing",
                sides.name(peer), real))
    if not wrong:
        return []
    return [mismatch(bond, index, "peer_fingerprint", ccfg.get("peer_fingerprints"), scfg.get("peer_fingerprints"),
                     "%s: re-run site.yml to pin the certificates the hosts really have" % "; ".join(wrong))]


def _unit_check(bond, index, ctun, stun, sides):
    cunit, sunit = ctun["unit"], stun["unit"]
    if cunit.get("active") and sunit.get("active"):
        return []
    hints = []
    for side, unit in (("client", cunit), ("server", sunit)):
        if unit.get("active") is None:
            hints.append("unit state unknown on %s: check that systemd runs there (tunnel_facts' problems say "
                         "why it could not be asked)" % sides.name(side))
        elif not unit["active"]:
            hints.append("restart %s on %s (see journalctl -u %s)" % (sides.unit(index), sides.name(side), sides.unit(index)))
    return [mismatch(bond, index, "unit", cunit.get("active_state"), sunit.get("active_state"), "; ".join(hints))]


def _runtime_checks(bond, index, ctun, stun, sides):
    found = []
    cif, sif = ctun["interface"], stun["interface"]
    if not (cif.get("up") and sif.get("up")):
        down = [s for s, i in (("client", cif), ("server", sif)) if not i.get("up")]
        found.append(mismatch(bond, index, "interface", _if_state(cif), _if_state(sif),
                              "%s is not up on %s: restart %s there" % (
                                  cif.get("name") or sif.get("name"), " and ".join(sides.name(s) for s in down),
                                  sides.unit(index))))
    else:
        found += _address_check(bond, index, ctun, stun, sides)
    cman, sman = ctun["management"], stun["management"]
    if not (cman.get("connected") and sman.get("connected")):
        found.append(mismatch(bond, index, "management", _man_state(cman), _man_state(sman),
                              _management_hint(index, ctun, stun, sides)))
    return found


def _if_state(interface):
    if interface.get("present") is None:
        return None
    if not interface["present"]:
        return "absent"
    return "up" if interface.get("up") else "down"


def _address_check(bond, index, ctun, stun, sides):
    drifted, values = [], {}
    for side, tunnel in (("client", ctun), ("server", stun)):
        running = [a["local"] for a in tunnel["interface"].get("addresses") or []]
        values[side] = ",".join(running) or "none"
        wanted = [tunnel["config"]["local_address"]] + [a for a in [tunnel["config"].get("local_address6")] if a]
        if any(address not in running for address in wanted):
            drifted.append(side)
    if not drifted:
        return []
    return [mismatch(bond, index, "interface_address", values["client"], values["server"],
                     "the running address differs from the config's ifconfig on %s: restart %s there to apply "
                     "the config" % (" and ".join(sides.name(s) for s in drifted), sides.unit(index)))]


def _man_state(state):
    return state.get("state") or ("unreachable" if state.get("error") else None)


def _management_hint(index, ctun, stun, sides):
    parts = []
    for side, tunnel in (("client", ctun), ("server", stun)):
        state = tunnel["management"]
        if state.get("connected"):
            continue
        if state.get("error"):
            parts.append("%s: %s" % (sides.name(side), state["error"]))
        else:
            parts.append("%s reports %s" % (sides.name(side), state.get("state")))
    port = stun["config"]["port"]
    return "%s; check that the client reaches the server on %s/%s, that the pins and tls-crypt keys match, and " \
           "journalctl -u %s on both hosts" % ("; ".join(parts), stun["config"]["proto"], port, sides.unit(index))


def _probe_check(bond, index, ctun, stun, sides):
    cprobe, sprobe = ctun.get("probe"), stun.get("probe")
    failed = [s for s, p in (("client", cprobe), ("server", sprobe)) if p is not None and not p.get("received")]
    if not failed:
        return []
    return [mismatch(bond, index, "probe", _probe_state(cprobe), _probe_state(sprobe),
                     "no echo reply over %s from %s although both ends report CONNECTED: check firewalls "
                     "(nftables input/output on the tunnel) and MTU on both hosts"
                     % (ctun["interface"].get("name"), " and ".join(sides.name(s) for s in failed)))]


def _probe_state(probe):
    if probe is None:
        return None
    if probe.get("received"):
        return "%s ms" % probe.get("rtt_ms")
    return probe.get("error") or "no reply"


def _row_side(tunnel, live):
    tunnel = tunnel or {}
    interface = tunnel.get("interface") or {}
    probe = tunnel.get("probe")
    return {
        "config": _presence(tunnel),
        "port": (tunnel.get("config") or {}).get("port"),
        "unit": (tunnel.get("unit") or {}).get("active_state"),
        "management": _man_state(tunnel["management"]) if tunnel.get("management") else None,
        "interface": _if_state(interface) if interface else None,
        "rx_packets": interface.get("rx_packets"),
        "tx_packets": interface.get("tx_packets"),
        "rx_bytes": interface.get("rx_bytes"),
        "tx_bytes": interface.get("tx_bytes"),
        "probe_ms": probe.get("rtt_ms") if probe and probe.get("received") else None,
        "live": None if live is None or not tunnel else tunnel.get("index") in live,
    }


def _rows(bond, client, server, plan, found):
    planned = _planned_tunnels(plan)
    ctunnels, stunnels = _by_index(client), _by_index(server)
    clive = (client.get("balance") or {}).get("live")
    slive = (server.get("balance") or {}).get("live")
    rows = []
    for index in sorted(set(ctunnels) | set(stunnels) | set(planned)):
        fields = [m["field"] for m in found if m["tunnel"] == index]
        cside, sside = _row_side(ctunnels.get(index), clive), _row_side(stunnels.get(index), slive)
        port = sside["port"] or cside["port"] or (planned.get(index) or {}).get("port")
        rows.append({"bond": bond, "tunnel": index, "instance": "%s-%d" % (bond, index), "port": port,
                     "uplink": (planned.get(index) or {}).get("uplink"),
                     "proto": ((stunnels.get(index) or ctunnels.get(index) or {}).get("config") or {}).get("proto")
                     or (plan or {}).get("proto"),
                     "client": cside, "server": sside, "mismatches": fields, "ok": not fields})
    return rows


def _side_text(side):
    return "%-8s %-12s %-6s rx %-8s tx %-8s" % (
        side["unit"] or "?", side["management"] or "?", side["interface"] or "?",
        _show(side["rx_packets"]) if side["rx_packets"] is not None else "?",
        _show(side["tx_packets"]) if side["tx_packets"] is not None else "?")


def summary_lines(rows, mismatches):
    """One readable line per tunnel, then one per bond-level mismatch."""
    lines = []
    for row in rows:
        lines.append("%s k=%-2d port %s/%s%s | client %s| server %s| %s" % (
            row["bond"], row["tunnel"], row["port"] or "?", row["proto"] or "?",
            " uplink %s" % row["uplink"] if row.get("uplink") else "", _side_text(row["client"]),
            _side_text(row["server"]), "ok" if row["ok"] else "MISMATCH " + ",".join(row["mismatches"])))
    for item in mismatches:
        if item["field"] == "uplink_down":
            lines.append("%s UPLINK DOWN: %s" % (item["bond"], item["hint"]))
        elif item["tunnel"] is None:
            lines.append("%s bond-level MISMATCH %s: client=%s server=%s" % (
                item["bond"], item["field"], _show(item["client"]), _show(item["server"])))
    return lines
