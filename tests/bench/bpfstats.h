/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bpfstats.h: kernel time of the BPF programs a bench's process loaded,
 * from BPF stats (run_time_ns), for benches that count every cost.
 * Header-only: each bench is one file.
 *
 *	int stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);	// until closed
 *	struct bpfstats_ids before; bpfstats_ids(&before);
 *	... load programs ...
 *	uint64_t ns0 = bpfstats_new_run_ns(&before, NULL), ns1 = ...;
 */
#ifndef TIDE_BENCH_BPFSTATS_H
#define TIDE_BENCH_BPFSTATS_H

#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#define BPFSTATS_MAX_IDS 4096

struct bpfstats_ids {
	uint32_t id[BPFSTATS_MAX_IDS];
	int n;
};

/* ids of every program loaded now */
static inline void bpfstats_ids(struct bpfstats_ids *s)
{
	__u32 id = 0;

	s->n = 0;
	while (s->n < BPFSTATS_MAX_IDS && !bpf_prog_get_next_id(id, &id))
		s->id[s->n++] = id;
}

/*
 * Sum of run_time_ns over the programs loaded since *before whose name
 * starts with one of tide's prefixes (cpu_, net_, kvm_): the bench's
 * own, not another tool's loaded meanwhile.  *progs: how many.
 */
static inline uint64_t bpfstats_new_run_ns(const struct bpfstats_ids *before, int *progs)
{
	static const char *const prefixes[] = { "cpu_", "net_", "kvm_" };
	struct bpfstats_ids now;
	uint64_t ns = 0;
	int n = 0;

	bpfstats_ids(&now);
	for (int i = 0; i < now.n; i++) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int old = 0, fd, ours = 0;

		for (int j = 0; j < before->n && !old; j++)
			old = before->id[j] == now.id[i];
		if (old)
			continue;
		fd = bpf_prog_get_fd_by_id(now.id[i]);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_prog_get_info_by_fd(fd, &info, &len))
			for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++)
				ours |= !strncmp(info.name, prefixes[p], strlen(prefixes[p]));
		close(fd);
		if (ours) {
			ns += info.run_time_ns;
			n++;
		}
	}
	if (progs)
		*progs = n;
	return ns;
}

#endif /* TIDE_BENCH_BPFSTATS_H */
