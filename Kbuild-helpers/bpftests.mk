# Tests that load BPF programs into the running kernel (run by tests/bpf/run.sh).
# tests/bpf/NAME.c -> $(BUILD)/tests/bpf/NAME, linked with libtide.a.

BPFTEST_SRCS := $(wildcard tests/bpf/*.c)
BPFTEST_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/bpf/%,$(BPFTEST_SRCS))

$(BUILD)/tests/bpf/%: tests/bpf/%.c $(LIBTIDE) $(wildcard include/*.h daemon/*.h) | $(BPF_SKELS)
	$(Q)mkdir -p $(dir $@)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon $(LDFLAGS) $< $(LIBTIDE) $(LDLIBS) -o $@

ALL_TARGETS += $(BPFTEST_BINS)

# test_cpu and test_kvm include their module's .c (white box) and skeleton,
# so they rebuild when either changes.
$(BUILD)/tests/bpf/test_cpu: daemon/cpu.c $(BUILD)/bpf/cpu.skel.h
$(BUILD)/tests/bpf/test_kvm: daemon/kvm.c $(BUILD)/bpf/kvm.skel.h

# tests/unit/test_net.c (cmocka) runs daemon/net.c against fakes of
# daemon/nl.c, libbpf and if_*index: every call it makes to them is wrapped.
NET_UNIT_WRAPS := tnl_open tnl_open_events tnl_fd tnl_recv_links tnl_link_get \
	tnl_tc_filter_count tnl_has_clsact tnl_close \
	bpf_object__open_skeleton bpf_object__load_skeleton bpf_object__attach_skeleton \
	bpf_object__destroy_skeleton bpf_map__set_max_entries \
	bpf_program__set_expected_attach_type bpf_program__set_autoload \
	bpf_program__fd bpf_program__name bpf_map__update_elem bpf_map__lookup_elem \
	bpf_map__delete_elem bpf_program__attach_tcx bpf_link__destroy bpf_prog_query_opts \
	bpf_tc_hook_create bpf_tc_hook_destroy bpf_tc_attach bpf_tc_detach bpf_tc_query \
	bpf_prog_get_fd_by_id bpf_prog_get_info_by_fd \
	libbpf_num_possible_cpus libbpf_find_vmlinux_btf_id if_indextoname if_nametoindex
NET_UNIT_COMMA := ,
TEST_LDFLAGS_test_net := $(patsubst %,-Wl$(NET_UNIT_COMMA)--wrap=%,$(NET_UNIT_WRAPS))

# Benchmark helpers: tests/bench/NAME.c -> $(BUILD)/tests/bench/NAME, linked
# with libtide.a like the tests; the b-*.sh scripts run them.
BENCH_SRCS := $(wildcard tests/bench/*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/tests/bench/%,$(BENCH_SRCS))

$(BENCH_BINS): $(BUILD)/tests/bench/%: tests/bench/%.c $(LIBTIDE) \
		$(wildcard include/*.h daemon/*.h) | $(BPF_SKELS)
	$(Q)mkdir -p $(dir $@)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon $(LDFLAGS) $< $(LIBTIDE) $(LDLIBS) -o $@

ALL_TARGETS += $(BENCH_BINS)
