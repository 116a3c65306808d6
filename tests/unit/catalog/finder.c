#include "catalog/finder.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "base/log.h"
#include "catalog/finder_eval.h"
#include "test.h"

static aw_finder_catalog_t cat;

static aw_finder_t *demo(const aw_finder_opts_t *o) {
    char path[1024];
    aw_err_t err;
    snprintf(path, sizeof path, "%s/data/demo/services.tsv", aw_test_srcdir());
    ASSERT_MSG(aw_finder_catalog_load(path, &cat, &err) == 0, "%s", err.msg);
    aw_finder_t *f = NULL;
    ASSERT_MSG(aw_finder_new(cat.docs, cat.n, o, &f, &err) == 0, "%s", err.msg);
    return f;
}

static const char *top(aw_finder_t *f, const char *q) {
    static aw_finder_hit_t h[10];
    aw_err_t err;
    int n = aw_finder_search(f, q, 10, h, &err);
    ASSERT_MSG(n >= 0, "%s", err.msg);
    return n > 0 ? h[0].leika : "";
}

/* Is key among the first n results? For words that fit several services. */
static int in_top(aw_finder_t *f, const char *q, const char *key, int n) {
    aw_finder_hit_t h[10];
    aw_err_t err;
    int got = aw_finder_search(f, q, (size_t)n, h, &err);
    for (int i = 0; i < got; i++)
        if (strcmp(h[i].leika, key) == 0) return 1;
    return 0;
}

