#include "fixture.h"

#include <stdio.h>
#include <string.h>

void fx_init(store_fixture_t *f, bool pg) {
    memset(f, 0, sizeof *f);
    f->is_pg = pg;
    if (pg) {
        snprintf(f->url, sizeof f->url, "%s", aw_pg_harness_start_or_skip(&f->pg));
    } else {
        snprintf(f->url, sizeof f->url, "%s/amtsweg.db", aw_test_tmpdir());
    }
    fx_open(f);
}

void fx_open(store_fixture_t *f) {
    aw_err_t err = {0};
    ASSERT_OK(aw_store_open(f->url, &f->opts, &f->st, &err), &err);
    ASSERT_OK(aw_store_migrate(f->st, NULL, &err), &err);
}

void fx_close(store_fixture_t *f) {
    aw_store_close(f->st);
    f->st = NULL;
}

void fx_end(store_fixture_t *f) {
    fx_close(f);
    if (f->is_pg) aw_pg_harness_stop(&f->pg);
}
