// SPDX-License-Identifier: GPL-2.0
/*
 * top: `tidectl top`, its options, its frame and its terminal.  See top.h.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "cli_show.h"
#include "reply.h"
#include "top.h"

/* ---- options ------------------------------------------------------------- */

static struct {
	enum top_sort sort; /* the first frame's; keys change it after */
} opts;

static const char *const sort_names[] = { "cpu", "wait", "net" };

int top_sort_parse(const char *s)
{
	/* the names share no prefix: the first match is the only one */
	for (int i = 0; s && *s && i < (int)ARRAY_SIZE(sort_names); i++)
		if (is_prefix(s, sort_names[i]))
			return i;
	return -1;
}

const char *top_sort_name(enum top_sort s)
{
	return (unsigned int)s < ARRAY_SIZE(sort_names) ? sort_names[s] : "?";
}

int top_parse_opts(void)
{
	int sort = cli.sort ? top_sort_parse(cli.sort) : TOP_SORT_CPU;

	if (sort < 0) {
		p_err("option '--sort' needs one of cpu, wait, net, got '%s'", cli.sort);
		return -EINVAL;
	}
	opts.sort = (enum top_sort)sort;
	return 0;
}

/* ---- frame --------------------------------------------------------------- */

/* a VM of the frame with what it is sorted by */
struct top_row {
	struct json_object *vm;
	double key;
	const char *name; /* as tided sent it, for the order only */
};

static double sort_key(struct reply *r, struct json_object *vm, enum top_sort sort)
{
	switch (sort) {
	case TOP_SORT_WAIT:
		return reply_num(r, vm, "wait_ns_per_s");
	case TOP_SORT_NET:
		return reply_num(r, vm, "rx_bytes_per_s") + reply_num(r, vm, "tx_bytes_per_s");
	default:
		return reply_num(r, vm, "cpu_ns_per_s");
	}
}

/* largest first, then by name */
static int cmp_row(const void *a, const void *b)
{
	const struct top_row *x = a, *y = b;

	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return strcmp(x->name, y->name);
}

void top_frame(FILE *out, struct reply *host, struct reply *vms_reply, enum top_sort sort,
	       int max_rows, bool ansi)
{
	struct json_object *h = host->obj, *vms = reply_array(vms_reply, vms_reply->obj, "vms");
	size_t n = reply_len(vms);
	char a[NAME_BYTES], b[CLI_HUMAN_BYTES], c[CLI_HUMAN_BYTES], d[CLI_HUMAN_BYTES];
	char m[CLI_HUMAN_BYTES];
	struct top_row *v = n ? calloc(n, sizeof(*v)) : NULL;
	struct reply *r = vms_reply;
	size_t nc = cli_name_col(r, vms);

	if (ansi)
		fputs("\033[H\033[2J", out); /* home, clear */
	fprintf(out,
		"tide top - %s: %lld CPUs, load %s, host CPU %s, %s of %s memory free, "
		"%zu VMs%s\n",
		reply_str(host, h, "hostname", a, sizeof(a)), (long long)reply_int(host, h, "cpus"),
		cli_human_percent(reply_num(host, h, "load_ratio"), b, sizeof(b)),
		cli_human_percent(reply_num(host, h, "cpu_busy_ratio"), c, sizeof(c)),
		cli_human_bytes(reply_num(host, h, "memory_available_bytes"), d, sizeof(d)),
		cli_human_bytes(reply_num(host, h, "memory_bytes"), m, sizeof(m)), n,
		reply_bool(host, h, "degraded") ? "  DEGRADED" : "");
	fprintf(out, "sorted by %s (c: cpu, w: wait, n: net, q: quit)\n", top_sort_name(sort));
	if (ansi)
		fputs("\033[7m", out); /* reverse video */
	cli_put_col(out, "NAME", nc, nc + 2);
	fprintf(out, "%-11s %5s %7s %7s %11s %11s %9s %9s", "STATE", "VCPUS", "CPU", "WAIT", "RX",
		"TX", "RX PK/S", "TX PK/S");
	if (ansi)
		fputs("\033[0m", out);
	fputc('\n', out);
	if (n && !v)
		return;
	for (size_t i = 0; i < n; i++) {
		struct json_object *name;

		v[i].vm = json_object_array_get_idx(vms, i);
		v[i].key = sort_key(r, v[i].vm, sort);
		name = reply_get(r, v[i].vm, "name", json_type_string);
		v[i].name = name ? json_object_get_string(name) : "";
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_row);
	for (size_t i = 0; i < n && (max_rows <= 0 || (int)i < max_rows); i++) {
		struct json_object *vm = v[i].vm;
		char state[64], e[CLI_HUMAN_BYTES], f[CLI_HUMAN_BYTES], g[CLI_HUMAN_BYTES];

		cli_put_col(out, reply_str(r, vm, "name", a, sizeof(a)), nc, nc + 2);
		fprintf(out, "%-11s %5lld %7s %7s %11s %11s %9s %9s\n",
			reply_str(r, vm, "state", state, sizeof(state)),
			(long long)reply_int(r, vm, "vcpus"),
			cli_human_percent(cli_cpu_ratio(r, vm, "cpu_ns_per_s"), b, sizeof(b)),
			cli_human_percent(cli_cpu_ratio(r, vm, "wait_ns_per_s"), c, sizeof(c)),
			cli_human_rate(reply_num(r, vm, "rx_bytes_per_s"), d, sizeof(d)),
			cli_human_rate(reply_num(r, vm, "tx_bytes_per_s"), e, sizeof(e)),
			cli_human_count(reply_num(r, vm, "rx_packets_per_s"), f, sizeof(f)),
			cli_human_count(reply_num(r, vm, "tx_packets_per_s"), g, sizeof(g)));
	}
	free(v);
}

