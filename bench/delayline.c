/* delayline.c - a delay line between two network namespaces, for the
 * latency benchmark (bench_latency.sh; these kernels have no sch_netem and
 * load no modules): one TUN device in each namespace, every IP packet read
 * from one written to the other DELAY_MS +- JITTER_MS later (uniform), one
 * flow's packets never reordered (a flow's release times only grow), at
 * most DL_QUEUE_MAX packets held (the rest dropped, as a full router queue
 * would). Statistics on stderr at exit (SIGINT/SIGTERM).
 *   delayline NS_A DEV_A NS_B DEV_B DELAY_MS JITTER_MS
 * NS_* are names under /run/netns (ip netns add). Root only; a bench tool,
 * not part of relayprobe. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define DL_QUEUE_MAX 65536
#define DL_PKT_MAX   65536
#define DL_FLOWS     4096

struct pkt {
	uint64_t release_us;
	uint64_t seq; /* ties: first in, first out */
	int out;      /* index of the device it goes to */
	size_t len;
	unsigned char *data;
};

static struct pkt heap[DL_QUEUE_MAX];
static size_t nheap;
static uint64_t flow_last[2][DL_FLOWS];
static volatile sig_atomic_t stop;
static unsigned long long n_in, n_out, n_drop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int before(const struct pkt *a, const struct pkt *b)
{
	return a->release_us < b->release_us || (a->release_us == b->release_us && a->seq < b->seq);
}

static void heap_push(struct pkt p)
{
	size_t i = nheap++;

	heap[i] = p;
	while (i > 0 && before(&heap[i], &heap[(i - 1) / 2])) {
		struct pkt t = heap[i];

		heap[i] = heap[(i - 1) / 2];
		heap[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static struct pkt heap_pop(void)
{
	struct pkt top = heap[0];
	size_t i = 0;

	heap[0] = heap[--nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < nheap && before(&heap[l], &heap[m]))
			m = l;
		if (r < nheap && before(&heap[r], &heap[m]))
			m = r;
		if (m == i)
			break;
		struct pkt t = heap[i];
		heap[i] = heap[m];
		heap[m] = t;
		i = m;
	}
	return top;
}

/* A flow: IPv4/IPv6 addresses, protocol and, for TCP/UDP, the ports. */
static unsigned flow_of(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;
	size_t n = 0, ports = 0;

	if (len >= 20 && (p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 15) * 4;

		n = 20;
		if ((p[9] == 6 || p[9] == 17) && ihl >= 20 && len >= ihl + 4)
			ports = ihl;
		for (size_t i = 9; i < n; i++)
			h = (h ^ p[i]) * 16777619u;
	} else if (len >= 40 && (p[0] >> 4) == 6) {
		n = 40;
		if ((p[6] == 6 || p[6] == 17) && len >= 44)
			ports = 40;
		for (size_t i = 6; i < n; i++)
			h = (h ^ p[i]) * 16777619u;
	}
	if (ports != 0)
		for (size_t i = ports; i < ports + 4; i++)
			h = (h ^ p[i]) * 16777619u;
	return h % DL_FLOWS;
}

static int tun_in(const char *ns, const char *dev)
{
	char path[256];
	struct ifreq ifr;
	int nsfd, fd;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	if ((nsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		fprintf(stderr, "delayline: namespace %s: %s\n", ns, strerror(errno));
		return -1;
	}
	close(nsfd);
	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		fprintf(stderr, "delayline: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "delayline: TUNSETIFF %s in %s: %s\n", dev, ns, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static long arg_ms(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 10000) {
		fprintf(stderr, "delayline: %s: '%s' is not 0..10000 ms\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static unsigned char buf[DL_PKT_MAX];
	struct sigaction sa;
	int fd[2], home;
	long delay_ms, jitter_ms;
	uint64_t seq = 0;

	if (argc != 7) {
		fprintf(stderr, "usage: delayline NS_A DEV_A NS_B DEV_B DELAY_MS JITTER_MS\n");
		return 2;
	}
	delay_ms = arg_ms(argv[5], "DELAY_MS");
	jitter_ms = arg_ms(argv[6], "JITTER_MS");
	if (jitter_ms > delay_ms) {
		fprintf(stderr, "delayline: JITTER_MS must not exceed DELAY_MS\n");
		return 2;
	}
	if ((home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		return 1;
	if ((fd[0] = tun_in(argv[1], argv[2])) < 0 || (fd[1] = tun_in(argv[3], argv[4])) < 0)
		return 1;
	if (setns(home, CLONE_NEWNET) < 0)
		return 1;
	close(home);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	srandom((unsigned)now_us());
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		struct pollfd pfd[2] = {{.fd = fd[0], .events = POLLIN},
		                        {.fd = fd[1], .events = POLLIN}};
		struct timespec ts, *tsp = NULL;
		uint64_t now = now_us();

		while (nheap > 0 && heap[0].release_us <= now) {
			struct pkt p = heap_pop();

			if (write(fd[p.out], p.data, p.len) == (ssize_t)p.len)
				n_out++;
			else
				n_drop++;
			free(p.data);
		}
		if (nheap > 0) {
			uint64_t wait = heap[0].release_us - now;

			ts.tv_sec = (time_t)(wait / 1000000u);
			ts.tv_nsec = (long)(wait % 1000000u) * 1000;
			tsp = &ts;
		}
		if (ppoll(pfd, 2, tsp, NULL) < 0 && errno != EINTR)
			return 1;
		now = now_us();
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(pfd[i].revents & POLLIN))
				continue;
			while ((n = read(fd[i], buf, sizeof(buf))) > 0) {
				unsigned f = flow_of(buf, (size_t)n);
				long j = jitter_ms > 0 ? random() % (2 * jitter_ms * 1000 + 1) -
				                             jitter_ms * 1000
				                       : 0;
				uint64_t rel = now + (uint64_t)(delay_ms * 1000 + j);
				struct pkt p = {.seq = seq++, .out = 1 - i, .len = (size_t)n};

				n_in++;
				if (rel < flow_last[i][f])
					rel = flow_last[i][f];
				flow_last[i][f] = rel;
				p.release_us = rel;
				if (nheap == DL_QUEUE_MAX || !(p.data = malloc((size_t)n))) {
					n_drop++;
					continue;
				}
				memcpy(p.data, buf, (size_t)n);
				heap_push(p);
			}
		}
	}
	while (nheap > 0)
		free(heap_pop().data);
	fprintf(stderr, "delayline: %llu packets in, %llu out, %llu dropped\n", n_in, n_out,
	        n_drop);
	return 0;
}
