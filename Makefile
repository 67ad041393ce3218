# The map of the project: every entry point is a target here. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_STAMP := node_modules/.package-lock.json
SCRIPTS := appliance/scripts

.PHONY: help system deps build db dev test typecheck lint format format-check test-only test-install bench bench-audit bench-seal bench-join bench-search bench-range bench-keys bench-shred bench-queue bench-capacity audit-verify realm-export config-doc release bench-face clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-14s %s\n", $$1, $$2}'

system: ## Install missing Debian packages (PostgreSQL, Janus, ffmpeg, Chromium, fonts); needs root
	@bash $(SCRIPTS)/install-system.sh

$(NODE_STAMP): package.json package-lock.json compliance/package.json appliance/package.json web/package.json
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

deps: system $(NODE_STAMP) ## System packages and npm ci

build: $(NODE_STAMP) ## Build compliance, appliance and the web UI
	npm run build

db: system ## Start the appliance's PostgreSQL cluster and apply migrations
	@bash $(SCRIPTS)/pg-cluster.sh
	@KYC_PROFILE=development node appliance/dist/cli/migrate.js

dev: deps build db ## Run the appliance with the dev IdP and demo users on this host (Ctrl-C stops)
	@bash $(SCRIPTS)/dev.sh

typecheck: $(NODE_STAMP) ## Type-check every package (tsc --noEmit, svelte-check)
	npm run typecheck

lint: $(NODE_STAMP) ## ESLint over every package (eslint.config.js: typescript-eslint, the Svelte plugin)
	npx eslint --max-warnings 0 .

format-check: $(NODE_STAMP) ## The Prettier check (.prettierrc.json), part of make test
	npx prettier --check .

format: $(NODE_STAMP) ## Rewrite every file the Prettier check would refuse
	npx prettier --write .

test: deps build db typecheck lint format-check test-only ## Everything the tests need, then every test; ends with "N passed, N failed"

test-only: ## Run the test suite only (assumes make build db)
	@node $(SCRIPTS)/run-tests.mjs compliance/test appliance/test web/test ansible/test --long ansible/test/install.test.ts appliance/test/hardening/crash.test.ts

test-install: deps build db ## Real install with ansible/site.yml into a booted Debian 12 container (root); last line JSON
	@npx tsx ansible/test/run-install.ts

bench: bench-audit bench-seal bench-join bench-search bench-range bench-shred bench-face bench-keys bench-queue bench-capacity ## Every benchmark

bench-audit: deps build db ## Audit log: appends/s, verified events/s, proof size at 1M events
	npx tsx compliance/bench/audit.bench.ts

bench-seal: deps build db ## Seal a 2×10-minute dual recording: × real time, encryption vs raw AES-256-GCM
	npx tsx appliance/bench/seal.bench.ts

bench-join: deps build ## Join → both parties decoding video: p50/p95 over 12 runs (root: network namespace)
	npx tsx appliance/bench/join.bench.ts

bench-capacity: deps build db ## Recorded 1:1 calls one box carries (synthetic WebRTC parties, K ramping 10, 20, …): largest K without gaps, CPU/RSS per call (root: network namespace)
	npx tsx appliance/bench/capacity.bench.ts $(CAPACITY_ARGS)

bench-search: deps build db ## Archive search over 1M synthetic cases: p50/p95 (page + exact total)
	npx tsx appliance/bench/search.bench.ts

bench-range: deps build db ## Encrypted Range replay vs @fastify/static plaintext: TTFB and throughput ratios
	npx tsx appliance/bench/range.bench.ts

bench-keys: deps build db ## Data-key unwrap p50/p95 through a SoftHSM2 token (PKCS#11) vs the file KEK; shredding items/s
	npx tsx appliance/bench/keys.bench.ts

bench-shred: deps build db ## Retention crypto-shredding of 200 expired cases (recording, file, personal data): items/s
	npx tsx appliance/bench/shred.ts

bench-queue: deps build db ## Service queue: customers at a fixed rate, 3 tellers with fixed handling: routing latency p50/p95 (ready → offer in the teller's long poll), position errors
	npx tsx appliance/bench/queue.bench.ts

bench-face: deps ## Built-in face engine: model load ms, compare p50/p95 at 640×480, EER on the labelled fixture set
	npx tsx appliance/bench/face.bench.ts

audit-verify: ## Verify the make-dev instance's audit log against its signed checkpoints
	node compliance/dist/cli/kyc-audit.js verify --db "postgresql://postgres@/kyc?host=/var/run/postgresql&port=5433" --checkpoints var/audit/checkpoints --signing-key var/secrets/audit-signing.key --archive var/archive

realm-export: build ## Regenerate the Keycloak realm exports in appliance/keycloak/
	node appliance/dist/dev-idp/export-realm.js

config-doc: build ## Print the configuration table for the README
	node appliance/dist/cli/config-doc.js

release: build ## Offline release bundle dist/kyc-appliance-<version>.tar.gz (VERSION=x.y.z, VERSION_SUFFIX=-rc1)
	@VERSION="$(VERSION)" VERSION_SUFFIX="$(VERSION_SUFFIX)" bash $(SCRIPTS)/release.sh

clean: ## Remove build output (keeps var/ data)
	rm -rf compliance/dist appliance/dist web/build web/.svelte-kit dist
