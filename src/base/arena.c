#include "base/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct aw_arena_chunk {
    aw_arena_chunk_t *next;
    size_t size;
    size_t pos;
    _Alignas(16) unsigned char mem[];
};

#define ALIGN16(n) (((n) + 15) & ~(size_t)15)

void aw_arena_init(aw_arena_t *a, size_t chunk_size, size_t limit) {
    a->head = NULL;
    a->used = 0;
    a->limit = limit;
    a->chunk_size = chunk_size ? chunk_size : 8192;
}

static aw_arena_chunk_t *new_chunk(size_t size) {
    aw_arena_chunk_t *c = malloc(sizeof *c + size);
    if (!c) return NULL;
    c->size = size;
    c->pos = 0;
    c->next = NULL;
    return c;
}

void *aw_arena_alloc(aw_arena_t *a, size_t n) {
    if (n == 0) n = 1;
    if (n > SIZE_MAX / 2) return NULL;
    n = ALIGN16(n);
    if (a->limit && a->used + n > a->limit) return NULL;
    aw_arena_chunk_t *c = a->head;
    if (!c || c->size - c->pos < n) {
        if (n > a->chunk_size / 4) {
            /* Big block: its own chunk behind the head so the head's free
             * space stays usable for small allocations. */
            aw_arena_chunk_t *big = new_chunk(n);
            if (!big) return NULL;
            big->pos = n;
            if (c) {
                big->next = c->next;
                c->next = big;
            } else {
                a->head = big;
            }
            a->used += n;
            return big->mem;
        }
        c = new_chunk(a->chunk_size);
        if (!c) return NULL;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->mem + c->pos;
    c->pos += n;
    a->used += n;
    return p;
}

void *aw_arena_calloc(aw_arena_t *a, size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    void *p = aw_arena_alloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void *aw_arena_memdup(aw_arena_t *a, const void *p, size_t n) {
    void *q = aw_arena_alloc(a, n);
    if (q && n) memcpy(q, p, n);
    return q;
}

char *aw_arena_strndup(aw_arena_t *a, const char *s, size_t n) {
    char *q = aw_arena_alloc(a, n + 1);
    if (!q) return NULL;
    memcpy(q, s, n);
    q[n] = '\0';
    return q;
}

char *aw_arena_strdup(aw_arena_t *a, const char *s) {
    return s ? aw_arena_strndup(a, s, strlen(s)) : NULL;
}

char *aw_arena_printf(aw_arena_t *a, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *q = n >= 0 ? aw_arena_alloc(a, (size_t)n + 1) : NULL;
    if (q) vsnprintf(q, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return q;
}

void aw_arena_free(aw_arena_t *a) {
    aw_arena_chunk_t *c = a->head;
    while (c) {
        aw_arena_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}
