/* minimal_client.c - the benchmark's floor: a minimal single-threaded epoll
 * SMTP client doing relayprobe's dialog with no transcript and no checks
 * beyond reply counting: connect, banner, EHLO, then the RSET/MAIL/RCPT of 20
 * tests pipelined in one write (RFC 2920), then QUIT. All targets at once.
 * Reads "a.b.c.d:port" lines (at most MC_TARGETS_MAX); lines cap at 64 bytes.
 * Prints one key=value line: targets, ok, failed, wall_s, cpu_us_per_target. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MC_TARGETS_MAX 100000
#define MC_BATCH_MAX   8192
#define MC_READ_MAX    4096
#define MC_NTESTS      20

enum mc_state { MC_CONNECTING, MC_BANNER, MC_EHLO, MC_TESTS, MC_QUIT, MC_DONE };

struct mc_conn {
	int fd;
	enum mc_state state;
	struct sockaddr_in sa;
	char ip[INET_ADDRSTRLEN];
	char out[MC_BATCH_MAX];
	size_t out_len, out_off;
	unsigned replies_wanted; /* final reply lines still expected */
	char carry[8];           /* start of a line split across reads */
	size_t carry_len;
	int failed;
};

/* MAIL FROM / RCPT TO of the 20 tests; %s is the target's IP literal. */
static const char *const tests[MC_NTESTS][2] = {
    {"", "relaytest@example.net"},
    {"relayprobe@example.net", "relaytest@example.net"},
    {"relayprobe@smtp-sink", "relaytest@example.net"},
    {"relayprobe@sink.test", "relaytest@example.net"},
    {"relayprobe@localhost", "relaytest@example.net"},
    {"relayprobe", "relaytest@example.net"},
    {"relayprobe@[%s]", "relaytest@example.net"},
    {"relayprobe@[%s]", "relaytest%%example.net@[%s]"},
    {"relayprobe@[%s]", "relaytest%%example.net@smtp-sink"},
    {"relayprobe@[%s]", "\"relaytest@example.net\""},
    {"relayprobe@[%s]", "\"relaytest%%example.net\""},
    {"relayprobe@[%s]", "relaytest@example.net@[%s]"},
    {"relayprobe@[%s]", "\"relaytest@example.net\"@[%s]"},
    {"relayprobe@[%s]", "relaytest@example.net@smtp-sink"},
    {"relayprobe@[%s]", "relaytest@example.net@"},
    {"relayprobe@[%s]", "@[%s]:relaytest@example.net"},
    {"relayprobe@[%s]", "@smtp-sink:relaytest@example.net"},
    {"relayprobe@[%s]", "example.net!relaytest"},
    {"relayprobe@[%s]", "example.net!relaytest@[%s]"},
    {"relayprobe@[%s]", "example.net!relaytest@smtp-sink"},
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Expand one template (at most two %s, "%%" for '%') into dst. */
static int expand(char *dst, size_t cap, const char *tmpl, const char *ip)
{
	size_t n = 0;

	for (const char *p = tmpl; *p; p++) {
		const char *ins = NULL;
		char one[2] = {0, 0};
		if (p[0] == '%' && p[1] == 's') {
			ins = ip;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			one[0] = '%';
			ins = one;
			p++;
		} else {
			one[0] = *p;
			ins = one;
		}
		size_t l = strlen(ins);
		if (n + l >= cap)
			return -1;
		memcpy(dst + n, ins, l);
		n += l;
	}
	dst[n] = '\0';
	return (int)n;
}

static int append(struct mc_conn *c, const char *s)
{
	size_t l = strlen(s);

	if (c->out_len + l > sizeof(c->out))
		return -1;
	memcpy(c->out + c->out_len, s, l);
	c->out_len += l;
	return 0;
}

static int queue_cmd(struct mc_conn *c, const char *cmd, unsigned replies)
{
	c->out_len = 0;
	c->out_off = 0;
	c->replies_wanted = replies;
	return append(c, cmd);
}

static int queue_tests(struct mc_conn *c)
{
	char mail[256], rcpt[256], line[600];

	c->out_len = 0;
	c->out_off = 0;
	for (int i = 0; i < MC_NTESTS; i++) {
		if (expand(mail, sizeof(mail), tests[i][0], c->ip) < 0 ||
		    expand(rcpt, sizeof(rcpt), tests[i][1], c->ip) < 0)
			return -1;
		snprintf(line, sizeof(line), "RSET\r\nMAIL FROM:<%s>\r\nRCPT TO:<%s>\r\n", mail,
		         rcpt);
		if (append(c, line) < 0)
			return -1;
	}
	c->replies_wanted = 3 * MC_NTESTS;
	return 0;
}

/* Write pending output; 0 when all written or would block, -1 on error. */
static int flush_out(struct mc_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
		c->out_off += (size_t)w;
	}
	return 0;
}

/* Count final reply lines ("DDD " at a line start) in buf, keeping a split
 * line start in carry. Marks failure on a reply not starting with 2 or 3. */
