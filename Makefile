# Two commands: `make demo` (the namespace lab with a VIP that moves) and `make test` (everything).
SHELL := /bin/bash
export VENV ?= $(HOME)/.cache/floating-vip/venv
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections
export ANSIBLE_CONFIG := $(CURDIR)/tests/ansible.cfg

.PHONY: setup demo test unit integration sanity lint bench clean
setup:
	@hack/bootstrap.sh
demo: setup
	@hack/demo.sh
test: setup
	@hack/test.sh
unit: setup
	@python -m pytest tests/unit -q
integration: setup
	@python -m pytest tests/integration -q
sanity: setup
	@hack/sanity.sh
lint: setup
	@ansible-lint --offline --profile production playbooks roles
bench: setup
	@python tests/benchmarks/run_all.py
clean:
	rm -rf .build tests/output
