# amtsweg — plain GNU make, pkg-config.
#
#   make            release build into $(O)/release/amtsweg
#   make run        install deps, build, start `amtsweg demo` on 127.0.0.1:8080
#   make check      install deps, format-check, ASan+UBSan build, run every test
#   make bench      build bench/ programs and print figures (B="http jose": a subset)
#   make fuzz       build libFuzzer targets (clang) and run each for FUZZ_SECONDS
#   make format     clang-format the tree in place
#   make install    PREFIX=/usr/local DESTDIR=
#
# Sources are discovered: every src/<module>/*.c is part of the library,
# every tests/unit/**.c and tests/integration/*.c is part of the test binary.
# O selects the build root so parallel work trees do not collide.

O        ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
T        ?=
J        ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 20
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

PKGS := libmicrohttpd jansson libssl libcrypto libxml-2.0 sqlite3 libpq zlib \
        libpcre2-8 cairo libcurl

# libpq, libcurl, libxml2 and libstemmer are opened with dlopen on first use
# (src/base/dl.h), so the programs we ship do not link them (CORE_LIBS); the
# test binary links them too because tests call libpq directly.
DL_PKGS    := libxml-2.0 libpq libcurl
CORE_PKGS  := $(filter-out $(DL_PKGS),$(PKGS))
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lstemmer -lpthread -lm
CORE_LIBS  := $(shell pkg-config --libs $(CORE_PKGS) 2>/dev/null) -lpthread -lm

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)

WARN    := -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-unused-parameter -Wvla -Wformat=2 -Wno-format-truncation
DEFS    := -D_GNU_SOURCE -DAW_VERSION='"$(VERSION)"' -DAW_DATADIR='"$(PREFIX)/share/amtsweg/data"'
INCS    := -Isrc -Itests/runner -Itests/integration -I$(O)/gen $(PKG_CFLAGS)

REL_CFLAGS  := $(WARN) $(DEFS) $(INCS) -O2 -g -fstack-protector-strong \
               -D_FORTIFY_SOURCE=2 -fPIE
REL_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed
SAN_CFLAGS  := $(WARN) $(DEFS) $(INCS) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -DAW_SANITIZE=1
SAN_LDFLAGS := -fsanitize=address,undefined

LIB_SRC   := $(sort $(wildcard src/*/*.c))
MAIN_SRC  := src/main.c
TEST_SRC  := $(sort $(wildcard tests/runner/*.c tests/unit/*.c tests/unit/*/*.c \
                    tests/integration/*.c))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/*.c))
MIGRATIONS := $(sort $(wildcard src/store/migrations/*/*.sql))
GEN_SRC   := $(O)/gen/aw_embedded.c

REL_OBJ  := $(patsubst %.c,$(O)/release/%.o,$(LIB_SRC)) $(O)/release/gen/aw_embedded.o
SAN_OBJ  := $(patsubst %.c,$(O)/asan/%.o,$(LIB_SRC)) $(O)/asan/gen/aw_embedded.o
TEST_OBJ := $(patsubst %.c,$(O)/asan/%.o,$(TEST_SRC))

BIN      := $(O)/release/amtsweg
SAN_BIN  := $(O)/asan/amtsweg
TEST_BIN := $(O)/asan/amtsweg-tests

.PHONY: all run demo check test deps format format-check curl-typecheck bench bench-build fuzz clean install

all: $(BIN)

deps:
	@scripts/install-deps
	@scripts/node-deps

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	$(BIN) demo --listen 127.0.0.1:8080 --db var/amtsweg.db

# `make check T=name` runs the tests whose name contains `name`.
check: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory curl-typecheck
	@$(MAKE) -s --no-print-directory $(SAN_BIN) $(TEST_BIN) $(BIN) $(BENCH_BINS)
	AMTSWEG_BIN=$(abspath $(SAN_BIN)) AMTSWEG_RELEASE_BIN=$(abspath $(BIN)) \
	AMTSWEG_BUILD=$(abspath $(O)) AMTSWEG_SRC=$(CURDIR) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(TEST_BIN) -j $(J) $(T)

test: check

