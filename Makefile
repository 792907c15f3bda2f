# One entry point for people and CI. Every target installs what it needs (lab/bootstrap).
SCENARIOS ?= scale datapath datapath_flow underlay6 fleet bo-trixie-dual
RUN := lab/run
STAGE := lab/stage

.PHONY: test checks bootstrap image lint unit sanity matrix monitoring monitoring-gate molecule molecule-oldest links-gate wan-gate uplinks-gate demo demo-clean build bench bench-links ee bench-fleet

# The lab images build (mostly downloads and unpacking) and then the execution environment
# (make ee, 5-9 min, no timing) while the checks that need no container run; each stage's
# output is printed whole when it ends (--output-sync). The Molecule scenarios time failovers
# and shares, so they run alone. molecule-oldest (no timing), the uplinks gate (loose bounds)
# the monitoring gate (bounds from Prometheus's clock, not from throughput) and the WAN gate
# (its delay stage runs at real-time priority; it held its bounds at load 9-11) share the next
# line, two at a time.
test:
	@$(MAKE) --no-print-directory --output-sync=target -j2 ee checks
	@$(MAKE) --no-print-directory molecule
	@$(MAKE) --no-print-directory --output-sync=target -j2 molecule-oldest uplinks-gate monitoring-gate wan-gate
	@$(MAKE) --no-print-directory links-gate

checks: lint unit sanity matrix monitoring

bootstrap:
	@$(STAGE) bootstrap lab/bootstrap

image: bootstrap
	@$(STAGE) image lab/build-image

lint: bootstrap
	$(STAGE) yamllint $(RUN) yamllint -s .
	$(STAGE) ansible-lint $(RUN) ansible-lint --strict

unit: bootstrap
	$(STAGE) unit $(RUN) pytest -q tests/unit

# The shipped Prometheus rules (monitoring/prometheus): promtool's syntax check, then its unit
# tests, where every alert fires on one input and stays silent on another.
monitoring: bootstrap
	$(STAGE) monitoring $(RUN) sh -c 'promtool check rules monitoring/prometheus/*.rules.yml \
		&& promtool test rules monitoring/prometheus/tests/*.test.yml'

# ansible-test sanity as a collection reviewer runs it, then antsibull-docs (lab/sanity).
sanity: bootstrap
	$(STAGE) sanity lab/sanity

# Unit tests, playbook syntax and the planning play on ansible-core 2.16, 2.17 and 2.18
# (tox.ini), two at a time; 2.19, the core in .venv, is the unit stage and make molecule.
# lab/matrix alone runs all four.
matrix: bootstrap
	$(STAGE) matrix lab/matrix run-parallel -p 2 -e core216,core217,core218

# Molecule default on the oldest supported ansible-core too (make molecule runs the newest).
molecule-oldest: image
	$(STAGE) molecule-default-core216 lab/matrix run -e molecule-core216

molecule: image
	@for scenario in $(SCENARIOS); do \
		$(STAGE) molecule-$$scenario $(RUN) molecule test -s $$scenario || exit 1; \
	done

# One bond over three uplinks of a capacity (lab/gate/uplinks, about 6 min): what it adds up to,
# failover, and convergence. Its bounds are loose enough to run beside molecule-oldest, the
# execution environment or the monitoring gate, which saves CI the minutes of running it alone.
uplinks-gate: image
	$(STAGE) uplinks-gate $(RUN) lab/gate/uplinks

# The shipped rules and dashboard on a real Prometheus scraping a real bond through Debian's node
# exporter (lab/gate/monitoring, about 6-7 min, most of it the tunnel alert's real for: of 3 min):
# alerts pending, firing and resolved, every panel's query answered. Its bounds are Prometheus's
# (for: + 2 scrape intervals), not throughput, so it can share a line with the other gates.
monitoring-gate: image
	$(STAGE) monitoring-gate $(RUN) lab/gate/monitoring

# Ratios a bond must reach when its tunnels ride capped links (lab/gate/links, about 4-5 min).
links-gate: image
	$(STAGE) links-gate $(RUN) lab/gate/links

# The lab's WAN link emulator against its settings (lab/gate/wan, about 1.5-2 min): one-way delay
# within +-1 ms at 50 and 90 % of a link's rate, delivered rate within 5 %, jitter's spread, no
# reordering, run-time changes, a trace step, 4 links at 90 Mbit/s in all; prints the delay
# stage's CPU per 100 Mbit/s.
wan-gate: image
	$(STAGE) wan-gate $(RUN) lab/gate/wan

# The execution environment (execution-environment.yml, every Python package pinned by
# constraints-ee.txt), built from the lab image with ansible-builder, then proven from inside:
# its packages against the lock, planning, ansible-doc, and site.yml over SSH as an AWX job
# (ansible-runner transmit | worker in the EE | process), twice, the second changing nothing.
ee: image
	$(STAGE) ee-build $(RUN) lab/ee/build
	$(STAGE) ee-prove $(RUN) lab/ee/prove

build: bootstrap
	$(RUN) ansible-galaxy collection build --force --output-path .cache/dist

demo: image
	@$(RUN) lab/demo/demo up

demo-clean: bootstrap
	@$(RUN) lab/demo/demo down

# Benchmarks print figures; they never gate anything (see docs/performance.md).
bench: image
	@lab/bootstrap --bench
	$(RUN) bench/throughput
	$(RUN) bench/rerun_cost

# site.yml over SSH on one hub and H = 4..24 spokes: seconds per host-task, settings compared
# (docs/fleet.md, "Large fleets"). H=4, 8, 16 and 24 with --profiles tuned took 13 min on
# 2 idle cores (40 min on a slow day with three profiles up to H=8); pick fewer with
# lab/run bench/fleet_scale --spokes 4,8.
bench-fleet: image
	$(RUN) bench/fleet_scale --podman

# What a bond gains over one tunnel on capped links (about 30-40 min), one flow's knobs,
# flowlet mode's gap (about 8 min), and whether congestion reads as loss (about 5 min).
bench-links: image
	@lab/bootstrap --bench
	$(RUN) bench/links
	$(RUN) bench/one_flow
	$(RUN) bench/flowlet_gap
	$(RUN) bench/echo_loss
	$(RUN) bench/steering_noise
