// SPDX-License-Identifier: GPL-2.0
/*
 * xmlu: reading libvirt's domain XML.  See xmlu.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "tide.h"
#include "xmlu.h"

bool xmlu_is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* the first child element called name, in no namespace (libvirt's own) */
const xmlNode *xmlu_child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent->children; n; n = n->next)
		if (xmlu_is_elem(n, name) && !n->ns)
			return n;
	return NULL;
}

/* text of n, trimmed, into buf; false when it does not fit */
bool xmlu_text(const xmlNode *n, char *buf, size_t len)
{
	xmlChar *t = xmlNodeGetContent(n);
	const char *s = t ? (const char *)t : "";
	size_t l;
	bool ok;

	while (isspace((unsigned char)*s))
		s++;
	l = strlen(s);
	while (l && isspace((unsigned char)s[l - 1]))
		l--;
	ok = l < len;
	if (ok) {
		memcpy(buf, s, l);
		buf[l] = '\0';
	}
	xmlFree(t);
	return ok;
}

/* attribute (no namespace) into buf, "" when absent; false when it does not fit */
bool xmlu_attr(const xmlNode *n, const char *name, char *buf, size_t len)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
	bool ok = true;

	buf[0] = '\0';
	if (v) {
		ok = strlen((const char *)v) < len;
		if (ok)
			snprintf(buf, len, "%s", (const char *)v);
		xmlFree(v);
	}
	return ok;
}

int xmlu_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* libvirt's memory units (virScaleInteger): b, KB, k/KiB, MB, M/MiB, ... */
int xmlu_unit_scale(const char *unit, uint64_t *scale)
{
	static const struct {
		const char *name;
		uint64_t scale;
	} units[] = {
		{ "b", 1 },	     { "bytes", 1 },	    { "KB", 1000ull },
		{ "k", 1ull << 10 }, { "KiB", 1ull << 10 }, { "MB", 1000000ull },
		{ "M", 1ull << 20 }, { "MiB", 1ull << 20 }, { "GB", 1000000000ull },
		{ "G", 1ull << 30 }, { "GiB", 1ull << 30 }, { "TB", 1000000000000ull },
		{ "T", 1ull << 40 }, { "TiB", 1ull << 40 }, { "PB", 1000000000000000ull },
		{ "P", 1ull << 50 }, { "PiB", 1ull << 50 }, { "EB", 1000000000000000000ull },
		{ "E", 1ull << 60 }, { "EiB", 1ull << 60 },
	};

	if (!*unit) {
		*scale = 1024; /* libvirt's default: KiB */
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		/* libvirt takes the single letters in either case */
		if (strcmp(unit, units[i].name) == 0 ||
		    (strlen(units[i].name) == 1 && strcasecmp(unit, units[i].name) == 0)) {
			*scale = units[i].scale;
			return 0;
		}
	}
	return -EINVAL;
}
