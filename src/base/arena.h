/*
 * arena — a region allocator for per-request memory (as h2o's pools).
 *
 * Allocations are bump-pointer from chunks; nothing is freed individually;
 * aw_arena_free releases everything in one call. Large allocations get their
 * own chunk. An arena may carry a byte limit so a hostile request cannot make
 * the server allocate without bound: past the limit allocation returns NULL.
 * Memory is 16-byte aligned and zeroed by aw_arena_calloc only.
 * Not thread-safe: one arena belongs to one request.
 */
#ifndef AW_BASE_ARENA_H
#define AW_BASE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct aw_arena_chunk aw_arena_chunk_t;

typedef struct aw_arena {
    aw_arena_chunk_t *head;
    size_t used;  /* bytes handed out, for limits and metrics */
    size_t limit; /* 0: unbounded */
    size_t chunk_size;
} aw_arena_t;

void aw_arena_init(aw_arena_t *a, size_t chunk_size, size_t limit);
void *aw_arena_alloc(aw_arena_t *a, size_t n);
void *aw_arena_calloc(aw_arena_t *a, size_t count, size_t size);
char *aw_arena_strdup(aw_arena_t *a, const char *s);
char *aw_arena_strndup(aw_arena_t *a, const char *s, size_t n);
void *aw_arena_memdup(aw_arena_t *a, const void *p, size_t n);
char *aw_arena_printf(aw_arena_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Releases every chunk; the arena can be used again afterwards. */
void aw_arena_free(aw_arena_t *a);

#endif
