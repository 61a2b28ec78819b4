/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cli_plan: tidectl's plain printers of "plan": a line per move, or one
 * move in full (tide's model beside the textbook one, the inputs, W(t)).
 */
#ifndef TIDE_CLI_PLAN_H
#define TIDE_CLI_PLAN_H

#include <stdio.h>

#include "reply.h"

/* `tidectl plan`: one line per VM and destination. */
void cli_show_plan(FILE *out, struct reply *r);
/* `tidectl plan NAME HOST`: each move in full. */
void cli_show_plan_detail(FILE *out, struct reply *r);

#endif /* TIDE_CLI_PLAN_H */
