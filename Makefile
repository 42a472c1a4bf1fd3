# make run   set up everything, then start the sample app on PORT (3000)
# make test  set up everything, then run every suite (unit, Python, end-to-end)
# make bench set up everything (numpy and scikit-learn too), then run the benchmarks
# make pack  the npm tarball of @snakepit/nestjs, in .snakepit/pack/
.PHONY: setup run test test-unit test-python test-e2e bench typecheck pack clean

SHELL := /bin/bash
PYTHON = $$(cat .snakepit/python)
JEST = npx jest --ci

setup: node_modules/.package-lock.json
	@bash scripts/setup-python.sh

# `npm install` rather than `npm ci`: the npm here writes lock files without other platforms'
# optional packages (@swc/core-darwin-…), which its own `npm ci` then refuses as out of sync.
node_modules/.package-lock.json: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error

run: setup
	@npx nest build sample >/dev/null
	SNAKEPIT_PYTHON=$(PYTHON) node dist/apps/sample/apps/sample/src/main.js

RESULTS = .snakepit/test-results

test: setup typecheck test-unit test-python test-e2e
	@node scripts/test-summary.js

typecheck: node_modules/.package-lock.json
	npx tsc --noEmit -p tsconfig.json

test-unit: node_modules/.package-lock.json
	@mkdir -p $(RESULTS)
	$(JEST) --selectProjects unit --json --outputFile=$(RESULTS)/unit.json

test-python: setup
	@mkdir -p $(RESULTS)
	$(PYTHON) -m unittest discover -s priv/python/tests -t priv/python 2>&1 | tee $(RESULTS)/python.log; exit $${PIPESTATUS[0]}

test-e2e: setup
	@mkdir -p $(RESULTS)
	SNAKEPIT_PYTHON=$(PYTHON) $(JEST) --selectProjects e2e --maxWorkers=2 --json --outputFile=$(RESULTS)/e2e.json

bench: setup
	@bash scripts/setup-bench.sh
	SNAKEPIT_PYTHON=$(PYTHON) node --expose-gc -r @swc-node/register bench/run.ts

pack: setup
	@mkdir -p .snakepit/pack
	npm pack -w @snakepit/nestjs --pack-destination .snakepit/pack --loglevel=error

clean:
	rm -rf dist .snakepit priv/python/snakepit_bridge/generated libs/snakepit/dist
	node scripts/build-package.js --clean-assets
