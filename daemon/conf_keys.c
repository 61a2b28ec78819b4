// SPDX-License-Identifier: GPL-2.0
/*
 * conf_keys: the table of every configuration key (type, range, default,
 * whether a reload may change it), the defaults it gives, and freeing a
 * configuration.  Adding a key starts here (see conf.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "plan.h"
#include "react.h"

static const char *const cpu_source_names[] = { "auto", "raw_tp", "proc", NULL };
static const char *const net_source_names[] = { "auto", "tcx", "tc", "netlink", NULL };
static const char *const unreachable_names[] = { "admit", "refuse", NULL };

const char *conf_cpu_source_name(enum conf_cpu_source s)
{
	return (unsigned int)s < ARRAY_SIZE(cpu_source_names) - 1 ? cpu_source_names[s] : "?";
}

const char *conf_net_source_name(enum conf_net_source s)
{
	return (unsigned int)s < ARRAY_SIZE(net_source_names) - 1 ? net_source_names[s] : "?";
}

const struct key conf_keys[] = {
	{ "libvirt_uri", KEY_URI, FIELD(libvirt_uri), 0, 0, false, NULL, TIDE_DEFAULT_LIBVIRT_URI, 0 },
	{ "control_socket", KEY_SOCKET_PATH, FIELD(control_socket), 0, 0, false, NULL,
	  TIDE_DEFAULT_CONTROL_SOCKET, 0 },
	{ "state_dir", KEY_ABS_PATH, FIELD(state_dir), 0, 0, false, NULL, TIDE_DEFAULT_STATE_DIR, 0 },
	{ "libvirt_run_dir", KEY_ABS_PATH, FIELD(libvirt_run_dir), 0, 0, false, NULL,
	  TIDE_DEFAULT_LIBVIRT_RUN_DIR, 0 },
	{ "libvirt_reconnect_max_ms", KEY_MS, FIELD(libvirt_reconnect_max_ms), 100, 3600000, false,
	  NULL, NULL, 30000 },
	{ "libvirt_call_timeout_ms", KEY_MS, FIELD(libvirt_call_timeout_ms), 100, 600000, false,
	  NULL, NULL, 10000 },
	{ "libvirt_workers", KEY_UINT, FIELD(libvirt_workers), 1, 64, false, NULL, NULL, 4 },
	{ "peer_poll_ms", KEY_MS, FIELD(peer_poll_ms), 100, 3600000, false, NULL, NULL, 5000 },
	{ "tick_ms", KEY_MS, FIELD(tick_ms), 10, 60000, true, NULL, NULL, 1000 },
	{ "ring_samples", KEY_UINT, FIELD(ring_samples), 2, 4096, false, NULL, NULL, 64 },
	{ "max_vms", KEY_UINT, FIELD(max_vms), 1, 4096, false, NULL, NULL, 256 },
	/* 0: the machine's online CPUs; a testbed host owns a cpuset of them */
	{ "host_cpus", KEY_UINT, FIELD(host_cpus), 0, 65536, true, NULL, NULL, 0 },
	{ "cpu_source", KEY_CHOICE, FIELD(cpu_source), 0, 0, false, cpu_source_names, NULL,
	  CONF_CPU_AUTO },
	{ "net_source", KEY_CHOICE, FIELD(net_source), 0, 0, false, net_source_names, NULL,
	  CONF_NET_AUTO },
	{ "kvm_stats", KEY_BOOL, FIELD(kvm_stats), 0, 0, false, NULL, NULL, true },
	{ "textfile_enabled", KEY_BOOL, FIELD(textfile_enabled), 0, 0, true, NULL, NULL, true },
	{ "textfile_dir", KEY_OPT_PATH, FIELD(textfile_dir), 0, 0, true, NULL,
	  TIDE_DEFAULT_TEXTFILE_DIR, 0 },
	{ "textfile_interval_ms", KEY_MS, FIELD(textfile_interval_ms), 100, 3600000, true, NULL,
	  NULL, 15000 },
	/* dirty-page curve: libvirt page-sampling probes (dirty.h) */
	{ "dirty_probe", KEY_BOOL, FIELD(dirty_probe), 0, 0, true, NULL, NULL, true },
	{ "dirty_probe_interval_ms", KEY_MS, FIELD(dirty_probe_interval_ms), 1000, 86400000, true,
	  NULL, NULL, 20000 },
	{ "dirty_probe_budget", KEY_UINT, FIELD(dirty_probe_budget), 1, 64, true, NULL, NULL, 2 },
	/* the same through QEMU's monitor: taints the domain, hence off */
	{ "dirty_probe_qmp", KEY_BOOL, FIELD(dirty_probe_qmp), 0, 0, true, NULL, NULL, false },
	/* QEMU's MIN_SAMPLE_PAGE_COUNT .. MAX_SAMPLE_PAGE_COUNT */
	{ "dirty_probe_sample_pages", KEY_UINT, FIELD(dirty_probe_sample_pages), 128, 4096, true,
	  NULL, NULL, 4096 },
	/* what a migration runs under when nobody says (plan, records) */
	{ "migration_bandwidth_mib_s", KEY_UINT, FIELD(migration_bandwidth_mib_s), 0, 1048576, true,
	  NULL, NULL, 0 },
	{ "link_bandwidth_mib_s", KEY_UINT, FIELD(link_bandwidth_mib_s), 1, 1048576, true, NULL,
	  NULL, 1024 },
	{ "migration_downtime_limit_ms", KEY_MS, FIELD(migration_downtime_limit_ms), 1, 60000, true,
	  NULL, NULL, 300 },
	{ "migration_history", KEY_UINT, FIELD(migration_history), 1, 1000000, true, NULL, NULL,
	  1000 },
	/* the migrations tide drives (mig_drive.c) */
	{ "migration_timeout_ms", KEY_MS, FIELD(migration_timeout_ms), 1000, 86400000, true, NULL,
	  NULL, 120000 },
	{ "migration_max_downtime_ms", KEY_MS, FIELD(migration_max_downtime_ms), 1, 60000, true,
	  NULL, NULL, 1000 },
	{ "migration_postcopy", KEY_BOOL, FIELD(migration_postcopy), 0, 0, true, NULL, NULL, false },
	{ "migration_escalate_pct", KEY_UINT, FIELD(migration_escalate_pct), 100, 10000, true, NULL,
	  NULL, 150 },
	{ "migration_escalate_slack_ms", KEY_MS, FIELD(migration_escalate_slack_ms), 0, 3600000,
	  true, NULL, NULL, 3000 },
	{ "migration_escalate_interval_ms", KEY_MS, FIELD(migration_escalate_interval_ms), 100,
	  3600000, true, NULL, NULL, 2000 },
	/* the planner (plan.h; tided.conf(5), PLANNER) */
	{ "plan_high", KEY_RATIO, FIELD(plan_high), 100, 2000, true, NULL, NULL, 800 },
	{ "plan_low", KEY_RATIO, FIELD(plan_low), 0, 1000, true, NULL, NULL, 300 },
	{ "plan_hold_up_ms", KEY_MS, FIELD(plan_hold_up_ms), 0, 86400000, true, NULL, NULL,
	  PLAN_DEFAULT_HOLD_UP_MS },
	{ "plan_hold_down_ms", KEY_MS, FIELD(plan_hold_down_ms), 0, 86400000, true, NULL, NULL,
	  PLAN_DEFAULT_HOLD_DOWN_MS },
	{ "plan_ewma_ms", KEY_MS, FIELD(plan_ewma_ms), 0, 3600000, true, NULL, NULL,
	  PLAN_DEFAULT_EWMA_MS },
	{ "plan_cooldown_ms", KEY_MS, FIELD(plan_cooldown_ms), 0, 86400000, true, NULL, NULL,
	  PLAN_DEFAULT_COOLDOWN_MS },
	{ "plan_no_return_ms", KEY_MS, FIELD(plan_no_return_ms), 0, 86400000, true, NULL, NULL,
	  PLAN_DEFAULT_NO_RETURN_MS },
	{ "plan_max_outgoing", KEY_UINT, FIELD(plan_max_outgoing), 1, 64, true, NULL, NULL,
	  PLAN_DEFAULT_MAX_OUTGOING },
	{ "plan_max_incoming", KEY_UINT, FIELD(plan_max_incoming), 1, 64, true, NULL, NULL,
	  PLAN_DEFAULT_MAX_INCOMING },
	{ "plan_max_peer_age_ms", KEY_MS, FIELD(plan_max_peer_age_ms), 100, 86400000, true, NULL,
	  NULL, PLAN_DEFAULT_MAX_PEER_AGE_MS },
	{ "plan_consolidate", KEY_BOOL, FIELD(plan_consolidate), 0, 0, true, NULL, NULL, true },
	{ "plan_dry_run", KEY_BOOL, FIELD(plan_dry_run), 0, 0, true, NULL, NULL, false },
	/* reaction hooks (react.h) */
	{ "hooks_dir", KEY_OPT_PATH, FIELD(hooks_dir), 0, 0, true, NULL, REACT_HOOKS_DIR_DEFAULT, 0 },
	{ "hook_timeout_ms", KEY_MS, FIELD(hook_timeout_ms), 100, 3600000, true, NULL, NULL,
	  REACT_TIMEOUT_MS_DEFAULT },
	{ "hook_max_running", KEY_UINT, FIELD(hook_max_running), 1, 64, true, NULL, NULL,
	  REACT_MAX_RUNNING_DEFAULT },
	/* admission of incoming migrations (admit.h, tide-qemu-hook) */
	{ "admit_enabled", KEY_BOOL, FIELD(admit_enabled), 0, 0, true, NULL, NULL, true },
	/*
	 * MiB, not bytes: libconfig 1.5 (Debian 12) wraps an integer of more
	 * than 32 bits written without its L suffix, silently (9 GiB in bytes
	 * reads as 1 GiB).  0: the machine's MemTotal; a testbed host gets room
	 * for so many guests.
	 */
	{ "host_memory_mib", KEY_UINT, FIELD(host_memory_mib), 0, 1 << 30, true, NULL, NULL, 0 },
	{ "admit_reserve_memory_mib", KEY_UINT, FIELD(admit_reserve_memory_mib), 0, 1 << 30, true,
	  NULL, NULL, 1024 },
	{ "admit_timeout_ms", KEY_MS, FIELD(admit_timeout_ms), 1000, 86400000, true, NULL, NULL,
	  120000 },
	/* tided never reads it: tide-qemu-hook does, from this file */
	{ "admission_when_unreachable", KEY_CHOICE, FIELD(admission_when_unreachable), 0, 0, true,
	  unreachable_names, NULL, CONF_UNREACHABLE_ADMIT },
	{ "log_level", KEY_LOG_LEVEL, FIELD(log_level), 0, 0, true, NULL, NULL, LOG_LEVEL_INFO },
	{ "peers", KEY_PEERS, FIELD(peers), 0, 0, true, NULL, NULL, 0 },
};

