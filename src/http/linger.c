/*
 * linger.c — see linger.h. One thread, one epoll set, a fixed table of
 * slots. Slot fields are written under the mutex; a slot in use is freed
 * (its descriptor closed) only by the thread, or by stop after the thread
 * is gone, so the thread reads from it without the mutex.
 */
#include "http/linger.h"

#include "base/time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct slot {
    int fd;           /* -1: free */
    int64_t until_us; /* the total deadline */
    int64_t idle_us;  /* the deadline without data */
} slot_t;

struct aw_linger {
    pthread_mutex_t mu;
    pthread_t th;
    int ep, wake; /* epoll set; eventfd that stops the thread */
    bool stopping;
    unsigned max_fds, n;
    int64_t total_us, idle_limit_us;
    slot_t *slots;
    _Atomic uint64_t closes, bytes, refused;
};

/* Reads and drops what is there; false when the socket is done (the client
 * closed it, or an error). */
static bool drain(aw_linger_t *l, int fd, char *buf, size_t cap) {
    for (int i = 0; i < 64; i++) { /* at most 4 MiB per turn: others get theirs */
        ssize_t n = read(fd, buf, cap);
        if (n > 0) {
            atomic_fetch_add(&l->bytes, (uint64_t)n);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
        if (n < 0 && errno == EINTR) continue;
        return false; /* 0: the client closed; or an error */
    }
    return true;
}

static void release(aw_linger_t *l, slot_t *s) {
    epoll_ctl(l->ep, EPOLL_CTL_DEL, s->fd, NULL);
    atomic_fetch_add(&l->closes, 1);
    close(s->fd);
    s->fd = -1;
    l->n--;
}

static void *linger_main(void *arg) {
    aw_linger_t *l = arg;
    struct epoll_event ev[32];
    /* on this thread's stack: its pages are touched only once something
     * lingers (a thread-local buffer would be zeroed in every thread of
     * the process at its start: 64 KiB of resident memory each) */
    char buf[64 * 1024];
    for (;;) {
        /* sleep until the next deadline (or an event) */
        int64_t now = aw_time_mono_us(), next = -1;
        pthread_mutex_lock(&l->mu);
        bool stop = l->stopping;
        for (unsigned i = 0; i < l->max_fds; i++) {
            slot_t *s = &l->slots[i];
            if (s->fd < 0) continue;
            if (now >= s->until_us || now >= s->idle_us) {
                release(l, s);
                continue;
            }
            int64_t d = s->until_us < s->idle_us ? s->until_us : s->idle_us;
            if (next < 0 || d < next) next = d;
        }
        pthread_mutex_unlock(&l->mu);
        if (stop) break;
        int timeout = next < 0 ? -1 : (int)((next - now) / 1000 + 1);
        int n = epoll_wait(l->ep, ev, 32, timeout);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < n; i++) {
            if (ev[i].data.u64 == UINT64_MAX) {
                uint64_t v;
                if (read(l->wake, &v, sizeof v) < 0) { /* counter already read */
                }
                continue;
            }
            /* a slot with an event is in use, and only this thread frees
             * one: the reading needs no lock (adders wait for none); the
             * event carries the descriptor and the slot's index */
            slot_t *s = &l->slots[(uint32_t)ev[i].data.u64];
            bool alive = drain(l, (int)(ev[i].data.u64 >> 32), buf, sizeof buf);
            pthread_mutex_lock(&l->mu);
            if (alive)
                s->idle_us = aw_time_mono_us() + l->idle_limit_us;
            else
                release(l, s);
            pthread_mutex_unlock(&l->mu);
        }
    }
    return NULL;
}

int aw_linger_start(unsigned max_fds, unsigned total_ms, unsigned idle_ms, aw_linger_t **out,
                    aw_err_t *err) {
    aw_linger_t *l = calloc(1, sizeof *l);
    if (!l) return aw_err_set(err, AW_ENOMEM, "linger: out of memory");
    l->max_fds = max_fds ? max_fds : 1;
    l->total_us = (int64_t)total_ms * 1000;
    l->idle_limit_us = (int64_t)idle_ms * 1000;
    l->slots = calloc(l->max_fds, sizeof *l->slots);
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&l->mu, NULL);
    for (unsigned i = 0; l->slots && i < l->max_fds; i++) l->slots[i].fd = -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    if (!l->slots || l->ep < 0 || l->wake < 0 ||
        epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake, &ev) != 0 ||
        pthread_create(&l->th, NULL, linger_main, l) != 0) {
        int e = errno;
        if (l->ep >= 0) close(l->ep);
        if (l->wake >= 0) close(l->wake);
        pthread_mutex_destroy(&l->mu);
        free(l->slots);
        free(l);
        return aw_err_set(err, AW_EIO, "linger: cannot start: %s", strerror(e));
    }
    *out = l;
    return 0;
}

bool aw_linger_add(aw_linger_t *l, int fd) {
    if (fd < 0) return false;
    /* the client gets the end of the answer (a FIN), and the socket stays
     * open for reading */
    shutdown(fd, SHUT_WR);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        close(fd);
        return false;
    }
    pthread_mutex_lock(&l->mu);
    slot_t *s = NULL;
    if (!l->stopping && l->n < l->max_fds)
        for (unsigned i = 0; i < l->max_fds && !s; i++)
            if (l->slots[i].fd < 0) s = &l->slots[i];
    bool ok = false;
    if (s) {
        int64_t now = aw_time_mono_us();
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
                                 .data.u64 =
                                     (uint64_t)(uint32_t)fd << 32 | (uint32_t)(s - l->slots)};
        *s = (slot_t){.fd = fd, .until_us = now + l->total_us, .idle_us = now + l->idle_limit_us};
        if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
            l->n++;
            ok = true;
        } else {
            s->fd = -1;
        }
    }
    if (ok) {
        uint64_t one = 1;                           /* the thread's sleep may end earlier now */
        if (write(l->wake, &one, sizeof one) < 0) { /* the counter is full: it wakes anyway */
        }
    } else {
        atomic_fetch_add(&l->refused, 1);
    }
    pthread_mutex_unlock(&l->mu);
    if (!ok) close(fd);
    return ok;
}

void aw_linger_get_stats(aw_linger_t *l, aw_linger_stats_t *st) {
    pthread_mutex_lock(&l->mu);
    st->now = l->n;
    pthread_mutex_unlock(&l->mu);
    st->closes = atomic_load(&l->closes);
    st->bytes = atomic_load(&l->bytes);
    st->refused = atomic_load(&l->refused);
}

void aw_linger_stop(aw_linger_t *l) {
    if (!l) return;
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_mutex_unlock(&l->mu);
    uint64_t one = 1;
    if (write(l->wake, &one, sizeof one) < 0) { /* full: the thread wakes anyway */
    }
    pthread_join(l->th, NULL);
    for (unsigned i = 0; i < l->max_fds; i++)
        if (l->slots[i].fd >= 0) close(l->slots[i].fd);
    close(l->ep);
    close(l->wake);
    pthread_mutex_destroy(&l->mu);
    free(l->slots);
    free(l);
}
