/* test_ctl_hostile.c - relayprobe-controller against a hostile world (issue
 * 8), end to end: the real binary forked on a loopback port with a SQLite
 * file in a mkdtemp directory.
 *  - one (target, vantage) cell of 40 results of ~1 MiB each, written into
 *    the store before the controller starts (as an agent would have):
 *    `relayprobe transcript` prints all 40, `report --format html` has them
 *    all, and the controller's peak RSS (VmHWM) grows by < 64 MiB;
 *  - a ZAP flood of 3,030 distinct CURVE keys from 301 loopback addresses:
 *    10 new pending keys per minute from one address, RP_CTL_PENDING_MAX in
 *    all; an approved key still gets in and the admin socket answers
 *    during the flood (latencies printed). Loopback only. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <setjmp.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "keys.h"
#include "rp_limits.h"
#include "store_agents.h"
#include "store_orders.h"
#include "store_results.h"

/* The limits under test (rp_limits.h), named here too so that the test
 * builds against a controller without them and fails there. */
#ifndef RP_CTL_PENDING_MAX
#define RP_CTL_PENDING_MAX 1000
#endif
#ifndef RP_CTL_PENDING_PER_PEER_MIN
#define RP_CTL_PENDING_PER_PEER_MIN 10
#endif

struct env {
	char dir[256];
	char conf[512];
	char db[512];
	char admin_ep[512];
	char endpoint[128];
	int port;
	pid_t pid;
	void *zctx;   /* the flood's sockets */
	void *zquiet; /* admin requests and agent1: another I/O thread */
	struct keys *ctl;
};

static struct env E;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* One admin request; the reply parsed (NULL on timeout). */
static json_t *admin(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	void *req = zmq_socket(E.zquiet, ZMQ_REQ);
	int zero = 0, tmo = 10000;
	zmq_msg_t m;
	json_t *j = NULL;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(req, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
	assert_int_equal(zmq_connect(req, E.admin_ep), 0);
	assert_true(zmq_send(req, buf, strlen(buf), 0) >= 0);
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, req, 0) >= 0)
		j = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, NULL);
	zmq_msg_close(&m);
	zmq_close(req);
	return j;
}

static void start_controller(void)
{
	char log[600];
	pid_t pid;

	snprintf(log, sizeof(log), "%s/controller.log", E.dir);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execl(RP_CONTROLLER_BIN, "relayprobe-controller", "--config", E.conf, "-v",
		      (char *)NULL);
		_exit(127);
	}
	E.pid = pid;
	for (int i = 0; i < 400; i++) {
		char path[600];
		struct stat st;

		snprintf(path, sizeof(path), "%s/admin.sock", E.dir);
		if (stat(path, &st) == 0) {
			json_t *r = admin("{\"cmd\":\"audit.status\",\"audit\":\"latest\"}");

			assert_non_null(r);
			json_decref(r);
			return;
		}
		usleep(50000);
	}
	fail_msg("controller did not start (see %s)", log);
}

/* The controller's peak resident set (VmHWM), in KiB. */
static long vm_hwm_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)E.pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	assert_true(kib > 0);
	return kib;
}

