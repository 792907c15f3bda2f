"""Stands in for get-pip.py, which ansible-test downloads to put pip into an empty venv.

Run as __main__ with pip install arguments (the pinned pip and its companions): installs
the pip that Python bundles (ensurepip), then runs pip install with those arguments
(less get-pip's own switches).
"""
import runpy
import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
# get-pip's own switches; pip install does not know them.
OWN = {"--no-setuptools", "--no-wheel"}
sys.argv = ["pip", "install"] + [arg for arg in sys.argv[1:] if arg not in OWN]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
