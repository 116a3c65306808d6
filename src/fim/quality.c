/*
 * quality — the FIM quality checks that can be decided from one schema.
 *
 * Numbers, types and texts are those of the XDF quality list
 * (tests/data/fim/qs/Meldungen.xml, "Meldungen XDF-Qualität" 1.8, from
 * vs5000/FIM-XSLT, Apache-2.0); tests/unit/fim/quality.c checks that every
 * text here is verbatim from that file. Each finding names the element and
 * adds what was found in `detail`.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fim/internal.h"

static const aw_fim_qmsg_t CHECKS[] = {
    {1001, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Eine Regel kann nicht auf ein referenziertes Baukastenelement zugreifen.", NULL, NULL},
    {1002, AW_FIM_Q_ERROR, "FehlerKritisch", "Der Name eines Elements ist nicht gesetzt.", NULL,
     NULL},
    {1003, AW_FIM_Q_WARNING, "Warnung",
     "In einem Datenschema sollte ein Baukastenelement i. d. R. nicht mehrfach in "
     "unterschiedlichen Versionen enthalten sein.",
     NULL, NULL},
    {1004, AW_FIM_Q_WARNING, "Warnung",
     "In einer Datenfeldgruppe darf ein Baukastenelement nicht mehrfach in derselben Version "
     "enthalten sein. ",
     NULL, NULL},
    {1005, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Die Kennung einer Codeliste ist nicht als URN formuliert, z. B. "
     "urn:de:fim:codeliste:dokumenttyp.",
     NULL, NULL},
    {1006, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Der Bezug zur Handlungsgrundlage darf bei Elementen mit der Strukturelementart "
     "'rechtsnormgebunden' nicht leer sein.",
     NULL, NULL},
    {1007, AW_FIM_Q_ERROR, "FehlerKritisch", "Es ist kein Dokumentsteckbrief zugeordnet.", NULL,
     NULL},
    {1009, AW_FIM_Q_ERROR, "FehlerKritisch", "Die 'Bezeichnung Eingabe' muss befüllt werden.", NULL,
     NULL},
    {1010, AW_FIM_Q_ERROR, "FehlerKritisch", "Die 'Bezeichnung Ausgabe' muss befüllt werden.", NULL,
     NULL},
    {1011, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Bei Datenfeldern mit der Feldart 'Auswahl' muss der Datentyp 'Text' sein.", NULL, NULL},
    {1012, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Bei Datenfeldern mit der Feldart 'Auswahlfeld' oder 'Statisches, read-only Feld' dürfen "
     "weder die minimale noch die maximale Feldlänge angegeben werden.",
     NULL, NULL},
    {1013, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Innerhalb von Datenschemata und Datenfeldgruppen dürfen nur Elemente mit der "
     "Strukturelementart 'harmonisiert' oder 'rechtsnormgebunden' verwendet werden.",
     NULL, NULL},
    {1014, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Datenfelder dürfen nicht die Strukturelementart 'abstrakt' haben.", NULL, NULL},
    {1015, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Eine Feldlänge darf nur bei einem Datenfeld mit dem Datentyp 'Text' oder 'String.Latin+' "
     "angegeben werden.",
     NULL, NULL},
    {1016, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Ein Wertebereich darf nur bei einem Datenfeld mit einem nummerischen Datentyp (Nummer, "
     "Ganzzahl, Geldbetrag) oder einem Zeitdatentyp (Uhrzeit, Datum, Zeitpunkt) angegeben werden.",
     NULL, NULL},
    {1017, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Ist eine Code- oder Werteliste zugeordnet, muss die Feldart 'Auswahl' sein.", NULL, NULL},
    {1018, AW_FIM_Q_WARNING, "Warnung",
     "Wenn ein Datenfeld die Feldart 'Auswahl' hat, muss entweder eine Code- oder eine Werteliste "
     "zugeordnet sein.",
     NULL, NULL},
    {1023, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Eine Datenfeldgruppe muss mindestens ein Unterelement enthalten.", NULL, NULL},
    {1024, AW_FIM_Q_METHOD, "FehlerMethodisch", "Die Freitextregel muss befüllt sein.", NULL, NULL},
    {1025, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "In einem Datenschema dürfen Baukastenelement auf oberster Ebene nicht mehrfach in derselben "
     "Version enthalten sein.",
     NULL, NULL},
    {1026, AW_FIM_Q_ERROR, "FehlerKritisch", "Zirkelbezug", NULL, NULL},
    {1027, AW_FIM_Q_ERROR, "FehlerKritisch", "Es ist keine oder eine unbekannte Feldart angegeben.",
     NULL, NULL},
    {1028, AW_FIM_Q_ERROR, "FehlerKritisch", "Es ist kein oder ein unbekannter Datentyp angegeben.",
     NULL, NULL},
    {1031, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Es ist keine oder eine unbekannte Strukturelementart angegeben.", NULL, NULL},
    {1032, AW_FIM_Q_ERROR, "FehlerKritisch", "Es ist kein oder ein unbekannter Status angegeben.",
     NULL, NULL},
    {1039, AW_FIM_Q_ERROR, "FehlerKritisch", "Das Format der ID entspricht nicht den Vorgaben.",
     NULL, NULL},
    {1041, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Baukastenelemente, die in Regeln referenziert werden, verwenden noch die alte, verkürzte "
     "Element-ID.",
     NULL, NULL},
    {1044, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Eine Code- oder Werteliste muss mindestens zwei Einträge haben.", NULL, NULL},
    {1045, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Innerhalb einer Code- oder Werteliste dürfen Codes (Schlüssel) nicht doppelt verwendet "
     "werden.",
     NULL, NULL},
    {1048, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Die URN-Kennung einer Codeliste entspricht nicht den Formatvorgaben, z. B. "
     "urn:xoev-de:fim-datenfelder:codeliste:dokumentart (Umlaute sind nicht erlaubt!).",
     NULL, NULL},
    {1056, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Die Dateigröße darf nur befüllt sein, wenn der Datentyp des Feldes den Wert 'Anlage (Datei)' "
     "hat.",
     NULL, NULL},
    {1057, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Erlaubte Datentypen dürfen nur angegeben werden, wenn der Datentyp des Feldes den Wert "
     "'Anlage (Datei)' hat.",
     NULL, NULL},
    {1059, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Die minimale Feldlänge muss eine ganze Zahl größer oder gleich Null sein.", NULL, NULL},
    {1060, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Die maximale Feldlänge muss eine ganze Zahl größer Null sein.", NULL, NULL},
    {1061, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Die minimale Feldlänge darf nicht größer sein als die maximale Feldlänge.", NULL, NULL},
    {1062, AW_FIM_Q_ERROR, "FehlerKritisch", "Die untere Wertgrenze muss eine Zahl sein.", NULL,
     NULL},
    {1063, AW_FIM_Q_ERROR, "FehlerKritisch", "Die obere Wertgrenze muss eine Zahl sein.", NULL,
     NULL},
    {1064, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Die untere Wertgrenze darf nicht größer sein als die obere Wertgrenze.", NULL, NULL},
    {1065, AW_FIM_Q_ERROR, "FehlerKritisch", "Die untere Wertgrenze muss eine ganze Zahl sein.",
     NULL, NULL},
    {1066, AW_FIM_Q_ERROR, "FehlerKritisch", "Die obere Wertgrenze muss eine ganze Zahl sein.",
     NULL, NULL},
    {1067, AW_FIM_Q_ERROR, "FehlerKritisch", "Die untere Wertgrenze muss ein Datum sein.", NULL,
     NULL},
    {1068, AW_FIM_Q_ERROR, "FehlerKritisch", "Die obere Wertgrenze muss ein Datum sein.", NULL,
     NULL},
    {1069, AW_FIM_Q_ERROR, "FehlerKritisch", "Der Inhalt muss eine Zahl sein.", NULL, NULL},
    {1070, AW_FIM_Q_ERROR, "FehlerKritisch", "Der Inhalt muss eine ganze Zahl sein.", NULL, NULL},
    {1071, AW_FIM_Q_ERROR, "FehlerKritisch", "Der Inhalt muss ein Datum sein.", NULL, NULL},
    {1072, AW_FIM_Q_ERROR, "FehlerKritisch", "Der Inhalt unterschreitet die untere Wertgrenze.",
     NULL, NULL},
    {1073, AW_FIM_Q_ERROR, "FehlerKritisch", "Der Inhalt überschreitet die obere Wertgrenze.", NULL,
     NULL},
    {1074, AW_FIM_Q_ERROR, "FehlerKritisch", "Der Inhalt unterschreitet die Minimallänge.", NULL,
     NULL},
    {1075, AW_FIM_Q_ERROR, "FehlerKritisch", "Der Inhalt überschreitet die Maximallänge.", NULL,
     NULL},
    {1076, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Der angegbene Wert im Feld Inhalt entspricht keinem Wert der zugeordneten Codeliste.", NULL,
     NULL},
    {1077, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Der Inhalt muss ein Wahrheitswert sein (true oder false).", NULL, NULL},
    {1078, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Ein Datenschema muss mindestens ein Unterelement enthalten.", NULL, NULL},
    {1083, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Der Inhalt muss ein Zeitpunkt (Datum und Uhrzeit) sein.", NULL, NULL},
    {1084, AW_FIM_Q_ERROR, "FehlerKritisch", "Der Inhalt muss eine Uhrzeit sein.", NULL, NULL},
    {1090, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Bei Datenfeldern mit der Feldart 'Statisch' darf der Datentyp nur 'Statisches Objekt', "
     "'Text' oder 'Text (String Latin)' sein.",
     NULL, NULL},
    {1094, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Datenschemata oder Datenfeldgruppen mit mindestens einem weiteren Unterelement dürfen das "
     "Element F60000000001 'Default-Datenfeld' nicht enthalten.",
     NULL, NULL},
    {1095, AW_FIM_Q_WARNING, "Warnung",
     "Datenschemata oder Datenfeldgruppen sollten das Element F60000000001 'Default-Datenfeld' nur "
     "in Ausnahmefällen beinhalten.",
     NULL, NULL},
    {1096, AW_FIM_Q_WARNING, "Warnung",
     "Ein Datenschema sollte nur übergangsweise dem Dokumentsteckbrief D99000000001 "
     "'Default-Dokumentsteckbrief' zugeordnet werden.",
     NULL, NULL},
    {1098, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Bezeichnung und Hilfetext dürfen nicht gleich sein.", NULL, NULL},
    {1099, AW_FIM_Q_METHOD, "FehlerMethodisch", "Name und Hilfetext dürfen nicht gleich sein.",
     NULL, NULL},
    {1100, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Bei Datenfeldern mit den Datentypen 'Anlage (Datei)' oder 'Statisches Objekt' darf der "
     "Inhalt nicht gefüllt sein.",
     NULL, NULL},
    {1101, AW_FIM_Q_WARNING, "Warnung",
     "Der Bezug zur Handlungsgrundlage sollte bei Elementen mit der Strukturelementart "
     "'harmonisiert' möglichst nicht leer sein.",
     NULL, NULL},
    {1102, AW_FIM_Q_WARNING, "Warnung",
     "Bei Eingabedatenfeldern mit dem Datentyp 'Text' oder 'String.Latin+' sollten, wenn möglich, "
     "die minimale und maximale Feldlänge angegeben werden.",
     NULL, NULL},
    {1103, AW_FIM_Q_WARNING, "Warnung",
     "Bei Datenfeldern mit dem Datentyp 'Nummer', 'Ganzzahl', 'Geldbetrag' oder 'Datum' sollte, "
     "wenn möglich, ein Wertebereich angegeben werden.",
     NULL, NULL},
    {1105, AW_FIM_Q_WARNING, "Warnung",
     "Die Version einer Codeliste sollte im Datumsformat in folgender Form angegeben werden, z. B. "
     "2018-03-01.",
     NULL, NULL},
    {1106, AW_FIM_Q_WARNING, "Warnung",
     "Eine Datenfeldgruppe sollte mehr als ein Unterelement haben.", NULL, NULL},
    {1109, AW_FIM_Q_WARNING, "Warnung",
     "Bei einem Feld mit nur lesendem Zugriff, der Feldart 'Statisch' wird i. d. R. der Inhalt mit "
     "einem Text befüllt.",
     NULL, NULL},
    {1116, AW_FIM_Q_WARNING, "Warnung",
     "Baukastenelemente im Status 'inaktiv' sollten nur in Ausnahmefällen verwendet werden.", NULL,
     NULL},
    {1117, AW_FIM_Q_NOTE, "Hinweis",
     "Das Feld 'Fachlicher Ersteller' darf zur Versionierung oder Veröffentlichung nicht leer "
     "sein.",
     NULL, NULL},
    {1120, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Bei Datenfeldern mit den Datentypen 'Anlage (Datei)' oder 'Statisches Objekt' darf kein "
     "Pattern angegeben werden.",
     NULL, NULL},
    {1131, AW_FIM_Q_ERROR, "FehlerKritisch",
     "Der Text des Attributs entspricht nicht dem Datentyp StringLatin.", NULL, NULL},
    {1139, AW_FIM_Q_NOTE, "Hinweis",
     "Die Multiplizität von Datenfeldern des Typs 'Anlage (Datei)' sollte i. d. R. immer mehrfach, "
     "also 'n:*' sein.",
     NULL, NULL},
    {1140, AW_FIM_Q_METHOD, "FehlerMethodisch",
     "Nur Baukastenelemente des Nummernkreises 60 dürfen als Fachlichen Ersteller 'FIM-Baustein "
     "Datenfelder' oder 'FIM Baustein Datenfelder' enthalten.",
     NULL, NULL},
};

#define NCHECKS (sizeof CHECKS / sizeof *CHECKS)

const aw_fim_qmsg_t *aw_fim_quality_checks(size_t *n) {
    *n = NCHECKS;
    return CHECKS;
}

typedef struct {
    const aw_fim_schema_t *s;
    aw_fim_qreport_t *rep;
} qctx_t;

static void add(qctx_t *q, int code, const char *elem_id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(qctx_t *q, int code, const char *elem_id, const char *fmt, ...) {
    const aw_fim_qmsg_t *c = NULL;
    for (size_t i = 0; i < NCHECKS && !c; i++)
        if (CHECKS[i].code == code) c = &CHECKS[i];
    if (!c) return;
    aw_fim_qreport_t *r = q->rep;
    if (r->n >= 100000) return;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 32;
        aw_fim_qmsg_t *nv = realloc(r->v, nc * sizeof *nv);
        if (!nv) return;
        r->v = nv;
        r->cap = nc;
    }
    aw_fim_qmsg_t *m = &r->v[r->n++];
    *m = *c;
    m->elem_id = elem_id ? aw_arena_strdup(&r->arena, elem_id) : NULL;
    m->detail = NULL;
    if (fmt) {
        char buf[400];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        m->detail = aw_arena_strdup(&r->arena, buf);
    }
}

static bool is_num_type(aw_fim_datatype_t t) {
    return t == AW_FIM_DT_NUM || t == AW_FIM_DT_NUM_INT || t == AW_FIM_DT_NUM_CURRENCY;
}
static bool is_time_type(aw_fim_datatype_t t) {
    return t == AW_FIM_DT_DATE || t == AW_FIM_DT_TIME || t == AW_FIM_DT_DATETIME;
}
static bool is_text_type(aw_fim_datatype_t t) {
    return t == AW_FIM_DT_TEXT || t == AW_FIM_DT_TEXT_LATIN;
}

static bool is_int(const char *s) {
    if (!s || !*s) return false;
    if (*s == '-' || *s == '+') s++;
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

static bool id_format_ok(const aw_fim_schema_t *s, const char *id, const char *letters) {
    size_t digits = s->xdf_version == 3 ? 11 : 8;
    if (!id || strlen(id) != digits + 1 || !strchr(letters, id[0])) return false;
    for (size_t i = 1; i <= digits; i++)
        if (id[i] < '0' || id[i] > '9') return false;
    return true;
}

static bool urn_ok(const char *u) {
    if (!u || strncmp(u, "urn:", 4) != 0) return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 0x20) return false;
    return true;
}

static bool inactive(const aw_fim_schema_t *s, const aw_fim_elem_t *e) {
    if (!e->status) return false;
    return s->xdf_version == 3 ? strcmp(e->status, "7") == 0 : strcmp(e->status, "inaktiv") == 0;
}

/* number range of an id: the two digits after the letter (F60000227 → 60) */
static bool range60(const char *id) {
    return id && strlen(id) >= 3 && id[1] == '6' && id[2] == '0';
}

