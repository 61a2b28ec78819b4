/*
 * tide-guestload: the workload of tide's test guests, and its host-side client.
 *
 * In the guest it runs as the child of /init and is steered over TCP.
 *
 * Port 7000, control: one command per line, one reply line per command,
 * "ok key=value ..." or "err reason"; a refused command changes nothing.
 *   cpu PCT              burn PCT % of one vCPU (busy PCT ms of every 100 ms)
 *   dirty RATE WSS_MIB   rewrite RATE pages/s (paced every 10 ms) cycling over a
 *                        working set of WSS_MIB MiB; "dirty 0 0" stops and frees it
 *   dirtyfast WSS_MIB    rewrite the working set as fast as one thread can
 *   dirtyrand RATE WSS_MIB   as dirty, but each page written is drawn
 *                        uniformly at random from the working set (same rate,
 *                        same set: the other shape of the dirty curve W(t))
 *   wt T_MS[,T_MS...]    the true dirty curve: for each window length T, the
 *                        distinct pages of the working set written in the last
 *                        T ms, from the program's own record of its writes:
 *                        ok now_ms=N wss_pages=P w=T:PAGES,T:PAGES...
 *   ballast MIB          (re)allocate a filled, never rewritten area of MIB MiB
 *   verify               check every page now: ok pages=N expected_pages=E
 *                        mismatches=M total_mismatches=T gen=G written=W
 *                        gen_sum=S ledger_ok=0|1 covered_mib=C mem_mib=R
 *                        (M: pages bad now; T: every corruption ever found, by
 *                        verify, the background scanner or the dirtier; G:
 *                        highest page generation; W: pages the dirtier wrote
 *                        since boot; S: the sum of the working set's page
 *                        generations, which must equal W less what was written
 *                        into earlier working sets: ledger_ok; E: the pages the
 *                        ballast and working set were asked to have; C of R:
 *                        MiB checksummed of the RAM the guest kernel manages,
 *                        MemTotal, less than the VM's size).  "err ..." when
 *                        the boot-time ballast could not be had.
 *   status               ok uptime_ms= cpu_pct= dirty_rate= wss_mib= ballast_mib=
 *                        pages_written= total_mismatches= dirty_mode= dirty_rate_meas=
 *                        scan_passes= cpu_ms= starts= sessions= gen=
 *   corrupt wss|ballast PAGE   test hook: flip a byte behind the checksum's back
 *   corrupt ledger N     test hook: add N (may be negative) to pages_written
 *                        without writing a page: the ledger no longer adds up
 *   corrupt drop PAGES   test hook: lose the ballast's last PAGES pages without
 *                        saying so: fewer pages than were asked for
 *   help, quit
 * Port 7001, sessions: every line received on a connection is answered with
 * the next value of that connection's counter, from 1.
 *
 * Every page it owns holds content derived from a seed, the page's place and
 * a per-page generation, and the page's checksum is kept apart from it.  A
 * live migration that loses a dirtied page, or corrupts one, leaves a page
 * whose content no longer matches its record: "verify", a slow background
 * scanner and the dirtier itself (before it overwrites a page) find it and
 * print "TIDE-GUEST MISMATCH page=..." on the console.  Writer and checkers
 * exclude each other per chunk of pages, so a check never sees a half-written
 * page (no false mismatches).
 *
 * Checksummed: the ballast and the working set, and nothing else (not the
 * guest kernel, its page cache or this program).  By default the ballast
 * takes all the memory the guest has free at boot less MEM_RESERVE_MIB, and a
 * working set asked for later is taken out of the ballast when the guest has
 * no other room for it, so most of the guest's free memory stays covered;
 * verify says how much (covered_mib of mem_mib).  The testbed boots every
 * guest with tide.ballast=auto unless told otherwise.
 *
 * Kernel arguments: tide.ballast=MIB|auto (default 32 MiB: "serve" on a host
 * must not take the host's memory), tide.dirty=RATE,WSS_MIB,
 * tide.cpu=PCT, tide.seed=N, tide.scan_s=SEC (background pass, default 10).
 *
 * On the host the same static binary is the client:
 *   tide-guestload ctl [-t SEC] ADDR[:PORT] CMD...
 *   tide-guestload session [-t SEC] [-g MAX_GAP_MS] ADDR[:PORT] N INTERVAL_MS
 * and "tide-guestload serve [-p CTL_PORT]" runs the server anywhere (the
 * session port is CTL_PORT + 1), which is how it is tested without a VM.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CTL_PORT		7000
#define PAGE_BYTES		4096u
#define PAGE_WORDS		(PAGE_BYTES / sizeof(uint64_t))
#define MIB_PAGES		((size_t)(1024 * 1024 / PAGE_BYTES))
#define CHUNK_PAGES		16	/* pages under one lock: small, so writer and checkers rarely meet */
#define MAX_MIB			(1L << 20)
#define MAX_RATE		1000000L	/* pages per second */
#define PAGE_MAGIC		0x5449444547554553ull	/* "TIDEGUES" */
#define NSEC_PER_SEC		((uint64_t)1000000000)
#define NSEC_PER_MSEC		((uint64_t)1000000)
#define DIRTY_TICK_NS		(10 * NSEC_PER_MSEC)
#define CPU_PERIOD_NS		(100 * NSEC_PER_MSEC)
#define SCAN_TICK_NS		(100 * NSEC_PER_MSEC)
#define SCAN_MAX_CPU_SHARE	50	/* the scanner sleeps at least 49x its work: <= 2 % of a vCPU */
#define BALLAST_AUTO		(-1L)	/* all free memory less MEM_RESERVE_MIB */
#define BALLAST_SHRINK_SLACK_MIB	4
/* without tide.ballast= (serve on a host, no VM): never "auto" there */
#define DEFAULT_BALLAST_MIB	32
#define DEFAULT_SCAN_S		10
#define MEM_RESERVE_MIB		16	/* left to the guest kernel when sizing memory areas */
#define LINE_MAX_LEN		256
#define REPLY_MAX_LEN		512
#define MAX_CTL_CONNS		32
#define MAX_SESSION_CONNS	512
#define CONN_STACK_BYTES	(128 * 1024)
#define MAX_MISMATCH_LINES	100	/* the serial console is slow: do not flood it */

enum { REG_WSS, REG_BALLAST, REG_COUNT };
static const char *const region_names[REG_COUNT] = { "wss", "ballast" };

enum dirty_mode { DIRTY_OFF, DIRTY_PACED, DIRTY_FAST, DIRTY_RANDOM };
static const char *const dirty_mode_names[] = { "off", "paced", "fast", "random" };
#define MAX_WT_WINDOWS		16

struct region {
	size_t npages;
	size_t nchunks;
	unsigned char *mem;
	uint64_t *sum;		/* recorded checksum per page, apart from the pages themselves */
	uint32_t *gen;		/* generation the page was last written with */
	uint64_t *written_ns;	/* CLOCK_MONOTONIC of its last write (0: never): W(t) */
	uint8_t *bad;		/* mismatch already counted: count each corruption once */
	pthread_mutex_t *locks;	/* one per chunk */
};

struct mismatch {
	int reg;
	size_t idx;
	uint32_t gen;
	uint64_t header_gen;
	uint64_t want;
	uint64_t got;
	bool fresh;
};

static struct {
	uint64_t seed;
	uint64_t start_ns;
	unsigned scan_s;
	long starts;

	/* Serialises the commands that change the configuration, and verify so
	 * that it sees one layout from start to end. */
	pthread_mutex_t ctl_lock;
	/* Read-held while pages are touched, write-held while a region is swapped. */
	pthread_rwlock_t layout;
	struct region reg[REG_COUNT];

	/* Incremented under the chunk lock of the pages written, so that a
	 * reader holding every chunk lock sees it agree with the generations. */
	atomic_uint_fast64_t pages_written;
	uint64_t wss_written_base;	/* pages_written when the working set was made */
	long ballast_want_mib;		/* what the ballast was asked to be */
	char boot_error[REPLY_MAX_LEN + 64];	/* a boot allocation that failed: "" if none */
	atomic_uint_fast64_t total_mismatches;
	atomic_uint_fast64_t scan_passes;
	atomic_uint mismatch_lines;

	pthread_mutex_t cpu_lock;
	pthread_cond_t cpu_cond;
	atomic_int cpu_pct;

	pthread_t dirty_thread;
	bool dirty_running;		/* under ctl_lock */
	atomic_bool dirty_stop;
	atomic_int dirty_mode;
	atomic_long dirty_rate;
	atomic_long dirty_rate_meas;
	size_t dirty_cursor;		/* dirtier thread only */

