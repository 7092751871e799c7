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

$(BUILD)/fuzz/fuzz_mask: test/fuzz/fuzz_mask.c $(LIBPGX)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(FUZZ_LINK) -o $@ $^ $(LIB_LIBS)
