# Feature probe: run the freshly built `tided --probe` on this machine and
# keep what it found in $(BUILD)/features.txt (table) and features.json,
# printing one summary line.
#
# It reports and never fails the build: the build machine need not be the
# machine tided runs on, and without root every BPF probe says "no".
# tided itself probes again at start-up and logs which BPF attach path it
# uses (tp_btf, else raw_tp) and what is missing.
#
#   make features     probe again now (bpffs mounted since? another kernel?)

FEATURES_TXT := $(BUILD)/features.txt
FEATURES_JSON := $(BUILD)/features.json

define run_probe
	$(Q)$(BUILD)/tided --probe > $(FEATURES_TXT).tmp 2>&1 || true
	$(Q)mv $(FEATURES_TXT).tmp $(FEATURES_TXT)
	$(Q)$(BUILD)/tided --probe -j > $(FEATURES_JSON).tmp 2>/dev/null || true
	$(Q)mv $(FEATURES_JSON).tmp $(FEATURES_JSON)
	@printf '  %-8s %s\n' FEATURES "$$(sed -n 's/^summary: //p' $(FEATURES_TXT)) ($(FEATURES_TXT))"
endef

# after every rebuild of tided
$(FEATURES_TXT): $(BUILD)/tided
	$(run_probe)

.PHONY: features
features: $(BUILD)/tided
	$(run_probe)

ALL_TARGETS += $(FEATURES_TXT)