static void check_content(qctx_t *q, const aw_fim_elem_t *e) {
    const char *v = e->content;
    const aw_fim_constraints_t *c = &e->c;
    if (!v) return;
    double x;
    switch (e->datatype) {
    case AW_FIM_DT_NUM:
    case AW_FIM_DT_NUM_CURRENCY:
        if (!aw_fim__parse_num(v, &x))
            add(q, 1069, e->id, "'%s'", v);
        else if (c->has_min_num && x < c->min_num)
            add(q, 1072, e->id, "'%s'", v);
        else if (c->has_max_num && x > c->max_num)
            add(q, 1073, e->id, "'%s'", v);
        break;
    case AW_FIM_DT_NUM_INT:
        if (!is_int(v))
            add(q, 1070, e->id, "'%s'", v);
        else if (aw_fim__parse_num(v, &x) && c->has_min_num && x < c->min_num)
            add(q, 1072, e->id, "'%s'", v);
        else if (aw_fim__parse_num(v, &x) && c->has_max_num && x > c->max_num)
            add(q, 1073, e->id, "'%s'", v);
        break;
    case AW_FIM_DT_DATE:
        if (!aw_fim__is_date(v))
            add(q, 1071, e->id, "'%s'", v);
        else if (c->min_value && aw_fim__is_date(c->min_value) && strcmp(v, c->min_value) < 0)
            add(q, 1072, e->id, "'%s'", v);
        else if (c->max_value && aw_fim__is_date(c->max_value) && strcmp(v, c->max_value) > 0)
            add(q, 1073, e->id, "'%s'", v);
        break;
    case AW_FIM_DT_TIME:
        if (!aw_fim__is_time(v)) add(q, 1084, e->id, "'%s'", v);
        break;
    case AW_FIM_DT_DATETIME:
        if (!aw_fim__is_datetime(v)) add(q, 1083, e->id, "'%s'", v);
        break;
    case AW_FIM_DT_BOOL:
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) add(q, 1077, e->id, "'%s'", v);
        break;
    case AW_FIM_DT_FILE:
    case AW_FIM_DT_OBJ:
        add(q, 1100, e->id, NULL);
        break;
    default:
        if (e->feldart != AW_FIM_FA_LABEL) {
            size_t n = aw_fim__utf8_len(v, strlen(v));
            if (c->has_min_len && n < c->min_len) add(q, 1074, e->id, "%zu < %u", n, c->min_len);
            if (c->has_max_len && n > c->max_len) add(q, 1075, e->id, "%zu > %u", n, c->max_len);
        }
    }
    if (e->codelist && e->feldart == AW_FIM_FA_SELECT) {
        bool found = false;
        for (size_t i = 0; i < e->codelist->ncodes && !found; i++)
            found = strcmp(e->codelist->codes[i].code, v) == 0;
        if (!found) add(q, 1076, e->id, "'%s'", v);
    }
}

