# pgx - build, test, install.  `make`, `make check`, `make sanitize`, `make install`.
.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
SHAREDIR  ?= $(PREFIX)/share
MANDIR    ?= $(SHAREDIR)/man
BASHCOMPDIR ?= $(SHAREDIR)/bash-completion/completions
BUILD     ?= build
VERSION   := 0.1.0

CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= bpftool
PKG_CONFIG ?= pkg-config
CFLAGS    ?= -O2 -g
WARNINGS  := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wno-unused-parameter -Wformat=2
# pkg-config is asked on first use, never while make parses this file: in
# `make deps all` the -dev packages (and pkg-config) arrive with `deps`.
# $(call once,NAME,COMMAND) runs COMMAND the first time NAME is expanded.
once = $(eval $(1) := $$(shell $(2)))$($(1))
PKG_CFLAGS = $(call once,PKG_CFLAGS,$(PKG_CONFIG) --cflags jansson libpq libcurl)
CPPFLAGS  += -D_GNU_SOURCE -Ilib -I$(BUILD) -DPGX_VERSION='"$(VERSION)"' \
             -DPGX_SHAREDIR='"$(SHAREDIR)/pgx"' $(PKG_CFLAGS)
ALL_CFLAGS = $(CFLAGS) $(WARNINGS) -std=gnu11
JANSSON_LIBS = $(call once,JANSSON_LIBS,$(PKG_CONFIG) --libs jansson)
LIB_LIBS   = $(JANSSON_LIBS) -lm
# With deps among the goals, nothing is built before it has run (also under -j).
DEPS_FIRST := $(if $(filter deps,$(MAKECMDGOALS)),| deps)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBPGX   := $(BUILD)/libpgx.a

