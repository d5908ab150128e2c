# skidder: the two commands a newcomer needs.
#   make run    install missing Debian packages (as root), build, run the agent on the bundled
#               config; prints entries (-dry-run) unless LOKI_URL=http://host/loki/api/v1/push
#   make test   install missing packages, build, run every test (release + ASan/UBSan unit tests
#               + TSan for the unit tests that run threads)
#   make fuzz SECONDS=N   AFL++ coverage-guided fuzzing, N seconds per target (tests/fuzz/README.md)
#   make soak SECONDS=N   chaos and model tests with fresh seeds, again and again for N seconds
#   make image  the runtime container image as OCI and docker archives in build/, from Debian
#               packages only (no Docker daemon, no base image); make test-image runs it
# Both work on a fresh Debian 12 machine. CI (.ci/run) calls `make test`.

JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
SECONDS ?= 600
CONFIG ?= config/default.yaml
LOKI_URL ?=
# The sanitizer builds are unity builds: CMake compiles each target's sources in batches of
# UNITY_BATCH files as one translation unit, so the headers (gtest, protobuf, the standard
# library) are parsed and their templates instantiated once per batch rather than once per file,
# which halves their build time. The release build (the agent users run, the integration tests
# and benchmarks) is not: GCC inlines differently when files share a unit, and the unity binary
# was 26 % smaller and delivered 2-8 % fewer bytes per CPU-second in 5 of 6 paired runs
# (benchmarks/README.md). UNITY=OFF builds the sanitizer builds file by file too (faster after a
# one-file edit; it catches a file that compiles only because another in its batch included a
# header). A helper in an anonymous namespace must not share its name with one in another file
# of the same target.
UNITY ?= ON
# Files per unity batch: 16 took a quarter less compile time than CMake's default 8 (fewer
# copies of the same headers and template instantiations).
UNITY_BATCH ?= 16
# Each sanitized unit binary runs as this many gtest shards (processes), not a process per test
# case: see SKIDDER_UNIT_SHARDS in tests/CMakeLists.txt. UNIT_SHARDS=0 runs each case alone.
UNIT_SHARDS ?= 4
# What both sanitizer builds share. -g1: line tables are all a sanitizer report needs (file and
# line of every frame), and compile and link faster than full debug info.
SANITIZER_CMAKE := -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
  -DCMAKE_UNITY_BUILD=$(UNITY) -DCMAKE_UNITY_BUILD_BATCH_SIZE=$(UNITY_BATCH) \
  -DSKIDDER_UNIT_SHARDS=$(UNIT_SHARDS) -DSKIDDER_BENCHMARKS=OFF

DEB_PACKAGES := build-essential cmake pkg-config libcurl4-openssl-dev libprotobuf-dev \
  protobuf-compiler libsnappy-dev libyaml-cpp-dev libre2-dev libfmt-dev rapidjson-dev \
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev libbz2-dev libcpp-httplib-dev libssl-dev \
  libmaxminddb-dev libmicrohttpd-dev libgnutls28-dev libsystemd-dev systemd-journal-remote \
  python3 python3-yaml file lld

