"""The code map of plugins/module_utils (docs/layout.md, "Code map"): which package may
import which, and the engine's hard rule, that it runs on a bare Python with no Ansible."""
import ast
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils import _engine
from ansible_collections.bonded.openvpn.plugins.modules import balance_datapath

MODULE_UTILS = os.path.dirname(os.path.dirname(os.path.abspath(_engine.__file__)))
PREFIX = "ansible_collections.bonded.openvpn.plugins.module_utils."
# What each package may import from the others (besides itself and the standard library).
MAY_IMPORT = {
    "_engine": set(),
    "_net": set(),
    "_plan": {"_net", "_engine.layout"},
    "_host": {"_engine"},
    "_openvpn": {"_engine", "_net"},
    "_verify": {"_net", "_engine"},
}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def packages():
    return sorted(name for name in os.listdir(MODULE_UTILS)
                  if name.startswith("_") and os.path.isfile(os.path.join(MODULE_UTILS, name, "__init__.py")))


def sources(package):
    directory = os.path.join(MODULE_UTILS, package)
    return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".py"))


def imports(path):
    """(level, dotted name) of every import in a file."""
    found = []
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found += [(node.level, ("%s.%s" % (base, alias.name)).strip(".")) for alias in node.names]
    return found


def test_module_utils_holds_packages_only():
    loose = [name for name in os.listdir(MODULE_UTILS) if name.endswith(".py") and name != "__init__.py"]
    assert loose == [] and set(packages()) == set(MAY_IMPORT)


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_what_the_code_map_allows(package):
    allowed = MAY_IMPORT[package] | {package}
    for path in sources(package):
        for level, name in imports(path):
            if level:
                assert level == 1, (path, name)
            elif name.startswith(PREFIX):
                target = name[len(PREFIX):]
                assert any(target == a or target.startswith(a + ".") for a in allowed), (path, name)
            else:
                assert name.split(".")[0] in STDLIB, (path, name)


def test_the_engine_imports_siblings_only_relatively():
    # On a host the engine is the package bonded_openvpn_balance: an absolute import of the
    # collection would fail there.
    for path in sources("_engine"):
        assert not [name for level, name in imports(path) if not level and name.startswith("ansible")], path


def test_the_watchdog_reaches_every_engine_module():
    # Ansible ships with balance_datapath what its imports reach; the module imports the
    # watchdog, so the whole package travels only if the watchdog reaches all of it.
    names = set(os.path.basename(path)[:-3] for path in sources("_engine")) - {"__init__"}
    reached, todo = set(), ["watchdog"]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        todo += [dotted.split(".")[0] for level, dotted in
                 imports(os.path.join(MODULE_UTILS, "_engine", name + ".py")) if level == 1]
    assert reached == names


def test_the_installed_engine_runs_on_a_bare_python_without_ansible(tmp_path):
    files = {}
    for name, module in balance_datapath.engine_files().items():
        files[name] = balance_datapath._source(module)
    package = tmp_path / balance_datapath.PACKAGE
    package.mkdir()
    for name, content in files.items():
        (package / name).write_bytes(content)
    names = sorted(name[:-3] for name in files if name != "__init__.py")
    script = ("import sys; sys.path.insert(0, %r)\n"
              "import importlib\n"
              "for name in %r: importlib.import_module('%s.' + name)\n"
              "assert not [m for m in sys.modules if m.startswith('ansible')]\n"
              "try:\n    import ansible\nexcept ImportError:\n    print('bare')\n"
              % (str(tmp_path), names, balance_datapath.PACKAGE))
    # -I: no user site, no PYTHONPATH; -S: no site-packages, where Ansible lives.
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "bare"
    assert set(names) == set(os.path.basename(p)[:-3] for p in sources("_engine")) - {"__init__"}


def test_the_live_set_reader_runs_as_a_command_on_a_host(tmp_path):
    package = tmp_path / "lib" / balance_datapath.PACKAGE
    package.mkdir(parents=True)
    for name, module in balance_datapath.engine_files().items():
        (package / name).write_bytes(balance_datapath._source(module))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "paris.live").write_text("# tunnels bond 'paris' spreads over\n0\n2\n")
    argv = [sys.executable, "-I", "-S", "-c",
            "import sys; sys.path.insert(0, %r); import runpy; sys.argv[0] = 'live_set'; "
            "runpy.run_module('%s.live_set', run_name='__main__')" % (str(package.parent), balance_datapath.PACKAGE)]
    ok = subprocess.run(argv + ["paris", "--run-dir", str(run_dir)], capture_output=True, text=True, check=False)
    missing = subprocess.run(argv + ["lyon", "--run-dir", str(run_dir)], capture_output=True, text=True, check=False)
    (run_dir / "nice.live").write_text("# tunnels bond 'nice' spreads over (no tunnel answers: all kept)\n0\n1\n")
    kept = subprocess.run(argv + ["nice", "--run-dir", str(run_dir), "--json"], capture_output=True, text=True, check=False)
    assert (ok.returncode, ok.stdout) == (0, "0 2\n")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert (kept.returncode, json.loads(kept.stdout)) == (0, {"live": [0, 1], "all_kept": True})