	atomic_int ctl_conns;
	atomic_int session_conns;
} g;

/* ---------------------------------------------------------------- helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t)
{
	struct timespec ts = { .tv_sec = t / NSEC_PER_SEC, .tv_nsec = t % NSEC_PER_SEC };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Copies a user token for an error reply: printable, short, one line. */
static const char *sanitize(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (s[i] > ' ' && s[i] < 0x7f) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int spawn(void *(*fn)(void *), void *arg, size_t stack, pthread_t *out)
{
	pthread_attr_t attr;
	pthread_t t;
	int err;

	pthread_attr_init(&attr);
	if (stack)
		pthread_attr_setstacksize(&attr, stack);
	if (!out)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (err)
		return -err;
	if (out)
		*out = t;
	return 0;
}

/* Set by SIGINT/SIGTERM in the session client: a wait for a reply ends. */
static volatile sig_atomic_t session_stop;

/* Line reader over a socket, with an optional deadline. */
struct linebuf {
	int fd;
	size_t len;
	bool discarding;
	char buf[1024];
};

/*
 * Returns the length of the next line (newline and a trailing CR removed,
 * NUL-terminated in out), -ENODATA at end of stream, -EMSGSIZE for a line
 * longer than out (consumed and dropped), -ETIMEDOUT, or another -errno.
 */
static int linebuf_read(struct linebuf *lb, char *out, size_t outsz, int timeout_ms)
{
	uint64_t deadline = timeout_ms >= 0 ? now_ns() + (uint64_t)timeout_ms * NSEC_PER_MSEC : 0;

	for (;;) {
		char *nl = memchr(lb->buf, '\n', lb->len);
		ssize_t n;

		if (nl) {
			size_t len = (size_t)(nl - lb->buf);
			int ret;

			if (len > 0 && lb->buf[len - 1] == '\r')
				len--;
			if (lb->discarding || len >= outsz) {
				ret = -EMSGSIZE;
			} else {
				memcpy(out, lb->buf, len);
				out[len] = '\0';
				ret = (int)len;
			}
			lb->discarding = false;
			lb->len -= (size_t)(nl + 1 - lb->buf);
			memmove(lb->buf, nl + 1, lb->len);
			return ret;
		}
		if (lb->len == sizeof(lb->buf)) {
			lb->discarding = true;
			lb->len = 0;
		}
		if (timeout_ms >= 0) {
			struct pollfd pfd = { .fd = lb->fd, .events = POLLIN };
			uint64_t t = now_ns();
			int r;

			if (t >= deadline)
				return -ETIMEDOUT;
			r = poll(&pfd, 1, (int)((deadline - t + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC));
			if (r < 0 && errno != EINTR)
				return -errno;
			if (r < 0 && session_stop)
				return -EINTR;
			if (r <= 0)
				continue;
		}
		n = recv(lb->fd, lb->buf + lb->len, sizeof(lb->buf) - lb->len, 0);
		if (n == 0)
			return -ENODATA;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		lb->len += (size_t)n;
	}
}

/* ------------------------------------------------------- page content */

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static inline uint64_t page_id(int reg, size_t idx)
{
	return ((uint64_t)reg << 56) | (uint64_t)idx;
}

static inline uint64_t *page_ptr(const struct region *r, size_t idx)
{
	return (uint64_t *)(void *)(r->mem + idx * PAGE_BYTES);
}

/*
 * Four independent lanes keep the multiplies pipelined.  (h ^ w) * odd is a
 * bijection in h, and so is the final fold in each lane, so any single
 * changed word always changes the sum.
 */
static uint64_t page_sum(const uint64_t *w)
{
	uint64_t h0 = 1, h1 = 2, h2 = 3, h3 = 4;
	size_t i;

	for (i = 0; i < PAGE_WORDS; i += 4) {
		h0 = (h0 ^ w[i]) * 0x9e3779b97f4a7c15ull;
		h1 = (h1 ^ w[i + 1]) * 0xc2b2ae3d27d4eb4full;
		h2 = (h2 ^ w[i + 2]) * 0x165667b19e3779f9ull;
		h3 = (h3 ^ w[i + 3]) * 0xd6e8feb86659fd93ull;
	}
	return mix64(h0 ^ mix64(h1 ^ mix64(h2 ^ mix64(h3))));
}

/*
 * A header that names the page (so a page landing at the wrong place is
 * caught too), then a xorshift stream: cheap under TCG, and different for
 * every generation so that a page that missed its last copy differs.
 */
static void page_fill(int reg, size_t idx, uint32_t gen, uint64_t *w)
{
	uint64_t x = mix64(g.seed ^ mix64(page_id(reg, idx) ^ ((uint64_t)gen << 32))) | 1;
	size_t i;

	w[0] = PAGE_MAGIC;
	w[1] = page_id(reg, idx);
	w[2] = gen;
	w[3] = g.seed;
	for (i = 4; i < PAGE_WORDS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w[i] = x;
	}
}

/* Caller holds the page's chunk lock (or owns an unpublished region). */
static void page_write(struct region *r, int reg, size_t idx, uint32_t gen)
{
	uint64_t *w = page_ptr(r, idx);

	page_fill(reg, idx, gen, w);
	r->gen[idx] = gen;
	r->sum[idx] = page_sum(w);
	r->bad[idx] = 0;
}

/*
 * Compares a page with its record; on a mismatch fills m, marks the page as
 * counted and returns true.  Caller holds the page's chunk lock.
 */
static bool page_check(struct region *r, int reg, size_t idx, struct mismatch *m)
{
	const uint64_t *w = page_ptr(r, idx);
	uint64_t got = page_sum(w);

	if (got == r->sum[idx] && w[0] == PAGE_MAGIC && w[1] == page_id(reg, idx) &&
	    w[2] == r->gen[idx] && w[3] == g.seed)
		return false;
	*m = (struct mismatch){
		.reg = reg, .idx = idx, .gen = r->gen[idx], .header_gen = w[2],
		.want = r->sum[idx], .got = got, .fresh = !r->bad[idx],
	};
	r->bad[idx] = 1;
	return true;
}

/*
 * Checks one chunk, recording mismatching pages in mm (room for CHUNK_PAGES).
 * Caller holds the layout lock for reading.  Returns the number of
 * mismatching pages.
 */
static unsigned chunk_check(struct region *r, int reg, size_t chunk,
			    struct mismatch *mm, uint32_t *max_gen)
{
	size_t idx = chunk * CHUNK_PAGES;
	size_t end = idx + CHUNK_PAGES < r->npages ? idx + CHUNK_PAGES : r->npages;
	unsigned n = 0;

	pthread_mutex_lock(&r->locks[chunk]);
	for (; idx < end; idx++) {
		if (r->gen[idx] > *max_gen)
			*max_gen = r->gen[idx];
		if (page_check(r, reg, idx, &mm[n]))
			n++;
	}
	pthread_mutex_unlock(&r->locks[chunk]);
	return n;
}

static void mismatches_report(const struct mismatch *mm, unsigned n, const char *by)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		const struct mismatch *m = &mm[i];
		unsigned line;

		if (!m->fresh)
			continue;
		atomic_fetch_add(&g.total_mismatches, 1);
		line = atomic_fetch_add(&g.mismatch_lines, 1);
		if (line < MAX_MISMATCH_LINES)
			fprintf(stderr, "TIDE-GUEST MISMATCH page=%s:%zu gen=%" PRIu32
				" header_gen=%" PRIu64 " sum=%016" PRIx64 " want=%016" PRIx64 " by=%s\n",
				region_names[m->reg], m->idx, m->gen, m->header_gen, m->got, m->want, by);
		else if (line == MAX_MISMATCH_LINES)
			fprintf(stderr, "TIDE-GUEST further mismatches counted but not printed\n");
	}
}

/* ------------------------------------------------------------ regions */

static void region_free(struct region *r)
{
	size_t i;

	if (r->mem)
		munmap(r->mem, r->npages * PAGE_BYTES);
	for (i = 0; i < r->nchunks; i++)
		pthread_mutex_destroy(&r->locks[i]);
	free(r->locks);
	free(r->sum);
	free(r->gen);
	free(r->written_ns);
	free(r->bad);
	memset(r, 0, sizeof(*r));
}

