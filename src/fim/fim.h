/*
 * fim — FIM form schemas: read, check, validate, export.
 *
 * Reads XDatenfelder 2.0 and 3.0.0 messages (Stammdatenschema 0102,
 * Datenfeldgruppe 0103, Datenfeld 0104) and their OASIS genericode 1.0 code
 * lists into one read-only schema model: a tree of groups and fields joined
 * by edges that carry the cardinality (min:max, max may be unbounded). The
 * same model serves the validator (submission JSON → list of errors, all at
 * once, each naming the field in German and English), the JSON Schema
 * 2020-12 export, the rule overlay (executable versions of FIM's prose
 * rules) and the FIM quality checks.
 *
 * Promises: input is bounded (size, depth, element count), XML is parsed
 * without network, DTDs or entity expansion (a document with a DTD is
 * refused); a loaded schema is immutable and may be shared between threads
 * for validation. Nothing here knows about HTTP or storage, and nothing
 * logs form values.
 *
 * Memory: a schema owns everything reachable from it (one arena); strings
 * and elements stay valid until aw_fim_schema_free. Error lists own their
 * messages (aw_fim_errors_free).
 */
#ifndef AW_FIM_FIM_H
#define AW_FIM_FIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

/* Bounds for untrusted input. */
#define AW_FIM_MAX_XML_BYTES  (32u << 20) /* schema or code list file */
#define AW_FIM_MAX_DEPTH      40          /* nesting of groups */
#define AW_FIM_MAX_ELEMENTS   50000       /* fields + groups in one schema */
#define AW_FIM_MAX_JSON_BYTES (8u << 20)  /* one submission document */
#define AW_FIM_MAX_JSON_DEPTH 64
#define AW_FIM_UNBOUNDED      UINT32_MAX /* edge max "*" */

typedef enum { AW_FIM_GROUP = 0, AW_FIM_FIELD = 1 } aw_fim_kind_t;

/* Feldart. */
typedef enum {
    AW_FIM_FA_INPUT = 0,
    AW_FIM_FA_SELECT,
    AW_FIM_FA_LABEL, /* static text, carries no data */
    AW_FIM_FA_HIDDEN,
    AW_FIM_FA_LOCKED,
    AW_FIM_FA_UNKNOWN,
} aw_fim_feldart_t;

/* Datentyp. */
typedef enum {
    AW_FIM_DT_TEXT = 0,
    AW_FIM_DT_TEXT_LATIN,
    AW_FIM_DT_DATE,
    AW_FIM_DT_TIME,
    AW_FIM_DT_DATETIME,
    AW_FIM_DT_BOOL,
    AW_FIM_DT_NUM,
    AW_FIM_DT_NUM_INT,
    AW_FIM_DT_NUM_CURRENCY,
    AW_FIM_DT_FILE,
    AW_FIM_DT_OBJ,
    AW_FIM_DT_UNKNOWN,
} aw_fim_datatype_t;

typedef struct aw_fim_code {
    const char *code;
    const char *label; /* may be "" */
    const char *help;  /* may be NULL */
} aw_fim_code_t;

/* A code list: from a genericode file or inline XDF3 `werte`. */
typedef struct aw_fim_codelist {
    const char *id;                    /* C... id when the schema gives one, else NULL */
    const char *canonical_uri;         /* canonicalIdentification */
    const char *version;               /* may be NULL */
    const char *canonical_version_uri; /* may be NULL */
    const char *name;                  /* ShortName, may be "" */
    bool inline_values;                /* XDF3 werte */
    size_t ncodes;
    aw_fim_code_t *codes;
} aw_fim_codelist_t;

/* Constraints (praezisierung). Strings are as written; numbers parsed. */
typedef struct aw_fim_constraints {
    bool has_min_len, has_max_len;
    uint32_t min_len, max_len;
    const char *min_len_raw, *max_len_raw; /* as written, NULL when absent */
    const char *min_value, *max_value;     /* NULL when absent */
    bool has_min_num, has_max_num;         /* min/max_value parsed as numbers */
    double min_num, max_num;
    const char *pattern;      /* XSD regular expression, NULL when absent */
    void *pattern_re;         /* compiled (pcre2_code *); NULL when absent/invalid */
    const char *pattern_ecma; /* the pattern translated for JSON Schema */
    bool digits_only;         /* the pattern admits digits only ("Ziffern" in messages) */
} aw_fim_constraints_t;

