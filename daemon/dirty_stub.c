// SPDX-License-Identifier: GPL-2.0
/*
 * dirty_stub: weak stand-ins for dirty.c until it lands: no VM has a
 * curve yet.  Removed when dirty.c is merged.
 */
#include <errno.h>
#include <string.h>

#include "dirty.h"

__attribute__((weak)) int dirty_get(const char *uuid, struct dirty_info *out)
{
	(void)uuid;
	memset(out, 0, sizeof(*out));
	return -ENODATA;
}

__attribute__((weak)) int dirty_curve(const char *uuid, struct model_curve *out)
{
	(void)uuid;
	return model_curve_init(out, 4096) ? -EINVAL : -ENODATA;
}

__attribute__((weak)) const char *dirty_source_name(enum dirty_source s)
{
	static const char *const names[DIRTY_SRC_N] = { "page-sampling", "migration", "dirty-ring" };

	return s < DIRTY_SRC_N ? names[s] : "?";
}

__attribute__((weak)) int dirty_add_point(const char *uuid, enum dirty_source src, uint32_t t_ms,
					  uint64_t pages, uint64_t taken_ns)
{
	return 0;
}

__attribute__((weak)) void dirty_migration_begin(const char *uuid)
{
}

__attribute__((weak)) void dirty_migration_end(const char *uuid)
{
}
