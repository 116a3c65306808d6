#include "catalog/finder_lex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/tokenizer.h"

struct aw_strmap_slot {
    uint32_t off;  /* 0: empty (the blob starts with one unused byte) */
    uint32_t hash; /* compared before the string: most probes miss */
    uint32_t val;
};

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    /* Final mix (splitmix64), so low bits (the slot) and high bits (the
     * fingerprint) both depend on every byte. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

void aw_strmap_init(aw_strmap_t *m) {
    memset(m, 0, sizeof *m);
}

void aw_strmap_free(aw_strmap_t *m) {
    free(m->slots);
    free(m->blob);
    memset(m, 0, sizeof *m);
}

static struct aw_strmap_slot *find_slot_h(const aw_strmap_t *m, const char *key, size_t len,
                                          uint64_t h) {
    size_t mask = m->cap - 1;
    size_t i = (size_t)h & mask;
    uint32_t fp = (uint32_t)(h >> 32);
    for (;;) {
        struct aw_strmap_slot *s = &m->slots[i];
        if (s->off == 0) return s;
        if (s->hash == fp) {
            const char *k = m->blob + s->off;
            if (memcmp(k, key, len) == 0 && k[len] == 0) return s;
        }
        i = (i + 1) & mask;
    }
}

static struct aw_strmap_slot *find_slot(const aw_strmap_t *m, const char *key, size_t len) {
    return find_slot_h(m, key, len, hash_bytes(key, len));
}

static int grow(aw_strmap_t *m) {
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    struct aw_strmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    struct aw_strmap_slot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].off) continue;
        const char *k = m->blob + old[i].off;
        *find_slot(m, k, strlen(k)) = old[i];
    }
    free(old);
    return 0;
}

uint64_t aw_strmap_hash(const char *key, size_t len) {
    return hash_bytes(key, len);
}

void aw_strmap_prefetch(const aw_strmap_t *m, uint64_t h) {
    if (m->cap) __builtin_prefetch(&m->slots[(size_t)h & (m->cap - 1)], 1);
}

uint32_t *aw_strmap_put(aw_strmap_t *m, const char *key, size_t len) {
    return aw_strmap_put_h(m, key, len, hash_bytes(key, len));
}

uint32_t *aw_strmap_put_h(aw_strmap_t *m, const char *key, size_t len, uint64_t h) {
    if (m->oom) return NULL;
    if ((m->count + 1) * 2 > m->cap && grow(m) != 0) {
        m->oom = 1;
        return NULL;
    }
    struct aw_strmap_slot *s = find_slot_h(m, key, len, h);
    if (s->off) return &s->val;
    s->hash = (uint32_t)(h >> 32);
    if (m->blob_len + len + 2 > m->blob_cap) {
        size_t ncap = m->blob_cap ? m->blob_cap * 2 : 65536;
        while (ncap < m->blob_len + len + 2) ncap *= 2;
        if (ncap > UINT32_MAX) {
            m->oom = 1;
            return NULL;
        }
        char *nb = realloc(m->blob, ncap);
        if (!nb) {
            m->oom = 1;
            return NULL;
        }
        m->blob = nb;
        m->blob_cap = ncap;
        if (m->blob_len == 0) m->blob[m->blob_len++] = 0;
    }
    s->off = (uint32_t)m->blob_len;
    s->hash = (uint32_t)(h >> 32);
    memcpy(m->blob + m->blob_len, key, len);
    m->blob[m->blob_len + len] = 0;
    m->blob_len += len + 1;
    s->val = 0;
    m->count++;
    return &s->val;
}

const uint32_t *aw_strmap_get(const aw_strmap_t *m, const char *key, size_t len) {
    return aw_strmap_get_h(m, key, len, hash_bytes(key, len));
}

const uint32_t *aw_strmap_get_h(const aw_strmap_t *m, const char *key, size_t len, uint64_t h) {
    if (!m->cap) return NULL;
    struct aw_strmap_slot *s = find_slot_h(m, key, len, h);
    return s->off ? &s->val : NULL;
}

void aw_lex_init(aw_lex_t *lx) {
    memset(lx, 0, sizeof *lx);
    aw_strmap_init(&lx->map);
}

enum { BLOOM_BITS = 1 << 22 };

void aw_lex_free(aw_lex_t *lx) {
    aw_strmap_free(&lx->map);
    free(lx->bloom);
    lx->bloom = NULL;
}

/* The Bloom bit comes from hash bits the slot index does not use. */
static uint64_t bloom_bit(uint64_t h) {
    return (h >> 36) & (BLOOM_BITS - 1);
}

