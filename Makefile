# faultline: build, fetch the servers, run, test, benchmark.
# Real-cluster targets need root (network namespaces).

GO       ?= go
BIN      := bin/faultline
GOFLAGS  ?=

.PHONY: build deps fetch run up test unit bench bench-check scenarios vet fmt clean

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/faultline

# Java, Maven and iproute2, from Debian's packages when missing.
deps:
	bash scripts/install-deps.sh

# Kafka and ZooKeeper from Maven Central into ~/.cache/faultline (once): the
# defaults (Kafka 3.9.2, ZooKeeper 3.8.4) and the newest (Kafka 4.4.0 for
# KRaft, ZooKeeper 3.9.4), which the tests use too.
fetch: build deps
	$(BIN) cluster fetch
	$(BIN) cluster fetch --kafka-version 4.4.0 --zookeeper-version 3.9.4

# The main job, against a real 3-node ZooKeeper ensemble and 3 Kafka brokers:
# a 60 s zk-register linearizability test, then a 60 s kafka-queue durability
# test under partitions and kills; the runs land in ./store. Fails if either
# is not valid (it prints both exit codes).
run: fetch
	@$(BIN) test --workload zk-register --time-limit 60s; zk=$$?; \
	$(BIN) test --workload kafka-queue --time-limit 60s --nemesis partition,kill; kafka=$$?; \
	echo "zk-register exited $$zk, kafka-queue exited $$kafka"; \
	exit $$(( zk > kafka ? zk : kafka ))

# The cluster alone, up until Ctrl-C.
up: fetch
	$(BIN) cluster up

# Every test, real clusters included, one package at a time: only one
# real cluster may run on the machine at once. FAULTLINE_REAL_TESTS=1 asks
# for the tests that need root and start servers or namespaces.
test: fetch
	$(GO) vet ./...
	FAULTLINE_REAL_TESTS=1 $(GO) test -p 1 -count=1 -timeout 60m ./...

# Tests that need no root, no Java, no servers and no namespaces, as root
# or not: the real ones skip themselves unless FAULTLINE_REAL_TESTS=1.
unit:
	$(GO) test -count=1 ./...

# Benchmarks: real clusters, so one at a time and a few iterations.
bench: fetch
	FAULTLINE_REAL_TESTS=1 $(GO) test -p 1 -run '^$$' -bench . -benchtime 3x ./...

# Every known-bug scenario on the versions that had the bug and those that
# fixed it (scenarios/*.json), one real cluster at a time; prints the table
# and fails unless each variant showed what it expects.
scenarios: fetch
	$(BIN) scenario run --all --verify

# The checkers alone, no root and no servers: faultline's zk-register
# checks side by side with a textbook use of porcupine on the same
# generated histories (time, ratios, peak heap), and the queue checker on
# a million ops. Niced: it shares the machine. A few minutes.
bench-check:
	nice -n 19 $(GO) test -run '^$$' -bench '^(BenchmarkZKRegisterCheck|BenchmarkQueue)$$' -benchtime 3x -timeout 30m ./checker

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w .

clean:
	rm -rf bin
