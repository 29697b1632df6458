/* dialog_fuzzer.c - drives the sans-I/O dialog with arbitrary server bytes.
 * Byte 0 picks the parameters (TLS policy, DATA, pipelining budget); the rest
 * is the server's output, fed in chunks, with reconnects, TLS and timeouts
 * answered as a driver would. Aborts when an invariant breaks: output over
 * its cap, a non-printable transcript byte, an impossible verdict, a loop. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dialog.h"
#include "relay_tests.h"
#include "rp_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dialog_params p;
	size_t idx[RP_TESTS_MAX], n = 0, pos = 1;
	char err[64];
	struct dialog *d;
	uint64_t now = 1800000000000ULL;
	unsigned steps = 0;

	if (size < 1)
		return 0;
	dialog_params_defaults(&p);
	p.ehlo_name = "probe.example.org";
	p.from_local = "f";
	p.to_local = "t";
	p.to_domain = "example.net";
	p.server_ip = (data[0] & 0x40) ? "2001:db8::1" : "192.0.2.1";
	p.tls = (enum dialog_tls_policy)(data[0] & 3);
	p.send_data = (data[0] & 4) != 0;
	p.session_errors = 1 + ((data[0] >> 3) & 7);
	if (relay_tests_select((data[0] & 0x80) ? "all" : "basic", idx, RP_TESTS_MAX, &n, err,
	                       sizeof(err)) < 0)
		abort();
	p.tests = idx;
	p.ntests = n;
	d = dialog_new(&p, now);
	if (d == NULL)
		abort();
	while (dialog_next(d) != DLG_ACT_DONE) {
		size_t olen;

		if (++steps > 100000)
			abort(); /* the dialog must always make progress */
		now += 7;
		dialog_output(d, &olen);
		if (olen > RP_DIALOG_OUT_MAX)
			abort();
		switch (dialog_next(d)) {
		case DLG_ACT_CONNECT:
			if (now < dialog_wake_at(d))
				now = dialog_wake_at(d);
			dialog_connecting(d, now, "192.0.2.1:25");
			if (pos >= size)
				dialog_connect_failed(d, now, "fuzz input ended");
			else if (p.tls == DLG_TLS_IMPLICIT) {
				struct dialog_tls_info info = {.protocol = "TLSv1.3"};

				dialog_tls_done(d, now, &info, NULL);
				dialog_connected(d, now, "192.0.2.1:25");
			} else
				dialog_connected(d, now, "192.0.2.1:25");
			break;
		case DLG_ACT_STARTTLS:
			if (pos < size && (data[pos] & 1)) {
				struct dialog_tls_info info = {.protocol = "TLSv1.2"};

				dialog_tls_done(d, now, &info, NULL);
			} else {
				dialog_tls_done(d, now, NULL, "fuzz");
			}
			break;
		case DLG_ACT_CLOSE:
			dialog_output_consume(d, olen);
			dialog_disconnected(d, now, NULL);
			break;
		case DLG_ACT_IO:
			if (olen > 0) {
				dialog_output_consume(d, olen / 2 + 1);
			} else if (pos < size) {
				size_t chunk = 1 + data[pos] % 97;

				if (chunk > size - pos)
					chunk = size - pos;
				if (data[pos] == 0xff) {
					dialog_disconnected(d, now, "fuzz drop");
					pos++;
				} else {
					dialog_feed(d, now, (const char *)data + pos, chunk);
					pos += chunk;
				}
			} else {
				uint64_t dl = dialog_deadline(d);

				if (dl == 0)
					abort(); /* waiting forever */
				now = dl;
				dialog_timeout(d, now);
			}
			break;
		default:
			abort();
		}
	}
	{
		enum dialog_verdict v = dialog_verdict(d);
		const struct transcript *t = dialog_transcript(d);
		size_t ne;
		const int *ev = dialog_evidence(d, &ne);

		if ((unsigned)v >= DV_COUNT)
			abort();
		for (size_t i = 0; i < ne; i++)
			if (ev[i] < 0 || (size_t)ev[i] >= transcript_count(t))
				abort();
		for (size_t i = 0; i < transcript_count(t); i++) {
			struct tr_entry e;

			if (transcript_get(t, i, &e) < 0 || strlen(e.text) != e.len)
				abort();
			for (size_t k = 0; k < e.len; k++)
				if ((unsigned char)e.text[k] < 0x20 ||
				    (unsigned char)e.text[k] > 0x7e)
					abort();
		}
	}
	dialog_free(&d);
	return 0;
}
