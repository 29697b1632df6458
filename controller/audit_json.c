/* audit_json.c - an audit request's JSON form into a struct audit_req
 * (audit_json.h). */
#include "audit_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp_limits.h"

/* "tests": a string or a list of strings, joined with commas. */
static int tests_from(json_t *tests, char *spec, size_t size, char *err, size_t errlen)
{
	json_t *v;
	size_t i, off = 0;

	spec[0] = '\0';
	if (tests == NULL || json_is_null(tests))
		return 0;
	if (json_is_string(tests)) {
		if (json_string_length(tests) >= size)
			return ctl_errf(err, errlen, "\"tests\" too long");
		snprintf(spec, size, "%s", json_string_value(tests));
		return 0;
	}
	if (!json_is_array(tests))
		return ctl_errf(err, errlen, "\"tests\" must be a string or a list of strings");
	json_array_foreach(tests, i, v)
	{
		if (!json_is_string(v))
			return ctl_errf(err, errlen,
			                "\"tests\" must be a string or a list of strings");
		off += (size_t)snprintf(spec + off, off < size ? size - off : 0, "%s%s",
		                        i ? "," : "", json_string_value(v));
		if (off >= size)
			return ctl_errf(err, errlen, "\"tests\" too long");
	}
	return 0;
}

/* The integer parameters: their JSON name, maximum and place. */
static uint32_t *int_param(struct audit_params *p, const char *key, json_int_t *max)
{
	if (strcmp(key, "port") == 0)
		return *max = 65535, &p->port;
	if (strcmp(key, "timeout") == 0)
		return *max = 86400, &p->timeout_s;
	if (strcmp(key, "retry_after") == 0)
		return *max = 86400, &p->retry_after_s;
	return NULL;
}

static const char **str_param(struct audit_params *p, const char *key)
{
	if (strcmp(key, "tls") == 0)
		return &p->tls;
	if (strcmp(key, "to") == 0)
		return &p->to;
	if (strcmp(key, "from") == 0)
		return &p->from;
	if (strcmp(key, "ehlo") == 0)
		return &p->ehlo;
	return NULL;
}

static int params_from(json_t *params, struct audit_params *p, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	p->tls = p->to = p->from = p->ehlo = "";
	if (params == NULL)
		return 0;
	if (!json_is_object(params))
		return ctl_errf(err, errlen, "\"params\" must be an object");
	json_object_foreach(params, key, v)
	{
		json_int_t max = 0;
		uint32_t *n = int_param(p, key, &max);
		const char **s = str_param(p, key);

		if (strcmp(key, "data") == 0) {
			if (!json_is_boolean(v))
				return ctl_errf(err, errlen,
				                "params: 'data' must be true or false");
			p->data = json_is_true(v);
		} else if (n != NULL) {
			json_int_t x = json_integer_value(v);

			if (!json_is_integer(v) || x < 0 || x > max)
				return ctl_errf(err, errlen, "params: '%s' out of range", key);
			*n = (uint32_t)x;
		} else if (s != NULL) {
			if (!json_is_string(v))
				return ctl_errf(err, errlen,
				                "params: '%s' must be a string without spaces",
				                key);
			*s = json_string_value(v);
		} else {
			return ctl_errf(err, errlen, "params: unknown key '%.32s'", key);
		}
	}
	return 0;
}

/* A list of strings into a NULL-free array borrowed from the JSON. */
static int strings_from(json_t *arr, const char ***out, size_t *n)
{
	json_t *el;
	size_t i;

	*out = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof(**out));
	if (*out == NULL)
		return -1;
	json_array_foreach(arr, i, el)(*out)[i] = json_string_value(el);
	*n = json_array_size(arr);
	return 0;
}

int audit_req_from_json(json_t *obj, bool need_targets, struct audit_req_json *out, char *err,
                        size_t errlen)
{
	json_t *targets = json_object_get(obj, "targets"), *vj = json_object_get(obj, "vantages");
	struct audit_req *r = &out->req;

	memset(out, 0, sizeof(*out));
	if (need_targets) {
		size_t n = json_array_size(targets);

		if (!json_is_array(targets) || n == 0 || n > RP_ADMIN_TARGETS_MAX)
			return ctl_errf(err, errlen,
			                "\"targets\" must be a list of 1 to %d targets",
			                RP_ADMIN_TARGETS_MAX);
		if (strings_from(targets, &out->targets, &r->ntargets) < 0)
			return ctl_errf(err, errlen, "out of memory");
		for (size_t i = 0; i < n; i++)
			if (out->targets[i] == NULL)
				return ctl_errf(
				    err, errlen,
				    "target %zu is not a string of printable characters", i + 1);
		r->targets = out->targets;
	}
	if (tests_from(json_object_get(obj, "tests"), out->tests, sizeof(out->tests), err, errlen) <
	        0 ||
	    params_from(json_object_get(obj, "params"), &r->params, err, errlen) < 0)
		return -1;
	r->tests = out->tests;
	if (vj != NULL && !(json_is_string(vj) && strcmp(json_string_value(vj), "all") == 0)) {
		if (!json_is_array(vj) || json_array_size(vj) == 0)
			return ctl_errf(err, errlen,
			                "\"vantages\" must be \"all\" or a list of agent names");
		if (strings_from(vj, &out->vantages, &r->nvantages) < 0)
			return ctl_errf(err, errlen, "out of memory");
		for (size_t i = 0; i < r->nvantages; i++)
			if (out->vantages[i] == NULL)
				return ctl_errf(err, errlen,
				                "vantage (not a string) is not an approved agent");
		r->vantages = out->vantages;
	}
	return 0;
}

void audit_req_json_clear(struct audit_req_json *r)
{
	free(r->targets);
	free(r->vantages);
	memset(r, 0, sizeof(*r));
}
