# libFuzzer targets, built by `make fuzz` with BUILD=build-fuzz and CC=clang.
FUZZ_LINK := -fsanitize=fuzzer,address,undefined
LOGMATCH_LIB_OBJS = $(filter-out %/main.o,$(pgx-logmatch_OBJS))

$(BUILD)/fuzz/fuzz_ndjson: test/fuzz/fuzz_ndjson.c $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $^ $(LIB_LIBS)

$(BUILD)/fuzz/fuzz_rules: test/fuzz/fuzz_rules.c $(LOGMATCH_LIB_OBJS) $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Icmd/pgx-logmatch $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $^ \
		$(shell $(PKG_CONFIG) --libs $(PKGS_pgx-logmatch)) $(LIB_LIBS)

# Each command's objects but its main.o, linked with that command's libraries.
fuzz_objs = $(filter-out %/main.o,$($(1)_OBJS))
fuzz_libs = $(shell $(PKG_CONFIG) --libs $(PKGS_$(1))) $(LIBS_$(1)) $(LIB_LIBS)

$(BUILD)/fuzz/fuzz_pglog: test/fuzz/fuzz_pglog.c $(LOGMATCH_LIB_OBJS) $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Icmd/pgx-logmatch $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $^ \
		$(call fuzz_libs,pgx-logmatch)

$(BUILD)/fuzz/fuzz_expr: test/fuzz/fuzz_expr.c $(call fuzz_objs,pgx-report) $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Icmd/pgx-report $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $^ \
		$(call fuzz_libs,pgx-report)

$(BUILD)/fuzz/fuzz_apply: test/fuzz/fuzz_apply.c $(call fuzz_objs,pgx-apply) $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Icmd/pgx-apply $(shell $(PKG_CONFIG) --cflags libpq) $(ALL_CFLAGS) \
		$(FUZZ_LINK) -o $@ $^ $(call fuzz_libs,pgx-apply)

$(BUILD)/fuzz/fuzz_docker_stream: test/fuzz/fuzz_docker_stream.c $(call fuzz_objs,pgx-docker) $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Icmd/pgx-docker $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $^ \
		$(call fuzz_libs,pgx-docker)

$(BUILD)/fuzz/fuzz_mask: test/fuzz/fuzz_mask.c $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $^ $(LIB_LIBS)

# pgx-logmatch's format parsers: syslog/logplex headers, log_line_prefix, the whole reader
$(BUILD)/fuzz/fuzz_syslog $(BUILD)/fuzz/fuzz_prefix $(BUILD)/fuzz/fuzz_logreader: \
		$(BUILD)/fuzz/%: test/fuzz/%.c $(LOGMATCH_LIB_OBJS) $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Icmd/pgx-logmatch $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $^ \
		$(call fuzz_libs,pgx-logmatch)

$(BUILD)/fuzz/fuzz_timeline: test/fuzz/fuzz_timeline.c $(call fuzz_objs,pgx-timeline) $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -Icmd/pgx-timeline $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $^ \
		$(call fuzz_libs,pgx-timeline)
