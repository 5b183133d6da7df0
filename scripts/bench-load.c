/* The fair load generator of scripts/bench.sh (issue 16): one lean C loop,
 * as redis-benchmark is, for accessd, the echo baseline and Redis alike, so
 * that the generator's own CPU weighs the same on every side.
 *
 *   bench-load -s SOCKET -f FRAMES [-c 32] [-d 1] [-t 3] [-w 1] [-p PID] [-n NAME]
 *   bench-load -s SOCKET --redis KEYS [-c 32] [-d 1] [-t 3] [-w 1] [-p PID] [-n NAME]
 *
 * accessd and echo mode (-f): FRAMES holds requests serialized once without
 * their id, each as a 4-byte big-endian length and the bytes of a `Request`
 * (method, payload, actor) that follow field 1; each call writes the frame
 * `len ClientFrame{1: Request{1: id, ...rest}}`, the id first, rotating over
 * the requests of the file. A reply is read only as far as its id (field 1)
 * and code (field 2) of `ServerFrame{1: Response}`; the echo server returns
 * the request itself, whose field 2 is a string: counted as OK.
 * Redis mode (--redis KEYS): `GET key:N` for N in 0..KEYS-1, in turn, as RESP;
 * replies are taken in order (bulk, nil, integer, simple string; an error
 * reply counts as an error).
 *
 * Every connection keeps DEPTH calls in flight: a reply sends the next call.
 * Latencies go into a log-linear histogram (64 sub-buckets per power of two
 * of nanoseconds: under 1.6% error). After WARMUP seconds it measures for
 * SECONDS and prints one line:
 *   RESULT name=NAME conns=C depth=D rps=R p50_us=.. p99_us=.. p999_us=.. max_us=..
 *          calls=N errors=E gen_cpu_us_per_call=G [server_cpu_us_per_call=S]
 * where S is the server's user + system CPU (from /proc/PID/stat) over the
 * measured window divided by the calls, and G the generator's own.
 * Built by bench.sh: cc -O2 -o bench-load scripts/bench-load.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define READ_BUF (256 * 1024)
#define MAX_DEPTH 1024
#define SUB_BITS 6
#define SUB (1 << SUB_BITS)
#define BUCKETS (64 * SUB)

struct request { unsigned char *bytes; uint32_t len; };

struct conn {
    int fd;
    uint64_t next_id;
    int in_flight;
    /* accessd mode: the send time of each id in flight (ids are unique per connection) */
    uint64_t ids[MAX_DEPTH];
    uint64_t sent_at[MAX_DEPTH];
    /* redis mode: send times in order */
    uint64_t fifo[MAX_DEPTH];
    int fifo_head, fifo_count;
    unsigned char *in;
    size_t in_len;
    unsigned char *out;
    size_t out_len, out_sent, out_cap;
    int watching_out;
};

static struct request *requests;
static size_t request_count, request_next;
static long redis_keys = -1, redis_next;
static uint64_t histogram[BUCKETS];
static uint64_t calls, errors, max_ns;
static int measuring;
static int depth = 1;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what) { perror(what); exit(1); }

static int bucket_of(uint64_t ns) {
    if (ns < SUB) return (int)ns;
    int top = 63 - __builtin_clzll(ns);
    int shift = top - SUB_BITS;
    return (shift + 1) * SUB + (int)((ns >> shift) - SUB);
}

static uint64_t value_of(int bucket) {
    if (bucket < SUB) return (uint64_t)bucket;
    int shift = bucket / SUB - 1;
    uint64_t sub = (uint64_t)(bucket % SUB) + SUB;
    return ((sub << shift) + ((sub + 1) << shift)) / 2; /* the bucket's middle */
}

static double percentile_us(double p) {
    uint64_t total = 0;
    for (int i = 0; i < BUCKETS; i++) total += histogram[i];
    if (total == 0) return 0;
    uint64_t rank = (uint64_t)(p * (double)total + 0.5);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
        seen += histogram[i];
        if (seen >= rank) return (double)value_of(i) / 1000.0;
    }
    return (double)max_ns / 1000.0;
}

static void record(uint64_t sent, int ok) {
    if (!measuring) return;
    uint64_t ns = now_ns() - sent;
    histogram[bucket_of(ns)]++;
    if (ns > max_ns) max_ns = ns;
    calls++;
    if (!ok) errors++;
}

