#!/usr/bin/env python3
"""Writes the lab's variant of execution-environment.yml: lab/ee/lab_definition.py OUT WHEELS TARBALL.

The committed definition is what a user builds (a registry's Debian image, the collection
from Galaxy, PyPI). The lab has none of them: the base is the lab image (EE_BASE_IMAGE at
build time), the collection is this checkout's tarball, and the Python packages are wheels
downloaded on the host (the build containers cannot verify PyPI's certificate here), used
through a pip.conf that the final image drops. Everything else is the committed file.
"""
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(out, wheels, tarball):
    with open(os.path.join(ROOT, "execution-environment.yml")) as handle:
        definition = yaml.safe_load(handle)
    definition["images"]["base_image"]["name"] = "localhost/bonded-openvpn-lab:base"
    definition["dependencies"]["galaxy"] = {"collections": [
        {"name": "/build/collection/" + os.path.basename(tarball), "type": "file"}]}
    files = definition.setdefault("additional_build_files", [])
    for item in files:
        item["src"] = os.path.join(ROOT, item["src"])
    files += [{"src": os.path.abspath(tarball), "dest": "collection"},
              {"src": os.path.abspath(wheels), "dest": "wheels"}]
    steps = definition.setdefault("additional_build_steps", {})
    steps["prepend_base"] = [
        "COPY _build/wheels/ /output/lab-wheels/",
        "RUN printf '[global]\\nno-index = true\\nfind-links = /output/lab-wheels\\n' > /etc/pip.conf",
    ] + steps.get("prepend_base", [])
    steps["append_final"] = steps.get("append_final", []) + ["RUN rm -f /etc/pip.conf"]
    definition["options"]["tags"] = []
    with open(out, "w") as handle:
        handle.write("# Written by lab/ee/lab_definition.py from execution-environment.yml; do not edit.\n")
        yaml.safe_dump(definition, handle, sort_keys=False)


if __name__ == "__main__":
    main(*sys.argv[1:4])
