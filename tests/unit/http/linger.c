/* The lingering close (src/http/linger.c) on socket pairs: what arrives is
 * read and dropped, the socket is closed when the peer closes, when no data
 * came for the idle time, when the total time is over, and at once when too
 * many linger. The peer sees the close as POLLHUP. */
#include "harness.h"
#include "http/linger.h"
#include "test.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Waits (at most 10 s) until the other end of fd is closed entirely. */
static bool peer_closed(int fd) {
    struct pollfd p = {.fd = fd, .events = 0};
    return poll(&p, 1, 10000) == 1 && (p.revents & POLLHUP);
}

/* Waits (at most 10 s) until the lingering thread counted n closes. */
static aw_linger_stats_t stats_after_closes(aw_linger_t *l, uint64_t n) {
    aw_linger_stats_t st;
    for (int i = 0; i < 1000; i++) {
        aw_linger_get_stats(l, &st);
        if (st.closes >= n) break;
        usleep(10000);
    }
    return st;
}

TEST(linger_drops_the_rest_and_closes_when_the_peer_does) {
    aw_linger_t *l;
    aw_err_t err;
    ASSERT_MSG(aw_linger_start(4, 30000, 30000, &l, &err) == 0, "%s", err.msg);
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ASSERT(aw_linger_add(l, sv[0]));
    /* the lingering side shut down its sending side: the peer reads the end */
    char c;
    ASSERT_EQ(recv(sv[1], &c, 1, 0), 0);
    /* 4 MiB (far beyond the socket buffer) can only be written when they
     * are read on the other side */
    size_t sent;
    ASSERT_EQ(aw_tc_send_filler(sv[1], 4u << 20, &sent), 0);
    aw_linger_stats_t st;
    aw_linger_get_stats(l, &st);
    ASSERT_EQ(st.now, 1);
    ASSERT_EQ(st.closes, 0);
    shutdown(sv[1], SHUT_WR); /* the client is done */
    ASSERT_MSG(peer_closed(sv[1]), "the lingering socket was not closed after the peer's end");
    st = stats_after_closes(l, 1);
    ASSERT_EQ(st.closes, 1);
    ASSERT_EQ(st.bytes, sent);
    ASSERT_EQ(st.now, 0);
    close(sv[1]);
    aw_linger_stop(l);
}

TEST(linger_ends_after_the_idle_time_and_after_the_total_time) {
    aw_linger_t *l;
    aw_err_t err;
    /* idle: 50 ms without data */
    ASSERT_MSG(aw_linger_start(4, 30000, 50, &l, &err) == 0, "%s", err.msg);
    int a[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    ASSERT(aw_linger_add(l, a[0]));
    ASSERT_MSG(peer_closed(a[1]), "not closed after the idle time");
    ASSERT_EQ(stats_after_closes(l, 1).closes, 1);
    close(a[1]);
    aw_linger_stop(l);
    /* total: 50 ms, however long the idle time */
    ASSERT_MSG(aw_linger_start(4, 50, 30000, &l, &err) == 0, "%s", err.msg);
    int b[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    ASSERT(aw_linger_add(l, b[0]));
    ASSERT_EQ(send(b[1], "abc", 3, MSG_NOSIGNAL), 3);
    ASSERT_MSG(peer_closed(b[1]), "not closed after the total time");
    close(b[1]);
    aw_linger_stop(l);
}

TEST(linger_is_bounded_and_stop_closes_the_rest) {
    aw_linger_t *l;
    aw_err_t err;
    ASSERT_MSG(aw_linger_start(1, 30000, 30000, &l, &err) == 0, "%s", err.msg);
    int a[2], b[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
    ASSERT(aw_linger_add(l, a[0]));
    ASSERT(!aw_linger_add(l, b[0])); /* full: closed at once */
    ASSERT_MSG(peer_closed(b[1]), "the refused socket was not closed");
    aw_linger_stats_t st;
    aw_linger_get_stats(l, &st);
    ASSERT_EQ(st.refused, 1);
    ASSERT_EQ(st.now, 1);
    aw_linger_stop(l); /* closes the one still lingering */
    ASSERT_MSG(peer_closed(a[1]), "stop left a socket open");
    close(a[1]);
    close(b[1]);
}