static void check_field(qctx_t *q, const aw_fim_elem_t *e) {
    const aw_fim_constraints_t *c = &e->c;
    const char *id = e->id;
    if (e->feldart == AW_FIM_FA_UNKNOWN)
        add(q, 1027, id, "'%s'", e->feldart_code ? e->feldart_code : "");
    if (e->datatype == AW_FIM_DT_UNKNOWN)
        add(q, 1028, id, "'%s'", e->datatype_code ? e->datatype_code : "");
    if (e->schemaelementart && strcmp(e->schemaelementart, "ABS") == 0) add(q, 1014, id, NULL);
    if (e->feldart == AW_FIM_FA_SELECT && e->datatype != AW_FIM_DT_TEXT)
        add(q, 1011, id, "%s", aw_fim_datatype_name(e->datatype));
    if ((e->feldart == AW_FIM_FA_SELECT || e->feldart == AW_FIM_FA_LABEL) &&
        (c->min_len_raw || c->max_len_raw))
        add(q, 1012, id, NULL);
    if ((c->min_len_raw || c->max_len_raw) && !is_text_type(e->datatype))
        add(q, 1015, id, "%s", aw_fim_datatype_name(e->datatype));
    if ((c->min_value || c->max_value) && !is_num_type(e->datatype) && !is_time_type(e->datatype))
        add(q, 1016, id, "%s", aw_fim_datatype_name(e->datatype));
    if (e->codelist && e->feldart != AW_FIM_FA_SELECT)
        add(q, 1017, id, "%s", aw_fim_feldart_name(e->feldart));
    if (e->feldart == AW_FIM_FA_SELECT && !e->codelist) add(q, 1018, id, NULL);
    if (c->min_len_raw && !is_int(c->min_len_raw)) add(q, 1059, id, "'%s'", c->min_len_raw);
    if (c->max_len_raw && (!c->has_max_len || c->max_len == 0))
        add(q, 1060, id, "'%s'", c->max_len_raw);
    if (c->has_min_len && c->has_max_len && c->min_len > c->max_len)
        add(q, 1061, id, "%u > %u", c->min_len, c->max_len);
    if (is_num_type(e->datatype)) {
        if (c->min_value && !c->has_min_num) add(q, 1062, id, "'%s'", c->min_value);
        if (c->max_value && !c->has_max_num) add(q, 1063, id, "'%s'", c->max_value);
        if (c->has_min_num && c->has_max_num && c->min_num > c->max_num)
            add(q, 1064, id, "%s > %s", c->min_value, c->max_value);
        if (e->datatype == AW_FIM_DT_NUM_INT) {
            if (c->min_value && !is_int(c->min_value)) add(q, 1065, id, "'%s'", c->min_value);
            if (c->max_value && !is_int(c->max_value)) add(q, 1066, id, "'%s'", c->max_value);
        }
    }
    if (e->datatype == AW_FIM_DT_DATE) {
        if (c->min_value && !aw_fim__is_date(c->min_value)) add(q, 1067, id, "'%s'", c->min_value);
        if (c->max_value && !aw_fim__is_date(c->max_value)) add(q, 1068, id, "'%s'", c->max_value);
        if (c->min_value && c->max_value && aw_fim__is_date(c->min_value) &&
            aw_fim__is_date(c->max_value) && strcmp(c->min_value, c->max_value) > 0)
            add(q, 1064, id, "%s > %s", c->min_value, c->max_value);
    }
    if (e->max_size && e->datatype != AW_FIM_DT_FILE) add(q, 1056, id, NULL);
    if (e->media_type && e->datatype != AW_FIM_DT_FILE) add(q, 1057, id, NULL);
    if (e->feldart == AW_FIM_FA_LABEL && e->datatype != AW_FIM_DT_OBJ && !is_text_type(e->datatype))
        add(q, 1090, id, "%s", aw_fim_datatype_name(e->datatype));
    if (e->feldart == AW_FIM_FA_LABEL && !e->content) add(q, 1109, id, NULL);
    if ((e->datatype == AW_FIM_DT_FILE || e->datatype == AW_FIM_DT_OBJ) && c->pattern)
        add(q, 1120, id, NULL);
    if (e->feldart == AW_FIM_FA_INPUT && is_text_type(e->datatype) && !e->codelist &&
        (!c->has_min_len || !c->has_max_len))
        add(q, 1102, id, NULL);
    if ((is_num_type(e->datatype) || e->datatype == AW_FIM_DT_DATE) && !c->min_value &&
        !c->max_value)
        add(q, 1103, id, "%s", aw_fim_datatype_name(e->datatype));
    check_content(q, e);
    const aw_fim_codelist_t *cl = e->codelist;
    if (cl && !cl->inline_values) {
        if (!urn_ok(cl->canonical_uri))
            add(q, 1005, id, "%s", cl->canonical_uri);
        else {
            bool ascii = true;
            for (const unsigned char *p = (const unsigned char *)cl->canonical_uri; *p; p++)
                if (*p >= 0x80 || (*p >= 'A' && *p <= 'Z')) ascii = false;
            if (!ascii) add(q, 1048, id, "%s", cl->canonical_uri);
        }
        if (cl->version && !aw_fim__is_date(cl->version)) add(q, 1105, id, "'%s'", cl->version);
    }
}

