/* Whether an array holds neither NaN nor infinity, in a loop compilers vectorise.
 *
 * A value is NaN or infinite exactly when its exponent bits are all ones. Adding
 * one unit of the exponent to those bits carries into the sign bit only then, so
 * OR-ing (bits & EXPONENT) + UNIT over the array leaves the sign bit set exactly
 * when some value is not finite: integer AND, ADD and OR, which SSE2 has for
 * 64-bit lanes, where a floating-point comparison would need a mask conversion.
 */
#ifndef FASTMLP_FINITE_H
#define FASTMLP_FINITE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
/* read the values' bits through types allowed to alias them */
typedef uint64_t __attribute__((may_alias)) fastmlp_bits64;
typedef uint32_t __attribute__((may_alias)) fastmlp_bits32;

static inline int fastmlp_all_finite_double(const double* x, ptrdiff_t n) {
    const fastmlp_bits64* bits = (const fastmlp_bits64*) x;
    uint64_t acc = 0;
    for (ptrdiff_t i = 0; i < n; i++)
        acc |= (bits[i] & UINT64_C(0x7ff0000000000000)) + UINT64_C(0x0010000000000000);
    return (acc >> 63) == 0;
}

static inline int fastmlp_all_finite_float(const float* x, ptrdiff_t n) {
    const fastmlp_bits32* bits = (const fastmlp_bits32*) x;
    uint32_t acc = 0;
    for (ptrdiff_t i = 0; i < n; i++)
        acc |= (bits[i] & UINT32_C(0x7f800000)) + UINT32_C(0x00800000);
    return (acc >> 31) == 0;
}
#else
static inline int fastmlp_all_finite_double(const double* x, ptrdiff_t n) {
    uint64_t acc = 0, b;
    for (ptrdiff_t i = 0; i < n; i++) {
        memcpy(&b, x + i, sizeof b);
        acc |= (b & UINT64_C(0x7ff0000000000000)) + UINT64_C(0x0010000000000000);
    }
    return (acc >> 63) == 0;
}

static inline int fastmlp_all_finite_float(const float* x, ptrdiff_t n) {
    uint32_t acc = 0, b;
    for (ptrdiff_t i = 0; i < n; i++) {
        memcpy(&b, x + i, sizeof b);
        acc |= (b & UINT32_C(0x7f800000)) + UINT32_C(0x00800000);
    }
    return (acc >> 31) == 0;
}
#endif

#endif