/* Allocates and fills a region that nobody else sees yet. */
static int region_alloc(struct region *r, int reg, size_t npages)
{
	size_t nchunks = (npages + CHUNK_PAGES - 1) / CHUNK_PAGES;
	size_t i;
	void *mem;

	memset(r, 0, sizeof(*r));
	if (npages == 0)
		return 0;
	mem = mmap(NULL, npages * PAGE_BYTES, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	r->mem = mem;
	r->npages = npages;
	r->sum = calloc(npages, sizeof(*r->sum));
	r->gen = calloc(npages, sizeof(*r->gen));
	r->written_ns = calloc(npages, sizeof(*r->written_ns));
	r->bad = calloc(npages, sizeof(*r->bad));
	r->locks = calloc(nchunks, sizeof(*r->locks));
	if (!r->sum || !r->gen || !r->written_ns || !r->bad || !r->locks) {
		region_free(r);
		return -ENOMEM;
	}
	for (i = 0; i < nchunks; i++)
		pthread_mutex_init(&r->locks[i], NULL);
	r->nchunks = nchunks;
	for (i = 0; i < npages; i++)
		page_write(r, reg, i, 0);
	return 0;
}

static long mem_available_mib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

/*
 * Checks that a region of new_mib can replace one of old_mib without driving
 * the guest into the OOM killer, which would kill this program and lose its
 * record.  Writes an err reply and returns -ENOMEM when it cannot.
 */
static int mem_check(long new_mib, long old_mib, char *reply, size_t len)
{
	long avail = mem_available_mib();

	if (avail < 0 || new_mib <= old_mib || new_mib <= avail + old_mib - MEM_RESERVE_MIB)
		return 0;
	snprintf(reply, len, "err not enough memory: need %ld MiB, can use %ld (%ld MiB available less %d kept for the kernel)",
		 new_mib, avail + old_mib - MEM_RESERVE_MIB, avail + old_mib, MEM_RESERVE_MIB);
	return -ENOMEM;
}

static long region_mib(int reg)
{
	long mib;

	pthread_rwlock_rdlock(&g.layout);
	mib = (long)(g.reg[reg].npages / MIB_PAGES);
	pthread_rwlock_unlock(&g.layout);
	return mib;
}

/*
 * Replaces a region by a freshly filled one of mib MiB.  The old one goes
 * first, since a small guest may not hold both; meanwhile checkers see an
 * empty region.  Caller holds ctl_lock and has stopped the dirtier.
 */
static int region_replace(int reg, long mib)
{
	struct region old, fresh;
	int err;

	pthread_rwlock_wrlock(&g.layout);
	old = g.reg[reg];
	memset(&g.reg[reg], 0, sizeof(g.reg[reg]));
	pthread_rwlock_unlock(&g.layout);
	region_free(&old);

	err = region_alloc(&fresh, reg, (size_t)mib * MIB_PAGES);
	if (err)
		return err;
	pthread_rwlock_wrlock(&g.layout);
	g.reg[reg] = fresh;
	/* the dirtier is stopped: nothing adds to pages_written meanwhile */
	if (reg == REG_WSS)
		g.wss_written_base = atomic_load(&g.pages_written);
	pthread_rwlock_unlock(&g.layout);
	return 0;
}

/*
 * Gives the tail of the ballast back to the guest so that a working set
 * fits: its pages were never rewritten, so what remains keeps its records.
 * Caller holds ctl_lock.
 */
static void ballast_shrink(long new_mib)
{
	struct region *r = &g.reg[REG_BALLAST];
	size_t npages = (size_t)new_mib * MIB_PAGES, nchunks, i;

	pthread_rwlock_wrlock(&g.layout);
	if (npages < r->npages) {
		nchunks = (npages + CHUNK_PAGES - 1) / CHUNK_PAGES;
		munmap(r->mem + npages * PAGE_BYTES, (r->npages - npages) * PAGE_BYTES);
		for (i = nchunks; i < r->nchunks; i++)
			pthread_mutex_destroy(&r->locks[i]);
		r->npages = npages;
		r->nchunks = nchunks;
		if (npages == 0)
			r->mem = NULL;
	}
	pthread_rwlock_unlock(&g.layout);
}

/* ------------------------------------------------------------ dirtier */

/*
 * Rewrites n pages of the working set from the cursor on.  Each page is
 * checked before it is overwritten: a page that a migration lost would
 * otherwise be healed by the next write before any scan saw it.  Returns the
 * number of pages written.
 */
static uint64_t dirty_pages(uint64_t n)
{
	struct region *r = &g.reg[REG_WSS];
	struct mismatch mm[CHUNK_PAGES];
	uint64_t done = 0;

	pthread_rwlock_rdlock(&g.layout);
	while (done < n && r->npages > 0) {
		size_t idx = g.dirty_cursor % r->npages;
		size_t chunk = idx / CHUNK_PAGES;
		size_t end = (chunk + 1) * CHUNK_PAGES;
		unsigned nmm = 0;

		if (end > r->npages)
			end = r->npages;
		uint64_t before = done;

		uint64_t t = now_ns();

		pthread_mutex_lock(&r->locks[chunk]);
		for (; idx < end && done < n; idx++, done++) {
			if (page_check(r, REG_WSS, idx, &mm[nmm]))
				nmm++;
			page_write(r, REG_WSS, idx, r->gen[idx] + 1);
			r->written_ns[idx] = t;
		}
		atomic_fetch_add(&g.pages_written, done - before);
		pthread_mutex_unlock(&r->locks[chunk]);
		g.dirty_cursor = idx % r->npages;
		if (nmm)
			mismatches_report(mm, nmm, "dirtier");
	}
	pthread_rwlock_unlock(&g.layout);
	return done;
}

/*
 * Rewrites n pages each drawn uniformly at random from the working set
 * (xorshift, seeded per dirtier): W(t) = WSS * (1 - e^(-rate*t/WSS)).
 * Returns the number of pages written.
 */
static uint64_t dirty_pages_random(uint64_t n, uint64_t *rng)
{
	struct region *r = &g.reg[REG_WSS];
	struct mismatch mm;
	uint64_t done = 0;

	pthread_rwlock_rdlock(&g.layout);
	for (; done < n && r->npages > 0; done++) {
		size_t idx, chunk;
		bool bad;

		*rng ^= *rng << 13;
		*rng ^= *rng >> 7;
		*rng ^= *rng << 17;
		idx = (size_t)(*rng % r->npages);
		chunk = idx / CHUNK_PAGES;
		pthread_mutex_lock(&r->locks[chunk]);
		bad = page_check(r, REG_WSS, idx, &mm);
		page_write(r, REG_WSS, idx, r->gen[idx] + 1);
		r->written_ns[idx] = now_ns();
		atomic_fetch_add(&g.pages_written, 1);
		pthread_mutex_unlock(&r->locks[chunk]);
		if (bad)
			mismatches_report(&mm, 1, "dirtier");
	}
	pthread_rwlock_unlock(&g.layout);
	return done;
}

static void *dirty_main(void *arg)
{
	const bool fast = atomic_load(&g.dirty_mode) == DIRTY_FAST;
	const bool random = atomic_load(&g.dirty_mode) == DIRTY_RANDOM;
	uint64_t rng = mix64(g.seed ^ now_ns()) | 1;
	const uint64_t rate = (uint64_t)atomic_load(&g.dirty_rate);
	/* After a pause (the VM stopped, the thread starved), catch up at most
	 * this much: a burst would not be the rate that was asked for. */
	const uint64_t max_backlog = rate / 10 + 1;
	uint64_t t0 = now_ns(), tick = t0, due = 0, win_start = t0, win_pages = 0;

	(void)arg;
	while (!atomic_load(&g.dirty_stop)) {
		uint64_t n = CHUNK_PAGES, t;

		if (!fast) {
			uint64_t el, target;

			tick += DIRTY_TICK_NS;
			sleep_until_ns(tick);
			t = now_ns();
			if (t > tick + 10 * DIRTY_TICK_NS)
				tick = t;
			el = t - t0;
			target = el / NSEC_PER_SEC * rate + el % NSEC_PER_SEC * rate / NSEC_PER_SEC;
			if (target > due + max_backlog)
				due = target - max_backlog;
			n = target - due;
			due = target;
		}
		win_pages += random ? dirty_pages_random(n, &rng) : dirty_pages(n);
		t = now_ns();
		if (t - win_start >= NSEC_PER_SEC) {
			atomic_store(&g.dirty_rate_meas, (long)(win_pages * NSEC_PER_SEC / (t - win_start)));
			win_start = t;
			win_pages = 0;
		}
	}
	atomic_store(&g.dirty_rate_meas, 0);
	return NULL;
}

/* Caller holds ctl_lock. */
static void dirty_stop_thread(void)
{
	if (!g.dirty_running)
		return;
	atomic_store(&g.dirty_stop, true);
	pthread_join(g.dirty_thread, NULL);
	g.dirty_running = false;
	atomic_store(&g.dirty_mode, DIRTY_OFF);
	atomic_store(&g.dirty_rate, 0);
}

/* Caller holds ctl_lock and has stopped the previous dirtier. */
static int dirty_start_thread(enum dirty_mode mode, long rate)
{
	int err;

	if (mode == DIRTY_OFF)
		return 0;
	atomic_store(&g.dirty_stop, false);
	atomic_store(&g.dirty_mode, mode);
	atomic_store(&g.dirty_rate, mode == DIRTY_FAST ? 0 : rate);
	err = spawn(dirty_main, NULL, CONN_STACK_BYTES, &g.dirty_thread);
	if (err) {
		atomic_store(&g.dirty_mode, DIRTY_OFF);
		atomic_store(&g.dirty_rate, 0);
		return err;
	}
	g.dirty_running = true;
	return 0;
}

/* Caller holds ctl_lock. Writes the reply. */
static int dirty_configure(enum dirty_mode mode, long rate, long wss_mib, char *reply, size_t len)
{
	long old_mib = region_mib(REG_WSS), ballast_mib = region_mib(REG_BALLAST);
	long avail = mem_available_mib();
	int err;

	/* no room: take it out of the ballast, which is there to cover what
	 * the guest does not otherwise use */
	if (avail >= 0 && ballast_mib > 0 && wss_mib > old_mib &&
	    wss_mib > avail + old_mib - MEM_RESERVE_MIB) {
		/* freed pages do not all show in MemAvailable at once: a margin */
		long need = wss_mib - (avail + old_mib - MEM_RESERVE_MIB) + BALLAST_SHRINK_SLACK_MIB;
		long keep = ballast_mib > need ? ballast_mib - need : 0;

		ballast_shrink(keep);
		g.ballast_want_mib = keep;
	}
	err = mem_check(wss_mib, old_mib, reply, len);
	if (err)
		return err;
	dirty_stop_thread();
	/* Same size: keep the pages and their generations. */
	if (wss_mib != old_mib) {
		err = region_replace(REG_WSS, wss_mib);
		if (err) {
			snprintf(reply, len, "err cannot allocate a %ld MiB working set: %s",
				 wss_mib, strerror(-err));
			return err;
		}
	}
	err = dirty_start_thread(mode, rate);
	if (err) {
		snprintf(reply, len, "err cannot start the dirtier thread: %s", strerror(-err));
		return err;
	}
	snprintf(reply, len, "ok dirty_mode=%s dirty_rate=%ld wss_mib=%ld ballast_mib=%ld",
		 dirty_mode_names[mode], mode == DIRTY_FAST || mode == DIRTY_OFF ? 0L : rate, wss_mib,
		 region_mib(REG_BALLAST));
	return 0;
}

/* ------------------------------------------------------ cpu and scanner */

static void *cpu_main(void *arg)
{
	volatile uint64_t sink = 0;

	(void)arg;
	for (;;) {
		uint64_t start, busy_end;
		int pct;

		pthread_mutex_lock(&g.cpu_lock);
		while ((pct = atomic_load(&g.cpu_pct)) == 0)
			pthread_cond_wait(&g.cpu_cond, &g.cpu_lock);
		pthread_mutex_unlock(&g.cpu_lock);

		start = now_ns();
		busy_end = start + CPU_PERIOD_NS * (uint64_t)pct / 100;
		while (now_ns() < busy_end) {
			int i;

			for (i = 0; i < 1000; i++)
				sink = sink + (uint64_t)i;
		}
		if (pct < 100)
			sleep_until_ns(start + CPU_PERIOD_NS);
	}
	return NULL;
}

static void cpu_set(int pct)
{
	pthread_mutex_lock(&g.cpu_lock);
	atomic_store(&g.cpu_pct, pct);
	pthread_cond_signal(&g.cpu_cond);
	pthread_mutex_unlock(&g.cpu_lock);
}

/*
 * Re-verifies every page, one slice every SCAN_TICK_NS so that a full pass
 * takes about scan_s seconds, and never more than 1/SCAN_MAX_CPU_SHARE of a
 * vCPU (a pass just takes longer on a slow guest).  A mismatch that heals
 * before the test asks "verify" (the dirtier rewrote the page) is still
 * counted here.
 */
static void *scan_main(void *arg)
{
	struct mismatch mm[CHUNK_PAGES];
	size_t pos = 0;

	(void)arg;
	setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	for (;;) {
		uint64_t t = now_ns(), work, pause;
		uint32_t max_gen = 0;
		size_t total, per_tick, k;

		pthread_rwlock_rdlock(&g.layout);
		total = g.reg[REG_WSS].nchunks + g.reg[REG_BALLAST].nchunks;
		per_tick = (total + g.scan_s * 10 - 1) / (g.scan_s * 10);
		for (k = 0; k < per_tick && pos < total; k++, pos++) {
			int reg = pos < g.reg[REG_WSS].nchunks ? REG_WSS : REG_BALLAST;
			size_t chunk = reg == REG_WSS ? pos : pos - g.reg[REG_WSS].nchunks;
			unsigned n = chunk_check(&g.reg[reg], reg, chunk, mm, &max_gen);

			if (n)
				mismatches_report(mm, n, "scanner");
		}
		pthread_rwlock_unlock(&g.layout);
		if (pos >= total) {
			if (total > 0)
				atomic_fetch_add(&g.scan_passes, 1);
			pos = 0;
		}
		work = now_ns() - t;
		pause = work < SCAN_TICK_NS ? SCAN_TICK_NS - work : 0;
		if (pause < work * (SCAN_MAX_CPU_SHARE - 1))
			pause = work * (SCAN_MAX_CPU_SHARE - 1);
		sleep_until_ns(now_ns() + pause);
	}
	return NULL;
}

/* ------------------------------------------------------ control commands */

typedef int (*cmd_fn)(char **argv, char *reply, size_t len);

static int cmd_cpu(char **argv, char *reply, size_t len)
{
	char tok[40];
	long pct;

	if (parse_long(argv[1], 0, 100, &pct)) {
		snprintf(reply, len, "err cpu: '%s' is not a percentage 0-100",
			 sanitize(argv[1], tok, sizeof(tok)));
		return -EINVAL;
	}
	cpu_set((int)pct);
	snprintf(reply, len, "ok cpu_pct=%ld", pct);
	return 0;
}

static int dirty_args(char **argv, long *rate, long *wss, char *reply, size_t len)
{
	char tok[40];

	if (parse_long(argv[1], 0, MAX_RATE, rate)) {
		snprintf(reply, len, "err %s: rate '%s' is not 0-%ld pages/s", argv[0],
			 sanitize(argv[1], tok, sizeof(tok)), MAX_RATE);
		return -EINVAL;
	}
	if (parse_long(argv[2], 0, MAX_MIB, wss)) {
		snprintf(reply, len, "err %s: working set '%s' is not 0-%ld MiB", argv[0],
			 sanitize(argv[2], tok, sizeof(tok)), MAX_MIB);
		return -EINVAL;
	}
	if (*rate > 0 && *wss == 0) {
		snprintf(reply, len, "err %s: a rate needs a working set of at least 1 MiB", argv[0]);
		return -EINVAL;
	}
	return 0;
}

static int cmd_dirtyrand(char **argv, char *reply, size_t len)
{
	long rate, wss;
	int err = dirty_args(argv, &rate, &wss, reply, len);

	if (err)
		return err;
	return dirty_configure(rate > 0 ? DIRTY_RANDOM : DIRTY_OFF, rate, wss, reply, len);
}

/*
 * The true dirty curve, from the record of writes: for each window T, the
 * pages whose last write is at most T old.  For a steady writer this is
 * W(T), the distinct pages dirtied in a window of length T.
 */
static int cmd_wt(char **argv, char *reply, size_t len)
{
	char list[128], tok[40], *save = NULL, *w;
	long win_ms[MAX_WT_WINDOWS];
	uint64_t count[MAX_WT_WINDOWS] = { 0 }, now;
	struct region *r = &g.reg[REG_WSS];
	size_t nwin = 0, i, k, off;

	snprintf(list, sizeof(list), "%s", argv[1]);
	for (w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (nwin == MAX_WT_WINDOWS || parse_long(w, 1, 3600000, &win_ms[nwin])) {
			snprintf(reply, len, "err wt: '%s' is not a list of up to %d windows of 1-3600000 ms",
				 sanitize(argv[1], tok, sizeof(tok)), MAX_WT_WINDOWS);
			return -EINVAL;
		}
		nwin++;
	}
	pthread_rwlock_rdlock(&g.layout);
	now = now_ns();
	for (i = 0; i < r->npages; i++) {
		uint64_t t = __atomic_load_n(&r->written_ns[i], __ATOMIC_RELAXED);

		for (k = 0; k < nwin; k++)
			if (t && now - t <= (uint64_t)win_ms[k] * NSEC_PER_MSEC)
				count[k]++;
	}
	off = (size_t)snprintf(reply, len, "ok now_ms=%" PRIu64 " wss_pages=%zu w=",
			       now / NSEC_PER_MSEC, r->npages);
	pthread_rwlock_unlock(&g.layout);
	for (k = 0; k < nwin && off < len; k++)
		off += (size_t)snprintf(reply + off, len - off, "%s%ld:%" PRIu64, k ? "," : "",
					win_ms[k], count[k]);
	return 0;
}

static int cmd_dirty(char **argv, char *reply, size_t len)
{
	long rate, wss;
	int err = dirty_args(argv, &rate, &wss, reply, len);

	if (err)
		return err;
	return dirty_configure(rate > 0 ? DIRTY_PACED : DIRTY_OFF, rate, wss, reply, len);
}

static int cmd_dirtyfast(char **argv, char *reply, size_t len)
{
	char tok[40];
	long wss;

	if (parse_long(argv[1], 1, MAX_MIB, &wss)) {
		snprintf(reply, len, "err dirtyfast: working set '%s' is not 1-%ld MiB",
			 sanitize(argv[1], tok, sizeof(tok)), MAX_MIB);
		return -EINVAL;
	}
	return dirty_configure(DIRTY_FAST, 0, wss, reply, len);
}

static int cmd_ballast(char **argv, char *reply, size_t len)
{
	char tok[40];
	long mib;
	int err;

	if (parse_long(argv[1], 0, MAX_MIB, &mib)) {
		snprintf(reply, len, "err ballast: '%s' is not 0-%ld MiB",
			 sanitize(argv[1], tok, sizeof(tok)), MAX_MIB);
		return -EINVAL;
	}
	err = mem_check(mib, region_mib(REG_BALLAST), reply, len);
	if (err)
		return err;
	err = region_replace(REG_BALLAST, mib);
	g.ballast_want_mib = err ? 0 : mib;
	if (err) {
		snprintf(reply, len, "err cannot allocate a %ld MiB ballast: %s", mib, strerror(-err));
		return err;
	}
	snprintf(reply, len, "ok ballast_mib=%ld", mib);
	return 0;
}

/*
 * The working set's ledger: with every chunk lock held the dirtier is
 * between two chunks, so the pages it counted and the generations it wrote
 * must agree exactly.  A migration that lost a dirty window which held both
 * a page and its record would still pass the page check; it would not
 * leave the counter, the generations and the pages consistent with each
 * other (and the host compares the counter across the migration).
 * Caller holds the layout lock for reading.
 */
static void wss_ledger(uint64_t *written, uint64_t *gen_sum)
{
	struct region *r = &g.reg[REG_WSS];
	uint64_t sum = 0;
	size_t c, i;

	for (c = 0; c < r->nchunks; c++)
		pthread_mutex_lock(&r->locks[c]);
	for (i = 0; i < r->npages; i++)
		sum += r->gen[i];
	*written = atomic_load(&g.pages_written);
	*gen_sum = sum;
	for (c = r->nchunks; c-- > 0;)
		pthread_mutex_unlock(&r->locks[c]);
}

static long guest_mem_mib(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	return pages > 0 && psz > 0 ? (long)((uint64_t)pages * (uint64_t)psz >> 20) : -1;
}

static int cmd_verify(char **argv, char *reply, size_t len)
{
	struct mismatch mm[CHUNK_PAGES];
	uint64_t pages = 0, bad = 0, written, gen_sum, expected;
	uint32_t max_gen = 0;
	int reg;

	(void)argv;
	if (g.boot_error[0]) {
		snprintf(reply, len, "err %s", g.boot_error);
		return -ENOMEM;
	}
	pthread_rwlock_rdlock(&g.layout);
	wss_ledger(&written, &gen_sum);
	expected = (uint64_t)g.ballast_want_mib * MIB_PAGES + g.reg[REG_WSS].npages;
	for (reg = 0; reg < REG_COUNT; reg++) {
		struct region *r = &g.reg[reg];
		size_t c;

		for (c = 0; c < r->nchunks; c++) {
			unsigned n = chunk_check(r, reg, c, mm, &max_gen);

			if (n)
				mismatches_report(mm, n, "verify");
			bad += n;
		}
		pages += r->npages;
	}
	pthread_rwlock_unlock(&g.layout);
	snprintf(reply, len, "ok pages=%" PRIu64 " expected_pages=%" PRIu64 " mismatches=%" PRIu64
		 " total_mismatches=%" PRIu64 " gen=%" PRIu32 " written=%" PRIu64 " gen_sum=%" PRIu64
		 " ledger_ok=%d covered_mib=%" PRIu64 " memtotal_mib=%ld",
		 pages, expected, bad, (uint64_t)atomic_load(&g.total_mismatches), max_gen, written,
		 gen_sum, gen_sum == written - g.wss_written_base, pages / MIB_PAGES, guest_mem_mib());
	return 0;
}

static int cmd_status(char **argv, char *reply, size_t len)
{
	struct rusage ru;
	uint64_t cpu_ms = 0;
	uint32_t max_gen = 0;
	long wss, ballast;
	size_t i;

	(void)argv;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu_ms = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
			 (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
	pthread_rwlock_rdlock(&g.layout);
	wss = (long)(g.reg[REG_WSS].npages / MIB_PAGES);
	ballast = (long)(g.reg[REG_BALLAST].npages / MIB_PAGES);
	for (i = 0; i < g.reg[REG_WSS].npages; i++)
		if (g.reg[REG_WSS].gen[i] > max_gen)
			max_gen = g.reg[REG_WSS].gen[i];
	pthread_rwlock_unlock(&g.layout);
	snprintf(reply, len,
		 "ok uptime_ms=%" PRIu64 " cpu_pct=%d dirty_rate=%ld wss_mib=%ld ballast_mib=%ld"
		 " pages_written=%" PRIu64 " total_mismatches=%" PRIu64 " dirty_mode=%s"
		 " dirty_rate_meas=%ld scan_passes=%" PRIu64 " cpu_ms=%" PRIu64 " starts=%ld"
		 " sessions=%d gen=%" PRIu32 " boot_error=%d",
		 (now_ns() - g.start_ns) / NSEC_PER_MSEC, atomic_load(&g.cpu_pct),
		 atomic_load(&g.dirty_rate), wss, ballast,
		 (uint64_t)atomic_load(&g.pages_written), (uint64_t)atomic_load(&g.total_mismatches),
		 dirty_mode_names[atomic_load(&g.dirty_mode)], atomic_load(&g.dirty_rate_meas),
		 (uint64_t)atomic_load(&g.scan_passes), cpu_ms, g.starts,
		 atomic_load(&g.session_conns), max_gen, g.boot_error[0] != 0);
	return 0;
}

/*
 * Test hook: flips one byte of a page behind the checksum's back, to show
 * that the checkers catch what a bad migration would do.
 */
/* The ledger and page-count hooks of cmd_corrupt (caller holds ctl_lock). */
static int corrupt_record(char **argv, char *reply, size_t len)
{
	struct region *r = &g.reg[REG_BALLAST];
	char tok[40], tok2[40];
	long n;

	if (strcmp(argv[1], "ledger") == 0 && !parse_long(argv[2], -1000000, 1000000, &n)) {
		atomic_fetch_add(&g.pages_written, (uint64_t)n);
		snprintf(reply, len, "ok ledger_off_by=%ld", n);
		return 0;
	}
	if (strcmp(argv[1], "drop") == 0 && !parse_long(argv[2], 1, (long)r->npages, &n)) {
		long keep_pages = (long)r->npages - n;

		/* ballast_shrink() works in MiB; drop whole pages, keep the want */
		pthread_rwlock_wrlock(&g.layout);
		munmap(r->mem + (size_t)keep_pages * PAGE_BYTES, (size_t)n * PAGE_BYTES);
		r->npages = (size_t)keep_pages;
		pthread_rwlock_unlock(&g.layout);
		snprintf(reply, len, "ok dropped_pages=%ld", n);
		return 0;
	}
	snprintf(reply, len, "err corrupt: '%s %s' is not ledger N or drop PAGES (1-%zu)",
		 sanitize(argv[1], tok, sizeof(tok)), sanitize(argv[2], tok2, sizeof(tok2)), r->npages);
	return -EINVAL;
}

static int cmd_corrupt(char **argv, char *reply, size_t len)
{
	char tok[40];
	int reg;
	long idx;

	if (strcmp(argv[1], "ledger") == 0 || strcmp(argv[1], "drop") == 0)
		return corrupt_record(argv, reply, len);

	for (reg = 0; reg < REG_COUNT; reg++)
		if (strcmp(argv[1], region_names[reg]) == 0)
			break;
	if (reg == REG_COUNT) {
		snprintf(reply, len, "err corrupt: region '%s' is not wss or ballast",
			 sanitize(argv[1], tok, sizeof(tok)));
		return -EINVAL;
	}
	pthread_rwlock_rdlock(&g.layout);
	if (g.reg[reg].npages == 0 ||
	    parse_long(argv[2], 0, (long)g.reg[reg].npages - 1, &idx)) {
		pthread_rwlock_unlock(&g.layout);
		snprintf(reply, len, "err corrupt: page '%s' is not in %s",
			 sanitize(argv[2], tok, sizeof(tok)), region_names[reg]);
		return -EINVAL;
	}
	pthread_mutex_lock(&g.reg[reg].locks[(size_t)idx / CHUNK_PAGES]);
	g.reg[reg].mem[(size_t)idx * PAGE_BYTES + PAGE_BYTES / 2] ^= 0x01;
	pthread_mutex_unlock(&g.reg[reg].locks[(size_t)idx / CHUNK_PAGES]);
	pthread_rwlock_unlock(&g.layout);
	snprintf(reply, len, "ok corrupted=%s:%ld", region_names[reg], idx);
	return 0;
}

static int cmd_help(char **argv, char *reply, size_t len);

#define CTL_QUIT 1

static int cmd_quit(char **argv, char *reply, size_t len)
{
	(void)argv;
	snprintf(reply, len, "ok bye");
	return CTL_QUIT;
}

static const struct cmd {
	const char *name;
	int nargs;
	bool locked;		/* runs under ctl_lock */
	cmd_fn fn;
	const char *usage;
} cmds[] = {
	{ "cpu", 1, true, cmd_cpu, "cpu PCT" },
	{ "dirty", 2, true, cmd_dirty, "dirty RATE_PAGES_PER_S WSS_MIB" },
	{ "dirtyfast", 1, true, cmd_dirtyfast, "dirtyfast WSS_MIB" },
	{ "dirtyrand", 2, true, cmd_dirtyrand, "dirtyrand RATE_PAGES_PER_S WSS_MIB" },
	{ "wt", 1, false, cmd_wt, "wt T_MS[,T_MS...]" },
	{ "verify", 0, true, cmd_verify, "verify" },
	{ "status", 0, false, cmd_status, "status" },
	{ "ballast", 1, true, cmd_ballast, "ballast MIB" },
	{ "corrupt", 2, true, cmd_corrupt, "corrupt wss|ballast PAGE | ledger N | drop PAGES" },
	{ "help", 0, false, cmd_help, "help" },
	{ "quit", 0, false, cmd_quit, "quit" },
};

static int cmd_help(char **argv, char *reply, size_t len)
{
	size_t i, off;

	(void)argv;
	off = (size_t)snprintf(reply, len, "ok commands:");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]) && off < len; i++)
		off += (size_t)snprintf(reply + off, len - off, " '%s'", cmds[i].usage);
	return 0;
}

