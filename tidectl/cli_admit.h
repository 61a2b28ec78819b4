/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cli_admit: `tidectl host admissions`: the reservations tided holds for
 * incoming VMs, what it admitted and refused, and the room left (tided's
 * "admit list"; -j prints the reply as it is).
 */
#ifndef TIDE_CLI_ADMIT_H
#define TIDE_CLI_ADMIT_H

#include <stdio.h>

#include "reply.h"

/* The plain printer of "admit list". */
void cli_show_admissions(FILE *out, struct reply *r);
/* `tidectl host admissions` (no arguments). */
int do_host_admissions(int argc, char **argv);

#endif /* TIDE_CLI_ADMIT_H */
