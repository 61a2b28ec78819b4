// SPDX-License-Identifier: GPL-2.0
/*
 * vm: deep copy and release of a VM descriptor.  See vm.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

void vm_desc_clear(struct vm_desc *d)
{
	free(d->name);
	free(d->state);
	free(d->threads);
	free(d->taps);
	d->name = d->state = NULL;
	d->threads = NULL;
	d->taps = NULL;
	d->n_threads = d->n_taps = 0;
}

int vm_desc_copy(struct vm_desc *dst, const struct vm_desc *src)
{
	struct vm_desc d = *src;

	d.name = strdup(src->name ? src->name : "");
	d.state = src->state ? strdup(src->state) : NULL;
	d.threads = src->n_threads ? calloc(src->n_threads, sizeof(*d.threads)) : NULL;
	d.taps = src->n_taps ? calloc(src->n_taps, sizeof(*d.taps)) : NULL;
	if (!d.name || (src->state && !d.state) || (src->n_threads && !d.threads) ||
	    (src->n_taps && !d.taps)) {
		vm_desc_clear(&d);
		return -ENOMEM;
	}
	if (src->n_threads)
		memcpy(d.threads, src->threads, src->n_threads * sizeof(*d.threads));
	if (src->n_taps)
		memcpy(d.taps, src->taps, src->n_taps * sizeof(*d.taps));
	*dst = d;
	return 0;
}
