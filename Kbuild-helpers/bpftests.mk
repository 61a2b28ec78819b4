# Tests that load BPF programs into the running kernel (run by tests/bpf/run.sh).
# tests/bpf/NAME.c -> $(BUILD)/tests/bpf/NAME, linked with libtide.a.

BPFTEST_SRCS := $(wildcard tests/bpf/*.c)
BPFTEST_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFTEST_SRCS))

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(LIBTIDE) $(wildcard include/*.h daemon/*.h) | $(BPF_SKELS)
	$(Q)mkdir -p $(dir $@)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon $(LDFLAGS) $< $(LIBTIDE) $(LDLIBS) -o $@

ALL_TARGETS += $(BPFTEST_BINS)