const size_t conf_n_keys = ARRAY_SIZE(conf_keys);

const struct key *conf_find_key(const char *name)
{
	for (size_t i = 0; i < conf_n_keys; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

char **conf_str_field(struct tide_conf *c, const struct key *k)
{
	return (char **)((char *)c + k->offset);
}

void conf_free(struct tide_conf *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->libvirt_uri);
	free(c->control_socket);
	free(c->state_dir);
	free(c->libvirt_run_dir);
	free(c->textfile_dir);
	free(c->hooks_dir);
	for (size_t i = 0; i < c->n_peers; i++) {
		free(c->peers[i].name);
		free(c->peers[i].uri);
	}
	free(c->peers);
	free(c);
}

int conf_defaults(struct tide_conf **out)
{
	struct tide_conf *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < conf_n_keys; i++) {
		const struct key *k = &conf_keys[i];
		char *f = (char *)c + k->offset;

		switch (k->type) {
		case KEY_URI:
		case KEY_ABS_PATH:
		case KEY_SOCKET_PATH:
		case KEY_OPT_PATH:
			*(char **)(void *)f = strdup(k->def_str);
			if (!*(char **)(void *)f) {
				conf_free(c);
				return -ENOMEM;
			}
			break;
		case KEY_MS:
		case KEY_UINT:
			*(uint32_t *)(void *)f = (uint32_t)k->def;
			break;
		case KEY_BOOL:
			*(bool *)(void *)f = k->def;
			break;
		case KEY_RATIO:
			*(double *)(void *)f = (double)k->def / 1000.0;
			break;
		case KEY_CHOICE:
			*(int *)(void *)f = (int)k->def;
			break;
		case KEY_LOG_LEVEL:
			c->log_level = (enum log_level)k->def;
			break;
		case KEY_PEERS:
			break; /* none */
		}
	}
	*out = c;
	return 0;
}