static int setup(void **state)
{
	char err[256];
	FILE *f;

	(void)state;
	memset(&E, 0, sizeof(E));
	if (sodium_init() < 0)
		return -1;
	snprintf(E.dir, sizeof(E.dir), "/tmp/rp-test-hostile-XXXXXX");
	if (mkdtemp(E.dir) == NULL)
		return -1;
	E.ctl = keys_generate(KEYS_ROLE_CONTROLLER, "ctl");
	if (E.ctl == NULL || keys_save(E.ctl, E.dir, err, sizeof(err)) < 0)
		return -1;
	E.port = free_port();
	snprintf(E.endpoint, sizeof(E.endpoint), "tcp://127.0.0.1:%d", E.port);
	snprintf(E.admin_ep, sizeof(E.admin_ep), "ipc://%s/admin.sock", E.dir);
	snprintf(E.conf, sizeof(E.conf), "%s/controller.conf", E.dir);
	snprintf(E.db, sizeof(E.db), "%s/c.db", E.dir);
	f = fopen(E.conf, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "[controller]\nlisten = %s\nkeys = %s/ctl.secret\ndatabase = %s\nadmin = %s\n",
	        E.endpoint, E.dir, E.db, E.admin_ep);
	fclose(f);
	E.zctx = zmq_ctx_new();
	E.zquiet = zmq_ctx_new();
	return E.zctx && E.zquiet ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	if (E.pid > 0) {
		kill(E.pid, SIGTERM);
		waitpid(E.pid, NULL, 0);
		E.pid = 0;
	}
	zmq_ctx_term(E.zctx);
	zmq_ctx_term(E.zquiet);
	keys_free(&E.ctl);
	if (getenv("RP_KEEP_TMP") == NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", E.dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

/* ---- one huge cell ---- */

/* Under AddressSanitizer the CLI's and the controller's work over 40 MiB
 * takes minutes: 12 results (12 MiB, six pages inside the cell) still page
 * inside the cell there; the full size runs in the normal build. */
#if defined(__SANITIZE_ADDRESS__)
#define BIG_RESULTS 12
#else
#define BIG_RESULTS 40
#endif
#define BIG_ENTRIES 1000 /* transcript entries of ~1 KiB: ~1 MiB a result */

/* A result of big.example from 192.0.2.i, with MARK-ii in every line. */
static char *big_result(const char *target, int i, int entries)
{
	char *buf = NULL, pad[1001];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	fprintf(f,
	        "{\"target\":\"%s\",\"address\":\"192.0.2.%d\",\"port\":25,\"verdict\":\"open\","
	        "\"reason\":\"MARK-%02d\",\"transcript\":[",
	        target, i + 1, i);
	for (int e = 0; e < entries; e++)
		fprintf(f, "%s{\"t\":%d,\"dir\":\"recv\",\"text\":\"250-MARK-%02d-%04d %s\"}",
		        e ? "," : "", e, i, e, pad);
	fputs("]}", f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Fills the store as an agent would have: audit 1, one order of agent1 and
 * its results: BIG_RESULTS large ones for big.example, one small one for
 * aa.example and zz.example (cells before and after the big one). */
static void fill_big_cell(void)
{
	char err[256];
	struct store *s = store_open(E.db, err, sizeof(err));
	struct store_agent a = {.name = "agent1",
	                        .curve_public = "agent1-curve",
	                        .ed25519_public = "agent1-ed",
	                        .fingerprint = "fp1"};
	static const uint8_t body[1] = {0};
	struct store_order o = {0};
	struct store_result r = {0};
	int64_t agent, audit, now = (int64_t)time(NULL); /* retention keeps them */
	uint64_t seq;
	char addr[32];

	if (s == NULL)
		fail_msg("store_open: %s", err);
	assert_int_equal(store_agent_upsert(s, &a, now, &agent, NULL), 0);
	assert_int_equal(store_agent_approve(s, agent), 0);
	assert_int_equal(store_audit_create(s, NULL, now, &audit), 0);
	assert_int_equal(audit, 1);
	assert_int_equal(store_next_sequence(s, agent, &seq), 0);
	o.id = "o1";
	o.audit_id = audit;
	o.agent_id = agent;
	o.sequence = seq;
	o.body = body;
	o.body_len = sizeof(body);
	assert_int_equal(store_order_add(s, &o, now), 0);
	r.agent_id = agent;
	r.order_id = "o1";
	r.port = 25;
	r.verdict = DV_OPEN;
	for (int i = 0; i < BIG_RESULTS + 2; i++) {
		const char *t = i < BIG_RESULTS    ? "big.example"
		                : i == BIG_RESULTS ? "aa.example"
		                                   : "zz.example";
		char *js = big_result(t, i, i < BIG_RESULTS ? BIG_ENTRIES : 2);

		snprintf(addr, sizeof(addr), "192.0.2.%d", i + 1);
		r.target = t;
		r.address = addr;
		r.result_json = js;
		assert_int_equal(store_result_ingest(s, &r, now), STORE_INGEST_NEW);
		free(js);
	}
	assert_int_equal(store_audit_set_status(s, audit, "done"), 0);
	store_close(&s);
}

/* Runs the relayprobe CLI with args, its output in DIR/name; exit status. */
static int cli(const char *name, const char *args)
{
	char cmd[2048];
	int st;

	snprintf(cmd, sizeof(cmd),
	         "'%s' %s --admin '%s' --admin-timeout 30 > '%s/%s' 2> '%s/%s.err'", RP_CLI_BIN,
	         args, E.admin_ep, E.dir, name, E.dir, name);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The file DIR/name, malloc'd and NUL-terminated. */
static char *slurp(const char *name, size_t *len)
{
	char path[600];
	char *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", E.dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Every one of the 40 results, by its marker, once in the header line. */
static void expect_all_marks(const char *text)
{
	char mark[64];

	for (int i = 0; i < BIG_RESULTS; i++) {
		snprintf(mark, sizeof(mark), "(MARK-%02d)\n", i);
		if (strstr(text, mark) == NULL)
			fail_msg("result %d (%s) missing", i, mark);
	}
}

static void test_big_cell_pages(void **state)
{
	long before, after;
	size_t len;
	char *out;
	json_t *j;

	(void)state;
	fill_big_cell();
	start_controller();
	before = vm_hwm_kib();

	/* text: 40 results of big.example, each with its 1000 lines */
	assert_int_equal(cli("tr.txt", "transcript 1 big.example agent1"), 0);
	out = slurp("tr.txt", &len);
	assert_int_equal(count(out, "\n== big.example ") +
	                     (strncmp(out, "== big.example ", 15) == 0),
	                 BIG_RESULTS);
	assert_int_equal(count(out, "250-MARK-"), BIG_RESULTS * BIG_ENTRIES);
	expect_all_marks(out);
	free(out);

	/* --json: one reply with all 40 results */
	assert_int_equal(cli("tr.json", "transcript --json 1 big.example agent1"), 0);
	out = slurp("tr.json", &len);
	j = json_loadb(out, len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "results")), BIG_RESULTS);
	json_decref(j);
	free(out);

	/* html: the three cells, the big one whole */
	/* exit 1: an open relay was found; anything else is a failure */
	assert_int_equal(cli("report.html", "report --format html 1"), 1);
	out = slurp("report.html", &len);
	assert_int_equal(count(out, "== big.example "), BIG_RESULTS);
	assert_int_equal(count(out, "250-MARK-"), BIG_RESULTS * BIG_ENTRIES + 2 * 2);
	assert_int_equal(count(out, "== aa.example "), 1);
	assert_int_equal(count(out, "== zz.example "), 1);
	expect_all_marks(out);
	assert_null(strstr(out, "no transcript from the controller"));
	assert_non_null(strstr(out, "</html>"));
	free(out);

	after = vm_hwm_kib();
	printf("controller VmHWM before=%ld KiB after=%ld KiB growth=%ld KiB\n", before, after,
	       after - before);
#if !defined(__SANITIZE_ADDRESS__)
	/* (Not under ASan: its quarantine keeps up to 256 MiB of freed memory
	 * resident, so VmHWM says nothing about what the controller holds.) */
	assert_true(after - before < 64 * 1024);
#endif
}

/* ---- ZAP flood ---- */

#define FLOOD_BATCH 100

struct knock {
	void *d, *mon;
};

/* A DEALER with a CURVE key (k: an agent's, NULL: a fresh one) connecting
 * from src (NULL: any) and a monitor of its handshake. */
static void knock_open(void *zctx, struct knock *kn, const struct keys *k, const char *src, int n)
{
	char pub[KEYS_Z85_LEN + 1], sec[KEYS_Z85_LEN + 1], ep[160], mep[64];
	int zero = 0, ivl = 60000;

	if (k == NULL)
		assert_int_equal(zmq_curve_keypair(pub, sec), 0);
	else {
		memcpy(pub, keys_curve_public(k), KEYS_Z85_LEN + 1);
		memcpy(sec, keys_curve_secret(k), KEYS_Z85_LEN + 1);
	}
	kn->d = zmq_socket(zctx, ZMQ_DEALER);
	assert_non_null(kn->d);
	zmq_setsockopt(kn->d, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(kn->d, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl)); /* one knock each */
	zmq_setsockopt(kn->d, ZMQ_CURVE_SERVERKEY, keys_curve_public(E.ctl), KEYS_Z85_LEN);
	zmq_setsockopt(kn->d, ZMQ_CURVE_PUBLICKEY, pub, KEYS_Z85_LEN);
	zmq_setsockopt(kn->d, ZMQ_CURVE_SECRETKEY, sec, KEYS_Z85_LEN);
	snprintf(mep, sizeof(mep), "inproc://knock%d", n);
	assert_int_equal(zmq_socket_monitor(kn->d, mep,
	                                    ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
	                                        ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
	                                        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
	                                        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL),
	                 0);
	kn->mon = zmq_socket(zctx, ZMQ_PAIR);
	zmq_setsockopt(kn->mon, ZMQ_LINGER, &zero, sizeof(zero));
	assert_int_equal(zmq_connect(kn->mon, mep), 0);
	if (src != NULL)
		snprintf(ep, sizeof(ep), "tcp://%s:0;127.0.0.1:%d", src, E.port);
	else
		snprintf(ep, sizeof(ep), "%s", E.endpoint);
	assert_int_equal(zmq_connect(kn->d, ep), 0);
}

static void knock_close(struct knock *kn)
{
	zmq_socket_monitor(kn->d, NULL, 0);
	zmq_close(kn->d);
	zmq_close(kn->mon);
	kn->d = kn->mon = NULL;
}

/* Reads one monitor event of kn: its id (value: the ZAP status code). */
static int knock_event(struct knock *kn, int *value)
{
	uint8_t b[6];
	char addr[256];

	assert_int_equal(zmq_recv(kn->mon, b, sizeof(b), 0), 6);
	zmq_recv(kn->mon, addr, sizeof(addr), 0);
	if (value != NULL)
		memcpy(value, b + 2, 4);
	return b[0] | (b[1] << 8);
}

/* A batch of fresh keys knocking at once. */
struct batch {
	struct knock kn[FLOOD_BATCH];
	zmq_pollitem_t it[FLOOD_BATCH];
	int n;
};

/* n fresh keys start knocking, from src_of(i). */
static void batch_open(struct batch *b, int first, int n,
                       void (*src_of)(int i, char *buf, size_t len))
{
	assert_true(n <= FLOOD_BATCH);
	b->n = n;
	for (int i = 0; i < n; i++) {
		char src[32];

		src_of(first + i, src, sizeof(src));
		knock_open(E.zctx, &b->kn[i], NULL, src, first + i);
		b->it[i] = (zmq_pollitem_t){b->kn[i].mon, 0, ZMQ_POLLIN, 0};
	}
}

/* Returns when every handshake of b has ended, all refused (400 from
 * ZAP), within 20 s. */
static void batch_wait(struct batch *b)
{
	int left = b->n;
	double deadline = now_s() + 20;

	while (left > 0 && now_s() < deadline) {
		if (zmq_poll(b->it, b->n, 1000) <= 0)
			continue;
		for (int i = 0; i < b->n; i++) {
			int code = 0;

			if (!(b->it[i].revents & ZMQ_POLLIN))
				continue;
			assert_int_equal(knock_event(&b->kn[i], &code),
			                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
			assert_int_equal(code, 400);
			b->it[i].events = 0;
			b->it[i].revents = 0;
			left--;
		}
	}
	assert_int_equal(left, 0);
	for (int i = 0; i < b->n; i++)
		knock_close(&b->kn[i]);
}

static void src_one(int i, char *buf, size_t len)
{
	(void)i;
	snprintf(buf, len, "127.0.0.2");
}

/* 10 keys from each of 127.1.x.y */
static void src_many(int i, char *buf, size_t len)
{
	int a = i / 10;

	snprintf(buf, len, "127.1.%d.%d", a / 200, 1 + a % 200);
}

/* Pending agents in the controller's store, read beside it (WAL). */
static long pending_count(void)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long n = -1;

	assert_int_equal(sqlite3_open_v2(E.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT count(*) FROM agents WHERE status = 'pending'",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_true(n >= 0);
	return n;
}

/* The approved agent's handshake: ZAP 200 within 5 s; seconds taken. */
static double approved_knock(const struct keys *agent, int n)
{
	struct knock kn;
	zmq_pollitem_t it;
	double t0 = now_s();
	int ev;

	knock_open(E.zquiet, &kn, agent, NULL, n);
	it = (zmq_pollitem_t){kn.mon, 0, ZMQ_POLLIN, 0};
	assert_int_equal(zmq_poll(&it, 1, 5000), 1);
	ev = knock_event(&kn, NULL);
	knock_close(&kn);
	assert_int_equal(ev, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
	return now_s() - t0;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void test_zap_flood(void **state)
{
	struct keys *agent = keys_generate(KEYS_ROLE_AGENT, "agent1");
	struct store_agent a = {.name = "agent1", .ed25519_public = "agent1-ed"};
	enum { KEYS_ONE = 30, KEYS_MANY = 3000, ROUNDS = KEYS_MANY / FLOOD_BATCH };
	double lat[ROUNDS], worst_knock = 0, t0;
	static struct batch b;
	char err[256];
	struct store *s;
	int64_t id;
	long pending;

	(void)state;
	assert_non_null(agent);
	/* agent1 approved before the controller starts */
	s = store_open(E.db, err, sizeof(err));
	assert_non_null(s);
	a.curve_public = keys_curve_public(agent);
	a.fingerprint = keys_fingerprint(agent);
	assert_int_equal(store_agent_upsert(s, &a, 1, &id, NULL), 0);
	assert_int_equal(store_agent_approve(s, id), 0);
	store_close(&s);
	start_controller();
	t0 = now_s();

	/* one address: 10 new pending keys a minute */
	batch_open(&b, 0, KEYS_ONE, src_one);
	batch_wait(&b);
	assert_int_equal(pending_count(), RP_CTL_PENDING_PER_PEER_MIN);

	/* 300 addresses of 10 keys: the cap holds; while each batch of 100
	 * handshakes waits for ZAP, the admin socket answers and agent1 gets
	 * in */
	for (int r = 0; r < ROUNDS; r++) {
		double t;
		json_t *j;

		batch_open(&b, KEYS_ONE + r * FLOOD_BATCH, FLOOD_BATCH, src_many);
		t = now_s();
		j = admin("{\"cmd\":\"audit.status\",\"audit\":\"latest\"}");
		lat[r] = now_s() - t;
		assert_non_null(j);
		json_decref(j);
		if (r % 5 == 0) {
			double k = approved_knock(agent, 100000 + r);

			worst_knock = k > worst_knock ? k : worst_knock;
		}
		batch_wait(&b);
	}
	pending = pending_count();
	qsort(lat, ROUNDS, sizeof(lat[0]), by_double);
	printf("zap flood: %d keys in %.1f s, pending=%ld (cap %d); admin latency median=%.1f ms "
	       "max=%.1f ms; approved handshake max=%.1f ms\n",
	       KEYS_ONE + KEYS_MANY, now_s() - t0, pending, RP_CTL_PENDING_MAX,
	       lat[ROUNDS / 2] * 1e3, lat[ROUNDS - 1] * 1e3, worst_knock * 1e3);
	assert_true(pending <= RP_CTL_PENDING_MAX);
	assert_int_equal(pending, RP_CTL_PENDING_MAX); /* 3,010 offered */
	assert_true(lat[ROUNDS - 1] < 2.0);
	/* still admitted after the flood */
	approved_knock(agent, 200000);
	keys_free(&agent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_big_cell_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zap_flood, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