TEST(demo_catalogue_has_every_fixture_service) {
    char path[1024];
    aw_finder_catalog_t c;
    aw_err_t err;
    snprintf(path, sizeof path, "%s/data/demo/services.tsv", aw_test_srcdir());
    ASSERT_EQ(aw_finder_catalog_load(path, &c, &err), 0);
    snprintf(path, sizeof path, "%s/tests/data/finder/services.tsv", aw_test_srcdir());
    char *fx = aw_test_read_file(path, NULL);
    ASSERT_MSG(fx != NULL, "%s is missing", path);
    size_t fixture_rows = 0;
    for (char *l = strchr(fx, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
        fixture_rows++;
        int found = 0;
        for (size_t i = 0; i < c.n && !found; i++) found = strncmp(l + 1, c.docs[i].leika, 14) == 0;
        ASSERT_MSG(found, "fixture service %.14s missing from data/demo", l + 1);
    }
    ASSERT_EQ(c.n, fixture_rows);
    for (size_t i = 0; i < c.n; i++) {
        ASSERT(strlen(c.docs[i].short_text) > 20);
        ASSERT(strlen(c.docs[i].long_text) > 80);
        ASSERT(strlen(c.documents[i]) > 0 && strlen(c.fees[i]) > 0);
        ASSERT(strlen(c.legal_basis[i]) > 0 && strlen(c.processing_time[i]) > 0);
    }
    free(fx);
    aw_finder_catalog_free(&c);
}

TEST(finds_plain_compound_umlaut_typo_english) {
    aw_finder_t *f = demo(NULL);
    ASSERT_STR(top(f, "Hund anmelden"), "99102013104000");
    ASSERT_STR(top(f, "Kfz abmelden"), "99036008070000");
    ASSERT(in_top(f, "Kraftfahrzeugsteuer", "99036008007000", 3));
    ASSERT(in_top(f, "Reisepaß", "99085001012000", 3));
    ASSERT(in_top(f, "Hundesteuerbefreiung", "99102013010000", 3));
    ASSERT(in_top(f, "Personalaus", "99008001012000", 5)); /* a fragment */
    ASSERT_STR(top(f, "ELTERNGELD"), "99041006017000");
    ASSERT(in_top(f, "kindergeldd", "99041008000000", 2));
    ASSERT(in_top(f, "passport", "99085001012000", 3));
    ASSERT_STR(top(f, "register a car"), "99036008007000");
    aw_finder_free(f);
    aw_finder_catalog_free(&cat);
}

TEST(bounds_and_empty_queries) {
    aw_finder_t *f = demo(NULL);
    aw_finder_hit_t h[AW_FINDER_LIMIT_MAX];
    aw_err_t err;
    char big[AW_FINDER_QUERY_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ASSERT_EQ(aw_finder_search(f, big, 10, h, &err), AW_ETOOBIG);
    ASSERT_CONTAINS(err.msg, "200");
    big[AW_FINDER_QUERY_MAX] = 0; /* exactly the bound is fine */
    ASSERT(aw_finder_search(f, big, 10, h, &err) >= 0);
    ASSERT_EQ(aw_finder_search(f, "", 10, h, &err), 0);
    ASSERT_EQ(aw_finder_search(f, "   ?!", 10, h, &err), 0);
    ASSERT_EQ(aw_finder_search(f, "und oder der", 10, h, &err), 0);
    ASSERT_EQ(aw_finder_search(f, "Personalausweis", 0, h, &err), 0);
    ASSERT_EQ(aw_finder_search(f, NULL, 10, h, &err), AW_EINVAL);
    int n = aw_finder_search(f, "Ausweis Pass Kfz Hund Steuer Wohnung", 1000, h, &err);
    ASSERT(n > 10 && n <= AW_FINDER_LIMIT_MAX);
    for (int i = 1; i < n; i++) ASSERT(h[i - 1].score >= h[i].score);
    aw_finder_free(f);
    aw_finder_catalog_free(&cat);
}

TEST(rejects_bad_documents) {
    aw_finder_doc_t d = {.leika = "12345", .name = "x"};
    aw_finder_t *f = NULL;
    aw_err_t err;
    ASSERT_EQ(aw_finder_new(&d, 1, NULL, &f, &err), AW_EINVAL);
    ASSERT_NULL(f);
    ASSERT_EQ(aw_finder_new(&d, 0, NULL, &f, &err), AW_EINVAL);
}

TEST(degrades_without_word_list_and_thesaurus_and_never_logs_queries) {
    char path[512];
    snprintf(path, sizeof path, "%s/log", aw_test_tmpdir());
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ASSERT(fd >= 0);
    aw_log_set_fd(fd);
    aw_log_set_level(AW_LOG_DEBUG);
    aw_finder_opts_t o = {.wordlist_path = "/nonexistent/ngerman",
                          .thesaurus_path = "/nonexistent/thesaurus.txt"};
    aw_finder_t *f = demo(&o);
    ASSERT_STR(top(f, "Hund anmelden"), "99102013104000");
    ASSERT_STR(top(f, "Führerschein verloren"), "99023001036003");
    top(f, "Geheimwort Zebrastreifen Quokka");
    aw_finder_free(f);
    aw_finder_catalog_free(&cat);
    close(fd);
    char *log = aw_test_read_file(path, NULL);
    ASSERT_NOT_NULL(log);
    ASSERT_CONTAINS(log, "event=finder.wordlist_missing");
    ASSERT_CONTAINS(log, "event=finder.thesaurus_missing");
    ASSERT_CONTAINS(log, "event=finder.built");
    ASSERT_NOT_CONTAINS(log, "Quokka");
    ASSERT_NOT_CONTAINS(log, "quokka");
    free(log);
}

typedef struct {
    aw_finder_t *f;
    const char *const *queries;
    size_t n;
    char (*expect)[16];
    int failures;
} thread_arg_t;

static void *searcher(void *p) {
    thread_arg_t *a = p;
    aw_finder_hit_t h[5];
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < a->n; i++) {
            int n = aw_finder_search(a->f, a->queries[i], 5, h, NULL);
            if (n < 1 || strcmp(h[0].leika, a->expect[i]) != 0) a->failures++;
        }
    return NULL;
}

TEST(concurrent_searches_agree_with_serial_ones) {
    aw_finder_t *f = demo(NULL);
    static const char *const q[] = {"Hund anmelden", "perso verloren",           "Wohngeld",
                                    "Sperrmüll",     "fuehrerschein umtauschen", "register a car",
                                    "Baum fällen",   "Gewerbe abmelden"};
    enum { NQ = sizeof q / sizeof *q, NT = 8 };
    char expect[NQ][16];
    for (size_t i = 0; i < NQ; i++) snprintf(expect[i], 16, "%s", top(f, q[i]));
    pthread_t t[NT];
    thread_arg_t a[NT];
    for (int i = 0; i < NT; i++) {
        a[i] = (thread_arg_t){f, q, NQ, expect, 0};
        ASSERT_EQ(pthread_create(&t[i], NULL, searcher, &a[i]), 0);
    }
    for (int i = 0; i < NT; i++) {
        pthread_join(t[i], NULL);
        ASSERT_EQ(a[i].failures, 0);
    }
    aw_finder_free(f);
    aw_finder_catalog_free(&cat);
}

/* The quality floor: regressions in analysis or data fail here. */
TEST_T(evaluation_floor_hit10, 120) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/finder/queries.tsv", aw_test_srcdir());
    aw_eval_set_t set;
    aw_err_t err;
    ASSERT_MSG(aw_eval_load(path, &set, &err) == 0, "%s: %s", path, err.msg);
    aw_finder_t *f = demo(NULL);
    aw_eval_result_t r;
    ASSERT_EQ(aw_eval_run(f, &set, &r, NULL, &err), 0);
    ASSERT_GE(r.all.n, 100);
    double hit10 = r.all.hit10 / (double)r.all.n, mrr = r.all.mrr / (double)r.all.n;
    ASSERT_MSG(hit10 >= 0.90, "hit@10 %.3f below the floor 0.90", hit10);
    ASSERT_MSG(mrr >= 0.70, "MRR %.3f below the floor 0.70", mrr);
    for (size_t k = 0; k < r.n_kinds; k++) {
        double h = r.by_kind[k].hit10 / (double)r.by_kind[k].n;
        ASSERT_MSG(h >= 0.80, "kind %s: hit@10 %.3f below 0.80", r.kind[k], h);
    }
    aw_eval_free(&set);
    aw_finder_free(f);
    aw_finder_catalog_free(&cat);
}