/* 1131: XDatenfelder types its texts as String.Latin (DIN SPEC 91379 type C). */
static void latin_attr(qctx_t *q, const char *id, const char *attr, const char *t) {
    size_t off;
    uint32_t cp;
    if (t && !aw_fim_latin_check(t, strlen(t), &off, &cp))
        add(q, 1131, id, "%s: U+%04X at byte %zu", attr, (unsigned)cp, off);
}

static void check_latin(qctx_t *q, const aw_fim_elem_t *e) {
    const char *id = e->id;
    latin_attr(q, id, "name", e->name);
    if (e->label != e->name) latin_attr(q, id, "bezeichnungEingabe", e->label);
    latin_attr(q, id, "bezeichnungAusgabe", e->label_out);
    latin_attr(q, id, "hilfetextEingabe", e->help);
    latin_attr(q, id, "hilfetextAusgabe", e->help_out);
    latin_attr(q, id, "beschreibung", e->description);
    latin_attr(q, id, "definition", e->definition);
    latin_attr(q, id, "bezug", e->bezug);
    latin_attr(q, id, "inhalt", e->content);
    for (size_t i = 0; i < e->nrules; i++) {
        const aw_fim_rule_t *r = &e->rules[i];
        latin_attr(q, r->id, "name", r->name);
        latin_attr(q, r->id, "beschreibung", r->description);
        latin_attr(q, r->id, "freitextRegel", r->text);
    }
}

