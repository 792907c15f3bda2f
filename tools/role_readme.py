#!/usr/bin/env python3
"""Writes each role README's variable table from its meta/argument_specs.yml.

The table sits between the BEGIN/END markers; `--check` exits 1 when a README is stale
(the unit tests run it that way, so a spec change without a README update fails).
"""
import json
import os
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BEGIN, END = "<!-- BEGIN VARIABLES (tools/role_readme.py) -->", "<!-- END VARIABLES -->"


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(option):
    if option.get("required"):
        return "**required**"
    if "default" not in option:
        return ""
    return "`%s`" % json.dumps(option["default"])


def variable_table(spec_path):
    with open(spec_path) as handle:
        spec = yaml.safe_load(handle)["argument_specs"]["main"]
    rows = ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
    for name, option in sorted(spec.get("options", {}).items()):
        description = option.get("description", "")
        if isinstance(description, list):
            description = " ".join(description)
        kind = option.get("type", "str")
        if option.get("elements"):
            kind = "%s of %s" % (kind, option["elements"])
        rows.append("| `%s` | %s | %s | %s |" % (name, kind, _cell(_default(option)), _cell(description)))
    return "\n".join(rows)


def render(readme, table):
    if BEGIN not in readme or END not in readme:
        return readme.rstrip("\n") + "\n\n## Variables\n\n%s\n%s\n%s\n" % (BEGIN, table, END)
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return "%s%s\n%s\n%s%s" % (head, BEGIN, table, END, tail)


def roles():
    base = os.path.join(ROOT, "roles")
    return sorted(name for name in os.listdir(base) if os.path.isfile(os.path.join(base, name, "meta", "argument_specs.yml")))


def main(argv):
    check = "--check" in argv
    stale = []
    for role in roles():
        readme_path = os.path.join(ROOT, "roles", role, "README.md")
        current = open(readme_path).read() if os.path.exists(readme_path) else "# %s\n" % role
        wanted = render(current, variable_table(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")))
        if wanted != current:
            stale.append(readme_path)
            if not check:
                with open(readme_path, "w") as handle:
                    handle.write(wanted)
    if check and stale:
        print("stale role READMEs (run tools/role_readme.py): %s" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