/* A FIM rule: kept verbatim (FIM rules are prose; see overlays). */
typedef struct aw_fim_rule {
    const char *id, *version, *name;
    const char *description;
    const char *text;   /* XDF3 freitextRegel, XDF2 definition */
    const char *script; /* XDF2 script / XDF3 skript, may be NULL */
    const char *type;   /* XDF3 typ code, may be NULL */
} aw_fim_rule_t;

typedef struct aw_fim_elem aw_fim_elem_t;

/* A slot of a group's key index: the id's first and last 8 bytes and its
 * length identify ids of 8..16 bytes without touching the string. */
struct aw_fim_slot {
    uint64_t a, b, hash;
    uint32_t n, k; /* k: index into by_id + 1; 0 = empty */
};

/* An edge of the tree: the cardinality belongs here, not to the element. */
typedef struct aw_fim_edge {
    aw_fim_elem_t *elem;
    uint32_t min, max;  /* max == AW_FIM_UNBOUNDED for '*' */
    const char *anzahl; /* as written */
    bool carries_data;  /* false for labels and for a repeated sibling id (the first wins) */
    const char *bezug;  /* may be NULL */
} aw_fim_edge_t;

struct aw_fim_elem {
    aw_fim_kind_t kind;
    const char *id, *version; /* version may be NULL */
    const char *name;
    const char *label;     /* bezeichnungEingabe; falls back to name */
    const char *label_out; /* bezeichnungAusgabe, may be NULL */
    const char *help;      /* hilfetextEingabe, may be NULL */
    const char *help_out;  /* hilfetextAusgabe, may be NULL */
    const char *description, *definition, *bezug, *status;
    const char *schemaelementart; /* ABS, HAR, RNG or NULL */
    const char *fachlicher_ersteller;
    /* fields */
    aw_fim_feldart_t feldart;
    aw_fim_datatype_t datatype;
    const char *feldart_code, *datatype_code; /* as written */
    const char *content;                      /* inhalt: preset or static text, may be NULL */
    const char *praezisierung_raw;            /* XDF2 JSON text, NULL in XDF3 */
    aw_fim_constraints_t c;
    aw_fim_codelist_t *codelist;       /* NULL when none */
    const char *max_size, *media_type; /* XDF3 file fields */
    const char *code_key, *name_key;   /* XDF3: genericode columns to use, may be NULL */
    /* groups */
    size_t nchildren;
    aw_fim_edge_t *children;
    /* the data-carrying edges sorted by element id (lookup of JSON keys) */
    const aw_fim_edge_t **by_id;
    uint64_t *by_hash;        /* aw_fim__hash of the ids, parallel to by_id, ascending */
    struct aw_fim_slot *htab; /* open addressing over by_id, size hmask + 1 */
    uint32_t hmask;
    size_t nby_id;
    /* rules attached to this element */
    size_t nrules;
    aw_fim_rule_t *rules;
    /* set by the loader */
    aw_fim_elem_t *parent; /* first parent in document order; NULL for the root */
    uint32_t depth;
    uint32_t index; /* unique position in document order */
    uint32_t stamp; /* scratch for the loader */
};

typedef struct aw_fim_warning {
    const char *elem_id; /* may be NULL */
    const char *msg;
} aw_fim_warning_t;

typedef struct aw_fim_schema {
    aw_arena_t arena;
    int xdf_version;     /* 2 or 3 */
    const char *message; /* "xdatenfelder.stammdatenschema.0102", ... */
    const char *path;    /* file name or "(memory)" */
    /* the root: for 0102 the schema; for 0103/0104 a synthetic root whose
     * single 1:1 child is the group or field of the message */
    aw_fim_elem_t *root;
    const char *dokumentsteckbrief; /* XDF3, may be NULL */
    size_t nelems;
    aw_fim_elem_t **elems; /* every element occurrence in document order */
    aw_fim_elem_t **first; /* first[i]: the first occurrence of elems[i]'s id */
    size_t ncodelists;
    aw_fim_codelist_t **codelists;
    size_t nwarnings;
    aw_fim_warning_t *warnings;
    size_t warn_cap;
    void *overlay; /* attached rule overlay (aw_fim_overlay_t *), may be NULL */
} aw_fim_schema_t;

typedef struct aw_fim_load_opts {
    const char *codelist_dir;     /* where genericode files live; NULL: next to the schema */
    bool allow_missing_codelists; /* true: a missing list is a warning, not an error */
} aw_fim_load_opts_t;

/* Loads a schema file. On success *out owns everything (aw_fim_schema_free).
 * Errors (unreadable, too big, DTD, unsupported version, bad structure,
 * missing code list) fill err and leave *out NULL. */
