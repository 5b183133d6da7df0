/* The echo baseline of scripts/bench.sh: a minimal epoll server on a Unix
 * socket speaking accessd's framing (4-byte big-endian length, then the frame),
 * returning each whole frame as it came. accessd-bench --echo reads the echoed
 * ClientFrame{request{id}} as if it were ServerFrame{response{id}}.
 * Built by the script: cc -O2 -o bench-echo bench-echo.c; run: bench-echo PATH */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF (1 << 20)

struct conn { int fd; size_t len; unsigned char buf[BUF]; };

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: bench-echo SOCKET\n"); return 64; }
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
    unlink(argv[1]);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) || listen(lfd, 1024)) { perror("bind"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    printf("listening\n");
    fflush(stdout);
    struct epoll_event events[256];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event cev = { .events = EPOLLIN, .data.ptr = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                close(c->fd);
                free(c);
                continue;
            }
            c->len += (size_t)r;
            /* Echo every whole frame; keep a partial one for the next read. */
            size_t whole = 0;
            while (c->len - whole >= 4) {
                unsigned char *p = c->buf + whole;
                size_t frame = 4 + ((size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
                if (frame > BUF) { c->len = 0; whole = 0; break; }
                if (c->len - whole < frame) break;
                whole += frame;
            }
            size_t sent = 0;
            while (sent < whole) { /* blocking-ish: small replies, the peer reads them */
                ssize_t w = write(c->fd, c->buf + sent, whole - sent);
                if (w < 0 && errno == EAGAIN) continue;
                if (w <= 0) break;
                sent += (size_t)w;
            }
            memmove(c->buf, c->buf + whole, c->len - whole);
            c->len -= whole;
        }
    }
}
