# Makefile for anser.  'make' builds libanser.a and ./anser; 'make test' runs
# the suite; 'make asan' runs it under AddressSanitizer + UBSan; 'make demo'
# shows the pipeline.  O= picks the build folder (default: build).

O       ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
LIBDIR   = $(PREFIX)/lib
INCDIR   = $(PREFIX)/include
MANDIR   = $(PREFIX)/share/man

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 \
           -Wno-format-nonliteral -Wundef -Wvla
ifeq ($(DEVELOPER),1)
WARN    += -Werror
endif
PKGS     = zlib libzip libcjson libcurl openblas
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS)
LIBS        = $(PKG_LIBS) -lm -lpthread

LIB_SRC  = $(wildcard lib/*.c formats/*.c eval/*.c)
CMD_SRC  = $(wildcard cmd/*.c)
TEST_SRC = $(wildcard tests/unit/test_*.c)
BENCH_SRC = $(wildcard tests/bench/bench_*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(O)/%.o)
CMD_OBJ  = $(CMD_SRC:%.c=$(O)/%.o)
TESTS    = $(TEST_SRC:tests/unit/%.c=$(O)/tests/%)
BENCHES  = $(BENCH_SRC:tests/bench/%.c=$(O)/bench/%)
LIBA     = $(O)/libanser.a
# The default build puts the program at ./anser; others keep it in $(O).
BIN      = $(if $(filter build,$(O)),anser,$(O)/anser)
MANS     = $(wildcard man/*.1 man/*.5)

.PHONY: all check-deps deps test check asan fuzz demo bench bench-download \
        install uninstall clean lint

all: check-deps $(BIN) $(TESTS)

check-deps:
	@tools/deps.sh --check

# Installs missing packages as root, else prints the apt-get line and fails.
deps:
	@tools/deps.sh

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CMD_OBJ) $(LIBA)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(CMD_OBJ) $(LIBA) $(LIBS)

$(O)/tests/%: tests/unit/%.c tests/harness.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS)

$(O)/bench/%: tests/bench/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(LIBS)

# The dependency step runs first, then a fresh make that sees its results.
test check: deps
	@$(MAKE) --no-print-directory all
	@ANSER_BIN=$(abspath $(BIN)) ANSER_BUILD=$(abspath $(O)) sh tests/run.sh $(T)

SAN = -fsanitize=address,undefined -fno-sanitize-recover=all \
      -fno-omit-frame-pointer
asan: deps
	@$(MAKE) --no-print-directory O=build/asan CFLAGS="-O1 -g $(SAN)" \
	    LDFLAGS="$(SAN)" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	    UBSAN_OPTIONS=print_stacktrace=1 \
	    ANSER_BIN=$(abspath build/asan/anser) ANSER_SAN="$(SAN)" \
	    ANSER_BUILD=$(abspath build/asan) sh tests/run.sh $(T)

# libFuzzer targets (clang), one per parser: tests/fuzz/fuzz_<name>.c, seeded
# from tests/fuzz/corpus/<name>/; what they find goes to build/fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_NAMES    = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_FLAGS    = -g -O1 -std=c11 -D_GNU_SOURCE \
                -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS)
fuzz: check-deps
	@command -v $(FUZZ_CC) >/dev/null || { echo "fuzz: error: needs clang; run: sudo apt-get install -y clang" >&2; exit 1; }
	@mkdir -p build/fuzz
	@set -e; for t in $(FUZZ_NAMES); do \
	    $(FUZZ_CC) $(FUZZ_FLAGS) -o build/fuzz/fuzz_$$t tests/fuzz/fuzz_$$t.c \
	        $(LIB_SRC) $(PKG_LIBS) -lm -lpthread; \
	done
	@set -e; for t in $(FUZZ_NAMES); do \
	    mkdir -p build/fuzz/corpus/$$t build/fuzz/crashes/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	        -rss_limit_mb=2048 -max_len=200000 -print_final_stats=1 \
	        -artifact_prefix=build/fuzz/crashes/$$t/ \
	        build/fuzz/corpus/$$t tests/fuzz/corpus/$$t \
	        2>build/fuzz/$$t.log || { tail -n 30 build/fuzz/$$t.log; exit 1; }; \
	    grep -E "stat::number_of_executed_units|stat::peak_rss" build/fuzz/$$t.log | sed "s/^/  /"; \
	    echo "  corpus: $$(ls build/fuzz/corpus/$$t | wc -l) inputs"; \
	done

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tools/demo.sh $(abspath $(BIN))

# Figures, not tests: conversion, tokenizer and inference speed against
# baselines measured in the same run.  BENCH_SHAPES=0.1b skips the 1.5B shape.
BENCH_SHAPES ?= 0.1b 1.5b
bench: deps
	@$(MAKE) --no-print-directory all $(BENCHES)
	@sh tools/bench.sh $(abspath $(BIN)) $(abspath $(O)) $(BENCH_SHAPES)

# 1 GB from the mock Hub on loopback, against curl -o on the same URL.
bench-download: deps
	@$(MAKE) --no-print-directory all
	@sh tools/bench-download.sh $(abspath $(BIN)) 1024

lint:
	mandoc -Tlint -Wwarning $(MANS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/anser
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/libanser.a
	install -m 644 lib/anser.h $(DESTDIR)$(INCDIR)/anser.h
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/anser $(DESTDIR)$(LIBDIR)/libanser.a \
	    $(DESTDIR)$(INCDIR)/anser.h
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(wildcard man/*.1)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard man/*.5)))

clean:
	rm -rf build anser

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)
