/*
 * internal — helpers shared by the files of src/fim; not for other modules.
 */
#ifndef AW_FIM_INTERNAL_H
#define AW_FIM_INTERNAL_H

#include <string.h>

#include "base/dl_xml.h"

#include "fim/fim.h"

/* Adds a load warning to the schema (kept in its arena). */
void aw_fim__warn(aw_fim_schema_t *s, const char *elem_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Normalizes a 9-character FIM id (F60000227) to the 12-character form
 * (F60000000227) so XDF2 and XDF3 ids compare equal; other ids are copied. */
const char *aw_fim__norm_id(const char *id, char out[32]);
bool aw_fim__id_eq(const char *a, const char *b);

/* Parses untrusted XML safely: size bound, no DTD (refused), no network, no
 * entity expansion. The caller frees the document with xmlFreeDoc. */
int aw_fim__xml_read(const char *buf, size_t len, const char *name, xmlDocPtr *out, aw_err_t *err);
/* aw_fim_genericode_parse with the code, label and help columns chosen by a
 * field (XDF3 codeKey/nameKey/helpKey: a key id or a column id; NULL: the
 * list's own, and no help column). */
int aw_fim__genericode_parse_cols(const char *xml, size_t len, const char *name, aw_arena_t *arena,
                                  const char *want_key, const char *want_name,
                                  const char *want_help, aw_fim_codelist_t **out, aw_err_t *err);

/* Reads a whole file with a size bound (caller frees). */
int aw_fim__read_file(const char *path, size_t max, char **out, size_t *len, aw_err_t *err);

/* Local-name helpers (namespaces are checked on the root only). */
bool aw_fim__is(xmlNodePtr n, const char *local);
xmlNodePtr aw_fim__child(xmlNodePtr n, const char *local);
/* Trimmed text content copied into the arena; NULL when the node is NULL. */
char *aw_fim__text(aw_arena_t *a, xmlNodePtr n);

/* Matches with a caller-provided pcre2_match_data (created lazily in *md,
 * freed with aw_fim__xsdre_md_free) so validation does not allocate per value. */
int aw_fim__xsdre_match_md(const void *re, const char *s, size_t len, void **md);
void aw_fim__xsdre_md_free(void *md);

/* A fast hash of n bytes for the child index of groups: two 8-byte loads
 * for ids of 8 bytes or more (FIM ids are 9 or 12), FNV-1a below. */
static inline uint64_t aw_fim__hash(const char *s, size_t n) {
    if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        uint64_t h = a ^ ((b << 32) | (b >> 32)) ^ n; /* then murmur3's fmix64 */
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ull;
        return h ^ (h >> 33);
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* Whether an XSD pattern admits only digits (for "Ziffern" in messages). */
bool aw_fim__digits_only_pattern(const char *p);

/* UTF-8 code point count (invalid bytes count as one each). */
size_t aw_fim__utf8_len(const char *s, size_t n);

/* Value checks shared by validator, export and quality checks. */
bool aw_fim__is_date(const char *s);     /* YYYY-MM-DD, a real date */
bool aw_fim__is_time(const char *s);     /* hh:mm[:ss] */
bool aw_fim__is_datetime(const char *s); /* RFC 3339 date-time with offset */
bool aw_fim__parse_num(const char *s, double *out);
bool aw_fim__parse_uint(const char *s, uint32_t *out);

/* Overlay evaluation, called by the validator. `root` is the json_t *. */
typedef struct aw_fim_overlay aw_fim_overlay_t;
void aw_fim__overlay_free(aw_fim_overlay_t *o);
void aw_fim__overlay_eval(const aw_fim_schema_t *s, const void *root, aw_fim_errors_t *errs);

/* JSON Schema of the overlay rules whose scope is group g (s->root for the
 * root): appends ',"allOf":[...]' when there are any; returns their number. */
int aw_fim__overlay_json_schema(const aw_fim_schema_t *s, const aw_fim_elem_t *g, aw_buf_t *out);
/* Lists the rules JSON Schema cannot express ("R1 (line 3), ..."). */
int aw_fim__overlay_not_exported(const aw_fim_schema_t *s, aw_buf_t *out);

/* Locked fields (feldart "locked", XDF "gesperrt") with a preset: the value
 * must equal the preset, as a number for numeric types and a boolean for
 * bool when the preset reads as one, else as a string. */
bool aw_fim__locked(const aw_fim_elem_t *e);
char aw_fim__locked_type(const aw_fim_elem_t *e, double *num); /* 'n', 'b' or 's' */

/* Adds an error to a list (strings are copied). */
void aw_fim__error_add(aw_fim_errors_t *errs, const char *path, const aw_fim_elem_t *e,
                       const char *code, const char *text_de, const char *text_en,
                       const char *rule_id);

#endif