static void check_common(qctx_t *q, const aw_fim_elem_t *e, bool is_root) {
    const char *id = e->id;
    check_latin(q, e);
    if (!e->name || !*e->name) add(q, 1002, id, NULL);
    if (!id_format_ok(q->s, id, e->kind == AW_FIM_FIELD ? "F" : is_root ? "S" : "G"))
        add(q, 1039, id, "'%s'", id);
    /* labels and Strukturelementart belong to fields and groups, not schemas */
    if (!is_root) {
        if (e->label == e->name) add(q, 1009, id, NULL); /* no bezeichnungEingabe of its own */
        if (!e->label_out && e->feldart != AW_FIM_FA_HIDDEN) add(q, 1010, id, NULL);
        const char *sea = e->schemaelementart;
        if (!sea || (strcmp(sea, "ABS") && strcmp(sea, "HAR") && strcmp(sea, "RNG")))
            add(q, 1031, id, "'%s'", sea ? sea : "");
        if (sea && strcmp(sea, "RNG") == 0 && !e->bezug) add(q, 1006, id, NULL);
        if (sea && strcmp(sea, "HAR") == 0 && !e->bezug) add(q, 1101, id, NULL);
    }
    if (!e->status)
        add(q, 1032, id, NULL);
    else if (q->s->xdf_version == 2 && strcmp(e->status, "aktiv") && strcmp(e->status, "inaktiv") &&
             strcmp(e->status, "inVorbereitung"))
        add(q, 1032, id, "'%s'", e->status);
    if (inactive(q->s, e)) add(q, 1116, id, NULL);
    if (!e->fachlicher_ersteller)
        add(q, 1117, id, NULL);
    else if (!range60(id) && (strcmp(e->fachlicher_ersteller, "FIM-Baustein Datenfelder") == 0 ||
                              strcmp(e->fachlicher_ersteller, "FIM Baustein Datenfelder") == 0))
        add(q, 1140, id, "%s", e->fachlicher_ersteller);
    if (e->help && e->label && strcmp(e->help, e->label) == 0) add(q, 1098, id, NULL);
    if (e->help && e->name && strcmp(e->help, e->name) == 0) add(q, 1099, id, NULL);
    for (size_t i = 0; i < e->nrules; i++) {
        const aw_fim_rule_t *r = &e->rules[i];
        if (!r->text || !*r->text) add(q, 1024, r->id, NULL);
        if (!id_format_ok(q->s, r->id, "R")) add(q, 1039, r->id, "'%s'", r->id);
    }
}

