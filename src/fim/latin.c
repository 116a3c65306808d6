/*
 * latin — the character set of the FIM data type text_latin ("String.Latin+").
 *
 * XÖV's String.Latin+ 1.2 is DIN SPEC 91379 data type C: every normative
 * character — the Latin letters (bll), the non-letters N1 (bnlreq), N2
 * (bnl), N3 (bnlopt) and N4 (bnlnot: tab, LF, CR, no-break space) and the
 * 19 combining diacritics (dc). Because data type C admits the diacritics
 * on their own, every one of the standard's combining sequences is already
 * covered code point by code point, so a value is checked per code point
 * against one table of ranges (below). Data types D and E add the
 * non-normative Greek and Cyrillic letters and the non-letters E1; they are
 * not part of String.Latin+ and are refused. Data types A and B (names of
 * persons), which forbid lone diacritics and so need the sequence list,
 * are not used by FIM's text_latin.
 *
 * Source: the code point lists of String.Latin+ 1.2 (KoSIT), as published in
 * String-Latin/DIN-91379-Characters-and-Sequences, latin_list_1.2.txt
 * (CC BY 4.0); the ranges merge adjacent code points of the groups above.
 */
#include <stdio.h>

#include "fim/internal.h"

typedef struct {
    uint32_t lo, hi;
} range_t;

/* DIN SPEC 91379 data type C, sorted, non-overlapping. */
static const range_t LATIN_C[] = {
    {0x0009, 0x000A}, {0x000D, 0x000D}, /* N4: tab, LF, CR */
    {0x0020, 0x007E},                   /* letters, N1, N2 (Basic Latin) */
    {0x00A0, 0x00AC},                   /* N4 no-break space, N2, N3 */
    {0x00AE, 0x017E},                   /* N1-N3, Latin-1 letters, Latin Extended-A */
    {0x0187, 0x0188}, {0x018F, 0x018F}, {0x0197, 0x0197}, {0x01A0, 0x01A1}, {0x01AF, 0x01B0},
    {0x01B7, 0x01B7}, {0x01CD, 0x01DC}, {0x01DE, 0x01DF}, {0x01E2, 0x01F0}, {0x01F4, 0x01F5},
    {0x01F8, 0x01FF}, {0x0212, 0x0213}, {0x0218, 0x021B}, {0x021E, 0x021F}, {0x0227, 0x0233},
    {0x0259, 0x0259}, {0x0268, 0x0268}, {0x0292, 0x0292}, /* Latin Extended-B, IPA */
    {0x02B9, 0x02BA}, {0x02BE, 0x02BF}, {0x02C8, 0x02C8}, {0x02CC, 0x02CC}, /* N1 modifiers */
    {0x0300, 0x0302}, {0x0304, 0x0304}, {0x0306, 0x0308}, {0x030B, 0x030C}, {0x0310, 0x0310},
    {0x0315, 0x0315}, {0x031B, 0x031B}, {0x0323, 0x0323}, {0x0325, 0x0328}, {0x0331, 0x0331},
    {0x035F, 0x035F}, /* dc */
    {0x1E02, 0x1E03}, {0x1E06, 0x1E07}, {0x1E0A, 0x1E11}, {0x1E1C, 0x1E2B}, {0x1E2F, 0x1E37},
    {0x1E3A, 0x1E3B}, {0x1E40, 0x1E49}, {0x1E52, 0x1E5B}, {0x1E5E, 0x1E63}, {0x1E6A, 0x1E6F},
    {0x1E80, 0x1E87}, {0x1E8C, 0x1E97}, {0x1E9E, 0x1E9E}, {0x1EA0, 0x1EF9}, /* Latin Ext. Add. */
    {0x2019, 0x2019}, {0x2021, 0x2021},                                     /* N1: ’ ‡ */
    {0x20AC, 0x20AC},                                                       /* N2: € */
};

bool aw_fim_latin_cp(uint32_t cp) {
    size_t lo = 0, hi = sizeof LATIN_C / sizeof *LATIN_C;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < LATIN_C[mid].lo)
            hi = mid;
        else if (cp > LATIN_C[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* Decodes one UTF-8 sequence; invalid bytes decode as U+FFFD (not allowed). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp) {
    unsigned c = s[0];
    size_t k;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c < 0xE0) {
        k = 1, v = c & 0x1F;
    } else if (c >= 0xE0 && c < 0xF0) {
        k = 2, v = c & 0x0F;
    } else if (c >= 0xF0 && c < 0xF5) {
        k = 3, v = c & 0x07;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (k >= n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i <= k; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return k + 1;
}

bool aw_fim_latin_check(const char *s, size_t len, size_t *bad_off, uint32_t *bad_cp) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        if (p[i] >= 0x20 && p[i] < 0x7F) { /* the common case */
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_next(p + i, len - i, &cp);
        if (!aw_fim_latin_cp(cp)) {
            if (bad_off) *bad_off = i;
            if (bad_cp) *bad_cp = cp;
            return false;
        }
        i += k;
    }
    return true;
}

void aw_fim_latin_ecma_pattern(aw_buf_t *out) {
    aw_buf_puts(out, "^[");
    for (size_t i = 0; i < sizeof LATIN_C / sizeof *LATIN_C; i++) {
        if (LATIN_C[i].lo == LATIN_C[i].hi)
            aw_buf_printf(out, "\\u%04X", (unsigned)LATIN_C[i].lo);
        else
            aw_buf_printf(out, "\\u%04X-\\u%04X", (unsigned)LATIN_C[i].lo, (unsigned)LATIN_C[i].hi);
    }
    aw_buf_puts(out, "]*$");
}

void aw_fim_latin_describe(uint32_t cp, char *de, char *en, size_t n) {
    char shown[16] = "";
    /* show the character itself unless it is a control or invisible */
    bool visible = cp >= 0x21 && !(cp >= 0x7F && cp <= 0xA0) && cp != 0xAD && cp != 0xFFFD &&
                   !(cp >= 0x2000 && cp <= 0x200F) && !(cp >= 0x2028 && cp <= 0x202F) &&
                   !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
    if (visible) {
        char u[5] = {0};
        if (cp < 0x80)
            u[0] = (char)cp;
        else if (cp < 0x800)
            u[0] = (char)(0xC0 | (cp >> 6)), u[1] = (char)(0x80 | (cp & 0x3F));
        else if (cp < 0x10000)
            u[0] = (char)(0xE0 | (cp >> 12)), u[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
            u[2] = (char)(0x80 | (cp & 0x3F));
        else
            u[0] = (char)(0xF0 | (cp >> 18)), u[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), u[3] = (char)(0x80 | (cp & 0x3F));
        snprintf(shown, sizeof shown, "\"%s\" ", u);
    }
    snprintf(de, n,
             "Das Zeichen %s(U+%04X) ist nicht erlaubt; bitte nur lateinische Zeichen nach "
             "DIN SPEC 91379 verwenden.",
             shown, (unsigned)cp);
    snprintf(en, n,
             "The character %s(U+%04X) is not allowed; please use Latin characters "
             "(DIN SPEC 91379) only.",
             shown, (unsigned)cp);
}