# ---- embedded files (migrations, static assets) -------------------------
$(GEN_SRC): scripts/embed.sh $(MIGRATIONS) $(wildcard web/*) | $(O)/gen
	scripts/embed.sh $@ $(MIGRATIONS) $(wildcard web/*)

$(O)/gen:
	@mkdir -p $@

# ---- release ------------------------------------------------------------
$(O)/release/%.o: %.c
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(REL_CFLAGS) -MMD -MP -c $< -o $@

$(O)/release/gen/aw_embedded.o: $(GEN_SRC)
	@mkdir -p $(@D)
	$(CC) $(REL_CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(BIN): $(REL_OBJ) $(O)/release/src/main.o
	@echo "  LD      $@"
	$(Q)$(CC) $(REL_LDFLAGS) -o $@ $^ $(CORE_LIBS)

# ---- sanitizer build (tests) --------------------------------------------
$(O)/asan/%.o: %.c
	@mkdir -p $(@D)
	@echo '  CC/SAN  $<'
	$(Q)$(CC) $(SAN_CFLAGS) -MMD -MP -c $< -o $@

$(O)/asan/gen/aw_embedded.o: $(GEN_SRC)
	@mkdir -p $(@D)
	$(CC) $(SAN_CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(SAN_BIN): $(SAN_OBJ) $(O)/asan/src/main.o
	@echo "  LD      $@"
	$(Q)$(CC) $(SAN_LDFLAGS) -o $@ $^ $(CORE_LIBS)

$(TEST_BIN): $(SAN_OBJ) $(TEST_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(SAN_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# ---- benchmarks, fuzzing -------------------------------------------------
# Every bench/<x>.c becomes $(O)/release/bench/<x> (linked with the library).
# bench/run runs bench/<x>.sh when present, else the program itself.
BENCH_SRC  := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(O)/release/bench/%,$(BENCH_SRC))

$(O)/release/bench/%: bench/%.c $(REL_OBJ)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(REL_CFLAGS) $(REL_LDFLAGS) -o $@ $< $(REL_OBJ) $(CORE_LIBS)

bench-build: $(BIN) $(BENCH_BINS)

bench: deps
	@$(MAKE) --no-print-directory bench-build
	AMTSWEG_BIN=$(abspath $(BIN)) AMTSWEG_BUILD=$(abspath $(O)) AMTSWEG_SRC=$(CURDIR) \
	BENCH_BIN_DIR=$(abspath $(O)/release/bench) bench/run $(B)

# The library is compiled once with coverage instrumentation
# (-fsanitize=fuzzer-no-link) and linked into every target.
FUZZ_SAN      := -fsanitize=address,undefined
FUZZ_CFLAGS_C := $(WARN) $(DEFS) $(INCS) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
                 -Wno-missing-prototypes -Wno-unknown-warning-option -Wno-format-nonliteral
FUZZ_OBJ  := $(patsubst %.c,$(O)/fuzz/obj/%.o,$(LIB_SRC)) $(O)/fuzz/obj/gen/aw_embedded.o
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRC))
.SECONDARY: $(FUZZ_OBJ)

$(O)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo '  CC/FUZZ $<'
	$(Q)clang $(FUZZ_CFLAGS_C) -MMD -MP -c $< -o $@

$(O)/fuzz/obj/gen/aw_embedded.o: $(GEN_SRC)
	@mkdir -p $(@D)
	$(Q)clang $(FUZZ_CFLAGS_C) -c $< -o $@

$(O)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	@echo '  LD/FUZZ $@'
	$(Q)clang $(FUZZ_CFLAGS_C) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(PKG_LIBS)

fuzz: deps $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
	  n=$$(basename $$f); corpus=tests/fuzz/corpus/$$n; mkdir -p $(O)/fuzz/work/$$n; \
	  echo "fuzz $$n for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(O)/fuzz/work/$$n $$corpus 2>&1 | tail -n 4; \
	done

# ---- formatting ----------------------------------------------------------
FORMAT_FILES = $(shell git ls-files -co --exclude-standard -- '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"

# curl.h checks the type of every curl_easy_setopt/getinfo value with gcc
# (typecheck-gcc.h), but its warnings are silent where curl's headers are
# system headers: the files that call libcurl are compiled once more with
# system-header warnings shown and those checks fatal.
CURL_USERS = $(shell grep -l 'base/dl_curl.h' src/*/*.c)
curl-typecheck:
	@for f in $(CURL_USERS); do \
	  $(CC) -std=c17 $(DEFS) $(INCS) $(PKG_CFLAGS) -O2 -Wsystem-headers \
	    -Werror=attribute-warning -c $$f -o /dev/null || exit 1; \
	done; echo "curl-typecheck: ok"

# ---- install, clean ------------------------------------------------------
# The data directory is compiled in (AW_DATADIR): build and install with the
# same PREFIX.
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/amtsweg
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/amtsweg
	cp -r data $(DESTDIR)$(PREFIX)/share/amtsweg/

clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
