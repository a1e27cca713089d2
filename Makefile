# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-cluster setup lint bench clean

## demo: the whole pipeline (Docker Compose where an engine answers, else the local stack)
demo: $(STAMP)
	$(BIN)/fraudctl demo $(DEMO_ARGS)

## test: virtualenv + install + Kafka and ksqlDB jars + lint + the whole test suite
test: $(STAMP)
	$(BIN)/fraudctl local fetch
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

## test-cluster: the secured three-broker cluster's tests (security, ACLs, failover); CI runs
## them after `make test`
test-cluster: $(STAMP)
	$(BIN)/fraudctl local fetch
	FRAUD_TEST_CLUSTER=1 $(BIN)/pytest tests/cluster $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -e ".[train,notebook,test]"
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/fraudctl bench --write-docs $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
