// SPDX-License-Identifier: GPL-2.0
/*
 * qemu_hook_xml: the domain XML as tide-qemu-hook reads it.  See
 * qemu_hook_xml.h.
 *
 * libvirt formats the XML it gives the migrate hook itself (inactive,
 * migratable), so the forms are few: <memory unit='KiB'>, <vcpu
 * placement='static' current='N'>M</vcpu>.  The units are parsed anyway,
 * since an operator's hook running before ours may rewrite the XML.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "qemu_hook_xml.h"

#define HOOK_VCPUS_MAX 16384

static int xml_fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int xml_fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_elem(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* the first child element called name, in no namespace (libvirt's own) */
static const xmlNode *child(const xmlNode *parent, const char *name)
{
	for (const xmlNode *n = parent->children; n; n = n->next)
		if (is_elem(n, name) && !n->ns)
			return n;
	return NULL;
}

/* text of n, trimmed, into buf; false when it does not fit */
static bool text_of(const xmlNode *n, char *buf, size_t len)
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
static bool attr_of(const xmlNode *n, const char *name, char *buf, size_t len)
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

static int parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* libvirt's memory units (virScaleInteger); none means KiB */
static int unit_scale(const char *unit, uint64_t *scale)
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
		*scale = 1024;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		/* libvirt takes the single letters in either case */
		if (!strcmp(unit, units[i].name) ||
		    (strlen(units[i].name) == 1 && !strcasecmp(unit, units[i].name))) {
			*scale = units[i].scale;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_memory(const xmlNode *n, uint64_t *out, char *err, size_t len)
{
	const char *what = (const char *)n->name;
	char text[32], unit[16];
	uint64_t v, scale;

	if (!text_of(n, text, sizeof(text)) || parse_u64(text, &v))
		return xml_fail(err, len, "<%s> is not a number", what);
	if (!attr_of(n, "unit", unit, sizeof(unit)) || unit_scale(unit, &scale))
		return xml_fail(err, len, "<%s> has unit '%s', which libvirt does not have", what,
				unit);
	if (v > UINT64_MAX / scale)
		return xml_fail(err, len, "<%s> is too large", what);
	*out = v * scale;
	return 0;
}

static bool uuid_ok(const char *u)
{
	if (strlen(u) != HOOK_UUID_BYTES - 1)
		return false;
	for (int i = 0; i < HOOK_UUID_BYTES - 1; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? u[i] != '-' : !isxdigit((unsigned char)u[i]))
			return false;
	}
	return true;
}

static int parse_vcpus(const xmlNode *n, uint32_t *out, char *err, size_t len)
{
	char text[16], current[16];
	uint64_t max, cur;

	if (!text_of(n, text, sizeof(text)) || parse_u64(text, &max) || !max || max > HOOK_VCPUS_MAX)
		return xml_fail(err, len, "<vcpu> is not a number of vCPUs");
	if (!attr_of(n, "current", current, sizeof(current)))
		return xml_fail(err, len, "<vcpu current=...> is too long");
	cur = max;
	if (current[0] && (parse_u64(current, &cur) || !cur || cur > max))
		return xml_fail(err, len, "<vcpu current='%s'> is not a number of vCPUs up to %llu",
				current, (unsigned long long)max);
	*out = (uint32_t)cur;
	return 0;
}

/* tide's <move cpus=... source=...> in <metadata>, whatever its prefix */
static void parse_tide_metadata(const xmlNode *root, struct hook_domain *d)
{
	const xmlNode *meta = child(root, "metadata");
	char text[32], source[HOOK_SOURCE_BYTES];

	for (const xmlNode *n = meta ? meta->children : NULL; n; n = n->next) {
		char *end;
		double x;

		if (!is_elem(n, "move") || !n->ns || !n->ns->href ||
		    strcmp((const char *)n->ns->href, HOOK_TIDE_NS) != 0)
			continue;
		if (attr_of(n, "cpus", text, sizeof(text)) && text[0]) {
			errno = 0;
			x = strtod(text, &end);
			if (!errno && !*end && isfinite(x) && x >= 0 && x <= HOOK_VCPUS_MAX)
				d->cpus_expected = x;
		}
		if (attr_of(n, "source", source, sizeof(source))) {
			bool ok = source[0] != '\0';

			for (const char *p = source; *p && ok; p++)
				ok = (unsigned char)*p > 0x20 && *p != 0x7f;
			if (ok)
				snprintf(d->source, sizeof(d->source), "%s", source);
		}
		return;
	}
}

int hook_parse_domain(const char *xml, size_t len, struct hook_domain *d, char *err, size_t err_bytes)
{
	struct hook_domain out = { .cpus_expected = -1 };
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	const xmlNode *root, *n;
	xmlChar *name = NULL;
	int ret;

	if (!xml || !len)
		return xml_fail(err, err_bytes, "no domain XML on stdin");
	if (len > INT_MAX)
		return xml_fail(err, err_bytes, "the domain XML is too large");
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	/* no network, entities left unexpanded (no XML_PARSE_NOENT), no messages */
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[160] = "not well-formed";

		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = '\0';
		}
		ret = xml_fail(err, err_bytes, "the domain XML is not XML: line %d: %s",
			       e ? e->line : 0, msg);
		goto cleanup;
	}
	/* libvirt never writes a DTD; its entities could expand without bound */
	if (doc->intSubset || doc->extSubset) {
		ret = xml_fail(err, err_bytes,
			       "the domain XML has a DTD, which libvirt never writes");
		goto cleanup;
	}
	root = xmlDocGetRootElement(doc);
	if (!root || !is_elem(root, "domain")) {
		ret = xml_fail(err, err_bytes, "the domain XML has root <%s>, not <domain>",
			       root ? (const char *)root->name : "");
		goto cleanup;
	}
	n = child(root, "uuid");
	if (!n || !text_of(n, out.uuid, sizeof(out.uuid)) || !uuid_ok(out.uuid)) {
		ret = xml_fail(err, err_bytes, "the domain XML has no valid <uuid>");
		goto cleanup;
	}
	for (char *p = out.uuid; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	n = child(root, "name");
	name = n ? xmlNodeGetContent(n) : NULL;
	if (!name || !*name) {
		ret = xml_fail(err, err_bytes, "the domain XML has no <name>");
		goto cleanup;
	}
	out.name = strdup((const char *)name);
	if (!out.name) {
		ret = -ENOMEM;
		goto cleanup;
	}
	n = child(root, "memory");
	if (!n)
		n = child(root, "currentMemory");
	if (!n) {
		ret = xml_fail(err, err_bytes, "the domain XML has no <memory>");
		goto cleanup;
	}
	ret = parse_memory(n, &out.memory_bytes, err, err_bytes);
	if (ret)
		goto cleanup;
	out.vcpus = 1; /* libvirt's default */
	n = child(root, "vcpu");
	if (n && (ret = parse_vcpus(n, &out.vcpus, err, err_bytes)))
		goto cleanup;
	parse_tide_metadata(root, &out);
	hook_domain_clear(d);
	*d = out;
	out.name = NULL;
	ret = 0;
cleanup:
	if (ret == -ENOMEM)
		snprintf(err, err_bytes, "out of memory");
	free(out.name);
	xmlFree(name);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return ret;
}

void hook_domain_clear(struct hook_domain *d)
{
	free(d->name);
	memset(d, 0, sizeof(*d));
	d->cpus_expected = -1;
}