static int lex_add_h(aw_lex_t *lx, const char *w, size_t len, uint32_t flags, uint64_t h) {
    if (!lx->bloom && !(lx->bloom = calloc(BLOOM_BITS / 64, sizeof(uint64_t)))) return AW_ENOMEM;
    uint32_t *v = aw_strmap_put_h(&lx->map, w, len, h);
    if (!v) return AW_ENOMEM;
    *v |= flags;
    uint64_t b = bloom_bit(h);
    lx->bloom[b >> 6] |= 1ULL << (b & 63);
    return 0;
}

int aw_lex_add(aw_lex_t *lx, const char *w, size_t len, uint32_t flags) {
    return lex_add_h(lx, w, len, flags, hash_bytes(w, len));
}

uint32_t aw_lex_flags(const aw_lex_t *lx, const char *w, size_t len) {
    if (!lx->bloom) return 0;
    uint64_t h = hash_bytes(w, len), b = bloom_bit(h);
    if (!(lx->bloom[b >> 6] & (1ULL << (b & 63)))) return 0;
    const uint32_t *v = aw_strmap_get_h(&lx->map, w, len, h);
    return v ? *v : 0;
}

int aw_strmap_reserve(aw_strmap_t *m, size_t count) {
    while ((m->count + count) * 2 > m->cap)
        if (grow(m) != 0) return AW_ENOMEM;
    return 0;
}

enum { WORDLIST_MAX = 64 << 20 };

