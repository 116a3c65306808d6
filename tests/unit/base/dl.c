#include "base/dl.h"

#include <stdlib.h>

#include "base/dl_curl.h"
#include "base/dl_pq.h"
#include "base/dl_stemmer.h"
#include "base/dl_xml.h"
#include "test.h"

TEST(dl_loads_each_library_once) {
    aw_err_t err = {0};
    ASSERT_EQ(aw_dl_pq_load(&err), 0);
    ASSERT_EQ(aw_dl_curl_load(&err), 0);
    ASSERT_EQ(aw_dl_xml_load(&err), 0);
    ASSERT_EQ(aw_dl_stemmer_load(&err), 0);
    ASSERT(aw_dl_loaded(&aw_dl_pq_lib));
    /* The redirected names call into the loaded libraries. */
    PQconninfoOption *o = PQconninfoParse("host=127.0.0.1 port=1", NULL);
    ASSERT(o != NULL);
    PQconninfoFree(o);
    CURL *c = curl_easy_init();
    ASSERT(c != NULL);
    curl_easy_cleanup(c);
    struct sb_stemmer *sb = sb_stemmer_new("german", "UTF_8");
    ASSERT(sb != NULL);
    const sb_symbol *w = sb_stemmer_stem(sb, (const sb_symbol *)"hunde", 5);
    ASSERT_STR((const char *)w, "hund");
    sb_stemmer_delete(sb);
    xmlParserCtxtPtr px = xmlNewParserCtxt();
    xmlDocPtr d = xmlCtxtReadMemory(px, "<a>x</a>", 8, NULL, "UTF-8", XML_PARSE_NONET);
    ASSERT(d != NULL);
    xmlChar *t = xmlNodeGetContent(xmlDocGetRootElement(d));
    ASSERT_STR((const char *)t, "x");
    xmlFree(t);
    xmlFreeDoc(d);
    xmlFreeParserCtxt(px);
    ASSERT_EQ(aw_dl_xml_load(&err), 0); /* second call: already loaded */
}

static void *dummy_slot;

TEST(dl_missing_library_names_package) {
    static const aw_dl_sym_t syms[] = {{"nothing", &dummy_slot}};
    aw_dl_lib_t lib = {.soname = "libamtsweg-does-not-exist.so.7",
                       .what = "Test library",
                       .package = "libamtsweg-test7",
                       .syms = syms,
                       .nsyms = 1};
    aw_err_t err = {0};
    ASSERT_EQ(aw_dl_load(&lib, &err), AW_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "Test library libamtsweg-does-not-exist.so.7: cannot be loaded");
    ASSERT_CONTAINS(err.msg, "install the Debian package libamtsweg-test7");
    ASSERT(!aw_dl_loaded(&lib));
    /* The failure is remembered: same code and message, no second attempt. */
    aw_err_t again = {0};
    ASSERT_EQ(aw_dl_load(&lib, &again), AW_EUNSUPPORTED);
    ASSERT_STR(again.msg, err.msg);
}

TEST(dl_missing_symbol_is_refused) {
    static const aw_dl_sym_t syms[] = {{"PQexec", &dummy_slot},
                                       {"PQno_such_function_in_libpq", &dummy_slot}};
    aw_dl_lib_t lib = {.soname = "libpq.so.5",
                       .what = "PostgreSQL client library",
                       .package = "libpq5",
                       .syms = syms,
                       .nsyms = 2};
    aw_err_t err = {0};
    ASSERT_EQ(aw_dl_load(&lib, &err), AW_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "has no symbol PQno_such_function_in_libpq");
}

/* The shipped binary must not link the lazily loaded libraries: linking them
 * would map and relocate them (≈ 4 MB resident) in every idle server. */
TEST(dl_binary_does_not_link_optional_libraries) {
    ASSERT_EQ(aw_test_sh("readelf -d '%s' | grep -q 'NEEDED.*libmicrohttpd'", aw_test_bin()), 0);
    ASSERT(aw_test_sh("readelf -d '%s' | grep -E 'NEEDED.*(libpq|libcurl|libxml2|libstemmer)'",
                      aw_test_bin()) != 0);
    const char *rel = getenv("AMTSWEG_RELEASE_BIN");
    if (rel)
        ASSERT(aw_test_sh("readelf -d '%s' | grep -E 'NEEDED.*(libpq|libcurl|libxml2|libstemmer)'",
                          rel) != 0);
}
