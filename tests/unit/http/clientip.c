#include "http/clientip.h"

#include <string.h>

#include "test.h"

static const char *resolve(const char *trusted, const char *peer, const char *xff) {
    static char out[64];
    aw_cidr_list_t l;
    static aw_err_t err;
    if (aw_cidr_list_parse(trusted, &l, &err) != 0) return err.msg;
    aw_client_ip_resolve(&l, peer, xff, out, sizeof out);
    return out;
}

TEST(cidr_parse_and_match) {
    aw_cidr_list_t l;
    aw_err_t err = {0};
    ASSERT_EQ(aw_cidr_list_parse(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8 ::1", &l, &err), 0);
    ASSERT_EQ(l.n, 4);
    ASSERT(aw_cidr_list_match(&l, "10.200.3.4"));
    ASSERT(!aw_cidr_list_match(&l, "11.0.0.1"));
    ASSERT(aw_cidr_list_match(&l, "192.168.1.7"));
    ASSERT(!aw_cidr_list_match(&l, "192.168.1.8"));
    ASSERT(aw_cidr_list_match(&l, "fd12:3456::1"));
    ASSERT(!aw_cidr_list_match(&l, "fe80::1"));
    ASSERT(aw_cidr_list_match(&l, "::1"));
    ASSERT(aw_cidr_list_match(&l, "::ffff:10.1.2.3")); /* IPv4-mapped counts as IPv4 */
    ASSERT(!aw_cidr_list_match(&l, "not-an-ip"));
    ASSERT(!aw_cidr_list_match(&l, NULL));
    ASSERT_EQ(aw_cidr_list_parse("172.16.0.0/12", &l, &err), 0);
    ASSERT(aw_cidr_list_match(&l, "172.31.255.255"));
    ASSERT(!aw_cidr_list_match(&l, "172.32.0.0"));
    ASSERT_EQ(aw_cidr_list_parse("0.0.0.0/0", &l, &err), 0);
    ASSERT(aw_cidr_list_match(&l, "8.8.8.8"));
    ASSERT(!aw_cidr_list_match(&l, "2001:db8::1"));
    ASSERT_EQ(aw_cidr_list_parse("", &l, &err), 0);
    ASSERT_EQ(l.n, 0);
    ASSERT_EQ(aw_cidr_list_parse(NULL, &l, &err), 0);
}

TEST(cidr_parse_errors_name_the_entry) {
    aw_cidr_list_t l;
    aw_err_t err = {0};
    ASSERT_EQ(aw_cidr_list_parse("10.0.0.1,proxy.example", &l, &err), AW_EINVAL);
    ASSERT_STR(err.msg, "'proxy.example' is not an IP address or CIDR block");
    ASSERT_EQ(aw_cidr_list_parse("10.0.0.0/33", &l, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "'10.0.0.0/33' has a bad prefix length (0..32)");
    ASSERT_EQ(aw_cidr_list_parse("::/129", &l, &err), AW_EINVAL);
    ASSERT_EQ(aw_cidr_list_parse("10.0.0.0/", &l, &err), AW_EINVAL);
    ASSERT_EQ(aw_cidr_list_parse("10.0.0.0/8x", &l, &err), AW_EINVAL);
    ASSERT_EQ(aw_cidr_list_parse("10.0.0.0/-1", &l, &err), AW_EINVAL);
    char many[2048] = "";
    for (int i = 0; i <= AW_CIDR_MAX; i++) strcat(many, "10.0.0.1,");
    ASSERT_EQ(aw_cidr_list_parse(many, &l, &err), AW_ETOOBIG);
}

TEST(client_ip_untrusted_peer_ignores_forwarded_for) {
    ASSERT_STR(resolve("", "203.0.113.9", "1.2.3.4"), "203.0.113.9");
    ASSERT_STR(resolve("10.0.0.0/8", "203.0.113.9", "1.2.3.4"), "203.0.113.9");
    ASSERT_STR(resolve("10.0.0.0/8", "::ffff:203.0.113.9", NULL), "203.0.113.9");
}

TEST(client_ip_walks_forwarded_for_from_the_right) {
    /* proxy 10.0.0.5 appended the client 198.51.100.7 */
    ASSERT_STR(resolve("10.0.0.0/8", "10.0.0.5", "198.51.100.7"), "198.51.100.7");
    /* a client-sent fake on the left is not believed: the nearest untrusted wins */
    ASSERT_STR(resolve("10.0.0.0/8", "10.0.0.5", "6.6.6.6, 198.51.100.7"), "198.51.100.7");
    /* two trusted hops */
    ASSERT_STR(resolve("10.0.0.0/8", "10.0.0.5", "6.6.6.6,198.51.100.7, 10.1.1.1"), "198.51.100.7");
    /* all trusted: the leftmost */
    ASSERT_STR(resolve("10.0.0.0/8", "10.0.0.5", "10.9.9.9,10.1.1.1"), "10.9.9.9");
    /* garbage ends the walk at the hop that appended it */
    ASSERT_STR(resolve("10.0.0.0/8", "10.0.0.5", "198.51.100.7, unknown"), "10.0.0.5");
    ASSERT_STR(resolve("10.0.0.0/8", "10.0.0.5", "x,10.1.1.1"), "10.1.1.1");
    ASSERT_STR(resolve("10.0.0.0/8", "10.0.0.5", ""), "10.0.0.5");
    ASSERT_STR(resolve("10.0.0.0/8", "10.0.0.5", ",,"), "10.0.0.5");
    /* IPv6 and canonical text */
    ASSERT_STR(resolve("::1", "::1", "2001:DB8:0:0::7"), "2001:db8::7");
}
