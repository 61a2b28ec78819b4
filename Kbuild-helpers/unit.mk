# cmocka unit tests: tests/unit/test_NAME.c -> $(BUILD)/tests/test_NAME
#
# A test links -lcmocka, libtidectl.a and libtide.a (each archive gives only
# the objects the test calls: a daemon test pulls nothing of tidectl), and
# finds the headers of daemon/ and tidectl/.  To reach a module's statics it
# may `#include "../../daemon/module.c"` (or tidectl/, chrony style): the
# test then defines every symbol of that module, so the archive never pulls
# its object and nothing is defined twice.
#
# Per-test link flags, e.g. to stub libvirt behind daemon/virt.c:
#   TEST_LDFLAGS_test_NAME := -Wl,--wrap=virt_domain_get_job_stats
#
#   make check-unit              build and run every test
#   make check-unit T=loop       build and run only tests/unit/test_loop.c
#   make SAN=1 check-unit        the same under ASan+UBSan, in build-san/
#   make unit                    build them only

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_LDLIBS := -lcmocka
# a module included by a test changes that test: depend on the sources too
UNIT_DEPS := $(wildcard tests/unit/*.h include/*.h daemon/*.h daemon/*.c tidectl/*.h \
	tidectl/*.c) $(VERSION_STAMP)

# libvirt stubbed under daemon/virt.c's adapter (see tests/unit/test_virt.c)
TEST_LDFLAGS_test_virt := -Wl,--wrap=virDomainGetJobStats
# inv gets a broken domain XML from "libvirt" in one test
TEST_LDFLAGS_test_inv := -Wl,--wrap=virt_domain_get_xml_desc
# mig's poll runs against canned job stats
TEST_LDFLAGS_test_mig := -Wl,--wrap=virt_domain_get_job_stats \
	-Wl,--wrap=virt_domain_lookup_by_uuid_string -Wl,--wrap=virt_domain_free
# dirty: the store's VMs and the probes' libvirt answers are the test's
TEST_LDFLAGS_test_dirty := -Wl,--wrap=store_vm_next -Wl,--wrap=store_vm_desc \
	-Wl,--wrap=store_vm_find -Wl,--wrap=virt_domain_lookup_by_uuid_string \
	-Wl,--wrap=virt_domain_get_job_stats -Wl,--wrap=virt_domain_start_dirty_rate_calc \
	-Wl,--wrap=virt_domain_get_dirty_rate


$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBTIDECTL) $(LIBTIDE) $(UNIT_DEPS) | $(BUILD)/tests
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -Idaemon -Itidectl -Itests/unit $(LDFLAGS) $(TEST_LDFLAGS_test_$*) \
		$< $(LIBTIDECTL) $(LIBTIDE) $(LDLIBS) $(UNIT_LDLIBS) -o $@

ifdef T
UNIT_RUN := $(filter %/test_$(T),$(UNIT_BINS))
else
UNIT_RUN := $(UNIT_BINS)
endif

.PHONY: unit check-unit
unit: $(UNIT_BINS)

check-unit: $(UNIT_RUN)
	$(call msg,TEST,unit ($(BUILD)))
	$(Q)bash tests/unit/run.sh $(BUILD) $(UNIT_RUN)