static void out_reserve(struct conn *c, size_t more) {
    if (c->out_len + more <= c->out_cap) return;
    if (c->out_sent > 0) {
        memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
        c->out_len -= c->out_sent;
        c->out_sent = 0;
    }
    if (c->out_len + more <= c->out_cap) return;
    c->out_cap = (c->out_len + more) * 2;
    c->out = realloc(c->out, c->out_cap);
    if (!c->out) die("realloc");
}

static size_t varint(unsigned char *at, uint64_t value) {
    size_t n = 0;
    while (value >= 0x80) { at[n++] = (unsigned char)(value | 0x80); value >>= 7; }
    at[n++] = (unsigned char)value;
    return n;
}

static size_t varint_size(uint64_t value) {
    size_t n = 1;
    while (value >= 0x80) { value >>= 7; n++; }
    return n;
}

static void queue_call(struct conn *c) {
    uint64_t at = now_ns();
    if (redis_keys >= 0) {
        char command[96];
        char key[40];
        int key_len = snprintf(key, sizeof key, "key:%ld", redis_next);
        redis_next = (redis_next + 1) % (redis_keys > 0 ? redis_keys : 1);
        int len = snprintf(command, sizeof command, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", key_len, key);
        out_reserve(c, (size_t)len);
        memcpy(c->out + c->out_len, command, (size_t)len);
        c->out_len += (size_t)len;
        c->fifo[(c->fifo_head + c->fifo_count) % MAX_DEPTH] = at;
        c->fifo_count++;
    } else {
        struct request *r = &requests[request_next];
        request_next = (request_next + 1) % request_count;
        uint64_t id = ++c->next_id;
        size_t request_len = 1 + varint_size(id) + r->len;
        size_t frame_len = 1 + varint_size(request_len) + request_len;
        out_reserve(c, 4 + frame_len);
        unsigned char *p = c->out + c->out_len;
        p[0] = (unsigned char)(frame_len >> 24);
        p[1] = (unsigned char)(frame_len >> 16);
        p[2] = (unsigned char)(frame_len >> 8);
        p[3] = (unsigned char)frame_len;
        size_t n = 4;
        p[n++] = 0x0A;
        n += varint(p + n, request_len);
        p[n++] = 0x08;
        n += varint(p + n, id);
        memcpy(p + n, r->bytes, r->len);
        n += r->len;
        c->out_len += n;
        /* At most DEPTH calls are in flight: their slots are the first DEPTH. */
        for (int i = 0; i < depth; i++) {
            if (c->ids[i] == 0) { c->ids[i] = id; c->sent_at[i] = at; break; }
        }
    }
    c->in_flight++;
}

static void flush_out(struct conn *c) {
    while (c->out_sent < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN) return;
            die("send");
        }
        c->out_sent += (size_t)n;
    }
    c->out_len = c->out_sent = 0;
}

/* Field 1 (id) and 2 (code) of the message inside field 1 of the frame: 1 when read. */
static int reply_head(const unsigned char *p, size_t len, uint64_t *id, uint64_t *code) {
    size_t i = 0;
    uint64_t value = 0;
    int shift = 0;
#define VARINT(out)                                                              \
    do {                                                                         \
        value = 0; shift = 0;                                                    \
        for (;;) {                                                               \
            if (i >= len || shift > 63) return 0;                                \
            unsigned char b = p[i++];                                            \
            value |= (uint64_t)(b & 0x7F) << shift;                              \
            if (b < 0x80) break;                                                 \
            shift += 7;                                                          \
        }                                                                        \
        (out) = value;                                                           \
    } while (0)
    uint64_t tag, inner_len;
    VARINT(tag);
    if (tag != 0x0A) return 0;
    VARINT(inner_len);
    size_t end = i + inner_len;
    if (end > len) return 0;
    *id = 0;
    *code = 0;
    while (i < end) {
        VARINT(tag);
        if (tag == 0x08) { VARINT(*id); }
        else if (tag == 0x10) { VARINT(*code); }
        else if ((tag & 7) == 2) { uint64_t skip; VARINT(skip); i += skip; }
        else if ((tag & 7) == 0) { uint64_t ignored; VARINT(ignored); (void)ignored; }
        else break;
        if (*id && ((tag >> 3) >= 2)) break;
    }
#undef VARINT
    return *id != 0;
}

