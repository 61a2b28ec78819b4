/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qemu_hook_xml: what tide-qemu-hook reads of the domain XML libvirt gives
 * it on stdin: name, uuid, memory, vCPUs, and tide's metadata, which the
 * source's tided writes before it migrates a VM:
 *     <metadata><tide:move xmlns:tide="urn:tide:1" cpus="0.85" source="h1"/></metadata>
 * (the CPU the VM is expected to need, the host it comes from).
 */
#ifndef TIDE_QEMU_HOOK_XML_H
#define TIDE_QEMU_HOOK_XML_H

#include <stddef.h>
#include <stdint.h>

#define HOOK_TIDE_NS "urn:tide:1"
#define HOOK_UUID_BYTES 37
#define HOOK_SOURCE_BYTES 64

struct hook_domain {
	char *name;
	char uuid[HOOK_UUID_BYTES];	/* lower case */
	uint64_t memory_bytes;		/* <memory>, else <currentMemory> */
	uint32_t vcpus;			/* <vcpu current=...>, else <vcpu> */
	double cpus_expected;		/* < 0: no usable tide metadata */
	char source[HOOK_SOURCE_BYTES]; /* "" when the metadata does not say */
};

/*
 * Parse len bytes of xml into d (zeroed, or from an earlier parse): 0, or
 * -EINVAL with a sentence in err (not XML, a DTD, not a <domain>, no name
 * or valid uuid, no memory, a bad number or unit), -ENOMEM.  No network
 * access, no entity expansion.  A tide metadata element with a bad value
 * is ignored (cpus_expected < 0): the admission then assumes the VM's
 * vCPUs, which is the safe side.
 */
int hook_parse_domain(const char *xml, size_t len, struct hook_domain *d, char *err,
		      size_t err_bytes);
void hook_domain_clear(struct hook_domain *d);

#endif /* TIDE_QEMU_HOOK_XML_H */
