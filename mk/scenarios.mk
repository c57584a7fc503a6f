# novaload scenario targets (included by the Makefile, which defines NOVALOAD,
# ENVIRONMENT, PROFILE, RUN_FLAGS and `install`, and exports CONCURRENT_USERS /
# TEST_DURATION / API_TARGET, which novaload reads itself).
#
#   make test            the core suite (configs/suites/core.yaml: api vm websocket
#                        database federation) with `novaload suite`, smoke profile
#                        unless PROFILE is set: one folder, one index report, one
#                        JUnit file, the worst exit code
#   make suite SUITE=F   any suite file (ENVIRONMENT/PROFILE fill what it leaves open)
#   make test-vm | test-ws | test-db | test-federation | test-mixed
#   make stress | soak | spike | benchmark | capacity   (their own load models)
#   make test-all        the suite configs/suites/all.yaml: core + mixed + benchmark, plus
#                        stress/spike/capacity with INCLUDE_STRESS_TESTS=true and soak
#                        with INCLUDE_SOAK_TESTS=true (listed as "not run" otherwise)
#   make dev-test        the core suite with PROFILE=dev
#   make ci-test         SCENARIO (default api), or the suite file SUITE when set,
#                        CI-friendly output, gated on BASELINE
#   make cleanup         delete VMs left by novaload runs on ENVIRONMENT's target

# test-all's suite runs stress/spike/capacity and soak only when these are true.
INCLUDE_STRESS_TESTS ?= false
INCLUDE_SOAK_TESTS ?= false
export INCLUDE_STRESS_TESTS INCLUDE_SOAK_TESTS

.PHONY: suite test test-vm test-ws test-db test-federation test-mixed stress soak spike benchmark \
	capacity test-all dev-test ci-test cleanup

CORE_SUITE := configs/suites/core.yaml
SUITE ?=

test: install
	$(NOVALOAD) suite $(CORE_SUITE) --env $(ENVIRONMENT) --profile $(or $(PROFILE),smoke)

suite: install
	@test -n "$(SUITE)" || { echo "usage: make suite SUITE=configs/suites/ci.yaml"; exit 2; }
	$(NOVALOAD) suite $(SUITE) --env $(ENVIRONMENT) $(if $(PROFILE),--profile $(PROFILE))

test-vm: install
	$(NOVALOAD) run vm $(RUN_FLAGS)

test-ws: install
	$(NOVALOAD) run websocket $(RUN_FLAGS)

test-db: install
	$(NOVALOAD) run database $(RUN_FLAGS)

test-federation: install
	$(NOVALOAD) run federation $(RUN_FLAGS)

test-mixed: install
	$(NOVALOAD) run mixed $(RUN_FLAGS)

stress: install
	$(NOVALOAD) run stress $(RUN_FLAGS)

soak: install
	$(NOVALOAD) run soak $(RUN_FLAGS)

spike: install
	$(NOVALOAD) run spike $(RUN_FLAGS)

benchmark: install
	$(NOVALOAD) run benchmark $(RUN_FLAGS)

capacity: install
	$(NOVALOAD) run capacity $(RUN_FLAGS)

test-all: install
	$(NOVALOAD) suite configs/suites/all.yaml --env $(ENVIRONMENT) $(if $(PROFILE),--profile $(PROFILE))

dev-test: install
	$(NOVALOAD) suite $(CORE_SUITE) --env $(ENVIRONMENT) --profile dev

# No colours or live redraws in CI logs; the exit code is k6's (99 = thresholds).
# CI: SCENARIO (default api), or every run of the suite file SUITE when it is set, gated
# on thresholds (99) and on regression against the last passing run of the same scenario
# and environment (3); BASELINE= disables the gate.
SCENARIO ?= api
BASELINE ?= last-passing
ci-test: install
	NO_COLOR=1 TERM=dumb $(NOVALOAD) $(if $(SUITE),suite $(SUITE),run $(SCENARIO)) --env $(ENVIRONMENT) --profile $(or $(PROFILE),smoke) $(if $(BASELINE),--baseline $(BASELINE))

cleanup: install
	$(NOVALOAD) cleanup --env $(ENVIRONMENT)