int aw_lex_load_wordlist(aw_lex_t *lx, const char *path, aw_err_t *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return aw_err_set(err, e == ENOENT ? AW_ENOTFOUND : AW_EIO, "word list %s: %s", path,
                          strerror(e));
    }
    /* One read and one table size: start-up time matters (see finder.h). */
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 22;
            char *nd = cap <= WORDLIST_MAX ? realloc(data, cap + 1) : NULL;
            if (!nd) {
                free(data);
                fclose(f);
                return aw_err_set(err, cap > WORDLIST_MAX ? AW_ETOOBIG : AW_ENOMEM,
                                  "word list %s: too large or out of memory", path);
            }
            data = nd;
        }
        size_t r = fread(data + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    int rd_err = ferror(f);
    fclose(f);
    if (rd_err) {
        free(data);
        return aw_err_set(err, AW_EIO, "word list %s: read error", path);
    }
    data[len] = 0;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    if (aw_strmap_reserve(&lx->map, lines + lines / 4) != 0) {
        free(data);
        return aw_err_set(err, AW_ENOMEM, "word list %s: out of memory", path);
    }
    if (!lx->bloom && !(lx->bloom = calloc(BLOOM_BITS / 64, sizeof(uint64_t)))) {
        free(data);
        return aw_err_set(err, AW_ENOMEM, "word list %s: out of memory", path);
    }
    /* Inserts trail parsing by RING words whose slots were prefetched when
     * they were parsed: the table is megabytes, and waiting for each
     * random slot was most of the load time. */
    enum { RING = 16 };
    struct pending {
        char w[AW_TOK_WORD_MAX + 1];
        size_t len;
        uint32_t flags;
        uint64_t h;
    } ring[RING];
    size_t head = 0, queued = 0, count = 0;
    int rc = 0;
    char *p = data, *end = data + len;
    for (;;) {
        int more = p < end;
        struct pending add[2];
        size_t n_add = 0;
        if (more) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            char *line = p;
            p += n + 1;
            if (n && line[n - 1] == '\r') n--;
            if (n == 0 || n > AW_TOK_WORD_MAX) continue;
            char *w = add[0].w;
            /* Fast path for plain ASCII letters, else the full folding. */
            size_t wl = 0;
            for (; wl < n; wl++) {
                char c = line[wl];
                if (c >= 'a' && c <= 'z')
                    w[wl] = c;
                else if (c >= 'A' && c <= 'Z')
                    w[wl] = (char)(c + 32);
                else
                    break;
            }
            if (wl == n)
                w[wl] = 0;
            else
                wl = aw_tok_fold_word(line, n, w);
            if (wl < 3) continue;
            unsigned char c0 = (unsigned char)line[0], c1 = n > 1 ? (unsigned char)line[1] : 0;
            int upper = (c0 >= 'A' && c0 <= 'Z') || (c0 == 0xC3 && c1 >= 0x80 && c1 <= 0x9E);
            add[0].len = wl;
            add[0].flags = AW_LEX_WORD | (upper ? AW_LEX_NOUN : 0);
            n_add = 1;
            count++;
            /* Lower-case forms other than infinitives (participles,
             * conjugations, adjective endings: 60 % of the list) are never
             * compound parts; skipping them halves the load time. Such a
             * query word, when the catalogue lacks it, goes to trigram
             * matching instead, which measured no worse (docs/finder.md). */
            if (!upper && !(wl >= 5 && w[wl - 2] == 'e' && w[wl - 1] == 'n')) continue;
            /* Lower-case infinitives give compound-initial verb stems:
             * "wohnen" → "wohn" (Wohnsitz), "sperren" → "sperr" (Sperrmüll). */
            if (c0 >= 'a' && c0 <= 'z' && wl >= 6 && w[wl - 2] == 'e' && w[wl - 1] == 'n' &&
                w[wl - 3] != 'e') {
                memcpy(add[1].w, w, wl - 2);
                add[1].w[wl - 2] = 0;
                add[1].len = wl - 2;
                add[1].flags = AW_LEX_MOD;
                n_add = 2;
            }
        }
        for (size_t k = 0; k < n_add || (!more && queued > 0 && k == 0); k++) {
            if (queued == RING || (!more && queued > 0)) {
                struct pending *o = &ring[(head + RING - queued) % RING];
                if (!rc) rc = lex_add_h(lx, o->w, o->len, o->flags, o->h);
                queued--;
            }
            if (k < n_add) {
                struct pending *q = &ring[head];
                *q = add[k];
                q->h = hash_bytes(q->w, q->len);
                aw_strmap_prefetch(&lx->map, q->h);
                if (lx->bloom) __builtin_prefetch(&lx->bloom[bloom_bit(q->h) >> 6], 1);
                head = (head + 1) % RING;
                queued++;
            }
        }
        if (!more && queued == 0) break;
    }
    if (rc) {
        free(data);
        return aw_err_set(err, AW_ENOMEM, "word list %s: out of memory", path);
    }
    free(data);
    lx->wordlist_words = count;
    return 0;
}

/* Is w[0..n) usable as a compound part? last: the head of the compound.
 * Returns the part length without a linking element, or 0. */
static size_t part_ok(const aw_lex_t *lx, const char *w, size_t n, int last, uint32_t *flags) {
    static const char *const fugen[] = {"es", "en", "s", "n", "e"};
    uint32_t need = last ? (AW_LEX_WORD | AW_LEX_CAT) : (AW_LEX_WORD | AW_LEX_CAT | AW_LEX_MOD);
    if (n >= 3) {
        uint32_t f = aw_lex_flags(lx, w, n);
        if ((f & need) && !(f & AW_LEX_STOP) && (n >= 4 || (f & AW_LEX_SHORT))) {
            *flags = f;
            return n;
        }
    }
    if (last) return 0;
    for (size_t i = 0; i < sizeof fugen / sizeof *fugen; i++) {
        size_t fl = strlen(fugen[i]);
        if (n < fl + 3 || memcmp(w + n - fl, fugen[i], fl) != 0) continue;
        size_t m = n - fl;
        uint32_t f = aw_lex_flags(lx, w, m);
        if ((f & need) && !(f & AW_LEX_STOP) && (m >= 4 || (f & AW_LEX_SHORT))) {
            *flags = f;
            return m;
        }
    }
    return 0;
}

