"""The scripts of lab/ee, loaded from their files for the tests (lab/ee is no package)."""
import importlib.util
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "lab", "ee", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
