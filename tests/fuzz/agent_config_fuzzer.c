/* agent_config_fuzzer.c - libFuzzer harness for agent/agent_config.c: the
 * input is written to a temporary file and loaded as a relayprobe-agent
 * config. A refusal must come with a one-line, printable error; an accepted
 * config must be within the AGENT_CONF_* bounds (counts, terminated strings,
 * CIDR prefixes), else abort(). Corpus: tests/fuzz/corpus/agent_config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent_config.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void terminated(const char *s, size_t cap)
{
	if (memchr(s, '\0', cap) == NULL)
		abort();
}

static void check_cidrs(const struct agent_cidr *list, size_t n)
{
	if (n > AGENT_CONF_CIDRS_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((list[i].family == AF_INET && list[i].prefix > 32) ||
		    (list[i].family == AF_INET6 && list[i].prefix > 128) ||
		    (list[i].family != AF_INET && list[i].family != AF_INET6))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct agent_config c; /* ~20 KiB: off the stack */
	char err[512];
	const char *path = fuzz_file_put("agent", data, size);

	if (path == NULL)
		return 0;
	memset(err, 'x', sizeof(err));
	if (agent_config_load(path, &c, err, sizeof(err)) != 0) {
		terminated(err, sizeof(err));
		if (err[0] == '\0')
			abort(); /* a refusal says why */
		for (const char *p = err; *p; p++)
			if (*p == '\n' || *p == '\r')
				abort();
		return 0;
	}
	terminated(c.controller, sizeof(c.controller));
	terminated(c.controller_key, sizeof(c.controller_key));
	terminated(c.keys, sizeof(c.keys));
	terminated(c.state, sizeof(c.state));
	terminated(c.bind, sizeof(c.bind));
	if (c.controller[0] == '\0' || c.keys[0] == '\0' || c.state[0] == '\0' ||
	    c.controller_key[0] == '\0')
		abort(); /* required keys */
	if (c.n_labels > AGENT_CONF_LABELS_MAX || c.n_canary_domains > AGENT_CONF_CANARIES_MAX)
		abort();
	for (size_t i = 0; i < c.n_labels; i++) {
		terminated(c.label_keys[i], sizeof(c.label_keys[i]));
		terminated(c.label_values[i], sizeof(c.label_values[i]));
	}
	for (size_t i = 0; i < c.n_canary_domains; i++) {
		terminated(c.canary_domains[i], sizeof(c.canary_domains[i]));
		(void)agent_config_is_canary(&c, c.canary_domains[i]);
	}
	check_cidrs(c.allow, c.n_allow);
	check_cidrs(c.deny, c.n_deny);
	if (!(c.rate >= 0))
		abort(); /* NaN or negative */
	return 0;
}
