# otplab: token simulator and OTP verifier conformance harness.
GO        ?= go
FUZZTIME  ?= 3s
BENCHTIME ?= 1s
TEST_TIMEOUT ?= 25m
## The harness self-tests that judge whole suites' verdicts: skipped or
## reduced under the race detector, run in full without it.
FULL_SIZE := NeverAccuse|Crosscheck|EveryProfile|MutantClean|CatchesAndShrinks|WallLikeRequest|PolicyBugs|FirstContactCausesAreExact|BrokenVerifiersAreCaught|CausesNameUndeclared|SuiteAtProfileMaxima|PerNodePropertyCauses

.PHONY: all build test unit lint fmt-check vet bench oathtool-compare fuzz-smoke interop matrix cases clean

all: build test

build:
	$(GO) build ./...

## test: what CI runs: formatting, vet, race-enabled tests.
test: fmt-check vet unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## unit: every package under the race detector, then the harness's
## self-tests that judge whole suites' verdicts (FULL_SIZE) in full without
## it, where they run five to ten times faster; under it they are skipped
## or reduced (harness/selftest_test.go, withoutRace), and the engine's
## concurrency is raced by the whole-suite tests that stay.
## -p 4 -parallel 16: the real-time tests mostly wait, and their waits
## should overlap each other and other packages' CPU work (go test's
## defaults, -p 2 -parallel 2 on two cores, left a core idle while one
## package waited: 215 s for the race pass, 108 s with these).
## -timeout: go test's default of 10 min per package is too short for the
## harness under -race on two busy cores; every package gets 25 min.
## GORACE atexit_sleep_ms=0: a race-enabled binary otherwise sleeps 1 s as
## it exits (so that late race reports can be printed), and the tests start
## hundreds of them as verifiers (the test binary re-executed): up to 1 s
## lost per subprocess, 94 s to 19 s for harness/stress alone.
## The two passes run one after the other: run at once, or with the
## CPU-bound self-tests in parallel with the real-time ones, they saved
## 15-30 s on a quiet machine but left the real-time tests too little CPU
## to place their checks (a rate-limit case judged leniently, a 1 s throttle
## measured after two failures instead of one).
unit:
	GORACE="atexit_sleep_ms=0 $$GORACE" $(GO) test -race -count=1 -p 4 -parallel 16 -timeout $(TEST_TIMEOUT) ./...
	OTPLAB_FULL_SIZE_PASS=1 $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run '$(FULL_SIZE)' ./harness/

lint: fmt-check vet
	@if command -v staticcheck >/dev/null 2>&1; then staticcheck ./...; \
	else echo "staticcheck not installed; ran gofmt and go vet only"; fi

## bench: every benchmark, side by side in one run.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

## oathtool-compare: a million-code HOTP window, oathtool against otplab's engine.
oathtool-compare:
	bash scripts/oathtool-compare.sh

## interop: the suite against liboath, django-otp and google-authenticator-libpam
## (Debian packages), the Python shim and the Node.js verifier; writes their matrix.
interop:
	bash scripts/interop.sh

## matrix: run make interop, then write its matrix of verifiers × cases to
## docs/verifiers/matrix.html (and matrix.json, which interop compares with).
matrix: interop
	bash scripts/matrix.sh report/interop docs/verifiers

## cases: regenerate docs/cases.md from the catalogue.
cases:
	$(GO) generate ./harness

## fuzz-smoke: each fuzz target briefly (FUZZTIME each).
fuzz-smoke:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz-smoke.sh

clean:
	$(GO) clean -testcache
