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

#include "xmlu.h"

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

static int parse_memory(const xmlNode *n, uint64_t *out, char *err, size_t len)
{
	const char *what = (const char *)n->name;
	char text[32], unit[16];
	uint64_t v, scale;

	if (!xmlu_text(n, text, sizeof(text)) || xmlu_parse_u64(text, &v))
		return xml_fail(err, len, "<%s> is not a number", what);
	if (!xmlu_attr(n, "unit", unit, sizeof(unit)) || xmlu_unit_scale(unit, &scale))
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

	if (!xmlu_text(n, text, sizeof(text)) || xmlu_parse_u64(text, &max) || !max ||
	    max > HOOK_VCPUS_MAX)
		return xml_fail(err, len, "<vcpu> is not a number of vCPUs");
	if (!xmlu_attr(n, "current", current, sizeof(current)))
		return xml_fail(err, len, "<vcpu current=...> is too long");
	cur = max;
	if (current[0] && (xmlu_parse_u64(current, &cur) || !cur || cur > max))
		return xml_fail(err, len, "<vcpu current='%s'> is not a number of vCPUs up to %llu",
				current, (unsigned long long)max);
	*out = (uint32_t)cur;
	return 0;
}

/* tide's <move cpus=... source=...> in <metadata>, whatever its prefix */
static void parse_tide_metadata(const xmlNode *root, struct hook_domain *d)
{
	const xmlNode *meta = xmlu_child(root, "metadata");
	char text[32], source[HOOK_SOURCE_BYTES];

	for (const xmlNode *n = meta ? meta->children : NULL; n; n = n->next) {
		char *end;
		double x;

		if (!xmlu_is_elem(n, "move") || !n->ns || !n->ns->href ||
		    strcmp((const char *)n->ns->href, HOOK_TIDE_NS) != 0)
			continue;
		if (xmlu_attr(n, "cpus", text, sizeof(text)) && text[0]) {
			errno = 0;
			x = strtod(text, &end);
			if (!errno && !*end && isfinite(x) && x >= 0 && x <= HOOK_VCPUS_MAX)
				d->cpus_expected = x;
		}
		if (xmlu_attr(n, "source", source, sizeof(source))) {
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
	if (!root || !xmlu_is_elem(root, "domain")) {
		ret = xml_fail(err, err_bytes, "the domain XML has root <%s>, not <domain>",
			       root ? (const char *)root->name : "");
		goto cleanup;
	}
	n = xmlu_child(root, "uuid");
	if (!n || !xmlu_text(n, out.uuid, sizeof(out.uuid)) || !uuid_ok(out.uuid)) {
		ret = xml_fail(err, err_bytes, "the domain XML has no valid <uuid>");
		goto cleanup;
	}
	for (char *p = out.uuid; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	n = xmlu_child(root, "name");
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
	n = xmlu_child(root, "memory");
	if (!n)
		n = xmlu_child(root, "currentMemory");
	if (!n) {
		ret = xml_fail(err, err_bytes, "the domain XML has no <memory>");
		goto cleanup;
	}
	ret = parse_memory(n, &out.memory_bytes, err, err_bytes);
	if (ret)
		goto cleanup;
	out.vcpus = 1; /* libvirt's default */
	n = xmlu_child(root, "vcpu");
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
