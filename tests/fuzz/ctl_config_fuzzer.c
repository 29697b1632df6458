/* ctl_config_fuzzer.c - libFuzzer harness for controller/ctl_config.c: the
 * input is written to a temporary file and loaded as a relayprobe-controller
 * config. A refusal must leave the struct cleared and give a one-line error;
 * an accepted config must have its endpoints set and its numbers within
 * bounds, else abort(). Corpus: tests/fuzz/corpus/ctl_config. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ctl_config zero;
	struct ctl_config cfg;
	char err[512];
	const char *path = fuzz_file_put("ctl", data, size);

	if (path == NULL)
		return 0;
	memset(err, 'x', sizeof(err));
	if (ctl_config_load(path, &cfg, err, sizeof(err)) != 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL || err[0] == '\0')
			abort();
		for (const char *p = err; *p; p++)
			if (*p == '\n' || *p == '\r')
				abort();
		if (memcmp(&cfg, &zero, sizeof(cfg)) != 0)
			abort(); /* cleared on failure */
		return 0;
	}
	if (cfg.listen == NULL || strncmp(cfg.listen, "tcp://", 6) != 0 || cfg.keys == NULL ||
	    cfg.database == NULL || cfg.admin == NULL || strncmp(cfg.admin, "ipc://", 6) != 0)
		abort();
	if (cfg.order_ttl < CTL_ORDER_TTL_MIN || cfg.order_ttl > CTL_ORDER_TTL_MAX)
		abort();
	if (!isfinite(cfg.retention_s) || cfg.retention_s < 0)
		abort();
	if ((cfg.smtp_server == NULL) != (cfg.mail_from == NULL) ||
	    (cfg.smtp_server == NULL) != (cfg.mail_to == NULL))
		abort(); /* email hook: all three or none */
	ctl_config_clear(&cfg);
	return 0;
}
