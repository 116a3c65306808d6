/*
 * cli — `amtsweg schema ...`: check, show, export and validate FIM schemas.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fim/internal.h"

static const char USAGE[] =
    "usage: amtsweg schema <command> [options]\n"
    "\n"
    "commands:\n"
    "  check FILE...                      parse and print the quality report\n"
    "                                     (exit 1 on errors)\n"
    "  show FILE                          print the tree with cardinalities and types\n"
    "  export --json-schema FILE [--overlay RULES]\n"
    "                                     print a JSON Schema 2020-12\n"
    "  validate FILE DATA.json [--overlay RULES]\n"
    "                                     validate submission data (exit 1 when invalid)\n"
    "\n"
    "options (all commands):\n"
    "  --codelists DIR    where the genericode code lists are (default: next to FILE)\n"
    "  --allow-missing-codelists\n"
    "                     load even when a code list is missing (values then unchecked)\n"
    "  --help             this text\n";

static const char *HELP_CHECK =
    "usage: amtsweg schema check [--codelists DIR] FILE...\n"
    "Parses each XDatenfelder 2.0/3.0 file, resolves its code lists and runs the FIM\n"
    "quality checks (numbers and texts from the XDF quality list). Exit status 1 when a\n"
    "file does not load or a check of type FehlerKritisch/FehlerMethodisch fails.\n";
static const char *HELP_SHOW =
    "usage: amtsweg schema show [--codelists DIR] FILE\n"
    "Prints the element tree: cardinality, id, version, label, and for fields the\n"
    "field kind, data type, constraints and code list.\n";
static const char *HELP_EXPORT =
    "usage: amtsweg schema export --json-schema [--codelists DIR] FILE [--overlay RULES]\n"
    "Prints a JSON Schema (2020-12) of the submission data for the schema. With an\n"
    "overlay, the rules JSON Schema can express are included (if/then, anyOf, not,\n"
    "uniqueItems); the others are listed in \"$comment\".\n";
static const char *HELP_VALIDATE =
    "usage: amtsweg schema validate [--codelists DIR] FILE DATA.json [--overlay RULES]\n"
    "Validates submission data (JSON keyed by element ids) against the schema and an\n"
    "optional rule overlay. Prints every error with its JSON path and message.\n"
    "Exit status 0 when valid, 1 when invalid, 2 on usage or load errors.\n"
    "  --json    print the errors as a JSON array instead of text\n";

typedef struct {
    const char *codelists;
    const char *overlay;
    bool allow_missing, json_schema, json_out, help;
    const char *pos[64];
    int npos;
} opts_t;

static int parse_opts(int argc, char **argv, opts_t *o) {
    memset(o, 0, sizeof *o);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            o->help = true;
        else if (strcmp(a, "--codelists") == 0 && i + 1 < argc)
            o->codelists = argv[++i];
        else if (strcmp(a, "--overlay") == 0 && i + 1 < argc)
            o->overlay = argv[++i];
        else if (strcmp(a, "--allow-missing-codelists") == 0)
            o->allow_missing = true;
        else if (strcmp(a, "--json-schema") == 0)
            o->json_schema = true;
        else if (strcmp(a, "--json") == 0)
            o->json_out = true;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "amtsweg schema: unknown option '%s'\n", a);
            return -1;
        } else if (o->npos < 64)
            o->pos[o->npos++] = a;
    }
    return 0;
}

static int load(const opts_t *o, const char *path, aw_fim_schema_t **s) {
    aw_fim_load_opts_t lo = {.codelist_dir = o->codelists,
                             .allow_missing_codelists = o->allow_missing};
    aw_err_t err;
    if (aw_fim_schema_load(path, &lo, s, &err)) {
        fprintf(stderr, "amtsweg schema: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static const char *LEVEL[] = {"FEHLER", "FEHLER", "WARNUNG", "HINWEIS"};

static int cmd_check(const opts_t *o) {
    if (o->npos < 1) {
        fputs(HELP_CHECK, stderr);
        return 2;
    }
    int status = 0;
    for (int i = 0; i < o->npos; i++) {
        aw_fim_schema_t *s;
        if (load(o, o->pos[i], &s)) {
            status = 1;
            continue;
        }
        aw_fim_qreport_t rep;
        aw_fim_quality(s, &rep);
        size_t nerr = aw_fim_qreport_errors(&rep);
        printf("%s: XDatenfelder %d, %s %s, %zu elements, %zu code lists\n", o->pos[i],
               s->xdf_version, s->root->id, s->root->version ? s->root->version : "-", s->nelems,
               s->ncodelists);
        for (size_t k = 0; k < s->nwarnings; k++)
            printf("  load warning%s%s: %s\n", s->warnings[k].elem_id ? " " : "",
                   s->warnings[k].elem_id ? s->warnings[k].elem_id : "", s->warnings[k].msg);
        for (size_t k = 0; k < rep.n; k++) {
            const aw_fim_qmsg_t *m = &rep.v[k];
            printf("  %s %d (%s)%s%s: %s%s%s\n", LEVEL[m->level], m->code, m->type,
                   m->elem_id ? " " : "", m->elem_id ? m->elem_id : "", m->text,
                   m->detail ? " — " : "", m->detail ? m->detail : "");
        }
        printf("  %zu errors, %zu findings\n", nerr, rep.n);
        if (nerr) status = 1;
        aw_fim_qreport_free(&rep);
        aw_fim_schema_free(s);
    }
    return status;
}

static const char *card(const aw_fim_edge_t *e, char *buf, size_t n) {
    if (e->max == AW_FIM_UNBOUNDED)
        snprintf(buf, n, "%u:*", e->min);
    else
        snprintf(buf, n, "%u:%u", e->min, e->max);
    return buf;
}

static bool show_visit(const aw_fim_edge_t *edge, uint32_t depth, void *ctx) {
    (void)ctx;
    const aw_fim_elem_t *e = edge->elem;
    char cb[32];
    printf("%*s[%s] %s%s%s \"%s\"", (int)depth * 2, "", card(edge, cb, sizeof cb), e->id,
           e->version ? " v" : "", e->version ? e->version : "", e->label);
    if (e->kind == AW_FIM_FIELD) {
        printf(" %s/%s", aw_fim_feldart_name(e->feldart), aw_fim_datatype_name(e->datatype));
        const aw_fim_constraints_t *c = &e->c;
        if (c->has_min_len || c->has_max_len) {
            printf(" len=");
            if (c->has_min_len) printf("%u", c->min_len);
            printf("..");
            if (c->has_max_len) printf("%u", c->max_len);
        }
        if (c->min_value || c->max_value)
            printf(" range=%s..%s", c->min_value ? c->min_value : "",
                   c->max_value ? c->max_value : "");
        if (c->pattern) printf(" pattern=%s", c->pattern);
        if (e->codelist)
            printf(" codes=%s (%zu)",
                   e->codelist->canonical_version_uri ? e->codelist->canonical_version_uri
                                                      : e->codelist->canonical_uri,
                   e->codelist->ncodes);
    }
    if (e->nrules) printf(" rules=%zu", e->nrules);
    putchar('\n');
    return true;
}

static int cmd_show(const opts_t *o) {
    if (o->npos != 1) {
        fputs(HELP_SHOW, stderr);
        return 2;
    }
    aw_fim_schema_t *s;
    if (load(o, o->pos[0], &s)) return 2;
    printf("# %s (XDatenfelder %d, %s)\n", o->pos[0], s->xdf_version, s->message);
    aw_fim_schema_walk(s, show_visit, NULL);
    aw_fim_schema_free(s);
    return 0;
}

static int cmd_export(const opts_t *o) {
    if (o->npos != 1 || !o->json_schema) {
        fputs(HELP_EXPORT, stderr);
        return 2;
    }
    aw_fim_schema_t *s;
    if (load(o, o->pos[0], &s)) return 2;
    aw_buf_t b = AW_BUF_INIT;
    aw_err_t err;
    if (o->overlay && aw_fim_overlay_load(s, o->overlay, &err)) {
        fprintf(stderr, "amtsweg schema: %s\n", err.msg);
        aw_fim_schema_free(s);
        return 2;
    }
    int rc = aw_fim_export_json_schema(s, &b, &err);
    if (rc)
        fprintf(stderr, "amtsweg schema: %s\n", err.msg);
    else {
        fwrite(b.data, 1, b.len, stdout);
        putchar('\n');
    }
    aw_buf_free(&b);
    aw_fim_schema_free(s);
    return rc ? 2 : 0;
}

static int cmd_validate(const opts_t *o) {
    if (o->npos != 2) {
        fputs(HELP_VALIDATE, stderr);
        return 2;
    }
    aw_fim_schema_t *s;
    if (load(o, o->pos[0], &s)) return 2;
    aw_err_t err;
    if (o->overlay && aw_fim_overlay_load(s, o->overlay, &err)) {
        fprintf(stderr, "amtsweg schema: %s\n", err.msg);
        aw_fim_schema_free(s);
        return 2;
    }
    char *data;
    size_t len;
    if (aw_fim__read_file(o->pos[1], AW_FIM_MAX_JSON_BYTES, &data, &len, &err)) {
        fprintf(stderr, "amtsweg schema: %s\n", err.msg);
        aw_fim_schema_free(s);
        return 2;
    }
    aw_fim_errors_t errs;
    aw_fim_errors_init(&errs);
    int rc = aw_fim_validate(s, data, len, &errs, &err);
    free(data);
    int status = 0;
    if (rc && rc != AW_EINVAL) {
        fprintf(stderr, "amtsweg schema: %s\n", err.msg);
        status = 2;
    } else if (o->json_out) {
        aw_buf_t b = AW_BUF_INIT;
        aw_fim_errors_json(&errs, &b);
        printf("%s\n", b.data);
        aw_buf_free(&b);
        status = errs.n ? 1 : 0;
    } else if (errs.n) {
        for (size_t i = 0; i < errs.n; i++) {
            const aw_fim_error_t *x = &errs.v[i];
            printf("%s: %s [%s%s%s]\n    %s\n", *x->path ? x->path : "/", x->msg_de, x->code,
                   x->rule_id ? " " : "", x->rule_id ? x->rule_id : "", x->msg_en);
        }
        printf("invalid: %zu error%s\n", errs.n, errs.n == 1 ? "" : "s");
        status = 1;
    } else {
        printf("valid\n");
    }
    aw_fim_errors_free(&errs);
    aw_fim_schema_free(s);
    return status;
}

int aw_fim_cli_schema(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    opts_t o;
    if (parse_opts(argc - 2, argv + 2, &o)) return 2;
    const char *help = strcmp(cmd, "check") == 0      ? HELP_CHECK
                       : strcmp(cmd, "show") == 0     ? HELP_SHOW
                       : strcmp(cmd, "export") == 0   ? HELP_EXPORT
                       : strcmp(cmd, "validate") == 0 ? HELP_VALIDATE
                                                      : NULL;
    if (!help) {
        fprintf(stderr, "amtsweg schema: unknown command '%s'\n\n%s", cmd, USAGE);
        return 2;
    }
    if (o.help) {
        fputs(help, stdout);
        return 0;
    }
    if (strcmp(cmd, "check") == 0) return cmd_check(&o);
    if (strcmp(cmd, "show") == 0) return cmd_show(&o);
    if (strcmp(cmd, "export") == 0) return cmd_export(&o);
    return cmd_validate(&o);
}