static bool in_subtree(const aw_fim_elem_t *g, const char *id, int depth) {
    if (aw_fim__id_eq(g->id, id)) return true;
    if (depth > AW_FIM_MAX_DEPTH + 2) return false;
    for (size_t i = 0; i < g->nchildren; i++)
        if (in_subtree(g->children[i].elem, id, depth + 1)) return true;
    return false;
}

/* Element ids named in a rule's text must be reachable from the element the
 * rule belongs to (1001); XDF3 texts must use 12-character ids (1041). */
static void check_rule_refs(qctx_t *q, const aw_fim_elem_t *e) {
    for (size_t i = 0; i < e->nrules; i++) {
        const aw_fim_rule_t *r = &e->rules[i];
        const char *t = r->text;
        for (const char *p = t; p && *p; p++) {
            if ((*p != 'F' && *p != 'G') || (p > t && (isalnum((unsigned char)p[-1])))) continue;
            size_t n = 0;
            while (isdigit((unsigned char)p[1 + n])) n++;
            if ((n != 8 && n != 11) || isalnum((unsigned char)p[1 + n])) continue;
            char id[16];
            memcpy(id, p, n + 1);
            id[n + 1] = 0;
            if (!in_subtree(e, id, 0))
                add(q, 1001, r->id, "%s (in %s)", id, e->id);
            else if (q->s->xdf_version == 3 && n == 8)
                add(q, 1041, r->id, "%s", id);
            p += n;
        }
    }
}

