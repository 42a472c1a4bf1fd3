# make run   set up everything, then start the sample app on PORT (3000)
# make test  set up everything, then run every suite (unit, Python, end-to-end)
# make bench set up everything, then run the benchmarks
.PHONY: setup run test test-unit test-python test-e2e bench typecheck clean

PYTHON = $$(cat .snakepit/python)
JEST = npx jest --ci

setup: node_modules/.package-lock.json
	@bash scripts/setup-python.sh

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

run: setup
	@npx nest build sample >/dev/null
	SNAKEPIT_PYTHON=$(PYTHON) node dist/apps/sample/main.js

test: setup typecheck test-unit test-python test-e2e

typecheck: node_modules/.package-lock.json
	npx tsc --noEmit -p tsconfig.json

test-unit: node_modules/.package-lock.json
	$(JEST) --selectProjects unit

test-python: setup
	$(PYTHON) -m unittest discover -s priv/python/tests -t priv/python

test-e2e: setup
	SNAKEPIT_PYTHON=$(PYTHON) $(JEST) --selectProjects e2e --maxWorkers=2

bench: setup
	SNAKEPIT_PYTHON=$(PYTHON) node -r @swc-node/register bench/run.ts

clean:
	rm -rf dist .snakepit priv/python/snakepit_bridge/generated
