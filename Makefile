# One entry point for people and CI. Every target installs what it needs (lab/bootstrap).
SCENARIOS ?= default scale datapath datapath_flow fleet
RUN := lab/run
STAGE := lab/stage

.PHONY: test bootstrap image lint unit molecule demo demo-clean build bench

test: lint unit molecule

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

build: bootstrap
	$(RUN) ansible-galaxy collection build --force --output-path .cache/dist

demo: image
	@$(RUN) lab/demo/demo up

demo-clean: bootstrap
	@$(RUN) lab/demo/demo down

# Benchmarks print figures; they never gate anything (see docs/performance.md).
bench: image
	$(RUN) bench/throughput
	$(RUN) bench/rerun_cost