/* Runs one command line; returns 0, CTL_QUIT or -errno, reply always set. */
static int ctl_execute(char *line, char *reply, size_t len)
{
	char *argv[8], *save = NULL, *tok;
	char name[40];
	int argc = 0, err;
	size_t i;

	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (argc == (int)(sizeof(argv) / sizeof(argv[0])) - 1) {
			snprintf(reply, len, "err too many arguments");
			return -E2BIG;
		}
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	if (argc == 0) {
		snprintf(reply, len, "err empty command");
		return -EINVAL;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0])) {
		snprintf(reply, len, "err unknown command '%s' (try help)",
			 sanitize(argv[0], name, sizeof(name)));
		return -EINVAL;
	}
	if (argc - 1 != cmds[i].nargs) {
		snprintf(reply, len, "err usage: %s", cmds[i].usage);
		return -EINVAL;
	}
	if (cmds[i].locked)
		pthread_mutex_lock(&g.ctl_lock);
	err = cmds[i].fn(argv, reply, len);
	if (cmds[i].locked)
		pthread_mutex_unlock(&g.ctl_lock);
	return err;
}

/* -------------------------------------------------------------- servers */

static void *ctl_conn_main(void *arg)
{
	struct linebuf *lb = calloc(1, sizeof(*lb));
	int fd = (int)(intptr_t)arg;
	char line[LINE_MAX_LEN + 1], reply[REPLY_MAX_LEN];

	if (lb)
		lb->fd = fd;
	while (lb) {
		int n, rc;
		size_t rl;

		n = linebuf_read(lb, line, sizeof(line), -1);
		if (n == -EMSGSIZE) {
			rc = 0;
			snprintf(reply, sizeof(reply), "err line longer than %d bytes", LINE_MAX_LEN);
		} else if (n < 0) {
			break;
		} else {
			rc = ctl_execute(line, reply, sizeof(reply) - 1);
		}
		rl = strlen(reply);
		reply[rl++] = '\n';
		if (send_all(fd, reply, rl) < 0 || rc == CTL_QUIT)
			break;
	}
	free(lb);
	close(fd);
	atomic_fetch_sub(&g.ctl_conns, 1);
	return NULL;
}

