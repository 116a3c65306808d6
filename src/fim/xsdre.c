/*
 * xsdre — XML Schema regular expressions on PCRE2 and for ECMAScript.
 *
 * FIM patterns are XSD regexes: implicitly anchored, no ^/$ anchors (they are
 * ordinary characters), Unicode-aware \d \w \s \i \c, character class
 * subtraction [a-z-[aeiou]], block escapes \p{IsBasicLatin}. Neither PCRE2
 * nor ECMAScript has those semantics, so the pattern is translated to a
 * subset both engines read the same way (anchored with ^(?:...)$, classes
 * spelled out with \p{..}). The one deliberate leniency (documented in
 * docs/fim.md): a leading '^' and a trailing unescaped '$' are taken as the
 * anchors their authors meant, not as literal characters.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "fim/internal.h"

typedef struct {
    const char *p;
    const char *start;
    aw_fim_re_flavor_t fl;
    aw_buf_t *out;
    aw_err_t *err;
} tr_t;

static void hex(tr_t *t, unsigned v) {
    if (t->fl == AW_FIM_RE_PCRE2)
        aw_buf_printf(t->out, "\\x{%X}", v);
    else
        aw_buf_printf(t->out, "\\u{%X}", v);
}

typedef struct {
    const char *name;
    unsigned lo, hi;
} block_t;

static const block_t BLOCKS[] = {
    {"IsBasicLatin", 0x0, 0x7F},
    {"IsLatin-1Supplement", 0x80, 0xFF},
    {"IsLatinExtended-A", 0x100, 0x17F},
    {"IsLatinExtended-B", 0x180, 0x24F},
    {"IsIPAExtensions", 0x250, 0x2AF},
    {"IsCombiningDiacriticalMarks", 0x300, 0x36F},
    {"IsGreek", 0x370, 0x3FF},
    {"IsCyrillic", 0x400, 0x4FF},
    {"IsLatinExtendedAdditional", 0x1E00, 0x1EFF},
    {"IsGeneralPunctuation", 0x2000, 0x206F},
    {"IsCurrencySymbols", 0x20A0, 0x20CF},
    {NULL, 0, 0},
};

static const char *const CATEGORIES[] = {"L",  "Lu", "Ll", "Lt", "Lm", "Lo", "M",  "Mn", "Mc", "Me",
                                         "N",  "Nd", "Nl", "No", "P",  "Pc", "Pd", "Ps", "Pe", "Pi",
                                         "Pf", "Po", "Z",  "Zs", "Zl", "Zp", "S",  "Sm", "Sc", "Sk",
                                         "So", "C",  "Cc", "Cf", "Co", "Cn", NULL};

/* Emits the expansion of an escape at t->p (just after the backslash). */
static int escape(tr_t *t, bool in_class) {
    char ch = *t->p;
    if (!ch) return aw_err_set(t->err, AW_EINVAL, "pattern ends with a backslash");
    t->p++;
    switch (ch) {
    case 'n':
        aw_buf_puts(t->out, "\\n");
        return 0;
    case 'r':
        aw_buf_puts(t->out, "\\r");
        return 0;
    case 't':
        aw_buf_puts(t->out, "\\t");
        return 0;
    case '-':
        aw_buf_puts(t->out, in_class ? "\\-" : "-");
        return 0;
    case '\\':
    case '|':
    case '.':
    case '^':
    case '?':
    case '*':
    case '+':
    case '{':
    case '}':
    case '(':
    case ')':
    case '[':
    case ']':
    case '$': /* not an XSD escape, but harmless and common */
    case '/':
        aw_buf_putc(t->out, '\\');
        aw_buf_putc(t->out, ch);
        return 0;
    case 'd':
        aw_buf_puts(t->out, "\\p{Nd}");
        return 0;
    case 'D':
        aw_buf_puts(t->out, "\\P{Nd}");
        return 0;
    case 's':
        aw_buf_puts(t->out, in_class ? " \\t\\n\\r" : "[ \\t\\n\\r]");
        return 0;
    case 'S':
        if (in_class) break;
        aw_buf_puts(t->out, "[^ \\t\\n\\r]");
        return 0;
    case 'w':
        if (in_class) break;
        aw_buf_puts(t->out, "[^\\p{P}\\p{Z}\\p{C}]");
        return 0;
    case 'W':
        aw_buf_puts(t->out, in_class ? "\\p{P}\\p{Z}\\p{C}" : "[\\p{P}\\p{Z}\\p{C}]");
        return 0;
    case 'i':
        aw_buf_puts(t->out, in_class ? "\\p{L}_:" : "[\\p{L}_:]");
        return 0;
    case 'I':
        if (in_class) break;
        aw_buf_puts(t->out, "[^\\p{L}_:]");
        return 0;
    case 'c':
    case 'C':
        if (in_class && ch == 'C') break;
        if (!in_class) aw_buf_puts(t->out, ch == 'c' ? "[" : "[^");
        aw_buf_puts(t->out, "\\-\\p{L}\\p{Nd}\\p{Mn}\\p{Mc}._:");
        hex(t, 0xB7);
        if (!in_class) aw_buf_putc(t->out, ']');
        return 0;
    case 'p':
    case 'P': {
        if (*t->p != '{') return aw_err_set(t->err, AW_EINVAL, "\\%c without {name}", ch);
        const char *end = strchr(t->p, '}');
        if (!end) return aw_err_set(t->err, AW_EINVAL, "\\%c{ without }", ch);
        char name[64];
        size_t l = (size_t)(end - t->p - 1);
        if (l == 0 || l >= sizeof name) return aw_err_set(t->err, AW_EINVAL, "bad \\%c{...}", ch);
        memcpy(name, t->p + 1, l);
        name[l] = 0;
        t->p = end + 1;
        for (int i = 0; CATEGORIES[i]; i++)
            if (strcmp(CATEGORIES[i], name) == 0) {
                aw_buf_printf(t->out, "\\%c{%s}", ch, name);
                return 0;
            }
        for (int i = 0; BLOCKS[i].name; i++)
            if (strcmp(BLOCKS[i].name, name) == 0) {
                if (in_class && ch == 'P')
                    return aw_err_set(t->err, AW_EUNSUPPORTED,
                                      "\\P{%s} inside a character class is not supported", name);
                if (!in_class) aw_buf_puts(t->out, ch == 'p' ? "[" : "[^");
                hex(t, BLOCKS[i].lo);
                aw_buf_putc(t->out, '-');
                hex(t, BLOCKS[i].hi);
                if (!in_class) aw_buf_putc(t->out, ']');
                return 0;
            }
        return aw_err_set(t->err, AW_EUNSUPPORTED, "unknown or unsupported property \\%c{%s}", ch,
                          name);
    }
    default:
        return aw_err_set(t->err, AW_EINVAL, "unknown escape \\%c", ch);
    }
    return aw_err_set(t->err, AW_EUNSUPPORTED, "\\%c inside a character class is not supported",
                      ch);
}

