// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: tided.conf's parser (conf_parse_string) on any bytes.
 * A crash, a sanitizer report or a leak is a finding; a refusal is not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tide_conf *c = NULL;
	char err[512];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	log_set_level(LOG_LEVEL_ERR);
	if (conf_parse_string(text, "fuzz.conf", &c, err, sizeof(err)) == 0)
		conf_free(c);
	free(text);
	return 0;
}
