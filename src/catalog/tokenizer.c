#include "catalog/tokenizer.h"

#include "base/dl_stemmer.h"
#include "base/log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct aw_tok_stemmer {
    struct sb_stemmer *sb;
};

/* Latin Extended-A (U+0100..U+017F) to a base letter; '2' marks the two
 * ligatures handled separately. */
static const char latin_ext_a[128 + 1] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii22jjkkk"
                                         "llllllllllnnnnnnnnnoooooo22rrrrrrsssssssstttttt"
                                         "uuuuuuuuuuuuwwyyyzzzzzzs";

/* Decodes one UTF-8 code point; returns its length or 0 for an invalid
 * sequence (the caller then skips one byte). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
        v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/* Folding of one code point: writes up to 2 ASCII bytes into out and returns
 * their count; 0 means "separator"; -1 means "keep the raw bytes". */
static int fold_cp(uint32_t cp, char out[2]) {
    if (cp < 0x80) {
        if (cp >= 'A' && cp <= 'Z') {
            out[0] = (char)(cp + 32);
            return 1;
        }
        if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
            out[0] = (char)cp;
            return 1;
        }
        return 0;
    }
    if (cp >= 0xC0 && cp <= 0xFF) {
        switch (cp) {
        case 0xC4:
        case 0xE4:
        case 0xC6:
        case 0xE6:
            out[0] = 'a';
            out[1] = 'e';
            return 2;
        case 0xD6:
        case 0xF6:
            out[0] = 'o';
            out[1] = 'e';
            return 2;
        case 0xDC:
        case 0xFC:
            out[0] = 'u';
            out[1] = 'e';
            return 2;
        case 0xDF:
            out[0] = 's';
            out[1] = 's';
            return 2;
        case 0xDE:
        case 0xFE:
            out[0] = 't';
            out[1] = 'h';
            return 2;
        case 0xD7:
        case 0xF7:
            return 0;
        case 0xC7:
        case 0xE7:
            out[0] = 'c';
            return 1;
        case 0xD0:
        case 0xF0:
            out[0] = 'd';
            return 1;
        case 0xD1:
        case 0xF1:
            out[0] = 'n';
            return 1;
        case 0xDD:
        case 0xFD:
        case 0xFF:
            out[0] = 'y';
            return 1;
        default:
            break;
        }
        uint32_t l = cp | 0x20; /* lower-case row */
        if (l >= 0xE0 && l <= 0xE5)
            out[0] = 'a';
        else if (l >= 0xE8 && l <= 0xEB)
            out[0] = 'e';
        else if (l >= 0xEC && l <= 0xEF)
            out[0] = 'i';
        else if ((l >= 0xF2 && l <= 0xF5) || l == 0xF8)
            out[0] = 'o';
        else if (l >= 0xF9 && l <= 0xFB)
            out[0] = 'u';
        else
            return 0;
        return 1;
    }
    if (cp >= 0x100 && cp <= 0x17F) {
        if (cp == 0x132 || cp == 0x133) {
            out[0] = 'i';
            out[1] = 'j';
            return 2;
        }
        if (cp == 0x152 || cp == 0x153) {
            out[0] = 'o';
            out[1] = 'e';
            return 2;
        }
        out[0] = latin_ext_a[cp - 0x100];
        return 1;
    }
    if (cp == 0x1E9E) { /* capital sharp s */
        out[0] = 's';
        out[1] = 's';
        return 2;
    }
    /* General punctuation, symbols, spaces, controls separate words. */
    if (cp < 0x250 || (cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
        (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || (cp >= 0x1F000 && cp <= 0x1FAFF))
        return 0;
    return -1;
}

int aw_tok_words(const char *text, size_t len, aw_tok_word_fn fn, void *ctx) {
    const unsigned char *s = (const unsigned char *)text;
    aw_tok_word_t w;
    w.len = 0;
    w.start = 0;
    size_t i = 0;
    while (i <= len) {
        uint32_t cp = ' ';
        size_t n = 1;
        if (i < len) {
            n = utf8_decode(s + i, len - i, &cp);
            if (n == 0) {
                cp = ' ';
                n = 1;
            }
        }
        char f[2];
        int k = i < len ? fold_cp(cp, f) : 0;
        if (k == 0) {
            if (w.len > 0) {
                w.text[w.len] = 0;
                w.end = i;
                int rc = fn(ctx, &w);
                if (rc) return rc;
                w.len = 0;
            }
        } else {
            if (w.len == 0) w.start = i;
            if (k < 0) {
                if (w.len + n <= AW_TOK_WORD_MAX) {
                    memcpy(w.text + w.len, s + i, n);
                    w.len += n;
                }
            } else if (w.len + (size_t)k <= AW_TOK_WORD_MAX) {
                memcpy(w.text + w.len, f, (size_t)k);
                w.len += (size_t)k;
            }
        }
        i += n;
    }
    return 0;
}

typedef struct {
    char *out;
    size_t len;
} fold_one_t;

static int fold_first(void *ctx, const aw_tok_word_t *w) {
    fold_one_t *f = ctx;
    memcpy(f->out, w->text, w->len + 1);
    f->len = w->len;
    return 1;
}

size_t aw_tok_fold_word(const char *s, size_t len, char *out) {
    fold_one_t f = {out, 0};
    out[0] = 0;
    aw_tok_words(s, len, fold_first, &f);
    return f.len;
}

aw_tok_stemmer_t *aw_tok_stemmer_new(void) {
    aw_err_t err = {0};
    if (aw_dl_stemmer_load(&err) < 0) {
        aw_log_warn("finder.stemmer", "error=\"%s\"", err.msg);
        return NULL;
    }
    aw_tok_stemmer_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->sb = sb_stemmer_new("german", "UTF_8");
    if (!s->sb) {
        free(s);
        return NULL;
    }
    return s;
}

void aw_tok_stemmer_free(aw_tok_stemmer_t *s) {
    if (!s) return;
    sb_stemmer_delete(s->sb);
    free(s);
}

size_t aw_tok_stem(aw_tok_stemmer_t *s, const char *word, size_t len, char *out) {
    if (len > AW_TOK_WORD_MAX) len = AW_TOK_WORD_MAX;
    bool plain = len < 3;
    for (size_t i = 0; i < len && !plain; i++)
        if ((unsigned char)word[i] >= 0x80 || (word[i] >= '0' && word[i] <= '9')) plain = true;
    if (plain || !s) {
        memcpy(out, word, len);
        out[len] = 0;
        return len;
    }
    /* german2 input: ae/oe/ue → ä/ö/ü (2 bytes each, so never longer). */
    unsigned char in[AW_TOK_WORD_MAX + 1];
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = word[i];
        if (i + 1 < len && word[i + 1] == 'e' &&
            (c == 'a' || c == 'o' || (c == 'u' && (i == 0 || word[i - 1] != 'q')))) {
            in[n++] = 0xC3;
            in[n++] = c == 'a' ? 0xA4 : c == 'o' ? 0xB6 : 0xBC;
            i++;
            continue;
        }
        in[n++] = (unsigned char)c;
    }
    const sb_symbol *r = sb_stemmer_stem(s->sb, in, (int)n);
    int rn = sb_stemmer_length(s->sb);
    if (!r || rn <= 0) {
        memcpy(out, word, len);
        out[len] = 0;
        return len;
    }
    /* Snowball drops umlauts in its last step; fold anything left. */
    return aw_tok_fold_word((const char *)r, (size_t)rn, out);
}
