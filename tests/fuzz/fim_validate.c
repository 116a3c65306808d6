/* libFuzzer target: the submission validator (with a rule overlay) on a
 * fixed small schema. The input is split at the first NUL byte: JSON data
 * before it, an overlay text after it (optional). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fim/fim.h"

static aw_fim_schema_t *schema;

static const char XDF[] =
    "<?xml version=\"1.0\"?><xdf:xdatenfelder.stammdatenschema.0102 "
    "xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_3.0.0\"><xdf:stammdatenschema>"
    "<xdf:identifikation><xdf:id>S99000000001</xdf:id></xdf:identifikation>"
    "<xdf:struktur><xdf:anzahl>1:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeldgruppe>"
    "<xdf:identifikation><xdf:id>G99000000001</xdf:id></xdf:identifikation>"
    "<xdf:struktur><xdf:anzahl>1:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeld>"
    "<xdf:identifikation><xdf:id>F99000000001</xdf:id></xdf:identifikation><xdf:name>PLZ</xdf:name>"
    "<xdf:feldart><code>input</code></xdf:feldart><xdf:datentyp><code>text</code></xdf:datentyp>"
    "<xdf:praezisierung minLength=\"5\" maxLength=\"5\" pattern=\"[0-9]{5}\"/>"
    "</xdf:datenfeld></xdf:enthaelt></xdf:struktur>"
    "<xdf:struktur><xdf:anzahl>0:3</xdf:anzahl><xdf:enthaelt><xdf:datenfeld>"
    "<xdf:identifikation><xdf:id>F99000000002</xdf:id></xdf:identifikation><xdf:name>Datum</"
    "xdf:name>"
    "<xdf:feldart><code>input</code></xdf:feldart><xdf:datentyp><code>date</code></xdf:datentyp>"
    "</xdf:datenfeld></xdf:enthaelt></xdf:struktur></xdf:datenfeldgruppe></xdf:enthaelt></"
    "xdf:struktur>"
    "<xdf:struktur><xdf:anzahl>0:*</xdf:anzahl><xdf:enthaelt><xdf:datenfeld>"
    "<xdf:identifikation><xdf:id>F99000000003</xdf:id></xdf:identifikation><xdf:name>Zahl</"
    "xdf:name>"
    "<xdf:feldart><code>select</code></xdf:feldart><xdf:datentyp><code>text</code></xdf:datentyp>"
    "<xdf:werte><xdf:wert><xdf:code>1</xdf:code><xdf:name>a</xdf:name></xdf:wert></xdf:werte>"
    "</xdf:datenfeld></xdf:enthaelt></xdf:struktur>"
    "<xdf:struktur><xdf:anzahl>0:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeld>"
    "<xdf:identifikation><xdf:id>F99000000004</xdf:id></xdf:identifikation><xdf:name>N</xdf:name>"
    "<xdf:feldart><code>input</code></xdf:feldart><xdf:datentyp><code>num_int</code></xdf:datentyp>"
    "<xdf:praezisierung minValue=\"1\" maxValue=\"9\"/>"
    "</xdf:datenfeld></xdf:enthaelt></xdf:struktur></xdf:stammdatenschema>"
    "</xdf:xdatenfelder.stammdatenschema.0102>";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aw_err_t err;
    if (!schema && aw_fim_schema_load_mem(XDF, sizeof XDF - 1, "fuzz", NULL, NULL, &schema, &err))
        abort();
    const uint8_t *nul = memchr(data, 0, size);
    size_t jlen = nul ? (size_t)(nul - data) : size;
    aw_fim_schema_t *s = schema;
    aw_fim_schema_t *own = NULL;
    if (nul) {
        /* a private copy of the schema so the overlay does not leak into other runs */
        if (aw_fim_schema_load_mem(XDF, sizeof XDF - 1, "fuzz", NULL, NULL, &own, &err)) abort();
        if (aw_fim_overlay_load_mem(own, (const char *)nul + 1, size - jlen - 1, "fuzz.rules",
                                    &err) == 0)
            s = own;
    }
    aw_fim_errors_t e;
    aw_fim_errors_init(&e);
    int rc = aw_fim_validate(s, (const char *)data, jlen, &e, &err);
    if (s == schema) {
        /* the streaming fast path must agree with the jansson path */
        json_error_t je;
        json_t *root = json_loadb((const char *)data, jlen, JSON_REJECT_DUPLICATES, &je);
        bool syntax = e.n && strcmp(e.v[0].code, "syntax") == 0;
        if (root) {
            aw_fim_errors_t d;
            aw_fim_errors_init(&d);
            int rd = aw_fim_validate_json(s, root, &d, &err);
            if (!syntax && (rd != rc || d.n != e.n)) abort();
            aw_fim_errors_free(&d);
            json_decref(root);
        } else if (!syntax) {
            abort(); /* jansson refuses what the fast path accepted */
        }
    }
    aw_buf_t b = AW_BUF_INIT;
    aw_fim_errors_json(&e, &b);
    aw_buf_free(&b);
    aw_fim_errors_free(&e);
    aw_fim_schema_free(own);
    return 0;
}