/* Takes the whole replies in c->in; returns how many. */
static int take_replies(struct conn *c) {
    size_t at = 0;
    int taken = 0;
    if (redis_keys >= 0) {
        for (;;) {
            unsigned char *start = c->in + at, *end = c->in + c->in_len;
            unsigned char *line = memchr(start, '\n', (size_t)(end - start));
            if (!line) break;
            size_t consumed = (size_t)(line - start) + 1;
            int ok = 1;
            if (*start == '$') {
                long n = strtol((char *)start + 1, NULL, 10);
                if (n >= 0) {
                    if ((size_t)(end - line - 1) < (size_t)n + 2) break;
                    consumed += (size_t)n + 2;
                }
            } else if (*start == '-') {
                ok = 0;
            }
            at += consumed;
            if (c->fifo_count == 0) { fprintf(stderr, "bench-load: a reply no call asked for\n"); exit(1); }
            record(c->fifo[c->fifo_head], ok);
            c->fifo_head = (c->fifo_head + 1) % MAX_DEPTH;
            c->fifo_count--;
            c->in_flight--;
            taken++;
        }
    } else {
        while (c->in_len - at >= 4) {
            unsigned char *p = c->in + at;
            uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
            if (c->in_len - at < 4 + (size_t)len) {
                if (4 + (size_t)len > READ_BUF) { fprintf(stderr, "bench-load: a reply of %u bytes\n", len); exit(1); }
                break;
            }
            uint64_t id = 0, code = 0;
            if (reply_head(p + 4, len, &id, &code)) {
                int slot = -1;
                for (int i = 0; i < depth; i++) if (c->ids[i] == id) { slot = i; break; }
                if (slot >= 0) {
                    /* (The echo server returns the request: its field 2, the method, is a string, not a code.) */
                    record(c->sent_at[slot], code == 0);
                    c->ids[slot] = 0;
                    c->in_flight--;
                    taken++;
                }
            } else {
                /* A frame without a response (a GoAway): the server is going away. */
                fprintf(stderr, "bench-load: a frame that is not a response\n");
                exit(1);
            }
            at += 4 + len;
        }
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
    return taken;
}

static void load_requests(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    size_t cap = 0;
    for (;;) {
        unsigned char head[4];
        size_t got = fread(head, 1, 4, f);
        if (got == 0) break;
        if (got != 4) { fprintf(stderr, "bench-load: %s ends inside a length\n", path); exit(1); }
        uint32_t len = (uint32_t)head[0] << 24 | (uint32_t)head[1] << 16 | (uint32_t)head[2] << 8 | head[3];
        if (request_count == cap) {
            cap = cap ? cap * 2 : 1024;
            requests = realloc(requests, cap * sizeof *requests);
            if (!requests) die("realloc");
        }
        unsigned char *bytes = malloc(len ? len : 1);
        if (!bytes || fread(bytes, 1, len, f) != len) { fprintf(stderr, "bench-load: %s ends inside a request\n", path); exit(1); }
        requests[request_count++] = (struct request){ bytes, len };
    }
    fclose(f);
    if (request_count == 0) { fprintf(stderr, "bench-load: %s holds no request\n", path); exit(1); }
}

/* User + system CPU of PID in microseconds, from /proc/PID/stat (-1 if unreadable). */
static double process_cpu_us(long pid) {
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = 0;
    char *p = strrchr(text, ')');
    if (!p) return -1;
    /* After ") ": state(3) ... utime is field 14, stime 15. */
    unsigned long utime = 0, stime = 0;
    int field = 2;
    for (char *t = strtok(p + 1, " "); t; t = strtok(NULL, " ")) {
        field++;
        if (field == 14) utime = strtoul(t, NULL, 10);
        if (field == 15) { stime = strtoul(t, NULL, 10); break; }
    }
    return (double)(utime + stime) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_us(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static void usage(void) {
    fprintf(stderr,
        "usage: bench-load -s SOCKET (-f FRAMES | --redis KEYS) [-c CONNS] [-d DEPTH] [-t SECONDS] [-w WARMUP]\n"
        "                  [-p SERVER_PID] [-n NAME]\n");
    exit(64);
}

int main(int argc, char **argv) {
    const char *socket_path = NULL, *frames = NULL, *name = "load";
    int conns = 32;
    double seconds = 3, warmup = 1;
    long server_pid = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage();
        if (!strcmp(a, "-s")) socket_path = v;
        else if (!strcmp(a, "-f")) frames = v;
        else if (!strcmp(a, "--redis")) redis_keys = atol(v);
        else if (!strcmp(a, "-c")) conns = atoi(v);
        else if (!strcmp(a, "-d")) depth = atoi(v);
        else if (!strcmp(a, "-t")) seconds = atof(v);
        else if (!strcmp(a, "-w")) warmup = atof(v);
        else if (!strcmp(a, "-p")) server_pid = atol(v);
        else if (!strcmp(a, "-n")) name = v;
        else usage();
        i++;
    }
    if (!socket_path || (!frames) == (redis_keys < 0) || conns < 1 || depth < 1 || depth > MAX_DEPTH || seconds <= 0) usage();
    if (frames) load_requests(frames);

    int ep = epoll_create1(0);
    struct conn *all = calloc((size_t)conns, sizeof *all);
    if (!all || ep < 0) die("setup");
    for (int i = 0; i < conns; i++) {
        struct conn *c = &all[i];
        c->fd = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un addr = { .sun_family = AF_UNIX };
        strncpy(addr.sun_path, socket_path, sizeof addr.sun_path - 1);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr)) die(socket_path);
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        c->in = malloc(READ_BUF);
        if (!c->in) die("malloc");
        for (int d = 0; d < depth; d++) queue_call(c);
        flush_out(c);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev)) die("epoll_ctl");
    }

    uint64_t began = now_ns();
    uint64_t measure_at = began + (uint64_t)(warmup * 1e9);
    uint64_t end_at = measure_at + (uint64_t)(seconds * 1e9);
    double server_before = 0, self_before = 0;
    uint64_t measured_from = 0;
    struct epoll_event events[256];
    for (;;) {
        uint64_t now = now_ns();
        if (!measuring && now >= measure_at) {
            measuring = 1;
            measured_from = now;
            if (server_pid) server_before = process_cpu_us(server_pid);
            self_before = self_cpu_us();
        }
        if (now >= end_at) break;
        int n = epoll_wait(ep, events, 256, 10);
        for (int e = 0; e < n; e++) {
            struct conn *c = events[e].data.ptr;
            if (events[e].events & EPOLLOUT) flush_out(c);
            if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            for (;;) {
                size_t room = READ_BUF - c->in_len;
                ssize_t got = recv(c->fd, c->in + c->in_len, room, 0);
                if (got < 0) {
                    if (errno == EAGAIN) break;
                    die("recv");
                }
                if (got == 0) { fprintf(stderr, "bench-load: the server closed a connection\n"); exit(1); }
                c->in_len += (size_t)got;
                int taken = take_replies(c);
                for (int k = 0; k < taken; k++) queue_call(c);
                if ((size_t)got < room) break; /* drained */
            }
            flush_out(c);
            int want_out = c->out_len > c->out_sent;
            if (want_out != c->watching_out) {
                struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                c->watching_out = want_out;
            }
        }
    }
    double elapsed = (double)(now_ns() - measured_from) / 1e9;
    double server_cpu = server_pid ? process_cpu_us(server_pid) - server_before : -1;
    double self_cpu = self_cpu_us() - self_before;
    printf("RESULT name=%s conns=%d depth=%d rps=%.0f p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f calls=%llu errors=%llu "
           "gen_cpu_us_per_call=%.2f",
           name, conns, depth, (double)calls / elapsed, percentile_us(0.50), percentile_us(0.99), percentile_us(0.999),
           (double)max_ns / 1000.0, (unsigned long long)calls, (unsigned long long)errors,
           calls ? self_cpu / (double)calls : 0);
    if (server_pid && server_cpu >= 0) printf(" server_cpu_us_per_call=%.2f", calls ? server_cpu / (double)calls : 0);
    printf("\n");
    return 0;
}
