// Counts heap allocations made by one thread, for the "no allocation per packet" tests.
//
// The test executable defines the malloc family itself and forwards to glibc's own entry
// points (__libc_*). Linked with --export-dynamic, the executable's definitions win symbol
// resolution for every shared library too (the Swift runtime, libcrypto, zlib), so an
// allocation anywhere on the measured path is seen. This lives in C because Swift reserves
// these symbol names (`@_cdecl("malloc")` is a warning in Swift 6.3 and will become an error).
//
// Only the armed thread counts: the flag and the counter are thread-local (initial-exec TLS
// of the executable, which never allocates on access), so tests on other threads do not
// disturb a measurement. free is not interposed: it is never an allocation.
#include <errno.h>
#include <stddef.h>
#include "alloc_counter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

static __thread int armed;
static __thread long allocations;

static inline void note(void) {
    if (armed) allocations++;
}

void alloc_counter_arm(void) {
    allocations = 0;
    armed = 1;
}

long alloc_counter_disarm(void) {
    armed = 0;
    return allocations;
}

void *malloc(size_t size) {
    note();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    note();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    note();
    return __libc_realloc(p, size);
}

void *memalign(size_t alignment, size_t size) {
    note();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    note();
    return __libc_memalign(alignment, size);
}

void *valloc(size_t size) {
    note();
    return __libc_valloc(size);
}

void *pvalloc(size_t size) {
    note();
    return __libc_pvalloc(size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    note();
    // Same contract as glibc: a power of two that is a multiple of sizeof(void *).
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0)
        return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}
