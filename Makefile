# Task runner. `make help` lists the targets.
SHELL := /bin/bash
VENV := .venv
GOVBOT := $(VENV)/bin/govbot
PYTEST := $(VENV)/bin/pytest

.DEFAULT_GOAL := help
.PHONY: help setup train run stack chat doctor test test-fast bench nlu-eval eval lint clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install both environments, migrate, import + publish the KB, tune, index, train Rasa
	@scripts/setup.sh
	@scripts/train.sh

train: ## Train the Rasa model if its data or config changed (else reuse nlu/models/)
	@scripts/train.sh

run: setup ## Set up, then run the whole assistant: Rasa, actions, gateway (web chat at http://localhost:8000)
	@$(GOVBOT) stack

chat: ## Talk to the running assistant in the terminal (after `make run`)
	@$(GOVBOT) chat

doctor: ## Check every component of a running assistant and say how to fix what is wrong
	@$(GOVBOT) doctor

test: setup ## Set up, then run every test (unit and slow end-to-end, browser included)
	@scripts/setup_browser.sh
	@$(PYTEST) -q

test-fast: ## Run only the fast unit tests (needs `make setup` once)
	@$(PYTEST) -q -m "not slow"

eval: setup ## Retrieval evaluation on the held-out set (hybrid, lexical, dense)
	@$(GOVBOT) eval retrieval knowledge/eval/retrieval_eval.jsonl
	@$(GOVBOT) eval retrieval knowledge/eval/retrieval_eval.jsonl --mode lexical
	@$(GOVBOT) eval retrieval knowledge/eval/retrieval_eval.jsonl --mode dense
	@$(GOVBOT) eval retrieval knowledge/eval/retrieval_eval.jsonl --model base
	@if [ -s knowledge/eval/retrieval_regression.jsonl ]; then \
	  $(GOVBOT) eval retrieval knowledge/eval/retrieval_regression.jsonl; fi

bench: setup ## Benchmarks: search, index build, memory, fine-tuning, dialogue turns, gateway
	@$(VENV)/bin/python -m benchmarks.retrieval
	@$(VENV)/bin/python -m benchmarks.query_encoder
	@$(VENV)/bin/python -m benchmarks.dialogue
	@$(VENV)/bin/python -m benchmarks.gateway
	@$(VENV)/bin/python -m benchmarks.handoff
	@PYTHONPATH=. .venv-rasa/bin/python -m benchmarks.tracker_memory

nlu-eval: setup ## NLU 5-fold cross-validation, with and without diacritics (~35 min on 2 cores)
	@scripts/nlu_eval.sh

lint: ## Ruff over the packages
	@$(VENV)/bin/ruff check core knowledge bot actions nlu govbot tests benchmarks

clean: ## Remove generated data (var/); environments stay
	rm -rf var
