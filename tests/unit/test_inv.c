// SPDX-License-Identifier: GPL-2.0
/*
 * inv: the VM inventory.
 *   - domain XML parsing (taps, memory units, vCPUs) with libxml2, and
 *     every kind of bad document refused with a sentence, never a crash;
 *   - the QEMU pid (pid file, checked; /proc scan by -uuid) and vCPU
 *     threads (comm "CPU n/KVM", "CPU n/TCG", "ALL CPUs/TCG") on a fake
 *     /proc tree;
 *   - lifecycle events through tide's loop with libvirt's test driver
 *     (a node file of our own): start, stop, suspend, transient domains,
 *     vCPU threads that appear after the start event, libvirt's XML
 *     turning to garbage, the connection lost and found again.
 *
 * inv.c is included (its statics: the connection, the pending list).  Its
 * libvirt calls run on vconn's workers, so every check waits on the loop
 * for the inventory to catch up.
 * Linked with -Wl,--wrap=virt_domain_get_xml_desc (TEST_LDFLAGS_test_inv)
 * so that a test can have libvirt hand over a broken XML.
 */
#include "unit.h"

#include <sys/stat.h>

#include "../../daemon/inv.c"
#include "store.h"
#include "work.h"

#define WATCHDOG_MS 20000
#define UUID1 "11111111-2222-3333-4444-555555555555"
#define UUID2 "11111111-2222-3333-4444-666666666666"
#define UUID3 "11111111-2222-3333-4444-777777777777"

static int watchdog_id;

static void watchdog_fired(void *arg)
{
	fail_msg("loop watchdog: the test did not finish within %d ms", WATCHDOG_MS);
}

/* ---- fake /proc and run dir ---------------------------------------------- */

static void write_at(const char *dir, const char *rel, const void *data, size_t len)
{
	char path[1024], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void fake_qemu(const char *proc, pid_t pid, const char *uuid)
{
	char rel[64], cmd[256];
	int len;

	/* NUL-separated, as /proc/PID/cmdline */
	len = snprintf(cmd, sizeof(cmd), "qemu-system-x86_64%c-name%cguest=x%c-uuid%c%s%c", 0, 0, 0,
		       0, uuid, 0);
	snprintf(rel, sizeof(rel), "%d/cmdline", (int)pid);
	write_at(proc, rel, cmd, (size_t)len);
	snprintf(rel, sizeof(rel), "%d/task/%d/comm", (int)pid, (int)pid);
	write_at(proc, rel, "qemu-system-x86\n", 16);
}

static void fake_thread(const char *proc, pid_t pid, pid_t tid, const char *comm)
{
	char rel[64], line[64];

	snprintf(rel, sizeof(rel), "%d/task/%d/comm", (int)pid, (int)tid);
	snprintf(line, sizeof(line), "%s\n", comm);
	write_at(proc, rel, line, strlen(line));
}

static void pid_file(const char *run, const char *name, const char *text)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "qemu/%s.pid", name);
	write_at(run, rel, text, strlen(text));
}

/* ---- XML ------------------------------------------------------------------ */

static const char live_xml[] =
	"<domain type='qemu' id='3'>\n"
	"  <name>web-1</name>\n"
	"  <uuid>AbCdEf01-2222-3333-4444-555555555555</uuid>\n"
	"  <memory unit='KiB'>262144</memory>\n"
	"  <currentMemory unit='KiB'>131072</currentMemory>\n"
	"  <vcpu placement='static' current='2'>4</vcpu>\n"
	"  <os><type arch='x86_64' machine='pc-q35-10.0'>hvm</type></os>\n"
	"  <devices>\n"
	"    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
	"    <interface type='bridge'>\n"
	"      <mac address='52:54:00:aa:bb:01'/>\n"
	"      <source bridge='br0'/>\n"
	"      <target dev='vnet0'/>\n"
	"      <model type='virtio'/>\n"
	"      <alias name='net0'/>\n"
	"    </interface>\n"
	"    <interface type='hostdev' managed='yes'>\n"
	"      <mac address='52:54:00:aa:bb:02'/>\n"
	"      <source><address type='pci' domain='0' bus='1' slot='0' function='0'/></source>\n"
	"    </interface>\n"
	"    <interface type='ethernet'>\n"
	"      <target dev='tap-web-1b' managed='no'/>\n"
	"    </interface>\n"
	"    <console type='pty'/>\n"
	"  </devices>\n"
	"</domain>\n";