/* Best split of w into >= 2 parts: fewest parts, then fewest short parts
 * and parts that are not nouns (compound heads are nouns; "lohn|steuer",
 * not "lohns|teuer"). strict: every part must be a noun or verb stem (used
 * when splitting parts again). Returns the number of parts (0 when none). */
static size_t split_once(const aw_lex_t *lx, const char *w, size_t n, aw_lex_part_t *out,
                         int strict) {
    enum { INF = 1 << 20 };
    int cost[AW_TOK_WORD_MAX + 1];
    uint8_t from[AW_TOK_WORD_MAX + 1], plen[AW_TOK_WORD_MAX + 1];
    if (n < 6 || n > AW_TOK_WORD_MAX) return 0;
    cost[0] = 0;
    for (size_t j = 1; j <= n; j++) {
        cost[j] = INF;
        for (size_t i = 0; i + 3 <= j; i++) {
            if (cost[i] >= INF || (i == 0 && j == n)) continue;
            uint32_t pf = 0;
            size_t pl = part_ok(lx, w + i, j - i, j == n, &pf);
            if (!pl) continue;
            int noun = (pf & (AW_LEX_NOUN | AW_LEX_MOD | AW_LEX_CAT)) != 0;
            if (strict && !noun) continue;
            int c = cost[i] + 10 + (pl < 5 ? 3 : 0) + (pl != j - i ? 1 : 0) + (noun ? 0 : 4);
            if (c < cost[j]) {
                cost[j] = c;
                from[j] = (uint8_t)i;
                plen[j] = (uint8_t)pl;
            }
        }
    }
    if (cost[n] >= INF) return 0;
    size_t k = 0;
    aw_lex_part_t rev[AW_LEX_MAX_PARTS];
    for (size_t j = n; j > 0 && k < AW_LEX_MAX_PARTS; j = from[j]) {
        rev[k].off = from[j];
        rev[k].len = plen[j];
        k++;
    }
    for (size_t i = 0; i < k; i++) out[i] = rev[k - 1 - i];
    return k;
}

static size_t add_part(aw_lex_part_t *parts, size_t k, size_t max, const char *w, aw_lex_part_t p) {
    for (size_t i = 0; i < k; i++)
        if (parts[i].len == p.len && memcmp(w + parts[i].off, w + p.off, p.len) == 0) return k;
    if (k < max) parts[k++] = p;
    return k;
}

size_t aw_lex_decompound(const aw_lex_t *lx, const char *w, size_t len, aw_lex_part_t *parts,
                         size_t max) {
    /* Verbs and adjectives of the word list stay whole: "bestellen" is
     * not best + ellen. Compounds are nouns, or words we do not know. */
    uint32_t wf = aw_lex_flags(lx, w, len);
    if ((wf & AW_LEX_WORD) && !(wf & AW_LEX_NOUN)) return 0;
    aw_lex_part_t top[AW_LEX_MAX_PARTS];
    size_t nt = split_once(lx, w, len, top, 0);
    size_t k = 0;
    for (size_t i = 0; i < nt; i++) k = add_part(parts, k, max, w, top[i]);
    for (size_t i = 0; i < nt; i++) {
        if (top[i].len < 8) continue;
        aw_lex_part_t sub[AW_LEX_MAX_PARTS];
        size_t ns = split_once(lx, w + top[i].off, top[i].len, sub, 1);
        for (size_t j = 0; j < ns; j++) {
            sub[j].off = (uint8_t)(sub[j].off + top[i].off);
            k = add_part(parts, k, max, w, sub[j]);
        }
    }
    return k;
}
