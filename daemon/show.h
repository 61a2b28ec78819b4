/* SPDX-License-Identifier: GPL-2.0 */
/*
 * show: the "vm show" and "host show" control commands, read from the
 * store (store.h): the one producer behind tidectl's tables, JSON and top.
 *
 * The reply schema is documented in tidectl(8).
 *
 * Requests:
 *     {"cmd": "vm show"}                      every VM
 *     {"cmd": "vm show", "vm": "NAME|UUID"}   one VM; unknown: an error
 *     {"cmd": "host show"}
 * Both take "window_ms" (rates over at least that much of the ring rather
 * than over the last tick); "vm show" takes "history": N (the last N
 * samples of each VM, newest first).
 *
 * Units are in the key names (cpu_ns, rx_bytes_per_s, memory_bytes, ...);
 * the keys of the series are the names of series.h's table; network
 * figures are from the VM's point of view, as libvirt reports them (and
 * as the store keeps them): rx is what the VM received.
 */
#ifndef TIDE_SHOW_H
#define TIDE_SHOW_H

#include <json-c/json.h>

int show_init(void);
void show_fini(void);

/* The commands' bodies, for tests: fill reply, or -errno and reply's "error". */
int show_vm(struct json_object *req, struct json_object *reply);
int show_host(struct json_object *req, struct json_object *reply);

#endif /* TIDE_SHOW_H */
