"""docs/layout.md and the modules' documentation are checked against the one layout
(plugins/module_utils/_engine/layout.py): every name and number the page states comes from
there, and every absolute path the documentation shows lies under one of its directories."""
import ast
import os
import re

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PAGE = open(os.path.join(ROOT, "docs", "layout.md")).read()
MODULES = os.path.join(ROOT, "plugins", "modules")
# Every path of the layout: a path shown elsewhere must be one of them or lie under one.
DIRECTORIES = tuple(value for value in layout.public().values() if isinstance(value, str) and value.startswith("/"))
ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:etc|run|usr|var)/[\w./@<>-]+")


def unit_pattern(unit, what):
    return unit.replace("%s", what)


STATED = {
    "user and group": "`%s`" % layout.USER,
    "config root": "`%s`" % layout.CONFIG_DIR,
    "instance unit": "`%s/%s`, instance `<bond>-<k>`" % (layout.UNIT_DIR, unit_pattern(layout.INSTANCE_UNIT, "")),
    "sysctls": "`%s`" % layout.SYSCTL_FILE,
    "backports": "`%s` and its pin `%s`" % (layout.BACKPORTS_SOURCES, layout.BACKPORTS_PIN),
    "runtime directory": "`%s/<bond>-<k>/management.sock`" % layout.RUN_DIR,
    "interface": "`%s<bond>-<k>`" % layout.INTERFACE_PREFIX,
    "marks and tables": "`%d + %d * id + k`" % (layout.TABLE_BASE, layout.TABLE_STRIDE),
    "rule priorities": "`%d + %d * id + k`" % (layout.PRIORITY_BASE, layout.PRIORITY_STRIDE),
    "uplink tables": "`%d + %d * id + %d + u`" % (layout.TABLE_BASE, layout.TABLE_STRIDE, layout.UPLINK_TABLE_OFFSET),
    "uplink priorities": "`%d + %d * id + u`" % (layout.UPLINK_PRIORITY_BASE, layout.UPLINK_PRIORITY_STRIDE),
    "bundles": "server `<block>.%d`, client `<block>.%d`, block = the pool's /%d number `id`"
               % (layout.SERVER_BUNDLE_OFFSET, layout.CLIENT_BUNDLE_OFFSET, layout.BLOCK_PREFIX),
    "ipv6 blocks": "the pool6's /%d number `id`" % layout.BLOCK6_PREFIX,
    "ipv6 transfer nets": "/%d" % layout.TRANSFER6_PREFIX,
    "spec": "`%s/<bond>.conf`" % layout.BALANCE_CONFIG_DIR,
    "nftables": "`table ip %s<bond>`" % layout.NFT_TABLE_PREFIX,
    "route protocol": "`proto %d`" % layout.ROUTE_PROTOCOL,
    "qdisc": "handle `%s`" % layout.QDISC_HANDLE,
    "watchdog unit": "`%s`" % unit_pattern(layout.WATCHDOG_UNIT, "<bond>"),
    "watchdog module": "`python3 -m %s <bond>`" % layout.WATCHDOG_MODULE,
    "engine": "`%s/%s/`" % (layout.ENGINE_LIB_DIR, layout.ENGINE_PACKAGE),
    "relay units": "`%s` (redsocks) and `%s` (microsocks)" % (
        unit_pattern(layout.RELAY_UNIT, "<bond>"), unit_pattern(layout.SOCKS_UNIT, "<bond>")),
    "relay user": "user and group `%s`" % layout.RELAY_USER,
    "live set": "`%s/<bond>.live`" % layout.BALANCE_RUN_DIR,
}


@pytest.mark.parametrize("what", sorted(STATED))
def test_the_page_states_the_layouts_value(what):
    assert STATED[what] in PAGE, "docs/layout.md should say %s, as layout.py has it" % STATED[what]


def test_every_path_on_the_page_lies_under_a_layout_directory():
    stray = [path for path in ABSOLUTE_PATH.findall(PAGE) if not path.startswith(DIRECTORIES)]
    assert not stray, stray


