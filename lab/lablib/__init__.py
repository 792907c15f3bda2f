"""The container lab as a library: podman lifecycle (podman.py), links with a capacity
(links.py), a two-gateway bond lab with traffic (bondlab.py) and what the host was doing
(machine.py). Used by the demo, the benchmarks and the links gate; standard library only.
Run its users through lab/run, which sets CONTAINERS_CONF and LAB_IMAGE."""