static void *session_conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint64_t counter = 0;
	char in[2048], out[4096];

	for (;;) {
		ssize_t n = recv(fd, in, sizeof(in), 0);
		size_t olen = 0;
		ssize_t i;

		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < n; i++) {
			if (in[i] != '\n')
				continue;
			olen += (size_t)snprintf(out + olen, sizeof(out) - olen, "%" PRIu64 "\n", ++counter);
			if (sizeof(out) - olen < 32) {
				if (send_all(fd, out, olen) < 0)
					goto out;
				olen = 0;
			}
		}
		if (olen && send_all(fd, out, olen) < 0)
			break;
	}
out:
	close(fd);
	atomic_fetch_sub(&g.session_conns, 1);
	return NULL;
}

struct acceptor {
	int fd;
	const char *name;
	void *(*conn_main)(void *);
	atomic_int *conns;
	int max_conns;
};

static void *accept_main(void *arg)
{
	const struct acceptor *a = arg;
	static const int one = 1;

	for (;;) {
		int fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC), err;

		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED) {
				/* out of fds or memory: back off instead of spinning */
				fprintf(stderr, "tide-guestload: %s: accept failed: %s\n", a->name, strerror(errno));
				usleep(100 * 1000);
			}
			continue;
		}
		if (atomic_fetch_add(a->conns, 1) >= a->max_conns) {
			atomic_fetch_sub(a->conns, 1);
			send_all(fd, "err busy\n", 9);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		err = spawn(a->conn_main, (void *)(intptr_t)fd, CONN_STACK_BYTES, NULL);
		if (err) {
			fprintf(stderr, "tide-guestload: %s: cannot start a connection thread: %s\n",
				a->name, strerror(-err));
			atomic_fetch_sub(a->conns, 1);
			close(fd);
		}
	}
	return NULL;
}