static bool has_ancestor_id(const aw_fim_elem_t *e, const char *id) {
    for (const aw_fim_elem_t *p = e->parent; p; p = p->parent)
        if (p->id && strcmp(p->id, id) == 0) return true;
    return false;
}

static void check_group(qctx_t *q, const aw_fim_elem_t *g, bool is_root) {
    const char *id = g->id;
    if (g->nchildren == 0) add(q, is_root ? 1078 : 1023, id, NULL);
    if (!is_root && g->nchildren == 1) add(q, 1106, id, NULL);
    bool has_default = false;
    for (size_t i = 0; i < g->nchildren; i++) {
        const aw_fim_edge_t *ed = &g->children[i];
        const aw_fim_elem_t *c = ed->elem;
        if (aw_fim__id_eq(c->id, "F60000000001")) has_default = true;
        const char *sea = c->schemaelementart;
        if (sea && strcmp(sea, "ABS") == 0) add(q, 1013, c->id, "in %s", id);
        if (c->kind == AW_FIM_FIELD && c->datatype == AW_FIM_DT_FILE && ed->max <= 1)
            add(q, 1139, c->id, "%s", ed->anzahl);
        for (size_t j = 0; j < i; j++) {
            const aw_fim_elem_t *d = g->children[j].elem;
            if (strcmp(d->id, c->id) == 0 &&
                (d->version == c->version ||
                 (d->version && c->version && strcmp(d->version, c->version) == 0)))
                add(q, is_root ? 1025 : 1004, c->id, "in %s", id);
        }
    }
    if (has_default) add(q, g->nchildren > 1 ? 1094 : 1095, id, NULL);
}

