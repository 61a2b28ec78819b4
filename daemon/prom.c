// SPDX-License-Identifier: GPL-2.0
/*
 * prom: build a textfile in memory, then swap it in atomically.
 *
 * Label values are user input (domain names): backslash, double quote and
 * newline are escaped as the exposition format requires; everything else,
 * UTF-8 included, passes through, but bytes that are not UTF-8 become
 * U+FFFD (the format is UTF-8).  HELP text escapes backslash and newline.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prom.h"
#include "util.h"

int prom_begin(struct prom *p)
{
	memset(p, 0, sizeof(*p));
	p->mem = open_memstream(&p->buf, &p->len);
	return p->mem ? 0 : -errno;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

static void put_escaped(FILE *f, const char *s, bool quote)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		size_t n = utf8_len(u);

		if (*u == '\\')
			fputs("\\\\", f);
		else if (*u == '\n')
			fputs("\\n", f);
		else if (quote && *u == '"')
			fputs("\\\"", f);
		else if (n == 0)
			fputs("\xef\xbf\xbd", f); /* not UTF-8: U+FFFD, as Prometheus wants UTF-8 */
		else
			fwrite(u, 1, n, f);
		u += n ? n : 1;
	}
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
	if (!p->mem)
		return;
	if (strlen(name) >= sizeof(p->family)) {
		p->err = p->err ?: -ENAMETOOLONG;
		return;
	}
	strcpy(p->family, name);
	fprintf(p->mem, "# HELP %s ", name);
	put_escaped(p->mem, help, false);
	fprintf(p->mem, "\n# TYPE %s %s\n", name, type);
}

static bool in_family(const char *family, const char *name)
{
	static const char *const suffixes[] = { "", "_bucket", "_sum", "_count" };
	size_t n = strlen(family);

	if (strncmp(name, family, n) != 0)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++)
		if (!strcmp(name + n, suffixes[i]))
			return true;
	return false;
}

void prom_sample(struct prom *p, const char *name, const struct prom_label *labels,
		 size_t nr_labels, double value)
{
	if (!p->mem)
		return;
	/* a sample outside its family would make the file invalid */
	if (!p->family[0] || !in_family(p->family, name)) {
		p->err = p->err ?: -EINVAL;
		return;
	}
	fputs(name, p->mem);
	if (nr_labels) {
		fputc('{', p->mem);
		for (size_t i = 0; i < nr_labels; i++) {
			fprintf(p->mem, "%s%s=\"", i ? "," : "", labels[i].name);
			put_escaped(p->mem, labels[i].value ?: "", true);
			fputc('"', p->mem);
		}
		fputc('}', p->mem);
	}
	if (isnan(value))
		fputs(" NaN\n", p->mem);
	else if (isinf(value))
		fputs(value > 0 ? " +Inf\n" : " -Inf\n", p->mem);
	else if (value == (double)(long long)value && fabs(value) < 1e15)
		fprintf(p->mem, " %lld\n", (long long)value);
	else
		fprintf(p->mem, " %.15g\n", value); /* a timestamp keeps its microseconds */
}

const char *prom_text(struct prom *p)
{
	if (!p->mem || fflush(p->mem))
		return "";
	return p->buf;
}

void prom_abort(struct prom *p)
{
	if (p->mem)
		fclose(p->mem);
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

int prom_commit(struct prom *p, const char *dir, const char *file)
{
	int err;

	if (!p->mem)
		return -EINVAL;
	if (fclose(p->mem)) {
		p->mem = NULL;
		err = -errno;
		goto cleanup;
	}
	p->mem = NULL;
	err = p->err;
	if (err)
		goto cleanup;
	/* node_exporter reads only *.prom, so the .new file is never seen */
	err = util_write_file_atomic(dir, file, p->buf, p->len);
cleanup:
	free(p->buf);
	memset(p, 0, sizeof(*p));
	return err;
}
