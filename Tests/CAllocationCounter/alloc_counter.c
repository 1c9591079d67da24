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
#include <execinfo.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>
#include "alloc_counter.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);

static __thread int armed;
static __thread long allocations;

// ALLOC_COUNTER_TRACE=N prints the stack of the first N counted allocations to stderr, to find
// where a failing allocation test allocates (pipe through `swift demangle`).
static long trace_limit;

static void trace(void) {
    void *frames[48];
    armed = 0; // backtrace itself may allocate once (it loads libgcc_s)
    int n = backtrace(frames, 48);
    write(2, "--- allocation\n", 15);
    backtrace_symbols_fd(frames, n, 2);
    armed = 1;
}

static inline void note(void) {
    if (armed) {
        allocations++;
        if (allocations <= trace_limit) trace();
    }
}

void alloc_counter_arm(void) {
    const char *t = getenv("ALLOC_COUNTER_TRACE");
    trace_limit = t ? atol(t) : 0;
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