int aw_fim_schema_load(const char *path, const aw_fim_load_opts_t *opts, aw_fim_schema_t **out,
                       aw_err_t *err);
/* Same from memory; `name` appears in messages, `base_dir` is where code
 * lists are looked for when opts->codelist_dir is NULL (may be NULL). */
int aw_fim_schema_load_mem(const char *xml, size_t len, const char *name, const char *base_dir,
                           const aw_fim_load_opts_t *opts, aw_fim_schema_t **out, aw_err_t *err);
void aw_fim_schema_free(aw_fim_schema_t *s);

/* Looks an element up by id (first occurrence; 9- and 12-character FIM ids
 * are treated as equal, F60000227 == F60000000227). NULL when absent. */
const aw_fim_elem_t *aw_fim_schema_find(const aw_fim_schema_t *s, const char *id);

/* Walks the tree depth first. `visit` gets each edge (the root has a
 * synthetic 1:1 edge) and its depth; return false from it to skip the
 * children of a group. */
typedef bool (*aw_fim_visit_fn)(const aw_fim_edge_t *edge, uint32_t depth, void *ctx);
void aw_fim_schema_walk(const aw_fim_schema_t *s, aw_fim_visit_fn visit, void *ctx);

/* Whether a field carries data (labels do not) — the validator and the
 * export treat non-data fields as absent from submissions. */
bool aw_fim_elem_has_data(const aw_fim_elem_t *e);

const char *aw_fim_feldart_name(aw_fim_feldart_t f);
const char *aw_fim_datatype_name(aw_fim_datatype_t t);

/* ---- genericode ---------------------------------------------------------- */

/* Parses one genericode 1.0 document into a code list allocated in `arena`.
 * The key column is the one of the key codeKey, else the first key, else the
 * first column; the label column is the one of codenameKey, else the next
 * required string column. */
int aw_fim_genericode_parse(const char *xml, size_t len, const char *name, aw_arena_t *arena,
                            aw_fim_codelist_t **out, aw_err_t *err);

/* ---- XSD regular expressions --------------------------------------------- */

typedef enum { AW_FIM_RE_PCRE2 = 0, AW_FIM_RE_ECMA = 1 } aw_fim_re_flavor_t;

/* Translates an XSD regular expression (implicitly anchored) into an
 * anchored PCRE2 or ECMAScript (u flag) pattern. Unsupported constructs
 * fail with a message naming them. The result is appended to out. */
int aw_fim_xsdre_translate(const char *xsd, aw_fim_re_flavor_t flavor, aw_buf_t *out,
                           aw_err_t *err);
/* Compiles an XSD pattern (pcre2_code *, free with aw_fim_xsdre_free). */
int aw_fim_xsdre_compile(const char *xsd, void **out, aw_err_t *err);
/* 1 match, 0 no match, <0 error. */
int aw_fim_xsdre_match(const void *re, const char *s, size_t len);
void aw_fim_xsdre_free(void *re);

/* ---- validation ---------------------------------------------------------- */

/* One problem with a submission. Strings are owned by the error list.
 * A form puts `text_de` next to the input named by `path` (JSON Pointer,
 * e.g. "/G60000086/F60000228" or "/G1/0/F2"); `msg_de`/`msg_en` are the
 * same with the label in front for lists ("Postleitzahl: Bitte ..."). */
typedef struct aw_fim_error {
    const char *path;              /* JSON Pointer of the value or of the missing key */
    const char *field_id;          /* element id, NULL for document-level errors */
    const char *label;             /* element label, may be "" */
    const char *code;              /* stable: required, type, minLength, maxLength,
                                      pattern, minimum, maximum, enum, minItems,
                                      maxItems, unknown, format, rule, forbidden */
    const char *text_de, *text_en; /* message without label */
    const char *msg_de, *msg_en;   /* "Label: message" */
    const aw_fim_elem_t *elem;     /* NULL for document-level errors */
    const char *rule_id;           /* overlay rule id for code "rule", else NULL */
} aw_fim_error_t;

typedef struct aw_fim_errors {
    size_t n, cap;
    aw_fim_error_t *v;
    aw_arena_t arena;
    size_t max; /* stop collecting after this many (default 1000) */
    bool truncated;
} aw_fim_errors_t;

void aw_fim_errors_init(aw_fim_errors_t *e);
void aw_fim_errors_free(aw_fim_errors_t *e);
/* The first error for a JSON Pointer, or NULL (for forms). */
const aw_fim_error_t *aw_fim_errors_for(const aw_fim_errors_t *e, const char *path);
/* Writes the list as a JSON array of objects {path, field, label, code,
 * message_de, message_en}. */
