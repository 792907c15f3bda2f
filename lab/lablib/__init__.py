"""The container lab as a library: podman lifecycle (podman.py), links with a capacity,
delay and jitter (links.py; the WAN emulator behind it: wan.py, delayer.py, nfqueue.py,
wanmodel.py), a two-gateway bond lab with traffic (bondlab.py) and what the host was doing
(machine.py). Used by the demo, the benchmarks and the gates; standard library only.
Run its users through lab/run, which sets CONTAINERS_CONF and LAB_IMAGE."""
