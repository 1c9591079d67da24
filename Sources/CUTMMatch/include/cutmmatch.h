// The prefilter's inner loop (UTMMatch stage 1), in C because it reads 16-bit byte pairs straight
// from the packet: one load per pair, where bounds-checked Swift reads cost a third of the loop.
// Static inline so the Swift caller inlines it (no call per block).
//
// Table: one 16-bit entry per raw byte pair (or per hash slot of it): low byte = the bucket bits
// of patterns that START with the pair ("A"), high byte = the bucket bits of patterns whose third
// and fourth bytes are the pair ("B"). Position p is a candidate when
// A(pair at p) & B(pair at p + 2) != 0.
#ifndef CUTMMATCH_H
#define CUTMMATCH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/// The byte pair at `p` as a little-endian 16-bit value: one unaligned load (memcpy; byte loads
/// and shifts are what the compiler emits otherwise).
static inline __attribute__((always_inline)) uint32_t utm_mpm_pair(const uint8_t *p) {
    uint16_t w;
    memcpy(&w, p, 2);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap16(w);
#endif
    return w;
}

/// Table slot of a pair: the pair itself (65,536 entries) or a multiplicative hash into
/// 2^(32 - shift) entries (the small sets: a 4-16 KiB table instead of 128 KiB).
static inline __attribute__((always_inline)) uint32_t utm_mpm_slot(uint32_t w, int hashed, uint32_t shift) {
    return hashed ? (w * 0x9E3779B1u) >> shift : w;
}

/// Finds the first block of positions at or after `i` with a candidate. (Measured against two
/// batched forms that record up to 16-32 candidate blocks per call, with and without a branch
/// per block: both cost more instructions in the per-packet path, 433 and 443 M against 427 M
/// on the 10 MB capture, and were no faster in wall clock.) Positions are those `p`
/// with p + 4 <= n (the four bytes the confirm step reads). Returns the block start and stores
/// the block's masks in `*masks` (byte k = position start + k); when no candidate is left, stores
/// 0. Reads only `d[i ..< n]`; slots are < 65,536 (direct) or < 2^(32 - shift) (hashed), which
/// the caller guarantees is the table's size.
static inline __attribute__((always_inline)) size_t utm_mpm_filter_impl(const void *data, size_t n, size_t i,
                                                                         const uint16_t *t, int hashed, uint32_t shift,
                                                                         uint64_t *masks) {
    const uint8_t *d = (const uint8_t *)data;
#define UTM_E(k) ((uint32_t)t[utm_mpm_slot(utm_mpm_pair(p + (k)), hashed, shift)])
    while (i + 11 <= n) {
        const uint8_t *p = d + i;
        uint32_t e0 = UTM_E(0), e1 = UTM_E(1), e2 = UTM_E(2), e3 = UTM_E(3), e4 = UTM_E(4);
        uint32_t e5 = UTM_E(5), e6 = UTM_E(6), e7 = UTM_E(7), e8 = UTM_E(8), e9 = UTM_E(9);
        uint32_t m0 = e0 & (e2 >> 8), m1 = e1 & (e3 >> 8), m2 = e2 & (e4 >> 8), m3 = e3 & (e5 >> 8);
        uint32_t m4 = e4 & (e6 >> 8), m5 = e5 & (e7 >> 8), m6 = e6 & (e8 >> 8), m7 = e7 & (e9 >> 8);
        if (__builtin_expect((m0 | m1 | m2 | m3 | m4 | m5 | m6 | m7) != 0, 0)) {
            *masks = (uint64_t)m0 | (uint64_t)m1 << 8 | (uint64_t)m2 << 16 | (uint64_t)m3 << 24
                   | (uint64_t)m4 << 32 | (uint64_t)m5 << 40 | (uint64_t)m6 << 48 | (uint64_t)m7 << 56;
            return i;
        }
        i += 8;
    }
    // Fewer than eight positions left (p + 4 <= n for each): one at a time.
    uint64_t m = 0;
    for (size_t k = 0; k < 8 && i + k + 4 <= n; k++) {
        const uint8_t *p = d + i + k;
        m |= (uint64_t)(UTM_E(0) & (UTM_E(2) >> 8)) << (8 * k);
    }
#undef UTM_E
    *masks = m;
    return i;
}

/// Sets with a full 65,536-entry table.
static inline size_t utm_mpm_filter_direct(const void *data, size_t n, size_t i, const uint16_t *table, uint64_t *masks) {
    return utm_mpm_filter_impl(data, n, i, table, 0, 16, masks);
}

/// Sets with a hashed table of 2^(32 - shift) entries.
static inline size_t utm_mpm_filter_hashed(const void *data, size_t n, size_t i, const uint16_t *table, uint32_t shift,
                                           uint64_t *masks) {
    return utm_mpm_filter_impl(data, n, i, table, 1, shift, masks);
}

#endif
