# One entry point for people and CI. Every target installs what it needs (lab/bootstrap).
SCENARIOS ?= default scale datapath datapath_flow fleet bo-trixie-dual
RUN := lab/run
STAGE := lab/stage

.PHONY: test bootstrap image lint unit molecule links-gate demo demo-clean build bench bench-links

test: lint unit molecule links-gate

bootstrap:
	@$(STAGE) bootstrap lab/bootstrap

image: bootstrap
	@$(STAGE) image lab/build-image

lint: bootstrap
	$(STAGE) yamllint $(RUN) yamllint -s .
	$(STAGE) ansible-lint $(RUN) ansible-lint --strict

unit: bootstrap
	$(STAGE) unit $(RUN) pytest -q tests/unit

molecule: image
	@for scenario in $(SCENARIOS); do \
		$(STAGE) molecule-$$scenario $(RUN) molecule test -s $$scenario || exit 1; \
	done

# Ratios a bond must reach when its tunnels ride capped links (lab/gate/links, about 4-5 min).
links-gate: image
	$(STAGE) links-gate $(RUN) lab/gate/links

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

# What a bond gains over one tunnel on capped links (about 30-40 min), and one flow's knobs.
bench-links: image
	@lab/bootstrap --bench
	$(RUN) bench/links
	$(RUN) bench/one_flow
