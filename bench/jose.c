/* bench/jose — crypto ceilings of the delivery path, measured in process:
 * RSA-4096 PS512 signatures per second (one thread, and all cores),
 * the SET as FIT-Connect signs it, JWE seal/open of a ~3 KB data set, and
 * the resulting bound for complete submissions per second
 * (cores × single-thread sign rate ÷ SETs signed per submission).
 * Prints figures only. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/time.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "jose/set.h"

/* The platform signs create-submission (announce) and submit-submission
 * (submit) for every complete submission (src/delivery). */
#define SETS_PER_SUBMISSION 2
#define RUN_US              2000000 /* per measurement */

static aw_jwk_t *enc_priv, *enc_pub, *sig_priv, *sig_pub;
static char data3k[3072];

static aw_jwk_t *load(const char *name, aw_jwk_purpose_t p, bool priv) {
    const char *root = getenv("AMTSWEG_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/jose/a/%s", root ? root : ".", name);
    aw_err_t err;
    aw_jwk_t *k;
    if (aw_jwk_load_file(path, &k, &err) == 0) return k;
    fprintf(stderr, "bench/jose: %s; generating a key instead\n", err.msg);
    aw_jwk_t *g;
    if (aw_jwk_generate(4096, p, NULL, &g, &err) != 0) {
        fprintf(stderr, "bench/jose: %s\n", err.msg);
        exit(1);
    }
    if (priv) return g;
    aw_jwk_public(g, &k, &err);
    aw_jwk_free(g);
    return k;
}

typedef int (*op_fn)(void);

static int op_ps512_sign(void) {
    aw_buf_t b = AW_BUF_INIT;
    int rc = aw_jws_sign(sig_priv, NULL, "x", 1, &b, NULL);
    aw_buf_free(&b);
    return rc;
}

static char *sample_set;
static int op_ps512_verify(void) {
    aw_jws_verified_t v;
    int rc = aw_jws_verify(sig_pub, sample_set, strlen(sample_set), NULL, &v, NULL);
    aw_jws_verified_free(&v);
    return rc;
}

static int op_set_sign(void) {
    json_t *body = aw_set_auth_tags("bvO5sUgNmnOm9sKqT_ERnQ", "Xfy7lLnkE0XzW0b0nPS6hg", NULL, 0);
    aw_set_claims_t c = {.iss = "https://amtsweg.example",
                         .submission_id = "0b7ec29c-4a59-4a4e-9c39-b8d5ba0a6b2c",
                         .case_id = "5f6d2a1e-3b0c-4d8e-9f7a-1c2b3d4e5f60",
                         .event = AW_SET_EV_SUBMIT,
                         .event_body = body};
    aw_buf_t b = AW_BUF_INIT;
    int rc = aw_set_sign(sig_priv, &c, &b, NULL);
    aw_buf_free(&b);
    json_decref(body);
    return rc;
}

static char *sample_jwe;
static int op_jwe_seal(void) {
    aw_buf_t b = AW_BUF_INIT;
    int rc = aw_jwe_seal(enc_pub, data3k, sizeof data3k, AW_JWE_CTY_JSON, &b, NULL, NULL);
    aw_buf_free(&b);
    return rc;
}

static int op_jwe_open(void) {
    aw_jwe_opened_t o;
    int rc = aw_jwe_open(enc_priv, sample_jwe, strlen(sample_jwe), 0, &o, NULL);
    aw_jwe_opened_free(&o);
    return rc;
}

static int null_sink(void *ctx, const unsigned char *p, size_t n) {
    (void)ctx, (void)p, (void)n;
    return 0;
}

typedef struct {
    op_fn fn;
    long count;
    int64_t us;
} run_t;

static void *runner(void *arg) {
    run_t *r = arg;
    int64_t t0 = aw_time_mono_us(), t;
    r->count = 0;
    do {
        if (r->fn() != 0) {
            fprintf(stderr, "bench/jose: operation failed\n");
            exit(1);
        }
        r->count++;
        t = aw_time_mono_us();
    } while (t - t0 < RUN_US);
    r->us = t - t0;
    return NULL;
}

/* Operations per second with `threads` threads in parallel (sum). */
static double rate(op_fn fn, int threads) {
    pthread_t th[256];
    run_t r[256];
    if (threads > 256) threads = 256;
    for (int i = 0; i < threads; i++) {
        r[i].fn = fn;
        pthread_create(&th[i], NULL, runner, &r[i]);
    }
    double total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += r[i].count / (r[i].us / 1e6);
    }
    return total;
}