static int listen_tcp(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(INADDR_ANY) };
	static const int one = 1;
	int fd, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 64) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The first configured IPv4 address that is not loopback, for the READY line. */
static void first_ipv4(char *buf, size_t len)
{
	struct ifaddrs *ifa, *i;

	snprintf(buf, len, "none");
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, buf, (socklen_t)len);
		break;
	}
	freeifaddrs(ifa);
}

struct boot_opts {
	long ballast_mib;
	long cpu_pct;
	long dirty_rate;
	long dirty_wss_mib;
};

/*
 * Reads the tide.* arguments of the kernel command line: tide.ballast=MIB,
 * tide.scan_s=SEC, tide.seed=N, tide.cpu=PCT, tide.dirty=RATE,WSS_MIB.
 * A bad value is reported and ignored.
 */
static void boot_opts_read(struct boot_opts *o)
{
	char buf[4096], *save = NULL, *tok;
	size_t n;
	FILE *f = fopen("/proc/cmdline", "re");

	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (tok = strtok_r(buf, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
		char *val = strchr(tok, '='), *comma;
		long v, w;
		int err = 0;

		if (strncmp(tok, "tide.", 5) != 0 || !val)
			continue;
		*val++ = '\0';
		if (strcmp(tok, "tide.ballast") == 0) {
			v = BALLAST_AUTO;
			err = strcmp(val, "auto") == 0 ? 0 : parse_long(val, 0, MAX_MIB, &v);
			if (!err)
				o->ballast_mib = v;
		} else if (strcmp(tok, "tide.scan_s") == 0) {
			err = parse_long(val, 1, 3600, &v);
			if (!err)
				g.scan_s = (unsigned)v;
		} else if (strcmp(tok, "tide.seed") == 0) {
			err = parse_long(val, 1, LONG_MAX, &v);
			if (!err)
				g.seed = (uint64_t)v;
		} else if (strcmp(tok, "tide.cpu") == 0) {
			err = parse_long(val, 0, 100, &v);
			if (!err)
				o->cpu_pct = v;
		} else if (strcmp(tok, "tide.dirty") == 0) {
			comma = strchr(val, ',');
			if (comma)
				*comma = '\0';
			err = comma ? parse_long(val, 0, MAX_RATE, &v) : -EINVAL;
			if (!err)
				err = parse_long(comma + 1, 1, MAX_MIB, &w);
			if (!err) {
				o->dirty_rate = v;
				o->dirty_wss_mib = w;
			}
		}
		if (err)
			fprintf(stderr, "tide-guestload: ignoring bad kernel argument %s=%s: %s\n",
				tok, val, strerror(-err));
	}
}

static int serve(int argc, char **argv)
{
	struct boot_opts o = { .ballast_mib = DEFAULT_BALLAST_MIB };
	static struct acceptor acc[2];
	struct sigaction sa = { .sa_handler = SIG_IGN };
	pthread_rwlockattr_t rwa;
	const char *starts = getenv("TIDE_GUESTLOAD_STARTS");
	long port = CTL_PORT;
	char ip[INET_ADDRSTRLEN], reply[REPLY_MAX_LEN];
	pthread_t t;
	int opt, err, i;

	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt != 'p' || parse_long(optarg, 1, 65534, &port)) {
			fprintf(stderr, "usage: tide-guestload serve [-p CTL_PORT]\n");
			return 2;
		}
	}
	sigaction(SIGPIPE, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	g.start_ns = now_ns();
	g.scan_s = DEFAULT_SCAN_S;
	if (!starts || parse_long(starts, 1, LONG_MAX, &g.starts))
		g.starts = 1;
	/* Early in boot the entropy pool may not be ready: do not wait for it. */
	if (getrandom(&g.seed, sizeof(g.seed), GRND_NONBLOCK) != sizeof(g.seed))
		g.seed = mix64(now_ns() ^ ((uint64_t)getpid() << 32));
	boot_opts_read(&o);
	g.seed |= 1;

	pthread_mutex_init(&g.ctl_lock, NULL);
	pthread_mutex_init(&g.cpu_lock, NULL);
	pthread_cond_init(&g.cpu_cond, NULL);
	/* Writer preference: a reconfiguration must not wait behind a stream
	 * of dirtier and scanner slices. */
	pthread_rwlockattr_init(&rwa);
	pthread_rwlockattr_setkind_np(&rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&g.layout, &rwa);
	pthread_rwlockattr_destroy(&rwa);

	pthread_mutex_lock(&g.ctl_lock);
	if (o.ballast_mib == BALLAST_AUTO) {
		long avail = mem_available_mib();

		o.ballast_mib = avail > MEM_RESERVE_MIB ? avail - MEM_RESERVE_MIB : 0;
	}
	/* a ballast asked for and not had is an error that verify reports: a
	 * test must not believe it checks memory that was never there */
	g.ballast_want_mib = o.ballast_mib;
	if (mem_check(o.ballast_mib, 0, reply, sizeof(reply)))
		snprintf(g.boot_error, sizeof(g.boot_error), "no %ld MiB ballast at boot: %s",
			 o.ballast_mib, reply + 4);
	else if ((err = region_replace(REG_BALLAST, o.ballast_mib)) != 0)
		snprintf(g.boot_error, sizeof(g.boot_error), "cannot allocate a %ld MiB ballast at boot: %s",
			 o.ballast_mib, strerror(-err));
	if (g.boot_error[0])
		fprintf(stderr, "tide-guestload: %s\n", g.boot_error);
	if (o.dirty_rate > 0 && dirty_configure(DIRTY_PACED, o.dirty_rate, o.dirty_wss_mib,
						reply, sizeof(reply)))
		fprintf(stderr, "tide-guestload: tide.dirty: %s\n", reply);
	pthread_mutex_unlock(&g.ctl_lock);
	cpu_set((int)o.cpu_pct);

	err = spawn(cpu_main, NULL, CONN_STACK_BYTES, &t);
	if (!err)
		err = spawn(scan_main, NULL, CONN_STACK_BYTES, &t);
	if (err) {
		fprintf(stderr, "tide-guestload: cannot start a worker thread: %s\n", strerror(-err));
		return 1;
	}
	acc[0] = (struct acceptor){ .name = "control", .conn_main = ctl_conn_main,
				    .conns = &g.ctl_conns, .max_conns = MAX_CTL_CONNS };
	acc[1] = (struct acceptor){ .name = "session", .conn_main = session_conn_main,
				    .conns = &g.session_conns, .max_conns = MAX_SESSION_CONNS };
	for (i = 0; i < 2; i++) {
		acc[i].fd = listen_tcp((int)port + i);
		if (acc[i].fd < 0) {
			fprintf(stderr, "tide-guestload: cannot listen on TCP port %ld (%s): %s\n",
				port + i, acc[i].name, strerror(-acc[i].fd));
			return 1;
		}
	}
	for (i = 0; i < 2; i++) {
		err = spawn(accept_main, &acc[i], CONN_STACK_BYTES, &t);
		if (err) {
			fprintf(stderr, "tide-guestload: cannot start the %s acceptor: %s\n",
				acc[i].name, strerror(-err));
			return 1;
		}
	}
	first_ipv4(ip, sizeof(ip));
	printf("TIDE-GUEST READY ip=%s\n", ip);
	pthread_join(t, NULL);
	return 1;
}