@pytest.mark.parametrize("role", sorted(os.listdir(os.path.join(ROOT, "roles"))))
def test_every_collection_path_a_roles_readme_shows_lies_under_a_layout_directory(role):
    with open(os.path.join(ROOT, "roles", role, "README.md")) as handle:
        text = handle.read()
    stray = [path for path in ABSOLUTE_PATH.findall(text)
             if "bonded" in path and not path.startswith(DIRECTORIES)]
    assert not stray, stray


def module_docs(name):
    """The DOCUMENTATION, EXAMPLES and RETURN strings of a module, as ansible-doc reads them."""
    tree = ast.parse(open(os.path.join(MODULES, name)).read())
    return [node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and getattr(node.targets[0], "id", None) in ("DOCUMENTATION", "EXAMPLES", "RETURN")]


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(MODULES) if n.endswith(".py")))
def test_every_path_a_modules_documentation_shows_lies_under_a_layout_directory(name):
    stray = [path for text in module_docs(name) for path in ABSOLUTE_PATH.findall(text)
             if path.startswith(("/etc/openvpn", "/run/", "/usr/local/lib")) and not path.startswith(DIRECTORIES)]
    assert not stray, stray


def test_the_code_map_names_every_package():
    packages = sorted(n for n in os.listdir(os.path.join(ROOT, "plugins", "module_utils")) if n.startswith("_")
                      and os.path.isdir(os.path.join(ROOT, "plugins", "module_utils", n)))
    listed = re.findall(r"^\| `(_[a-z]+)/` \|", PAGE, re.M)
    assert sorted(listed) == packages


def test_a_path_outside_the_layout_would_be_found():
    # The check above is not vacuous: a path the layout does not hold is reported.
    assert [p for p in ABSOLUTE_PATH.findall("see `/etc/openvpn/other/x.conf`") if not p.startswith(DIRECTORIES)]


def fragment_defaults():
    """{option: default} of every fragment of plugins/doc_fragments/config_dir.py."""
    import yaml
    from ansible_collections.bonded.openvpn.plugins.doc_fragments.config_dir import ModuleDocFragment
    found = {}
    for name in dir(ModuleDocFragment):
        if name.isupper():
            for option, spec in yaml.safe_load(getattr(ModuleDocFragment, name))["options"].items():
                found["%s.%s" % (name, option)] = spec.get("default")
    return found


def test_the_modules_documented_defaults_are_the_layouts():
    assert fragment_defaults() == {
        "DOCUMENTATION.config_dir": layout.CONFIG_DIR,
        "BALANCE.metrics_dir": layout.METRICS_DIR,
        "BALANCE.config_dir": layout.BALANCE_CONFIG_DIR,
        "BALANCE.run_dir": layout.BALANCE_RUN_DIR,
        "BALANCE.lib_dir": layout.ENGINE_LIB_DIR,
    }


# Options a module documents itself, with the layout value each must default to.
MODULE_DEFAULTS = {
    ("tunnel_facts.py", "runtime_dir"): layout.RUN_DIR,
    ("tunnel_instances.py", "runtime_dir"): layout.RUN_DIR,
    ("tunnel_instances.py", "user"): layout.USER,
    ("tunnel_instances.py", "group"): layout.USER,
}


@pytest.mark.parametrize("module, option", sorted(MODULE_DEFAULTS))
def test_a_modules_own_documented_default_is_the_layouts(module, option):
    import yaml
    documentation = yaml.safe_load(module_docs(module)[0])
    assert documentation["options"][option]["default"] == MODULE_DEFAULTS[(module, option)]


def test_the_balance_roles_probe_defaults_are_the_layouts():
    # A role default is YAML and cannot import: it is held equal to the layout here (its
    # argument spec and README are held equal to the defaults by test_roles.py).
    import yaml
    with open(os.path.join(ROOT, "roles", "bonded_openvpn_balance", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    assert dict((name, defaults[limits[4]]) for name, limits in layout.PROBE_LIMITS.items()) == layout.PROBE_DEFAULTS