int main(void) {
    int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    enc_priv = load("enc.private.jwk", AW_JWK_ENC, true);
    enc_pub = load("enc.public.jwk", AW_JWK_ENC, false);
    sig_priv = load("sig.private.jwk", AW_JWK_SIG, true);
    sig_pub = load("sig.public.jwk", AW_JWK_SIG, false);
    if (aw_jwk_kid(sig_priv) && aw_jwk_kid(sig_pub) &&
        strcmp(aw_jwk_kid(sig_priv), aw_jwk_kid(sig_pub)) != 0) {
        fprintf(stderr, "bench/jose: key mismatch\n");
        return 1;
    }
    /* ~3 KB JSON-ish data set. */
    for (size_t i = 0; i < sizeof data3k; i++) data3k[i] = "{\"abcdefghij\":1234567890}"[i % 25];
    aw_buf_t b = AW_BUF_INIT;
    aw_jwe_seal(enc_pub, data3k, sizeof data3k, AW_JWE_CTY_JSON, &b, NULL, NULL);
    sample_jwe = aw_buf_take(&b, NULL);
    op_set_sign();
    {
        json_t *body =
            aw_set_auth_tags("bvO5sUgNmnOm9sKqT_ERnQ", "Xfy7lLnkE0XzW0b0nPS6hg", NULL, 0);
        aw_set_claims_t c = {.iss = "https://amtsweg.example",
                             .submission_id = "0b7ec29c-4a59-4a4e-9c39-b8d5ba0a6b2c",
                             .case_id = "5f6d2a1e-3b0c-4d8e-9f7a-1c2b3d4e5f60",
                             .event = AW_SET_EV_SUBMIT,
                             .event_body = body};
        aw_set_sign(sig_priv, &c, &b, NULL);
        sample_set = aw_buf_take(&b, NULL);
        json_decref(body);
    }

    printf("cores (online)                          %d\n", cores);
    /* Other work on the machine skews every figure below; say how much. */
    FILE *la = fopen("/proc/loadavg", "r");
    double l1 = -1;
    if (la) {
        if (fscanf(la, "%lf", &l1) != 1) l1 = -1;
        fclose(la);
    }
    if (l1 >= 0) printf("load average (1 min) at start           %.2f\n", l1);
    double sign1 = rate(op_ps512_sign, 1);
    printf("PS512 sign, RSA-4096, 1 thread          %8.1f /s  (%.2f ms each)\n", sign1,
           1000.0 / sign1);
    double signN = cores > 1 ? rate(op_ps512_sign, cores) : sign1;
    printf("PS512 sign, RSA-4096, %d threads         %8.1f /s  (%.1f per core)\n", cores, signN,
           signN / cores);
    double set1 = rate(op_set_sign, 1);
    printf("SET submit-submission sign, 1 thread    %8.1f /s\n", set1);
    printf("PS512 verify, RSA-4096, 1 thread        %8.1f /s\n", rate(op_ps512_verify, 1));
    printf("JWE seal 3 KB (RSA-OAEP-256+A256GCM)    %8.1f /s  (1 thread)\n", rate(op_jwe_seal, 1));
    printf("JWE open 3 KB (RSA-OAEP-256+A256GCM)    %8.1f /s  (1 thread)\n", rate(op_jwe_open, 1));
    /* Attachments stream through aw_jwe_stream: server-side check and
     * inbox-side decrypt throughput on a 16 MiB ciphertext. */
    {
        size_t big = 16u << 20;
        unsigned char *pt = malloc(big);
        for (size_t i = 0; i < big; i++) pt[i] = (unsigned char)(i * 131u);
        aw_buf_t tok = AW_BUF_INIT;
        aw_jwe_seal(enc_pub, pt, big, "application/pdf", &tok, NULL, NULL);
        for (int mode = 0; mode < 2; mode++) {
            int64_t t0 = aw_time_mono_us();
            aw_jwe_stream_t *st;
            aw_jwe_info_t info;
            aw_jwe_stream_new(mode ? enc_priv : NULL, 0, 0, mode ? null_sink : NULL, NULL, &st,
                              NULL);
            for (size_t off = 0; off < tok.len; off += 65536)
                aw_jwe_stream_feed(st, tok.data + off,
                                   tok.len - off < 65536 ? tok.len - off : 65536, NULL);
            int rc = aw_jwe_stream_finish(st, &info, NULL);
            aw_jwe_stream_free(st);
            aw_jwe_info_free(&info);
            double s = (aw_time_mono_us() - t0) / 1e6;
            printf("JWE stream %-7s 16 MiB attachment      %8.1f MB/s%s\n",
                   mode ? "decrypt" : "check", big / s / 1e6, rc ? " (FAILED)" : "");
        }
        aw_buf_free(&tok);
        free(pt);
    }
    double bound = cores * sign1 / SETS_PER_SUBMISSION;
    printf("bound: complete submissions/s = cores x sign rate / SETs per submission\n");
    printf("       = %d x %.1f / %d = %.0f /s   (all-core measured: %.0f /s)\n", cores, sign1,
           SETS_PER_SUBMISSION, bound, signN / SETS_PER_SUBMISSION);
    free(sample_jwe);
    free(sample_set);
    aw_jwk_free(enc_priv), aw_jwk_free(enc_pub), aw_jwk_free(sig_priv), aw_jwk_free(sig_pub);
    return 0;
}