/* --------------------------------------------------------------- client */

/* Parses "A.B.C.D", "A.B.C.D:PORT", "[V6]:PORT" or a bare IPv6 address. */
static int addr_parse(const char *s, long default_port, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon = strrchr(s, ':'), *port_s = NULL;
	long port = default_port;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] != '\0' && close[1] != ':'))
			return -EINVAL;
		hl = (size_t)(close - s - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		if (close[1] == ':')
			port_s = close + 2;
	} else if (colon && strchr(s, ':') == colon) {
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hl);
		host[hl] = '\0';
		port_s = colon + 1;
	} else {
		if (strlen(s) >= sizeof(host))
			return -EINVAL;
		strcpy(host, s);
	}
	if (port_s && parse_long(port_s, 1, 65535, &port))
		return -EINVAL;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EINVAL;
}

/* Returns a connected blocking socket or -errno (-ETIMEDOUT after timeout_ms). */
static int connect_timeout(const struct sockaddr_storage *ss, socklen_t len, int timeout_ms)
{
	struct pollfd pfd;
	socklen_t elen = sizeof(int);
	int fd, err, soerr = 0, flags;
	static const int one = 1;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)ss, len) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			goto fail;
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
		do {
			err = poll(&pfd, 1, timeout_ms);
		} while (err < 0 && errno == EINTR);
		if (err <= 0) {
			err = err == 0 ? -ETIMEDOUT : -errno;
			goto fail;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) < 0 || soerr) {
			err = soerr ? -soerr : -errno;
			goto fail;
		}
	}
	flags = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
fail:
	close(fd);
	return err;
}

