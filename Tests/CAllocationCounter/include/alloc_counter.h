// Heap-allocation counter for the test binary (see alloc_counter.c).
#ifndef MIMAMORI_ALLOC_COUNTER_H
#define MIMAMORI_ALLOC_COUNTER_H

/// Starts counting the calling thread's allocations from zero.
void alloc_counter_arm(void);

/// Stops counting on the calling thread and returns how many allocations it made since
/// `alloc_counter_arm`.
long alloc_counter_disarm(void);

#endif