void aw_fim_errors_json(const aw_fim_errors_t *e, aw_buf_t *out);

/* Validates a parsed JSON document (a json_t *, passed as void * so users
 * need not include jansson). Fills errs with every problem; returns 0 when
 * the document is valid, AW_EINVAL when errs is not empty, other codes on
 * failure. The schema's attached overlay (if any) is evaluated too. */
int aw_fim_validate_json(const aw_fim_schema_t *s, const void *json, aw_fim_errors_t *errs,
                         aw_err_t *err);
/* Validates JSON text (size and depth bounds, duplicate keys and invalid
 * UTF-8 refused). Without an overlay this runs a one-pass streaming
 * validator straight on the text; anything it does not judge (and every
 * document when an overlay is attached) goes through jansson with
 * JSON_REJECT_DUPLICATES — same verdicts and errors either way. A syntax
 * error is a single error with code "syntax". Thread-safe for a shared,
 * loaded schema. */
int aw_fim_validate(const aw_fim_schema_t *s, const char *json, size_t len, aw_fim_errors_t *errs,
                    aw_err_t *err);

/* ---- JSON Schema export --------------------------------------------------- */

/* Writes a JSON Schema 2020-12 document in FITKO's style: $defs keyed by
 * element id, properties by id, titles from labels, required, min/maxItems,
 * patterns, enums from code lists, formats. Rules of an attached overlay
 * are included where JSON Schema can express them (if/then on the scope
 * group's definition); the others are named in "$comment" (docs/fim.md). */
int aw_fim_export_json_schema(const aw_fim_schema_t *s, aw_buf_t *out, aw_err_t *err);

/* ---- overlays (executable rules) ----------------------------------------- */

/* Loads a rule overlay (docs/fim.md, "Rule overlays") and attaches it to the
 * schema; every id must exist in the schema. A schema holds at most one
 * overlay; loading another replaces it. The overlay is freed with the
 * schema. */
int aw_fim_overlay_load(aw_fim_schema_t *s, const char *path, aw_err_t *err);
int aw_fim_overlay_load_mem(aw_fim_schema_t *s, const char *text, size_t len, const char *name,
                            aw_err_t *err);
/* Whether the overlay currently shows an element, given the data so far
 * (a json_t * or NULL): false when a `visible` rule hides it. For forms. */
bool aw_fim_overlay_visible(const aw_fim_schema_t *s, const aw_fim_elem_t *e, const void *json);

/* ---- quality checks ------------------------------------------------------- */

typedef enum {
    AW_FIM_Q_ERROR = 0,
    AW_FIM_Q_METHOD,
    AW_FIM_Q_WARNING,
    AW_FIM_Q_NOTE
} aw_fim_qlevel_t;

typedef struct aw_fim_qmsg {
    int code; /* number from Meldungen.xml (1001..1144) */
    aw_fim_qlevel_t level;
    const char *type;    /* Typ as in Meldungen.xml: FehlerKritisch, ... */
    const char *text;    /* Meldungstext, verbatim */
    const char *elem_id; /* may be NULL (schema level) */
    const char *detail;  /* what we found, may be NULL */
} aw_fim_qmsg_t;

typedef struct aw_fim_qreport {
    size_t n, cap;
    aw_fim_qmsg_t *v;
    aw_arena_t arena;
} aw_fim_qreport_t;

/* Runs every implemented check; the report owns its strings. */
int aw_fim_quality(const aw_fim_schema_t *s, aw_fim_qreport_t *rep);
void aw_fim_qreport_free(aw_fim_qreport_t *rep);
/* Number of FehlerKritisch/FehlerMethodisch findings. */
size_t aw_fim_qreport_errors(const aw_fim_qreport_t *rep);
/* The table of implemented checks (code, type, text), for docs and tests. */
const aw_fim_qmsg_t *aw_fim_quality_checks(size_t *n);

/* ---- sample documents (tests, differential test, benchmark) --------------- */

/* Generates a submission document for the schema from a seed (every third
 * seed gives a sparse one). With `invalid` set, a few random mutations make
 * it likely (not certain) to be invalid. Appends one line of JSON to out. */
int aw_fim_sample_json(const aw_fim_schema_t *s, uint64_t seed, bool invalid, aw_buf_t *out);

/* ---- command line --------------------------------------------------------- */

/* `amtsweg schema check|show|export|validate ...`; argv[0] == "schema". */
int aw_fim_cli_schema(int argc, char **argv);

#endif