static int run_ctl(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct linebuf lb = { 0 };
	char line[LINE_MAX_LEN + 2], reply[REPLY_MAX_LEN * 2];
	long timeout_s = 5;
	size_t off = 0;
	int opt, fd, i, n, err;

	while ((opt = getopt(argc, argv, "+t:")) != -1) {
		if (opt != 't' || parse_long(optarg, 1, 86400, &timeout_s))
			goto usage;
	}
	if (argc - optind < 2)
		goto usage;
	for (i = optind + 1; i < argc; i++) {
		int w = snprintf(line + off, sizeof(line) - off, "%s%s", off ? " " : "", argv[i]);

		if (w < 0 || (size_t)w >= sizeof(line) - off - 1 || strchr(argv[i], '\n')) {
			fprintf(stderr, "tide-guestload: command too long or not one line\n");
			return 1;
		}
		off += (size_t)w;
	}
	line[off++] = '\n';

	if (addr_parse(argv[optind], CTL_PORT, &ss, &sslen)) {
		fprintf(stderr, "tide-guestload: '%s' is not IPV4[:PORT] or [IPV6]:PORT\n", argv[optind]);
		return 1;
	}
	fd = connect_timeout(&ss, sslen, (int)timeout_s * 1000);
	if (fd < 0) {
		fprintf(stderr, "tide-guestload: cannot connect to '%s': %s\n", argv[optind], strerror(-fd));
		return 1;
	}
	err = send_all(fd, line, off);
	lb.fd = fd;
	n = err ? err : linebuf_read(&lb, reply, sizeof(reply), (int)timeout_s * 1000);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "tide-guestload: no reply from '%s': %s\n", argv[optind],
			n == -ENODATA ? "connection closed" : strerror(-n));
		return 1;
	}
	printf("%s\n", reply);
	return strncmp(reply, "ok", 2) == 0 && (reply[2] == '\0' || reply[2] == ' ') ? 0 : 1;
usage:
	fprintf(stderr, "usage: tide-guestload ctl [-t SEC] ADDR[:PORT] CMD [ARG...]\n");
	return 2;
}


static void session_on_signal(int sig)
{
	(void)sig;
	session_stop = 1;
}

/* Reply times in 1 ms buckets up to GAP_HIST_MS; the last one is "more". */
#define GAP_HIST_MS 10000

static uint64_t gap_quantile_ms(const uint32_t *hist, uint64_t n, unsigned permille)
{
	uint64_t want = (n * permille + 999) / 1000, seen = 0;
	unsigned ms;

	for (ms = 0; ms <= GAP_HIST_MS; ms++) {
		seen += hist[ms];
		if (seen >= want && want > 0)
			return ms;
	}
	return 0;
}

/* The distribution of reply times: percentiles and a few coarse bins. */
static void gap_report(const uint32_t *hist, uint64_t n)
{
	static const unsigned edges_ms[] = { 10, 50, 100, 250, 500, 1000, 2000 };
	uint64_t below = 0;
	unsigned e, ms = 0;

	printf("session gaps n=%" PRIu64 " p50_ms=%" PRIu64 " p90_ms=%" PRIu64 " p99_ms=%" PRIu64
	       " p999_ms=%" PRIu64, n, gap_quantile_ms(hist, n, 500), gap_quantile_ms(hist, n, 900),
	       gap_quantile_ms(hist, n, 990), gap_quantile_ms(hist, n, 999));
	for (e = 0; e < sizeof(edges_ms) / sizeof(edges_ms[0]); e++) {
		uint64_t c = 0;

		for (; ms < edges_ms[e]; ms++)
			c += hist[ms];
		printf(" lt%u=%" PRIu64, edges_ms[e], c);
		below += c;
	}
	printf(" ge%u=%" PRIu64 "\n", edges_ms[e - 1], n - below);
}

/*
 * SIGINT/SIGTERM end a session early: the requests answered so far are
 * judged as usual, so a test can run a session "until done" and still get
 * its verdict.  A request still unanswered when the signal comes is a
 * failure (reason=unanswered): a guest that stopped answering at the end of
 * a test must not pass for a session that was merely cut short.
 */
static int run_session(int argc, char **argv)
{
	struct sigaction stop_sa = { .sa_handler = session_on_signal };
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct linebuf lb = { 0 };
	long timeout_s = 30, fail_gap_ms = -1, n, interval_ms, i;
	uint64_t next, last_progress, max_gap = 0, answered = 0;
	static uint32_t hist[GAP_HIST_MS + 1];
	char reply[64];
	int opt, fd;

	while ((opt = getopt(argc, argv, "+t:g:")) != -1) {
		if (opt == 't' && !parse_long(optarg, 1, 86400, &timeout_s))
			continue;
		if (opt == 'g' && !parse_long(optarg, 0, LONG_MAX / 2, &fail_gap_ms))
			continue;
		goto usage;
	}
	if (argc - optind != 3 || parse_long(argv[optind + 1], 1, 1000000000, &n) ||
	    parse_long(argv[optind + 2], 0, 3600000, &interval_ms))
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (addr_parse(argv[optind], CTL_PORT + 1, &ss, &sslen)) {
		printf("session FAIL reason=usage addr='%s' is not IPV4[:PORT] or [IPV6]:PORT\n", argv[optind]);
		return 2;
	}
	fd = connect_timeout(&ss, sslen, (int)timeout_s * 1000);
	if (fd < 0) {
		printf("session FAIL reason=connect addr=%s error='%s'\n", argv[optind], strerror(-fd));
		return 1;
	}
	lb.fd = fd;
	sigaction(SIGINT, &stop_sa, NULL);
	sigaction(SIGTERM, &stop_sa, NULL);
	next = last_progress = now_ns();
	for (i = 1; i <= n; i++) {
		uint64_t t0, gap;
		long got;
		int r;

		sleep_until_ns(next);
		if (session_stop) {
			n = i - 1;
			break;
		}
		t0 = now_ns();
		/* Late after a slow reply: keep the interval from now, no burst. */
		next = (next + (uint64_t)interval_ms * NSEC_PER_MSEC > t0 ? next : t0) +
		       (uint64_t)interval_ms * NSEC_PER_MSEC;
		r = send_all(fd, "next\n", 5);
		if (!r)
			r = linebuf_read(&lb, reply, sizeof(reply), (int)timeout_s * 1000);
		gap = now_ns() - t0;
		if (gap > max_gap)
			max_gap = gap;
		if (r < 0 && session_stop) {
			gap_report(hist, answered);
			printf("session FAIL reason=unanswered i=%ld waited_ms=%" PRIu64
			       " (stopped while a request was still unanswered)\n", i, gap / NSEC_PER_MSEC);
			close(fd);
			return 1;
		}
		if (r < 0) {
			gap_report(hist, answered);
			printf("session FAIL reason=%s i=%ld waited_ms=%" PRIu64 " error='%s'\n",
			       r == -ETIMEDOUT ? "timeout" : r == -ENODATA ? "closed" : "reset",
			       i, gap / NSEC_PER_MSEC, r == -ENODATA ? "connection closed" : strerror(-r));
			close(fd);
			return 1;
		}
		if (parse_long(reply, 1, LONG_MAX, &got) || got != i) {
			char tok[40];

			gap_report(hist, answered);
			printf("session FAIL reason=order i=%ld got='%s'\n", i, sanitize(reply, tok, sizeof(tok)));
			close(fd);
			return 1;
		}
		hist[gap / NSEC_PER_MSEC < GAP_HIST_MS ? gap / NSEC_PER_MSEC : GAP_HIST_MS]++;
		answered++;
		if (gap >= NSEC_PER_SEC)
			printf("session slow reply i=%ld gap_ms=%" PRIu64 "\n", i, gap / NSEC_PER_MSEC);
		if (now_ns() - last_progress >= NSEC_PER_SEC || i == n) {
			printf("session progress i=%ld/%ld max_gap_ms=%" PRIu64 "\n", i, n, max_gap / NSEC_PER_MSEC);
			last_progress = now_ns();
		}
	}
	close(fd);
	gap_report(hist, answered);
	if (fail_gap_ms >= 0 && max_gap / NSEC_PER_MSEC > (uint64_t)fail_gap_ms) {
		printf("session FAIL reason=gap n=%ld max_gap_ms=%" PRIu64 " limit_ms=%ld\n",
		       n, max_gap / NSEC_PER_MSEC, fail_gap_ms);
		return 1;
	}
	printf("session ok n=%ld max_gap_ms=%" PRIu64 "\n", n, max_gap / NSEC_PER_MSEC);
	return 0;
usage:
	fprintf(stderr, "usage: tide-guestload session [-t SEC] [-g MAX_GAP_MS] ADDR[:PORT] N INTERVAL_MS\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "serve") == 0)
		return serve(argc > 1 ? argc - 1 : argc, argc > 1 ? argv + 1 : argv);
	if (strcmp(argv[1], "ctl") == 0)
		return run_ctl(argc - 1, argv + 1);
	if (strcmp(argv[1], "session") == 0)
		return run_session(argc - 1, argv + 1);
	fprintf(stderr,
		"usage: tide-guestload [serve [-p CTL_PORT]]\n"
		"       tide-guestload ctl [-t SEC] ADDR[:PORT] CMD [ARG...]\n"
		"       tide-guestload session [-t SEC] [-g MAX_GAP_MS] ADDR[:PORT] N INTERVAL_MS\n");
	return 2;
}
