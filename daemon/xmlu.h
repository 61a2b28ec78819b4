/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xmlu: the few ways tide reads libvirt's domain XML with libxml2, shared by
 * the inventory (inv_parse.c) and the qemu hook (hooks/qemu_hook_xml.c).
 * Pure: no I/O, no state.
 */
#ifndef TIDE_XMLU_H
#define TIDE_XMLU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

bool xmlu_is_elem(const xmlNode *n, const char *name);
/* The first child element called name, in no namespace (libvirt's own). */
const xmlNode *xmlu_child(const xmlNode *parent, const char *name);
/* n's text, trimmed, into buf; false when it does not fit. */
bool xmlu_text(const xmlNode *n, char *buf, size_t len);
/* An attribute in no namespace into buf, "" when absent; false when it does not fit. */
bool xmlu_attr(const xmlNode *n, const char *name, char *buf, size_t len);
/* A decimal without sign or blanks: 0 or -EINVAL. */
int xmlu_parse_u64(const char *s, uint64_t *out);
/* libvirt's memory unit (virScaleInteger; "" is KiB) as bytes: 0 or -EINVAL. */
int xmlu_unit_scale(const char *unit, uint64_t *scale);

#endif /* TIDE_XMLU_H */
