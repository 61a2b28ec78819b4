/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virt_int: what virt's adapter files share: the sentence of a failed call
 * (virt.c) for the adapters of virt_mig.c.
 */
#ifndef TIDE_VIRT_INT_H
#define TIDE_VIRT_INT_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "tide.h"

/* Record "cannot <what>: <libvirt's reason>" as virt_last_error(); the errno. */
int virt_fail_with(const virError *e, const char *fmt, ...) __tide_printf(2, 3);
/* A domain's name for a message ("?" when it has none). */
const char *virt_dom_name(virDomainPtr dom);

/*
 * Every public libvirt call resets the thread's last error, including the
 * virDomainGetName() a message may need: copy the error before the
 * message's arguments are evaluated.
 */
#define FAIL(...)                                        \
	({                                               \
		virError _e = { 0 };                     \
		int _ret;                                \
                                                         \
		virCopyLastError(&_e);                   \
		_ret = virt_fail_with(&_e, __VA_ARGS__); \
		virResetError(&_e);                      \
		_ret;                                    \
	})

#endif /* TIDE_VIRT_INT_H */
