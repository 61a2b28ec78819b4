// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the two readers of libvirt's domain XML on any bytes:
 * the inventory's (inv_parse_domain_xml: name, uuid, memory, vCPUs,
 * interfaces, the VM's policy) and the qemu hook's (hook_parse_domain:
 * what an incoming VM asks of the destination).  Both are handed XML by
 * libvirt, which an operator or a guest agent can shape.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inv.h"
#include "log.h"
#include "qemu_hook_xml.h"
#include "vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_desc d = { 0 };
	struct hook_domain h;
	char err[512];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	log_set_level(LOG_LEVEL_ERR);
	if (inv_parse_domain_xml(text, &d, err, sizeof(err)) == 0)
		vm_desc_clear(&d);
	memset(&h, 0, sizeof(h));
	if (hook_parse_domain(text, size, &h, err, sizeof(err)) == 0)
		hook_domain_clear(&h);
	free(text);
	return 0;
}
