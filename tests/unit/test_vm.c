// SPDX-License-Identifier: GPL-2.0
/*
 * vm: the VM descriptor's copy is deep, its release complete.
 */
#include "unit.h"

#include "vm.h"

static void test_vm_desc_copy_is_deep(void **state)
{
	struct vm_thread th[1] = { { .tid = 7, .vcpu = 0 } };
	struct vm_tap tp[1] = { { .ifname = "vnet3", .mac = "52:54:00:00:00:03" } };
	struct vm_desc a = { .name = "a",
			     .state = "paused",
			     .threads = th,
			     .n_threads = 1,
			     .taps = tp,
			     .n_taps = 1 },
		       b;

	assert_int_equal(vm_desc_copy(&b, &a), 0);
	assert_ptr_not_equal(b.name, a.name);
	assert_string_equal(b.state, "paused");
	assert_ptr_not_equal(b.threads, a.threads);
	assert_string_equal(b.taps[0].ifname, "vnet3");
	vm_desc_clear(&b);
	assert_null(b.name);
	assert_int_equal(b.n_taps, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vm_desc_copy_is_deep),
	};

	unit_arm_alarm(60);
	return cmocka_run_group_tests_name("vm", tests, NULL, NULL);
}