/* ---- command and terminal ------------------------------------------------- */

static struct {
	bool raw; /* terminal in non-canonical mode */
	struct termios saved;
	volatile sig_atomic_t stop;
} top;

static void top_restore(void)
{
	if (!top.raw)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &top.saved);
	/* cursor back, main screen back */
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	top.raw = false;
}

static void top_on_signal(int signo)
{
	top.stop = 1;
}

static int top_enter(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &top.saved) < 0)
		return -errno;
	t = top.saved;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) < 0)
		return -errno;
	top.raw = true;
	atexit(top_restore);
	/* alternate screen, cursor hidden */
	fputs("\033[?1049h\033[?25l", stdout);
	return 0;
}

static int term_rows(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_row < 6)
		return 0;
	return ws.ws_row - 4; /* host line, sort line, header, one spare */
}

/* Wait up to ms for a key (interactive) or a signal: the key, 0, or -1 to quit. */
static int top_wait(int ms, bool interactive)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	char key;
	int n;

	n = poll(&p, interactive ? 1 : 0, ms);
	if (top.stop)
		return -1;
	if (n <= 0 || !interactive)
		return 0;
	if (read(STDIN_FILENO, &key, 1) != 1)
		return 0;
	return (unsigned char)key;
}

int do_top(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = top_on_signal };
	bool interactive = !cli.json && cli.iterations == 0 && isatty(STDIN_FILENO) &&
			   isatty(STDOUT_FILENO);
	enum top_sort sort = opts.sort;
	int window = cli.window_ms >= 0 ? cli.window_ms : cli.delay_ms;
	int ret = 0;

	if (argc > 0)
		return BAD_ARG();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (interactive && top_enter() < 0)
		interactive = false;
	for (int i = 0; !top.stop; i++) {
		struct reply host, vms;
		int key;

		if (reply_call_show(&host, "host show", NULL, window)) {
			ret = -1;
			break;
		}
		if (reply_call_show(&vms, "vm show", NULL, window)) {
			reply_free(&host);
			ret = -1;
			break;
		}
		if (cli.json) {
			struct json_object *o = json_object_new_object();
			struct json_object *arr = reply_array(&vms, vms.obj, "vms");

			ret = reply_check(&vms);
			if (!ret) {
				json_object_object_add(o, "host", json_object_get(host.obj));
				json_object_object_add(o, "vms", json_object_get(arr));
				json_object_object_add(o, "sort",
						       json_object_new_string(top_sort_name(sort)));
				cli_print_json(o);
			}
			json_object_put(o);
		} else {
			struct cli_buf buf;
			FILE *out = cli_buf_open(&buf);

			if (out) {
				if (i > 0 && !interactive)
					fputc('\n', out);
				top_frame(out, &host, &vms, sort, interactive ? term_rows() : 0,
					  interactive);
				ret = reply_check(&host);
				if (!ret)
					ret = reply_check(&vms);
			} else {
				ret = -ENOMEM;
			}
			cli_buf_close(&buf, !ret);
		}
		fflush(cli.out);
		reply_free(&host);
		reply_free(&vms);
		if (ret) {
			ret = -1;
			break;
		}
		if (cli.iterations && i + 1 >= cli.iterations)
			break;
		/* keys change the sort at once; anything else waits out the delay */
		for (;;) {
			key = top_wait(cli.delay_ms, interactive);
			if (key < 0 || key == 'q' || key == 'Q') {
				top.stop = 1;
				break;
			}
			if (key == 'c' || key == 'C')
				sort = TOP_SORT_CPU;
			else if (key == 'w' || key == 'W')
				sort = TOP_SORT_WAIT;
			else if (key == 'n' || key == 'N')
				sort = TOP_SORT_NET;
			else if (key != 0)
				continue; /* another key: keep waiting */
			break;
		}
	}
	top_restore();
	return ret;
}