# Every command lives in cmd/pgx-NAME/ and may add cmd/pgx-NAME/module.mk
# setting PKGS_pgx-NAME (pkg-config names), LIBS_pgx-NAME, and extra rules.
COMMANDS := $(notdir $(wildcard cmd/pgx-*))
BINS     := $(COMMANDS:%=$(BUILD)/bin/%)
-include $(wildcard cmd/*/module.mk)

all: $(BINS)

$(BUILD)/%.o: %.c $(DEPS_FIRST)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(EXTRA_CPPFLAGS_$(word 2,$(subst /, ,$*))) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBPGX): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)$(AR) rcs $@ $^

define command_rule
$(1)_OBJS := $$(patsubst %.c,$$(BUILD)/%.o,$$(wildcard cmd/$(1)/*.c))
$$(BUILD)/bin/$(1): $$($(1)_OBJS) $$(LIBPGX)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $$(LIBPGX) \
		$$(if $$(PKGS_$(1)),$$(shell $$(PKG_CONFIG) --libs $$(PKGS_$(1)))) $$(LIBS_$(1)) $$(LIB_LIBS)
$$($(1)_OBJS): CPPFLAGS += $$(if $$(PKGS_$(1)),$$(shell $$(PKG_CONFIG) --cflags $$(PKGS_$(1))))
endef
$(foreach c,$(COMMANDS),$(eval $(call command_rule,$(c))))

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# ---- tests ----
BATS      ?= bats
TESTS     ?= test
# Test-only drivers for lib/ (not installed).
$(BUILD)/test/pq_check: test/unit/pq_check.c $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBPGX) \
		$(shell $(PKG_CONFIG) --libs libpq) $(LIB_LIBS)

# Test hooks (PGX_APPLY_TEST_PAUSE_AFTER) exist only in copies built with
# -DPGX_TEST_HOOKS into $(BUILD)/test/bin, first in check's PATH; `install`
# installs $(BUILD)/bin, built without them.
$(BUILD)/test-hooks/%.o: %.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $< (test hooks)")
	$(Q)$(CC) $(CPPFLAGS) -DPGX_TEST_HOOKS $(ALL_CFLAGS) -MMD -MP -c -o $@ $<
HOOKED_APPLY_OBJS := $(filter-out %/run.o,$(pgx-apply_OBJS)) $(BUILD)/test-hooks/cmd/pgx-apply/run.o
$(BUILD)/test-hooks/cmd/pgx-apply/run.o: CPPFLAGS += $(call once,APPLY_CFLAGS,$(PKG_CONFIG) --cflags $(PKGS_pgx-apply))
$(BUILD)/test/bin/pgx-apply: $(HOOKED_APPLY_OBJS) $(LIBPGX)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(HOOKED_APPLY_OBJS) $(LIBPGX) \
		$(shell $(PKG_CONFIG) --libs $(PKGS_pgx-apply)) $(LIB_LIBS)

$(BUILD)/test/mask_check: test/unit/mask_check.c $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIBPGX) $(LIB_LIBS)

# Table-driven unit tests of the pure code, no server needed:
# test/unit/NAME_check.c runs the cases of test/unit/NAME_cases.tsv against
# the code (lib/, or a command's objects listed here).  `make unit` runs
# them all; `make check` runs them first and stops when one fails.
UNIT_CHECKS := sqlnorm format pqline timestamp expr delta rank number
UNIT_OBJS_timestamp := $(BUILD)/cmd/pgx-logmatch/timestamp.o
UNIT_OBJS_expr := $(BUILD)/cmd/pgx-report/alerts_expr.o $(BUILD)/cmd/pgx-report/snapshot.o
UNIT_OBJS_delta := $(BUILD)/cmd/pgx-poll/delta.o
UNIT_CMD_timestamp := pgx-logmatch
UNIT_CMD_expr := pgx-report
UNIT_CMD_delta := pgx-poll
UNIT_LIBS_pqline = $(call once,LIBPQ_LIBS,$(PKG_CONFIG) --libs libpq)
define unit_rule
$$(BUILD)/test/$(1)_check: test/unit/$(1)_check.c test/unit/cases.c test/unit/cases.h $$(UNIT_OBJS_$(1)) $$(LIBPGX)
	@mkdir -p $$(@D)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(CPPFLAGS) $$(if $$(UNIT_CMD_$(1)),-Icmd/$$(UNIT_CMD_$(1)) $$(if $$(PKGS_$$(UNIT_CMD_$(1))),$$(shell \
		$$(PKG_CONFIG) --cflags $$(PKGS_$$(UNIT_CMD_$(1)))))) -Itest/unit $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ \
		test/unit/$(1)_check.c test/unit/cases.c $$(UNIT_OBJS_$(1)) $$(LIBPGX) \
		$$(if $$(PKGS_$$(UNIT_CMD_$(1))),$$(shell $$(PKG_CONFIG) --libs $$(PKGS_$$(UNIT_CMD_$(1))))) \
		$$(UNIT_LIBS_$(1)) $$(LIB_LIBS)
endef
$(foreach u,$(UNIT_CHECKS),$(eval $(call unit_rule,$(u))))
UNIT_BINS := $(UNIT_CHECKS:%=$(BUILD)/test/%_check)
unit: $(UNIT_BINS)
	$(Q)for t in $(UNIT_CHECKS); do $(BUILD)/test/$${t}_check test/unit/$${t}_cases.tsv || exit 1; done

# Every record a pgx command builds during the tests is copied under
# $(RECORDS) (PGX_VALIDATE_DIR, one folder per test) and checked against
# share/pgx/records.yaml afterwards: an undocumented field fails the check.
RECORDS = $(CURDIR)/$(BUILD)/test/records
check: unit all $(BUILD)/test/pq_check $(BUILD)/test/mask_check $(BUILD)/test/bin/pgx-apply
	$(Q)rm -rf $(RECORDS) && mkdir -p $(RECORDS) && chmod 1777 $(RECORDS)
	PATH="$(CURDIR)/$(BUILD)/test/bin:$(CURDIR)/$(BUILD)/bin:$$PATH" PGX_SHARE_DIR="$(CURDIR)/share/pgx" \
	PGX_BUILD="$(CURDIR)/$(BUILD)" PGX_VALIDATE_DIR="$(RECORDS)" $(BATS) --timing $(BATS_FLAGS) $(TESTS)
	@echo "  VALIDATE the records the tests wrote, against share/pgx/records.yaml"
	$(Q)find $(RECORDS) -name '*.ndjson' -exec $(BUILD)/bin/pgx-report validate \
		--schema share/pgx/records.yaml {} +
	$(if $(filter file,$(origin TESTS)),$(MAKE) --no-print-directory check-pg)

# The whole suite runs against the host's PostgreSQL 15; then, when TESTS is
# not given, PG_TESTS_<version> against each of PG_VERSIONS (Debian trees built
# once by test/image/pgroot.sh, cached under /var/cache/pgx-test; root only),
# chosen to keep both within about 8 minutes (README: PostgreSQL versions).
# `make check-pg PG_VERSIONS=13 PG_TESTS=test/apply.bats` runs any suite alone.
PG_VERSIONS ?= 13 17
# Two startup profiles on the version's image (pgx-test/postgres:13, :17, imported
# from the trees above by test/image/build.sh).
PG_STARTUP_TESTS = test/profile.bats:fresh.container|never.becomes.ready
PG_TESTS_13 ?= test/server_log.bats test/poll.bats test/health.bats test/logmatch.bats test/slowlog.bats:real $(PG_STARTUP_TESTS)
PG_TESTS_17 ?= test/server_log.bats test/poll.bats test/health.bats test/apply.bats $(PG_STARTUP_TESTS)
CHECK_ENV = PATH="$(CURDIR)/$(BUILD)/test/bin:$(CURDIR)/$(BUILD)/bin:$$PATH" PGX_SHARE_DIR="$(CURDIR)/share/pgx" \
	PGX_BUILD="$(CURDIR)/$(BUILD)"
# A FILE:WORD entry runs only FILE's tests whose names contain WORD.
check-pg: export PG_TESTS_OVERRIDE = $(PG_TESTS)
check-pg: all $(BUILD)/test/pq_check $(BUILD)/test/mask_check $(BUILD)/test/bin/pgx-apply
	$(Q)for v in $(PG_VERSIONS); do rm -rf $(RECORDS)-pg$$v && mkdir -p $(RECORDS)-pg$$v && chmod 1777 $(RECORDS)-pg$$v; done
	@failed=; for v in $(PG_VERSIONS); do \
		case $$v in 13) tests="$(PG_TESTS_13)" ;; 17) tests="$(PG_TESTS_17)" ;; *) tests= ;; esac; \
		tests="$${PG_TESTS_OVERRIDE:-$$tests}"; \
		for t in $$tests; do \
			echo "  BATS    PostgreSQL $$v: $$t"; \
			case $$t in *:*) set -- -f "$${t#*:}" "$${t%%:*}" ;; *) set -- $(BATS_FLAGS) "$$t" ;; esac; \
			$(CHECK_ENV) PGX_TEST_PG_VERSION=$$v PGX_VALIDATE_DIR="$(RECORDS)-pg$$v" \
				$(BATS) --timing "$$@" || failed="$$failed $$v:$$t"; \
		done; \
	done; \
	[ -z "$$failed" ] || { echo "failed:$$failed"; exit 1; }
	@echo "  VALIDATE the records the version runs wrote, against share/pgx/records.yaml"
	$(Q)find $(RECORDS)-pg* -name '*.ndjson' -exec $(BUILD)/bin/pgx-report validate \
		--schema share/pgx/records.yaml {} +

# The same suite, built with AddressSanitizer and UndefinedBehaviorSanitizer;
# on 13 and 17 only server_log.bats (every read-only pgx-poll mode), for time.
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_BUILD ?= build-san
sanitize:
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(MAKE) BUILD=$(SAN_BUILD) CFLAGS="$(SAN_FLAGS)" LDFLAGS="-fsanitize=address,undefined" \
		PG_TESTS=test/server_log.bats check

# ---- fuzzing (libFuzzer) ----
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(notdir $(basename $(wildcard test/fuzz/fuzz_*.c)))
fuzz:
	$(MAKE) BUILD=build-fuzz CC=$(CLANG) CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" \
		LDFLAGS="-fsanitize=address,undefined" $(FUZZ_TARGETS:%=build-fuzz/fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p build-fuzz/corpus/$$t; \
		echo "  FUZZ    $$t ($(FUZZ_SECONDS)s)"; \
		build-fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=16384 -close_fd_mask=3 \
			build-fuzz/corpus/$$t test/fuzz/corpus/$$t || exit 1; \
	done

-include test/fuzz/module.mk

# ---- man pages ----
# pgx-events(7) is assembled from the contract and each command's record
# types (man/events/*.mdoc); the result is committed so man/ reads as is.
# Record types in pipeline order, then any other command's fragment.
EVENT_ORDER := pgx-trace pgx-docker pgx-logmatch pgx-timeline pgx-poll pgx-report pgx-tune pgx-apply
EVENT_FRAGMENTS := $(wildcard $(EVENT_ORDER:%=man/events/%.mdoc)) \
	$(filter-out $(EVENT_ORDER:%=man/events/%.mdoc),$(sort $(wildcard man/events/*.mdoc)))
EVENT_PARTS := man/pgx-events.head $(EVENT_FRAGMENTS) man/pgx-events.tail
man/pgx-events.7: $(EVENT_PARTS)
	cat $(EVENT_PARTS) >$@
all: man/pgx-events.7
print-event-parts:
	@echo $(EVENT_PARTS)

# ---- install ----
MAN1 := $(wildcard man/*.1)
MAN7 := man/pgx-events.7
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SHAREDIR)/pgx $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR)
	install -m 755 $(BINS) $(DESTDIR)$(BINDIR)
	cp -R share/pgx/. $(DESTDIR)$(SHAREDIR)/pgx/
	$(if $(MAN1),install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1)
	$(if $(MAN7),install -m 644 $(MAN7) $(DESTDIR)$(MANDIR)/man7)
	install -m 644 $(wildcard completions/*) $(DESTDIR)$(BASHCOMPDIR)

uninstall:
	rm -f $(COMMANDS:%=$(DESTDIR)$(BINDIR)/%) $(COMMANDS:%=$(DESTDIR)$(BASHCOMPDIR)/%)
	rm -f $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%) $(MAN7:man/%=$(DESTDIR)$(MANDIR)/man7/%)
	rm -rf $(DESTDIR)$(SHAREDIR)/pgx

# ---- packages the build and tests need (Debian) ----
DEBIAN_PACKAGES := build-essential pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev \
	libjansson-dev libyaml-dev libpcre2-dev libpq-dev libcurl4-openssl-dev libarchive-dev \
	postgresql-15 postgresql-contrib bats bats-assert bats-support bats-file jq mandoc \
	docker.io debootstrap valgrind procps iproute2 python3 bc libxml2-utils util-linux \
	gzip bzip2 xz-utils zstd
# health, tuning and workload tests: the real neighbours pgx talks to or is compared with
DEBIAN_PACKAGES += prometheus prometheus-alertmanager prometheus-postgres-exporter pgbouncer \
	patroni etcd-server etcd-client postgresql-15-hypopg pgbadger chromium python3-psycopg2
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "pgx: missing packages; as root run:"; \
		echo "  apt-get install" $$missing; exit 2; \
	fi

# ---- demo: the README's main job on a throwaway PostgreSQL ----
demo: all
	@PATH="$(CURDIR)/$(BUILD)/bin:$$PATH" PGX_SHARE_DIR="$(CURDIR)/share/pgx" \
		PGX_DEMO_OUT="$(CURDIR)/$(BUILD)/demo" share/pgx/demo.sh

lint-man: man/pgx-events.7
	mandoc -Tlint -W warning $(MAN1) $(MAN7)

clean:
	rm -rf build build-san build-fuzz

.PHONY: print-event-parts all check check-pg unit sanitize fuzz install uninstall deps demo lint-man clean
