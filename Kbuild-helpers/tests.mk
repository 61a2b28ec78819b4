# Test, demo and bench orchestration.  Unit-test build rules are in unit.mk;
# the testbed and integration tests are in tests/testbed and tests/integration.
#
# check:  deps -> build -> format-check -> lint -> unit tests (plain and
#         ASan/UBSan) -> BPF load tests -> guest image -> integration tests
#         on the real multi-host testbed.

.PHONY: check check-unit-san check-bpf check-integration demo bench

check: deps
	$(Q)$(MAKE) all
	$(Q)$(MAKE) format-check
	$(Q)$(MAKE) lint
	$(Q)$(MAKE) check-unit
	$(Q)$(MAKE) SAN=1 check-unit
	$(Q)$(MAKE) check-fuzz
	$(Q)$(MAKE) check-bpf
	$(Q)$(MAKE) guest
	$(Q)$(MAKE) check-integration

check-bpf: all
	$(call msg,TEST,bpf)
	$(Q)bash tests/bpf/run.sh $(BUILD)

check-integration: all guest
	$(call msg,TEST,integration)
	$(Q)BUILD=$(BUILD) bash tests/integration/run.sh

demo: deps
	$(Q)$(MAKE) all
	$(Q)$(MAKE) guest
	$(Q)BUILD=$(BUILD) bash tests/demo.sh

bench: all guest
	$(Q)BUILD=$(BUILD) bash tests/bench/run.sh