static void copy_char(tr_t *t) {
    /* one UTF-8 sequence */
    unsigned char c = (unsigned char)*t->p;
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    for (size_t i = 0; i < n && t->p[0]; i++) aw_buf_putc(t->out, *t->p++);
}

static int klass(tr_t *t);

/* t->p is just after '['. Emits a bracket expression (or a lookahead form
 * for subtraction). */
static int klass(tr_t *t) {
    aw_buf_t base = AW_BUF_INIT;
    aw_buf_t *saved = t->out;
    t->out = &base;
    aw_buf_putc(&base, '[');
    if (*t->p == '^') {
        aw_buf_putc(&base, '^');
        t->p++;
    }
    int rc = 0;
    bool first = true, subtract = false;
    aw_buf_t sub = AW_BUF_INIT;
    for (;;) {
        char ch = *t->p;
        if (!ch) {
            rc = aw_err_set(t->err, AW_EINVAL, "character class without ]");
            break;
        }
        if (ch == ']' && !first) {
            t->p++;
            break;
        }
        if (ch == '-' && t->p[1] == '[') {
            t->p += 2;
            t->out = &sub;
            rc = klass(t);
            t->out = &base;
            if (rc) break;
            if (*t->p != ']') {
                rc =
                    aw_err_set(t->err, AW_EINVAL, "character class subtraction must end the class");
                break;
            }
            t->p++;
            subtract = true;
            break;
        }
        if (ch == '\\') {
            t->p++;
            rc = escape(t, true);
            if (rc) break;
        } else if (ch == '[') {
            rc = aw_err_set(t->err, AW_EINVAL, "'[' inside a character class must be escaped");
            break;
        } else if (ch == ']' && first) {
            rc = aw_err_set(t->err, AW_EINVAL, "empty character class");
            break;
        } else {
            copy_char(t);
        }
        first = false;
    }
    aw_buf_putc(&base, ']');
    t->out = saved;
    if (!rc) {
        if (subtract) {
            aw_buf_puts(t->out, "(?:(?!");
            aw_buf_append(t->out, sub.data, sub.len);
            aw_buf_putc(t->out, ')');
            aw_buf_append(t->out, base.data, base.len);
            aw_buf_putc(t->out, ')');
        } else {
            aw_buf_append(t->out, base.data, base.len);
        }
    }
    aw_buf_free(&base);
    aw_buf_free(&sub);
    return rc;
}

