/* FASTMLP_CLONES: a loop built for AVX-512, AVX2 and the baseline, the CPU choosing
 * at load time (GCC's target_clones). GCC builds the clones on x86-64 Linux (they
 * need its ifunc); FASTMLP_PORTABLE (setup.py) leaves them out as a build for
 * another architecture does. */
#ifndef FASTMLP_CLONES_H
#define FASTMLP_CLONES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(FASTMLP_PORTABLE)
#define FASTMLP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FASTMLP_CLONES
#endif

#endif
