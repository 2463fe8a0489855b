# TwoTower: the README's two commands are `make demo` and `make test`.
# Both install the system libraries they need (Debian packages) when missing, then build.

SWIFT ?= swift
APT_PACKAGES := liblmdb-dev libsqlite3-dev libblis-pthread-dev
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: deps build demo test bench-ingest bench-index clean

## deps: install the -dev packages for LMDB, SQLite and BLIS (BLAS) if any is missing
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

## build: the release binary at .build/release/twotower
build: deps
	$(SWIFT) build -c release --product twotower

## demo: the main job end to end on the built-in synthetic data set
demo: build
	.build/release/twotower demo

## test: build and run the whole test suite
test: deps
	SWIFT=$(SWIFT) scripts/build-tests.sh
	$(SWIFT) test --skip-build

## bench-ingest: ingest throughput and peak memory (Gowalla, ML-100K, 10M synthetic)
bench-ingest: build
	scripts/bench-ingest.sh

## bench-index: our IVF index beside FAISS on 1M × 64 vectors (needs the peers' venv; see the script)
bench-index: build
	scripts/bench-index.sh --setup-peers

clean:
	rm -rf .build Data/generated
