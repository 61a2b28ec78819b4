/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cli_migrate: `tidectl migrate NAME HOST ...`: one live migration asked
 * by hand, through tided's checks, and optionally followed to its end.
 */
#ifndef TIDE_CLI_MIGRATE_H
#define TIDE_CLI_MIGRATE_H

int do_migrate(int argc, char **argv);
/* `tidectl host drain [dry-run]`, `tidectl host undrain` */
int do_host_drain(int argc, char **argv);
int do_host_undrain(int argc, char **argv);

#endif /* TIDE_CLI_MIGRATE_H */