# Only for make test: promtool (Debian's prometheus package) evaluates the chart's alert rules
# over scripted series (tests/chart/test_chart.py, AlertRules). Installed without its
# recommends (node-exporter, ipmitool, ...); the Prometheus server it brings is not wanted on a
# build machine, so its service is stopped and disabled where systemd runs one.
test-deps:
	@if ! command -v promtool >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: prometheus (promtool, for the chart's alert tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends prometheus; \
	    if [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi; \
	  else \
	    echo "missing promtool (run as root or: sudo apt-get install --no-install-recommends prometheus)"; \
	    exit 1; \
	  fi; \
	fi

# Only for make image / make test-image: a root filesystem from Debian packages (mmdebstrap),
# the OCI image (umoci), the docker archive (skopeo), and podman for the test's `podman load`.
IMAGE_PACKAGES := mmdebstrap umoci skopeo podman
IMAGE ?= $(BUILD)/skidder-image.tar
VERSION := $(shell grep -m1 -o 'skidder VERSION [0-9.]*' CMakeLists.txt | cut -d' ' -f3)

# Only `make fuzz` needs these (not the build or the tests).
FUZZ_PACKAGES := afl++
FUZZ_BUILD ?= build-fuzz
FUZZ_TARGETS := cri docker json_stage jmespath template selector go_time config alloy logfmt \
  tzif positions http decompress syslog gelf

.PHONY: deps test-deps image-deps fuzz-deps build run test test-release test-asan test-tsan soak fuzz \
  bench image test-image clean

deps:
	@$(call install_missing,$(DEB_PACKAGES))

image-deps:
	@$(call install_missing,$(IMAGE_PACKAGES))

fuzz-deps:
	@$(call install_missing,$(FUZZ_PACKAGES))

# Installs the Debian packages of $(1) that are missing (as root), else names them and fails.
define install_missing
	missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	  grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "missing Debian packages (run as root or: sudo apt-get install $$missing)"; exit 1; \
	  fi; \
	fi
endef

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The bundled config is compiled into the binary; naming no file uses it, and then
# -client.url replaces its localhost client instead of adding a second one.
CONFIG_FLAG = $(if $(filter config/default.yaml,$(CONFIG)),,-config.file=$(CONFIG))

run: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target skidder
	@if [ -n "$(LOKI_URL)" ]; then \
	  exec $(BUILD)/skidder $(CONFIG_FLAG) -client.url=$(LOKI_URL) \
	    -positions.file=$(BUILD)/positions.json; \
	else \
	  exec $(BUILD)/skidder $(CONFIG_FLAG) -dry-run; \
	fi

test: deps test-deps
	$(MAKE) test-release
	$(MAKE) test-asan
	$(MAKE) test-tsan

# The release build runs what needs the shipped binary: integration, chart, packaging. Unit
# tests run once, in the sanitizer build below (compiling them twice would double CI time).
# Integration tests run 4 at once on 2 cores: most of their time is spent waiting out outages,
# kills and deadlines (a run of all of them used a third of the cores at -j4), and the longest
# start first (tests/integration/long_tests.cmake): 80 s instead of 150 s at -j2.
INTEGRATION_JOBS ?= 4
test-release: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target skidder integration_tests micro_benchmarks \
	  bench_sink bench_baseline bench_tail_baseline image_tests
	cd $(BUILD) && ctest --output-on-failure -j$(INTEGRATION_JOBS) --timeout 600 -LE unit \
	  -E '_NOT_BUILT$$'

# Unit tests (and fuzz regression inputs) under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	cmake -S . -B $(ASAN_BUILD) $(SANITIZER_CMAKE) -DSKIDDER_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target all_unit_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS) -L unit

# ThreadSanitizer, only for the modules whose tests run threads: acknowledgement tracking and
# copy-on-write labels (unit_model), the Loki client and sender (unit_sink), positions and the
# file source (unit_sources), the journal source (unit_journal), the HTTP server whose body
# endpoints are answered from other threads (unit_telemetry), the Docker source (unit_docker),
# the HTTP client cancelled and woken from another thread (unit_io), the syslog and GELF
# listeners (unit_syslog, unit_gelf), file discovery, the runtime, Kubernetes discovery and the
# Kubernetes events source (unit_kube_events).
# Only those binaries are built.
# TSan reports fail the test (exit 66); tests/tsan.supp says why the one suppression (inside the
# fake Loki's HTTP library) is there.
TSAN_TESTS := unit_model unit_sink unit_sources unit_journal unit_telemetry unit_docker unit_io \
              unit_syslog unit_gelf unit_discovery unit_app \
              unit_kubernetes unit_kube_events
# The shards of the binaries built (or, with UNIT_SHARDS=0, their test cases).
TSAN_TEST_RE := ^($(subst $(eval) ,|,$(strip $(TSAN_TESTS))))_shard_|^[A-Z]
test-tsan:
	cmake -S . -B $(TSAN_BUILD) $(SANITIZER_CMAKE) -DSKIDDER_TSAN=ON >/dev/null
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target $(TSAN_TESTS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS="second_deadlock_stack=1 \
	  suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --output-on-failure -j$(JOBS) -L unit -R '$(TSAN_TEST_RE)'

# Soak: the chaos scenarios of tests/integration/chaos_test.cc (real binary, kubelet-like
# rotation, SIGKILLs, Loki outages) and the file source's model test, each round with a fresh
# seed, until SECONDS have passed; every failing seed is printed, and the target fails if any did.
soak: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target skidder integration_tests unit_sources
	@start=$$(date +%s); end=$$((start + $(SECONDS))); round=0; failed=""; \
	while [ $$(date +%s) -lt $$end ]; do \
	  round=$$((round + 1)); seed=$$(od -An -N4 -tu4 /dev/urandom | tr -d ' '); \
	  echo "== soak round $$round, seed $$seed"; \
	  SKIDDER_TAILER_SEED=$$seed SKIDDER_CRASH_MODEL_SEED=$$seed $(BUILD)/tests/unit_sources --gtest_filter='*Model*' \
	    --gtest_brief=1 || failed="$$failed SKIDDER_TAILER_SEED=$$seed"; \
	  SKIDDER_CHAOS_SEED=$$seed $(BUILD)/tests/integration_tests \
	    --gtest_filter='Chaos*' --gtest_brief=1 || failed="$$failed SKIDDER_CHAOS_SEED=$$seed"; \
	done; \
	echo "soak: $$round rounds in $$(( $$(date +%s) - start )) s"; \
	if [ -n "$$failed" ]; then echo "soak FAILED for:$$failed"; exit 1; fi

# The runtime image (packaging/image/build.sh; as root): $(IMAGE) is an OCI archive named
# skidder:$(VERSION), $(IMAGE:.tar=.docker.tar) the same image for docker load / ctr import.
image: deps image-deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target skidder
	packaging/image/build.sh $(BUILD)/skidder $(IMAGE) $(VERSION)

# Builds the image (about 20 MB from the Debian mirror), unpacks it and runs the agent in its
# root filesystem as the chart does (read-only, no capabilities) against the fake Loki.
test-image: image
	cmake --build $(BUILD) -j$(JOBS) --target image_tests
	SKIDDER_IMAGE=$(IMAGE) $(BUILD)/tests/image_tests

# Fuzz: every target of tests/fuzz built with AFL++'s instrumenting GCC wrapper (afl-g++; the
# afl-g++-fast plugin of Debian's afl++ 4.04c refuses bookworm's updated gcc 12.2.0-14+deb12u1)
# under ASan+UBSan, then afl-fuzz on each for SECONDS seconds; see tests/fuzz/run_afl.sh.
fuzz: deps fuzz-deps
	CC=afl-gcc CXX=afl-g++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DSKIDDER_SANITIZE=ON -DSKIDDER_BENCHMARKS=OFF \
	  >/dev/null
	AFL_QUIET=1 AFL_DONT_OPTIMIZE=1 cmake --build $(FUZZ_BUILD) -j$(JOBS) \
	  --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	tests/fuzz/run_afl.sh $(FUZZ_BUILD) $(SECONDS) $(FUZZ_TARGETS)

bench: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS) --target micro_benchmarks skidder bench_sink bench_baseline \
	  bench_tail_baseline
	$(BUILD)/benchmarks/micro_benchmarks
	python3 benchmarks/e2e.py --build $(BUILD)
	python3 benchmarks/e2e.py --build $(BUILD) --files 1000

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
