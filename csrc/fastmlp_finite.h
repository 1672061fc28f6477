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
#define FASTMLP_BITS(U, x, i) (((const fastmlp_bits##U*) (x))[i])
#else
static inline uint64_t fastmlp_load64(const void* p) { uint64_t b; memcpy(&b, p, 8); return b; }
static inline uint32_t fastmlp_load32(const void* p) { uint32_t b; memcpy(&b, p, 4); return b; }
#define FASTMLP_BITS(U, x, i) fastmlp_load##U((x) + (i))
#endif

#define FASTMLP_ALL_FINITE(name, T, U, EXPONENT, UNIT)                 \
    static inline int name(const T* x, ptrdiff_t n) {                  \
        uint##U##_t acc = 0;                                           \
        for (ptrdiff_t i = 0; i < n; i++)                              \
            acc |= (FASTMLP_BITS(U, x, i) & (EXPONENT)) + (UNIT);      \
        return (acc >> ((U) - 1)) == 0;                                \
    }

FASTMLP_ALL_FINITE(fastmlp_all_finite_double, double, 64,
                   UINT64_C(0x7ff0000000000000), UINT64_C(0x0010000000000000))
FASTMLP_ALL_FINITE(fastmlp_all_finite_float, float, 32,
                   UINT32_C(0x7f800000), UINT32_C(0x00800000))

#endif