int aw_fim_xsdre_translate(const char *xsd, aw_fim_re_flavor_t flavor, aw_buf_t *out,
                           aw_err_t *err) {
    size_t len = strlen(xsd);
    if (len > 4096) return aw_err_set(err, AW_ETOOBIG, "pattern longer than 4096 bytes");
    /* leniency: authors' ^...$ anchors */
    const char *s = xsd, *e = xsd + len;
    if (s < e && *s == '^') s++;
    if (e > s && e[-1] == '$') {
        size_t bs = 0;
        for (const char *q = e - 2; q >= s && *q == '\\'; q--) bs++;
        if (bs % 2 == 0) e--;
    }
    char *body = strndup(s, (size_t)(e - s));
    if (!body) return aw_err_set(err, AW_ENOMEM, "out of memory");
    tr_t t = {.p = body, .start = body, .fl = flavor, .out = out, .err = err};
    aw_buf_puts(out, "^(?:");
    int rc = 0, depth = 0;
    bool can_quantify = false;
    while (*t.p && !rc) {
        char ch = *t.p;
        switch (ch) {
        case '\\':
            t.p++;
            rc = escape(&t, false);
            can_quantify = true;
            break;
        case '[':
            t.p++;
            rc = klass(&t);
            can_quantify = true;
            break;
        case '.':
            t.p++;
            aw_buf_puts(out, "[^\\n\\r]");
            can_quantify = true;
            break;
        case '(':
            t.p++;
            if (*t.p == '?') rc = aw_err_set(err, AW_EINVAL, "'(?' is not XSD regex syntax");
            aw_buf_putc(out, '(');
            depth++;
            can_quantify = false;
            break;
        case ')':
            t.p++;
            if (--depth < 0) rc = aw_err_set(err, AW_EINVAL, "unbalanced ')'");
            aw_buf_putc(out, ')');
            can_quantify = true;
            break;
        case '|':
            t.p++;
            aw_buf_putc(out, '|');
            can_quantify = false;
            break;
        case '*':
        case '+':
        case '?':
            t.p++;
            if (!can_quantify) rc = aw_err_set(err, AW_EINVAL, "quantifier '%c' without atom", ch);
            aw_buf_putc(out, ch);
            can_quantify = false;
            break;
        case '{': {
            const char *q = t.p + 1;
            int nd = 0, nc = 0;
            while (*q && *q != '}') {
                if (*q == ',')
                    nc++;
                else if (*q >= '0' && *q <= '9')
                    nd++;
                else
                    break;
                q++;
            }
            if (*q != '}' || nd == 0 || nc > 1 || t.p[1] == ',' || !can_quantify) {
                rc = aw_err_set(err, AW_EINVAL, "bad quantifier {...}");
                break;
            }
            aw_buf_append(out, t.p, (size_t)(q - t.p + 1));
            t.p = q + 1;
            can_quantify = false;
            break;
        }
        case '^':
        case '$':
        case '}':
        case ']':
        case '/':
            t.p++;
            aw_buf_putc(out, '\\');
            aw_buf_putc(out, ch);
            can_quantify = true;
            break;
        default:
            copy_char(&t);
            can_quantify = true;
        }
    }
    if (!rc && depth != 0) rc = aw_err_set(err, AW_EINVAL, "unbalanced '('");
    aw_buf_puts(out, ")$");
    free(body);
    if (!rc && !aw_buf_ok(out)) rc = aw_err_set(err, AW_ENOMEM, "out of memory");
    return rc;
}

int aw_fim_xsdre_compile(const char *xsd, void **out, aw_err_t *err) {
    *out = NULL;
    aw_buf_t b = AW_BUF_INIT;
    int rc = aw_fim_xsdre_translate(xsd, AW_FIM_RE_PCRE2, &b, err);
    if (rc) {
        aw_buf_free(&b);
        return rc;
    }
    int ec;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)b.data, b.len,
                      PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_AUTO_CAPTURE, &ec, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof msg);
        rc = aw_err_set(err, AW_EINVAL, "pattern does not compile: %s (at %zu of %s)",
                        (const char *)msg, (size_t)off, b.data);
        aw_buf_free(&b);
        return rc;
    }
    aw_buf_free(&b);
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional speed-up */
    *out = re;
    return 0;
}

int aw_fim_xsdre_match(const void *re, const char *s, size_t len) {
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) return AW_ENOMEM;
    int r = pcre2_match((const pcre2_code *)re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    if (r >= 0) return 1;
    if (r == PCRE2_ERROR_NOMATCH) return 0;
    return AW_EINVAL;
}

int aw_fim__xsdre_match_md(const void *re, const char *s, size_t len, void **md) {
    if (!*md) *md = pcre2_match_data_create(1, NULL);
    if (!*md) return AW_ENOMEM;
    int r = pcre2_match((const pcre2_code *)re, (PCRE2_SPTR)s, len, 0, 0, *md, NULL);
    if (r >= 0) return 1;
    if (r == PCRE2_ERROR_NOMATCH) return 0;
    return AW_EINVAL;
}

void aw_fim__xsdre_md_free(void *md) {
    pcre2_match_data_free(md);
}

void aw_fim_xsdre_free(void *re) {
    pcre2_code_free((pcre2_code *)re);
}
