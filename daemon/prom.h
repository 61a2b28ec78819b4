/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prom: Prometheus text exposition for node_exporter's textfile collector:
 * families, samples, label escaping, and the file's atomic replacement.
 *
 * The caller builds the whole file in memory, family by family (HELP and
 * TYPE once, then that family's samples), and prom_commit() replaces the
 * file atomically: node_exporter never reads a half-written file.
 */
#ifndef TIDE_PROM_H
#define TIDE_PROM_H

#include <stddef.h>
#include <stdio.h>

#include "tide.h"

struct prom_label {
	const char *name;
	const char *value;
};

struct prom {
	FILE *mem;
	char *buf;
	size_t len;
	char family[128]; /* samples must belong to the open family */
	int err;	  /* first error, reported by prom_commit() */
};

int prom_begin(struct prom *p) __tide_must_check;
/* type: "counter", "gauge", "histogram"; help: one line, escaped here. */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);
/* name is the family name or, for histograms, name_bucket/_sum/_count. */
void prom_sample(struct prom *p, const char *name, const struct prom_label *labels,
		 size_t nr_labels, double value);
/* Writes dir/file via dir/file.new, fsync, rename; frees the buffer. */
int prom_commit(struct prom *p, const char *dir, const char *file) __tide_must_check;
/* The text built so far (NUL-terminated; valid until prom_abort/commit). */
const char *prom_text(struct prom *p);
void prom_abort(struct prom *p);

#endif /* TIDE_PROM_H */
