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

.PHONY: all check-deps deps test check asan fuzz fuzz-build valgrind demo \
        bench bench-download bench-rwkvcpp bench-memory test-arm64 \
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

# convert, inspect and run (generation, state files, --score) on the golden
# models under valgrind's memcheck, leaks included; skipped, saying so,
# where valgrind is not installed.
valgrind: deps
	@$(MAKE) --no-print-directory all
	@ANSER_BIN=$(abspath $(BIN)) sh tests/valgrind/run.sh

# libFuzzer targets (clang), one per parser: tests/fuzz/fuzz_<name>.c, seeded
# from tests/fuzz/corpus/<name>/ (read only: what the fuzzer finds goes to
# build/fuzz/corpus/<name>/, crashes to build/fuzz/crashes/<name>/).  The
# library is built once, instrumented, in build/fuzz/obj.  Without clang
# and its libFuzzer runtime the target says so and does nothing.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_NAMES    = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS     = $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
FUZZ_OBJ      = $(LIB_SRC:%.c=build/fuzz/obj/%.o)
FUZZ_COMMON   = -g -O1 -std=c11 -D_GNU_SOURCE $(PKG_CFLAGS)
FUZZ_SAN      = address,undefined -fno-sanitize-recover=undefined
fuzz: check-deps
	@if ! tools/deps.sh --have-fuzzer $(FUZZ_CC); then \
	    echo "fuzz: skipped: $(FUZZ_CC) with libFuzzer is not installed (run: sudo apt-get install -y clang libclang-rt-dev)"; \
	    exit 0; fi; \
	$(MAKE) --no-print-directory fuzz-build && \
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run.sh $(FUZZ_NAMES)

fuzz-build: $(FUZZ_BINS)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_COMMON) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) \
	    -MMD -MP -c -o $@ $<

build/fuzz/libanser.a: $(FUZZ_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c build/fuzz/libanser.a
	$(FUZZ_CC) $(FUZZ_COMMON) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $< \
	    build/fuzz/libanser.a $(PKG_LIBS) -lm -lpthread

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

# Only the side-by-side with rwkv.cpp, built outside this tree (README.md):
# RWKV_CPP=/path/to/rwkv.cpp make bench-rwkvcpp
bench-rwkvcpp: deps
	@$(MAKE) --no-print-directory all $(O)/bench/bench_infer
	@sh tools/bench-rwkvcpp.sh $(abspath $(BIN)) $(abspath $(O)) $(BENCH_SHAPES)

# Resident memory of a 2.9B-shape model in q8_0 and a 13.3B-shape one in
# q4_0; writes about 10 GB of random weights to $(O)/bench/ once.
bench-memory: deps
	@$(MAKE) --no-print-directory all $(O)/bench/bench_infer
	@sh tools/bench-memory.sh $(abspath $(O))

# The ARM64 build under qemu-user: NEON kernels against their twins, and
# scores and greedy tokens against this machine's (tools/test-arm64.sh).
test-arm64: deps
	@sh tools/test-arm64.sh

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

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d)
