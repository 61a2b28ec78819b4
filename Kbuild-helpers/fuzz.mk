# libFuzzer targets (tests/fuzz/fuzz_NAME.c -> $(BUILD)/fuzz/fuzz_NAME), built
# with clang -fsanitize=fuzzer,address,undefined over the sources they test
# (the libtide.a objects are gcc's, without libFuzzer's coverage).
#
#   make fuzz                 build them and run each FUZZ_SECONDS (60)
#   make fuzz FUZZ_SECONDS=600
#   make check-fuzz           the short run of make check (FUZZ_SECONDS=10)
# Findings land in $(BUILD)/fuzz/NAME-findings/; the seed corpora are in
# tests/fuzz/corpus/NAME/ (the run's own corpus grows in $(BUILD)/fuzz/).

FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -DTIDE_VERSION='"fuzz"' -Iinclude -Idaemon -Itidectl -Ihooks \
	$(shell $(PKG_CONFIG) --cflags libxml-2.0 2>/dev/null)
FUZZ_SECONDS ?= 60

FUZZ_conf_SRCS := daemon/conf.c daemon/conf_keys.c daemon/conf_state.c daemon/log.c daemon/util.c
FUZZ_conf_LIBS := -lconfig
FUZZ_domxml_SRCS := daemon/inv_parse.c daemon/xmlu.c daemon/vm.c daemon/procfs.c daemon/log.c \
	daemon/util.c hooks/qemu_hook_xml.c
FUZZ_domxml_LIBS := $(shell $(PKG_CONFIG) --libs libxml-2.0 2>/dev/null)

FUZZ_NAMES := conf domxml
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))

$(BUILD)/fuzz:
	$(Q)mkdir -p $@

.SECONDEXPANSION:
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_$$*_SRCS) $(wildcard daemon/*.h hooks/*.h) | $(BUILD)/fuzz
	$(call msg,FUZZCC,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(FUZZ_$*_SRCS) $(FUZZ_$*_LIBS) -o $@

.PHONY: fuzz check-fuzz
fuzz: $(FUZZ_BINS)
	$(Q)bash tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

check-fuzz: $(FUZZ_BINS)
	$(Q)bash tests/fuzz/run.sh $(BUILD) 10 $(FUZZ_NAMES)
