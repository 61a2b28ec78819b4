// SPDX-License-Identifier: GPL-2.0
/*
 * virt_mig: virt's adapters for moving VMs (virt.h): start a migration,
 * change it while it runs, end it, and read the domains of a peer it
 * could go to.  Split from virt.c, whose error sentences (virt_int.h)
 * they share.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "virt.h"
#include "virt_int.h"

int virt_domain_migrate_to_uri3(virDomainPtr dom, const char *dconnuri, virTypedParameterPtr params,
				int n_params, unsigned int flags)
{
	if (virDomainMigrateToURI3(dom, dconnuri, params, (unsigned int)n_params, flags) < 0)
		return FAIL("cannot migrate domain '%s' to '%s'", virt_dom_name(dom), dconnuri);
	return 0;
}

int virt_domain_migrate_set_max_downtime(virDomainPtr dom, unsigned long long ms)
{
	if (virDomainMigrateSetMaxDowntime(dom, ms, 0) < 0)
		return FAIL("cannot set the migration downtime limit of domain '%s' to %llu ms",
			    virt_dom_name(dom), ms);
	return 0;
}

int virt_domain_abort_job(virDomainPtr dom)
{
	if (virDomainAbortJob(dom) < 0)
		return FAIL("cannot abort the job of domain '%s'", virt_dom_name(dom));
	return 0;
}

int virt_domain_migrate_start_post_copy(virDomainPtr dom)
{
	if (virDomainMigrateStartPostCopy(dom, 0) < 0)
		return FAIL("cannot switch the migration of domain '%s' to post-copy",
			    virt_dom_name(dom));
	return 0;
}

int virt_domain_set_metadata(virDomainPtr dom, const char *xml, const char *key, const char *uri)
{
	if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, xml, key, uri,
				 VIR_DOMAIN_AFFECT_LIVE) < 0)
		return FAIL("cannot set metadata '%s' of domain '%s'", uri, virt_dom_name(dom));
	return 0;
}

int virt_domain_is_persistent(virDomainPtr dom, bool *persistent)
{
	int r = virDomainIsPersistent(dom);

	if (r < 0)
		return FAIL("cannot tell whether domain '%s' is persistent", virt_dom_name(dom));
	*persistent = r == 1;
	return 0;
}

int virt_connect_get_all_domain_stats(virConnectPtr conn, unsigned int stats, unsigned int flags,
				      virDomainStatsRecordPtr **records, int *n_records)
{
	int n = virConnectGetAllDomainStats(conn, stats, records, flags);

	if (n < 0)
		return FAIL("cannot read the domains' statistics");
	*n_records = n;
	return 0;
}

void virt_domain_stats_free(virDomainStatsRecordPtr *records)
{
	if (records)
		virDomainStatsRecordListFree(records);
}