int aw_fim_quality(const aw_fim_schema_t *s, aw_fim_qreport_t *rep) {
    memset(rep, 0, sizeof *rep);
    aw_arena_init(&rep->arena, 8192, 0);
    qctx_t q = {.s = s, .rep = rep};
    const aw_fim_elem_t *root = s->root;
    bool schema = strcmp(s->message, "xdatenfelder.stammdatenschema.0102") == 0;
    if (schema) {
        check_common(&q, root, true);
        check_rule_refs(&q, root);
        if (s->xdf_version == 3 && !s->dokumentsteckbrief) add(&q, 1007, root->id, NULL);
        if (s->dokumentsteckbrief && aw_fim__id_eq(s->dokumentsteckbrief, "D99000000001"))
            add(&q, 1096, root->id, NULL);
    }
    check_group(&q, root, true);
    for (size_t i = 0; i < s->nelems; i++) {
        const aw_fim_elem_t *e = s->elems[i];
        if (e == root) continue;
        if (has_ancestor_id(e, e->id)) add(&q, 1026, e->id, NULL);
        /* one report per id+version; 1003 when versions differ */
        const aw_fim_elem_t *f = s->first[i];
        if (f != e && f != root) {
            bool same = (!f->version && !e->version) ||
                        (f->version && e->version && strcmp(f->version, e->version) == 0);
            if (same) continue;
            add(&q, 1003, e->id, "%s / %s", f->version ? f->version : "-",
                e->version ? e->version : "-");
        }
        check_common(&q, e, false);
        check_rule_refs(&q, e);
        if (e->kind == AW_FIM_FIELD)
            check_field(&q, e);
        else
            check_group(&q, e, false);
    }
    for (size_t i = 0; i < s->ncodelists; i++) {
        const aw_fim_codelist_t *cl = s->codelists[i];
        const char *name = cl->id ? cl->id : cl->canonical_uri;
        if (cl->ncodes < 2) add(&q, 1044, name, "%zu", cl->ncodes);
        for (size_t a = 0; a < cl->ncodes; a++)
            for (size_t b = a + 1; b < cl->ncodes; b++)
                if (strcmp(cl->codes[a].code, cl->codes[b].code) == 0) {
                    add(&q, 1045, name, "'%s'", cl->codes[a].code);
                    a = cl->ncodes;
                    break;
                }
    }
    return 0;
}

void aw_fim_qreport_free(aw_fim_qreport_t *rep) {
    free(rep->v);
    aw_arena_free(&rep->arena);
    memset(rep, 0, sizeof *rep);
}

size_t aw_fim_qreport_errors(const aw_fim_qreport_t *rep) {
    size_t n = 0;
    for (size_t i = 0; i < rep->n; i++)
        if (rep->v[i].level <= AW_FIM_Q_METHOD) n++;
    return n;
}