static void test_parse_live_xml(void **state)
{
	struct vm_desc d = { .pid = 77 };
	char err[256] = "";

	assert_int_equal(inv_parse_domain_xml(live_xml, &d, err, sizeof(err)), 0);
	assert_string_equal(d.name, "web-1");
	assert_string_equal(d.uuid, "abcdef01-2222-3333-4444-555555555555");
	assert_int_equal(d.memory_bytes, 256ull << 20);
	assert_int_equal(d.current_memory_bytes, 128ull << 20);
	assert_int_equal(d.vcpus, 2);
	assert_int_equal(d.vcpus_max, 4);
	/* the hostdev interface has no host-side device */
	assert_int_equal(d.n_taps, 2);
	assert_string_equal(d.taps[0].ifname, "vnet0");
	assert_string_equal(d.taps[0].mac, "52:54:00:aa:bb:01");
	assert_string_equal(d.taps[1].ifname, "tap-web-1b");
	assert_string_equal(d.taps[1].mac, "");
	/* not in the XML: left alone */
	assert_int_equal(d.pid, 77);
	vm_desc_clear(&d);
}

static void test_parse_units_and_defaults(void **state)
{
	static const struct {
		const char *memory;
		uint64_t bytes;
	} cases[] = {
		{ "<memory>1024</memory>", 1024ull << 10 }, /* KiB by default */
		{ "<memory unit='b'>4096</memory>", 4096 },
		{ "<memory unit='bytes'>4096</memory>", 4096 },
		{ "<memory unit='KB'>3</memory>", 3000 },
		{ "<memory unit='M'>2</memory>", 2ull << 20 },
		{ "<memory unit='m'>2</memory>", 2ull << 20 },
		{ "<memory unit='MiB'>128</memory>", 128ull << 20 },
		{ "<memory unit='GB'>1</memory>", 1000000000ull },
		{ "<memory unit='GiB'> 2 </memory>", 2ull << 30 },
		{ "<memory unit='T'>1</memory>", 1ull << 40 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vm_desc d = { 0 };
		char xml[512], err[256] = "";

		snprintf(xml, sizeof(xml),
			 "<domain><name>a</name>"
			 "<uuid>11111111-2222-3333-4444-555555555555</uuid>%s</domain>",
			 cases[i].memory);
		assert_int_equal(inv_parse_domain_xml(xml, &d, err, sizeof(err)), 0);
		assert_int_equal(d.memory_bytes, cases[i].bytes);
		/* no <currentMemory>: all of it; no <vcpu>: one; no devices */
		assert_int_equal(d.current_memory_bytes, cases[i].bytes);
		assert_int_equal(d.vcpus, 1);
		assert_int_equal(d.n_taps, 0);
		vm_desc_clear(&d);
	}
}

/* The operator's policy; a bad one is ignored with why, and another
 * namespace's <policy> is not tide's. */
static void test_parse_policy(void **state)
{
	static const struct {
		const char *md;
		bool pinned;
		uint32_t max_downtime_ms;
		int32_t priority;
		const char *error;
	} cases[] = {
		{ "", false, 0, 0, "" },
		{ "<metadata><t:policy xmlns:t='urn:tide:policy:1' pinned='yes' "
		  "max_downtime_ms='500' priority='-3'/></metadata>",
		  true, 500, -3, "" },
		{ "<metadata><policy xmlns='urn:other' pinned='yes'/></metadata>", false, 0, 0, "" },
		{ "<metadata><t:policy xmlns:t='urn:tide:policy:1' pinned='maybe'/></metadata>",
		  false, 0, 0, "pinned='maybe' is neither 'yes' nor 'no'" },
		{ "<metadata><t:policy xmlns:t='urn:tide:policy:1' pinned='yes' "
		  "max_downtime_ms='0'/></metadata>",
		  false, 0, 0, "max_downtime_ms='0' is not an integer from 1 to 60000" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vm_desc d = { 0 };
		char xml[512], err[256] = "";

		snprintf(xml, sizeof(xml),
			 "<domain><name>a</name>"
			 "<uuid>11111111-2222-3333-4444-555555555555</uuid>%s</domain>",
			 cases[i].md);
		assert_int_equal(inv_parse_domain_xml(xml, &d, err, sizeof(err)), 0);
		assert_int_equal(d.policy.pinned, cases[i].pinned);
		assert_int_equal(d.policy.max_downtime_ms, cases[i].max_downtime_ms);
		assert_int_equal(d.policy.priority, cases[i].priority);
		assert_string_equal(d.policy.error, cases[i].error);
		vm_desc_clear(&d);
	}
}

static void test_parse_garbage_is_an_error(void **state)
{
	static const struct {
		const char *xml;
		const char *why;
	} cases[] = {
		{ "", "not XML" },
		{ "this is not XML", "not XML" },
		{ "<domain><name>a</name>", "not XML" },
		{ "<domain><name>a</name></domian>", "not XML" },
		{ "\xff\xfe<\x00d\x00", "not XML" },
		{ "<network><name>a</name></network>", "root <network>" },
		{ "<domain><uuid>11111111-2222-3333-4444-555555555555</uuid></domain>", "no <name>" },
		{ "<domain><name></name><uuid>11111111-2222-3333-4444-555555555555</uuid></domain>",
		  "no <name>" },
		{ "<domain><name>a</name></domain>", "no valid <uuid>" },
		{ "<domain><name>a</name><uuid>not-a-uuid</uuid></domain>", "no valid <uuid>" },
		{ "<domain><name>a</name><uuid>11111111-2222-3333-4444-55555555555g</uuid></domain>",
		  "no valid <uuid>" },
		{ "<domain><name>a</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
		  "<memory>lots</memory></domain>",
		  "<memory> is not a number" },
		{ "<domain><name>a</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
		  "<memory>-5</memory></domain>",
		  "<memory> is not a number" },
		{ "<domain><name>a</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
		  "<memory unit='parsecs'>5</memory></domain>",
		  "unit 'parsecs'" },
		{ "<domain><name>a</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
		  "<memory unit='EiB'>100</memory></domain>",
		  "too large" },
		{ "<domain><name>a</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
		  "<vcpu>0</vcpu></domain>",
		  "<vcpu>" },
		{ "<domain><name>a</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
		  "<vcpu current='3'>2</vcpu></domain>",
		  "current='3'" },
		{ "<domain><name>a</name><uuid>11111111-2222-3333-4444-555555555555</uuid>"
		  "<vcpu>two</vcpu></domain>",
		  "<vcpu>" },
		{ "<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaa'>"
		  "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
		  "<domain><name>&b;</name><uuid>11111111-2222-3333-4444-555555555555</uuid></domain>",
		  "DTD" },
	};
	struct vm_desc d = { 0 };
	char err[256];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		if (inv_parse_domain_xml(cases[i].xml, &d, err, sizeof(err)) != -EINVAL)
			fail_msg("case %zu (%s) was not refused", i, cases[i].why);
		if (!strstr(err, cases[i].why))
			fail_msg("case %zu: error '%s' does not say '%s'", i, err, cases[i].why);
		assert_null(d.name);
	}
	assert_int_equal(inv_parse_domain_xml(NULL, &d, err, sizeof(err)), -EINVAL);
}

/* ---- /proc ---------------------------------------------------------------- */

struct dirs {
	char *top;
	char proc[512];
	char run[512];
	char node[512];
	char uri[600];
};

static void make_dirs(struct dirs *x)
{
	x->top = unit_mkdtemp("inv");
	assert_non_null(x->top);
	snprintf(x->proc, sizeof(x->proc), "%s/proc", x->top);
	snprintf(x->run, sizeof(x->run), "%s/run", x->top);
	snprintf(x->node, sizeof(x->node), "%s/node.xml", x->top);
	snprintf(x->uri, sizeof(x->uri), "test://%s", x->node);
	mkdir(x->proc, 0755);
	mkdir(x->run, 0755);
}

static void test_qemu_pid_and_vcpu_threads(void **state)
{
	struct vm_thread *th = NULL;
	struct dirs x;
	uint32_t n = 0;

	make_dirs(&x);
	fake_qemu(x.proc, 4242, UUID1);
	fake_thread(x.proc, 4242, 4243, "CPU 0/KVM");
	fake_thread(x.proc, 4242, 4250, "CPU 10/KVM");
	fake_thread(x.proc, 4242, 4244, "CPU 1/KVM");
	fake_thread(x.proc, 4242, 4245, "IO mon_iothread");
	fake_thread(x.proc, 4242, 4246, "CPU");
	fake_thread(x.proc, 4242, 4247, "vnc_worker");

	/* the pid file, checked against the cmdline */
	pid_file(x.run, "vm1", "4242\n");
	assert_int_equal(inv_find_qemu_pid(x.run, x.proc, "vm1", UUID1), 4242);
	/* a stale file whose pid is another QEMU's: refused, and the scan finds nothing */
	assert_int_equal(inv_find_qemu_pid(x.run, x.proc, "vm1", UUID2), 0);
	/* no pid file: found by the scan of /proc for -uuid */
	fake_qemu(x.proc, 5252, UUID2);
	assert_int_equal(inv_find_qemu_pid(x.run, x.proc, "vm2", UUID2), 5252);
	assert_int_equal(inv_find_qemu_pid(x.run, x.proc, "vm2",
					   "11111111-2222-3333-4444-666666666666"),
			 5252);
	/* a pid file naming a process that is gone: the scan instead */
	pid_file(x.run, "vm2", "9999");
	assert_int_equal(inv_find_qemu_pid(x.run, x.proc, "vm2", UUID2), 5252);
	pid_file(x.run, "vm2", "junk");
	assert_int_equal(inv_find_qemu_pid(x.run, x.proc, "vm2", UUID2), 5252);
	/* '/' in a name: no file looked up */
	assert_int_equal(inv_find_qemu_pid(x.run, x.proc, "../vm1", UUID3), 0);

	assert_int_equal(inv_scan_vcpus(x.proc, 4242, &th, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(th[0].tid, 4243);
	assert_int_equal(th[0].vcpu, 0);
	assert_int_equal(th[1].tid, 4244);
	assert_int_equal(th[1].vcpu, 1);
	assert_int_equal(th[2].tid, 4250);
	assert_int_equal(th[2].vcpu, 10);
	free(th);

	/* TCG: MTTCG threads, and the single thread without it */
	fake_thread(x.proc, 6000, 6001, "CPU 0/TCG");
	fake_thread(x.proc, 6100, 6101, "ALL CPUs/TCG");
	assert_int_equal(inv_scan_vcpus(x.proc, 6000, &th, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(th[0].vcpu, 0);
	free(th);
	assert_int_equal(inv_scan_vcpus(x.proc, 6100, &th, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(th[0].vcpu, VM_VCPU_ALL);
	free(th);
	assert_int_equal(inv_scan_vcpus(x.proc, 7777, &th, &n), -ENOENT);
	assert_null(th);
	unit_rmtree(x.top);
}

/* ---- the inventory, through libvirt's test driver ------------------------- */

static const char node_xml[] =
	"<node>\n"
	"  <domain type='test'>\n"
	"    <name>vm1</name><uuid>" UUID1 "</uuid>\n"
	"    <memory unit='MiB'>128</memory><vcpu>2</vcpu><os><type>hvm</type></os>\n"
	"    <devices><interface type='ethernet'><mac address='52:54:00:00:00:01'/>"
	"<target dev='tap-t1'/></interface></devices>\n"
	"  </domain>\n"
	"  <domain type='test'>\n"
	"    <name>vm2</name><uuid>" UUID2 "</uuid>\n"
	"    <memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os>\n"
	"  </domain>\n"
	"  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\n"
	"    <name>vm3</name><uuid>" UUID3 "</uuid>\n"
	"    <memory unit='MiB'>64</memory><vcpu>2</vcpu><os><type>hvm</type></os>\n"
	"    <test:runstate>5</test:runstate>\n"
	"  </domain>\n"
	"</node>\n";

static struct fixture {
	struct dirs x;
	int tracked_threads;
} fx;

/* no BPF here: collect tracks nothing and reads nothing */
static int rd_track_thread(uint32_t slot, pid_t pid, const struct vm_thread *t)
{
	fx.tracked_threads++;
	return 0;
}

static void rd_untrack_thread(const struct vm_thread *t)
{
	fx.tracked_threads--;
}

static const struct collect_readers no_readers = {
	.track_thread = rd_track_thread,
	.untrack_thread = rd_untrack_thread,
};

/* which uuid gets a broken XML from "libvirt" (NULL: none) */
static const char *garbage_for;

int __real_virt_domain_get_xml_desc(virDomainPtr dom, unsigned int flags, char **xml);
int __wrap_virt_domain_get_xml_desc(virDomainPtr dom, unsigned int flags, char **xml);

int __wrap_virt_domain_get_xml_desc(virDomainPtr dom, unsigned int flags, char **xml)
{
	char uuid[VIR_UUID_STRING_BUFLEN];

	if (garbage_for && virDomainGetUUIDString(dom, uuid) == 0 && !strcmp(uuid, garbage_for)) {
		*xml = strdup("<domain><name>broken</name><uuid>zzz</uuid><memory>x");
		return *xml ? 0 : -ENOMEM;
	}
	return __real_virt_domain_get_xml_desc(dom, flags, xml);
}

static int setup(void **state)
{
	struct collect_opts co = { .readers = &no_readers, .ring_samples = 4, .max_vms = 16 };

	memset(&fx, 0, sizeof(fx));
	garbage_for = NULL;
	log_set_level(LOG_LEVEL_ERR);
	make_dirs(&fx.x);
	write_at(fx.x.top, "node.xml", node_xml, strlen(node_xml));
	/* vm1: pid file and both vCPU threads; vm2: found by the scan, one thread */
	fake_qemu(fx.x.proc, 4242, UUID1);
	fake_thread(fx.x.proc, 4242, 4243, "CPU 0/KVM");
	fake_thread(fx.x.proc, 4242, 4244, "CPU 1/KVM");
	pid_file(fx.x.run, "vm1", "4242\n");
	fake_qemu(fx.x.proc, 5252, UUID2);
	fake_thread(fx.x.proc, 5252, 5253, "CPU 0/TCG");
	if (loop_init() || loop_add_timer(WATCHDOG_MS, 0, watchdog_fired, NULL, &watchdog_id))
		return -1;
	if (virt_init() || work_init(NULL) || vconn_init() || collect_init(&co))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	inv_fini();
	collect_fini();
	vconn_fini();
	work_fini();
	virt_fini();
	loop_fini();
	unit_rmtree(fx.x.top);
	return 0;
}

static int start_inv(void)
{
	struct inv_opts o = {
		.uri = fx.x.uri,
		.run_dir = fx.x.run,
		.proc_root = fx.x.proc,
		.rescan_ms = 20,
	};

	return inv_init(&o);
}

/* Run the loop until cond holds (the watchdog fails the test otherwise). */
#define RUN_UNTIL(cond)                                         \
	do {                                                    \
		while (!(cond))                                 \
			assert_int_equal(loop_run_once(10), 0); \
	} while (0)

/* inv_init(), then the loop until the VM list is in */
static void start_and_sync(void)
{
	assert_int_equal(start_inv(), 0);
	RUN_UNTIL(inv_connected());
}

static const struct vm_desc *vm(const char *name)
{
	const struct store_vm *v = store_vm_find(name);

	return v ? store_vm_desc(v) : NULL;
}

static uint32_t slot(const char *name)
{
	return store_vm_slot(store_vm_find(name));
}

static virDomainPtr dom(const char *name)
{
	virDomainPtr d = virDomainLookupByName(vconn_conn(is.vc), name);

	assert_non_null(d);
	return d;
}

static void test_initial_inventory(void **state)
{
	start_and_sync();
	/* vm3 is shut off */
	assert_int_equal(store_vm_count(), 2);
	assert_non_null(vm("vm1"));
	assert_int_equal(vm("vm1")->pid, 4242);
	assert_int_equal(vm("vm1")->n_threads, 2);
	assert_int_equal(vm("vm1")->memory_bytes, 128ull << 20);
	assert_int_equal(vm("vm1")->n_taps, 1);
	assert_string_equal(vm("vm1")->taps[0].ifname, "tap-t1");
	assert_string_equal(vm("vm1")->state, "running");
	assert_int_equal(vm("vm2")->pid, 5252);
	assert_int_equal(vm("vm2")->n_threads, 1);
	assert_null(vm("vm3"));
	assert_int_equal(fx.tracked_threads, 3);
}

static void test_events_add_and_remove(void **state)
{
	virDomainPtr d;

	start_and_sync();

	/* stopped: dropped, its threads untracked */
	d = dom("vm1");
	assert_int_equal(virDomainDestroy(d), 0);
	virDomainFree(d);
	RUN_UNTIL(!vm("vm1"));
	assert_int_equal(fx.tracked_threads, 1);

	/* suspended: still tracked, state follows */
	d = dom("vm2");
	assert_int_equal(virDomainSuspend(d), 0);
	RUN_UNTIL(!strcmp(vm("vm2")->state, "paused"));
	assert_int_equal(virDomainResume(d), 0);
	RUN_UNTIL(!strcmp(vm("vm2")->state, "running"));
	virDomainFree(d);

	/* started, with its vCPU threads appearing only later */
	d = dom("vm3");
	assert_int_equal(virDomainCreate(d), 0);
	RUN_UNTIL(vm("vm3"));
	assert_int_equal(vm("vm3")->pid, 0);
	assert_int_equal(vm("vm3")->n_threads, 0);
	fake_qemu(fx.x.proc, 6363, UUID3);
	fake_thread(fx.x.proc, 6363, 6364, "CPU 0/KVM");
	pid_file(fx.x.run, "vm3", "6363");
	RUN_UNTIL(vm("vm3")->n_threads == 1);
	assert_int_equal(vm("vm3")->pid, 6363);
	fake_thread(fx.x.proc, 6363, 6365, "CPU 1/KVM");
	RUN_UNTIL(vm("vm3")->n_threads == 2);
	assert_true(vm_by_uuid(UUID3)->complete);
	assert_int_equal(fx.tracked_threads, 3);
	virDomainFree(d);

	/* a transient domain: tracked while it runs, dropped when it goes */
	d = virDomainCreateXML(vconn_conn(is.vc),
			       "<domain type='test'><name>tr</name>"
			       "<uuid>11111111-2222-3333-4444-888888888888</uuid>"
			       "<memory unit='MiB'>32</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
			       "<devices><interface type='ethernet'><target dev='tap-tr'/>"
			       "</interface></devices></domain>",
			       0);
	assert_non_null(d);
	RUN_UNTIL(vm("tr"));
	assert_int_equal(vm("tr")->n_taps, 1);
	assert_int_equal(store_vm_count(), 3);
	assert_int_equal(virDomainDestroy(d), 0);
	virDomainFree(d);
	RUN_UNTIL(!vm("tr"));
	assert_int_equal(store_vm_count(), 2);
}

static void test_garbage_xml_from_libvirt(void **state)
{
	garbage_for = UUID2;
	start_and_sync();
	/* vm2 is refused (logged), the others are tracked */
	assert_non_null(vm("vm1"));
	assert_null(vm("vm2"));
	/* and it is tracked once libvirt makes sense again */
	garbage_for = NULL;
	queue_uuid(UUID2);
	RUN_UNTIL(vm("vm2"));
}

static void test_reconnect_after_libvirtd_restart(void **state)
{
	uint32_t slot1, slot2;

	start_and_sync();
	slot1 = slot("vm1");
	slot2 = slot("vm2");
	/* what libvirt's close callback does when libvirtd goes away */
	vconn_lost(is.vc, VIR_CONNECT_CLOSE_REASON_EOF);
	RUN_UNTIL(!inv_connected());
	/* tracked VMs stay while libvirt is away */
	assert_int_equal(store_vm_count(), 2);
	RUN_UNTIL(inv_connected());
	assert_int_equal(inv_reconnects(), 1);
	/* reconciled: the same VMs in the same slots, figures going on */
	assert_int_equal(slot("vm1"), slot1);
	assert_int_equal(slot("vm2"), slot2);
	assert_int_equal(fx.tracked_threads, 3);
}

static void test_libvirt_unreachable_then_back(void **state)
{
	char path[600];

	/* no node file yet: the connection fails, inv starts anyway */
	snprintf(path, sizeof(path), "%s.away", fx.x.node);
	assert_int_equal(rename(fx.x.node, path), 0);
	assert_int_equal(start_inv(), 0);
	RUN_UNTIL(vconn_last_error(is.vc)[0]);
	assert_false(inv_connected());
	assert_int_equal(store_vm_count(), 0);
	assert_non_null(strstr(vconn_last_error(is.vc), fx.x.node));
	/* libvirt answers again: connected on a later try, VMs tracked */
	assert_int_equal(rename(path, fx.x.node), 0);
	RUN_UNTIL(inv_connected());
	assert_int_equal(store_vm_count(), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_live_xml),
		cmocka_unit_test(test_parse_units_and_defaults),
		cmocka_unit_test(test_parse_policy),
		cmocka_unit_test(test_parse_garbage_is_an_error),
		cmocka_unit_test(test_qemu_pid_and_vcpu_threads),
		cmocka_unit_test_setup_teardown(test_initial_inventory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_add_and_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_xml_from_libvirt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_after_libvirtd_restart, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_libvirt_unreachable_then_back, setup, teardown),
	};

	unit_arm_alarm(120);
	return cmocka_run_group_tests_name("inv", tests, NULL, NULL);
}