static void count_replies(struct mc_conn *c, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t seg = nl ? (size_t)(nl - (buf + i)) + 1 : len - i;
		char head[8];
		size_t hl = 0;
		/* the line's first 4 bytes, joined with a carried partial start */
		hl = c->carry_len;
		memcpy(head, c->carry, hl);
		for (size_t k = 0; hl < 4 && k < seg; k++)
			head[hl++] = buf[i + k];
		if (nl) {
			if (hl >= 4 && head[3] == ' ' && c->replies_wanted > 0) {
				c->replies_wanted--;
				if (head[0] != '2' && head[0] != '3')
					c->failed = 1;
			}
			c->carry_len = 0;
		} else {
			c->carry_len = hl < 4 ? hl : 4;
			memcpy(c->carry, head, c->carry_len);
		}
		i += seg;
	}
}

int main(int argc, char **argv)
{
	struct mc_conn *conns = NULL;
	size_t n = 0, ok = 0, failed = 0, active = 0;
	char line[64], buf[MC_READ_MAX];
	int ep = -1, rc = 1;
	FILE *f = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: minimal_client TARGETS_FILE (lines a.b.c.d:port)\n");
		return 2;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	f = fopen(argv[1], "r");
	conns = calloc(MC_TARGETS_MAX, sizeof(*conns));
	ep = epoll_create1(0);
	if (!f || !conns || ep < 0) {
		perror("minimal_client: setup");
		goto out;
	}
	while (n < MC_TARGETS_MAX && fgets(line, sizeof(line), f)) {
		char *colon = strrchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		struct mc_conn *c = &conns[n];
		c->sa.sin_family = AF_INET;
		c->sa.sin_port = htons((unsigned short)strtoul(colon + 1, NULL, 10));
		if (inet_pton(AF_INET, line, &c->sa.sin_addr) != 1)
			continue;
		if (!inet_ntop(AF_INET, &c->sa.sin_addr, c->ip, sizeof(c->ip)))
			continue;
		n++;
	}

	double t0 = now_s();
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	for (size_t i = 0; i < n; i++) {
		struct mc_conn *c = &conns[i];
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&c->sa, sizeof(c->sa)) < 0 &&
		                  errno != EINPROGRESS)) {
			failed++;
			c->state = MC_DONE;
			if (c->fd >= 0)
				close(c->fd);
			continue;
		}
		c->state = MC_CONNECTING;
		struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
		active++;
	}
	struct epoll_event evs[256];
	while (active > 0) {
		int k = epoll_wait(ep, evs, 256, 10000);
		if (k == 0) {
			fprintf(stderr, "minimal_client: 10 s without progress, %zu left\n",
			        active);
			failed += active;
			break;
		}
		for (int j = 0; j < k; j++) {
			struct mc_conn *c = evs[j].data.ptr;
			int err = 0;
			if (c->state == MC_CONNECTING) {
				socklen_t sl = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
				if (err == 0) {
					c->state = MC_BANNER;
					c->replies_wanted = 1;
					struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
					continue;
				}
			} else if (evs[j].events & EPOLLOUT) {
				err = flush_out(c) < 0;
				if (!err && c->out_off == c->out_len) {
					struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
					epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				}
			} else {
				ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
				if (r <= 0) {
					err = !(r < 0 && errno == EAGAIN);
				} else {
					count_replies(c, buf, (size_t)r);
					if (c->replies_wanted == 0) {
						switch (c->state) {
						case MC_BANNER:
							err = queue_cmd(
							    c, "EHLO client.example\r\n", 1);
							c->state = MC_EHLO;
							break;
						case MC_EHLO:
							err = queue_tests(c);
							c->state = MC_TESTS;
							break;
						case MC_TESTS:
							err = queue_cmd(c, "QUIT\r\n", 1);
							c->state = MC_QUIT;
							break;
						default:
							c->state = MC_DONE;
							break;
						}
						if (!err && c->state != MC_DONE) {
							err = flush_out(c) < 0;
							if (!err && c->out_off < c->out_len) {
								struct epoll_event ev = {
								    .events = EPOLLOUT,
								    .data.ptr = c};
								epoll_ctl(ep, EPOLL_CTL_MOD, c->fd,
								          &ev);
							}
						}
					}
				}
			}
			if (err || c->state == MC_DONE) {
				if (err || c->failed)
					failed++;
				else
					ok++;
				c->state = MC_DONE;
				close(c->fd);
				active--;
			}
		}
	}
	getrusage(RUSAGE_SELF, &ru1);
	double wall = now_s() - t0;
	double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
	             (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	             (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
	             (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	printf("targets=%zu ok=%zu failed=%zu wall_s=%.3f cpu_us_per_target=%.1f\n", n, ok, failed,
	       wall, n ? cpu * 1e6 / (double)n : 0.0);
	rc = failed ? 1 : 0;
out:
	if (f)
		fclose(f);
	if (ep >= 0)
		close(ep);
	free(conns);
	return rc;
}
