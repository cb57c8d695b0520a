# Task runner. `make help` lists the targets.
SHELL := /bin/bash
VENV := .venv
GOVBOT := $(VENV)/bin/govbot
PYTEST := $(VENV)/bin/pytest

.DEFAULT_GOAL := help
.PHONY: help setup run test test-fast bench eval lint clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install environments, migrate, import + publish the KB, tune embeddings, build the index
	@scripts/setup.sh

run: setup ## Set up, then serve the assistant at http://localhost:8000
	@$(GOVBOT) serve

test: setup ## Set up, then run every test (unit and slow end-to-end)
	@$(PYTEST) -q

test-fast: ## Run only the fast unit tests (needs `make setup` once)
	@$(PYTEST) -q -m "not slow"

eval: setup ## Retrieval evaluation on the held-out set (hybrid, lexical, dense)
	@$(GOVBOT) eval retrieval knowledge/eval/retrieval_eval.jsonl
	@$(GOVBOT) eval retrieval knowledge/eval/retrieval_eval.jsonl --mode lexical
	@$(GOVBOT) eval retrieval knowledge/eval/retrieval_eval.jsonl --mode dense
	@$(GOVBOT) eval retrieval knowledge/eval/retrieval_eval.jsonl --model base

bench: setup ## Benchmarks: search latency, index build, memory, fine-tuning time
	@$(VENV)/bin/python -m benchmarks.retrieval

lint: ## Ruff over the packages
	@$(VENV)/bin/ruff check core knowledge bot govbot tests benchmarks

clean: ## Remove generated data (var/); environments stay
	rm -rf var
