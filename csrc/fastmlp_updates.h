/* The optimizers' updates of a range of the flat parameter buffer, as
 * scikit-learn's _stochastic_optimizers.py computes them operation for operation.
 * Built for AVX-512, AVX2 and the baseline like csrc/fastmlp_elementwise.h; every
 * build makes the same IEEE operations in the same order (no contraction into FMA:
 * -ffp-contract=off), so every CPU gives the same bits.
 *
 * For float parameters the hyper-parameters come cast to float (NumPy's weak
 * Python scalars), and Adam's step size is a double, so its update is formed and
 * added in double before the cast back. sqrtf is the double square root rounded
 * to float (53 >= 2 x 24 + 2 bits): NumPy's float32 np.sqrt.
 */
#ifndef FASTMLP_UPDATES_H
#define FASTMLP_UPDATES_H

#include <math.h>
#include <stddef.h>

#include "fastmlp_clones.h"

#define FASTMLP_UPDATES(T, SQRT)                                                      \
    /* v <- mu v - lr g; params += mu v - lr g (Nesterov) or v (classical) */        \
    FASTMLP_CLONES static void fastmlp_sgd_##T(T* __restrict params,                \
                                               const T* __restrict grads,           \
                                               T* __restrict velocity, ptrdiff_t n, \
                                               T lr, T mu, int nesterov)            \
    {                                                                                 \
        if (nesterov) {                                                               \
            for (ptrdiff_t i = 0; i < n; i++) {                                       \
                T vel = mu * velocity[i] - lr * grads[i];                             \
                velocity[i] = vel;                                                    \
                params[i] += mu * vel - lr * grads[i];                                \
            }                                                                         \
        } else {                                                                      \
            for (ptrdiff_t i = 0; i < n; i++) {                                       \
                T vel = mu * velocity[i] - lr * grads[i];                             \
                velocity[i] = vel;                                                    \
                params[i] += vel;                                                     \
            }                                                                         \
        }                                                                             \
    }                                                                                 \
    /* m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;                              \
     * params += -lr_t m / (sqrt(v) + eps), eps added to the uncorrected sqrt(v) */  \
    FASTMLP_CLONES static void fastmlp_adam_##T(T* __restrict params,               \
                                                const T* __restrict grads,          \
                                                T* __restrict m, T* __restrict v,   \
                                                ptrdiff_t n, double step_size,      \
                                                T b1, T c1, T b2, T c2, T eps)      \
    {                                                                                 \
        for (ptrdiff_t i = 0; i < n; i++) {                                           \
            T g = grads[i];                                                           \
            T mi = b1 * m[i] + c1 * g;                                                \
            T vi = b2 * v[i] + c2 * (g * g);                                          \
            T root;                                                                   \
            m[i] = mi;                                                                \
            v[i] = vi;                                                                \
            root = SQRT(vi) + eps;                                                    \
            params[i] = (T) ((double) params[i]                                       \
                             + (-step_size * (double) mi) / (double) root);           \
        }                                                                             \
    }

FASTMLP_UPDATES(double, sqrt)
FASTMLP_UPDATES(float, sqrtf)

#endif
