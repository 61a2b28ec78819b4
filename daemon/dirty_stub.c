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
