// Row kernels of the training step's sparse updates: Adam on one table row and y += a·x, the two
// loops the step runs most often on d-wide rows. axpy is vectorised by the compiler (`restrict`),
// Adam by intrinsics (below); an AVX-512 or AVX2+FMA build is chosen at run time.
#include "tt_kernels.h"
#include "cpu_level.h"
#include <math.h>

#define ADAM_BODY                                                                          \
    for (size_t j = 0; j < n; j++) {                                                       \
        float gj = g[j] * scale;                                                           \
        float mj = beta1 * m[j] + (1 - beta1) * gj;                                        \
        float vj = beta2 * v[j] + (1 - beta2) * gj * gj;                                   \
        m[j] = mj;                                                                         \
        v[j] = vj;                                                                         \
        float wj = w[j] - decay * w[j];                                                    \
        w[j] = wj - rate * mj / (sqrtf(vj) + epsilon);                                     \
    }

#define AXPY_BODY for (size_t j = 0; j < n; j++) y[j] += a * x[j];

static void adam_portable(float *restrict w, float *restrict m, float *restrict v, const float *restrict g, size_t n,
                          float scale, float beta1, float beta2, float epsilon, float rate, float decay) { ADAM_BODY }

static void axpy_portable(size_t n, float a, const float *restrict x, float *restrict y) { AXPY_BODY }

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// Adam by intrinsics: the compiler does not vectorise ADAM_BODY (sqrtf may set errno, so each
// element got a scalar sqrt behind a branch). The operations are those the scalar build does, in
// its order, with the same two fused multiply-adds (m and v) and the decay as w − decay·w fused:
// sqrt and division are correctly rounded in every lane, so the result is the same to the bit.
#include <immintrin.h>

__attribute__((target("avx2,fma")))
static void adam_avx2(float *restrict w, float *restrict m, float *restrict v, const float *restrict g, size_t n,
                      float scale, float beta1, float beta2, float epsilon, float rate, float decay) {
    const __m256 vs = _mm256_set1_ps(scale), b1 = _mm256_set1_ps(beta1), b2 = _mm256_set1_ps(beta2);
    const __m256 c1 = _mm256_set1_ps(1 - beta1), c2 = _mm256_set1_ps(1 - beta2), eps = _mm256_set1_ps(epsilon);
    const __m256 r = _mm256_set1_ps(rate), dec = _mm256_set1_ps(decay);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 gj = _mm256_mul_ps(_mm256_loadu_ps(g + j), vs);
        __m256 mj = _mm256_fmadd_ps(_mm256_loadu_ps(m + j), b1, _mm256_mul_ps(c1, gj));
        __m256 vj = _mm256_fmadd_ps(_mm256_loadu_ps(v + j), b2, _mm256_mul_ps(_mm256_mul_ps(c2, gj), gj));
        _mm256_storeu_ps(m + j, mj);
        _mm256_storeu_ps(v + j, vj);
        __m256 wv = _mm256_loadu_ps(w + j);
        __m256 wj = _mm256_fnmadd_ps(dec, wv, wv);
        __m256 step = _mm256_div_ps(_mm256_mul_ps(r, mj), _mm256_add_ps(_mm256_sqrt_ps(vj), eps));
        _mm256_storeu_ps(w + j, _mm256_sub_ps(wj, step));
    }
    for (; j < n; j++) {
        float gj = g[j] * scale;
        float mj = __builtin_fmaf(m[j], beta1, (1 - beta1) * gj);
        float vj = __builtin_fmaf(v[j], beta2, ((1 - beta2) * gj) * gj);
        m[j] = mj;
        v[j] = vj;
        float wj = __builtin_fmaf(-decay, w[j], w[j]);
        w[j] = wj - (rate * mj) / (__builtin_sqrtf(vj) + epsilon);
    }
}

__attribute__((target("avx2,fma")))
static void axpy_avx2(size_t n, float a, const float *restrict x, float *restrict y) { AXPY_BODY }

__attribute__((target("avx512f,avx512vl")))
static void adam_avx512(float *restrict w, float *restrict m, float *restrict v, const float *restrict g, size_t n,
                        float scale, float beta1, float beta2, float epsilon, float rate, float decay) {
    const __m512 vs = _mm512_set1_ps(scale), b1 = _mm512_set1_ps(beta1), b2 = _mm512_set1_ps(beta2);
    const __m512 c1 = _mm512_set1_ps(1 - beta1), c2 = _mm512_set1_ps(1 - beta2), eps = _mm512_set1_ps(epsilon);
    const __m512 r = _mm512_set1_ps(rate), dec = _mm512_set1_ps(decay);
    for (size_t j = 0; j < n; j += 16) {
        __mmask16 k = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
        __m512 gj = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g + j), vs);
        __m512 mj = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, m + j), b1, _mm512_mul_ps(c1, gj));
        __m512 vj = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, v + j), b2, _mm512_mul_ps(_mm512_mul_ps(c2, gj), gj));
        _mm512_mask_storeu_ps(m + j, k, mj);
        _mm512_mask_storeu_ps(v + j, k, vj);
        __m512 wv = _mm512_maskz_loadu_ps(k, w + j);
        __m512 wj = _mm512_fnmadd_ps(dec, wv, wv);
        __m512 step = _mm512_div_ps(_mm512_mul_ps(r, mj), _mm512_add_ps(_mm512_sqrt_ps(vj), eps));
        _mm512_mask_storeu_ps(w + j, k, _mm512_sub_ps(wj, step));
    }
}

__attribute__((target("avx512f,avx512vl")))
static void axpy_avx512(size_t n, float a, const float *restrict x, float *restrict y) { AXPY_BODY }

#define DISPATCH(name, ...) do { int l = tt_cpu_level(); if (l == 2) name##_avx512(__VA_ARGS__); else if (l == 1) name##_avx2(__VA_ARGS__); else name##_portable(__VA_ARGS__); } while (0)
#else
#define DISPATCH(name, ...) name##_portable(__VA_ARGS__)
#endif

void tt_adam_row(float *w, float *m, float *v, const float *g, size_t n, float scale, float beta1, float beta2,
                 float epsilon, float rate, float decay) {
    DISPATCH(adam, w, m, v, g, n, scale, beta1, beta2, epsilon, rate, decay);
}

void tt_axpy(size_t n, float a, const float *x, float *y) { DISPATCH(axpy, n, a, x, y); }

// Sums of many d-wide rows into one: out = Σ_i scale_i · source_i (contributions) or
// out = Σ_i table[row_i] (gathered rows; negative rows skipped). The output is kept in
// registers, 64 floats at a time, across all the inputs, and written once.
#define SUM_BODY(LOAD_SRC, SCALE)                                                                   \
    size_t c0 = 0;                                                                                 \
    for (; c0 + 64 <= d; c0 += 64) {                                                               \
        /* A fixed width, so the accumulators stay in registers. */                                \
        float acc[64] = {0};                                                                       \
        for (size_t i = 0; i < n; i++) {                                                           \
            const float *src = LOAD_SRC;                                                           \
            if (!src) continue;                                                                    \
            float s = SCALE;                                                                       \
            src += c0;                                                                             \
            for (size_t j = 0; j < 64; j++) acc[j] += s * src[j];                                  \
        }                                                                                          \
        for (size_t j = 0; j < 64; j++) out[c0 + j] = acc[j];                                      \
    }                                                                                              \
    if (c0 < d) {                                                                                  \
        size_t w = d - c0;                                                                         \
        float acc[64] = {0};                                                                       \
        for (size_t i = 0; i < n; i++) {                                                           \
            const float *src = LOAD_SRC;                                                           \
            if (!src) continue;                                                                    \
            float s = SCALE;                                                                       \
            src += c0;                                                                             \
            for (size_t j = 0; j < w; j++) acc[j] += s * src[j];                                   \
        }                                                                                          \
        for (size_t j = 0; j < w; j++) out[c0 + j] = acc[j];                                       \
    }

#define CONTRIBUTION_SRC (items[i].source)
#define CONTRIBUTION_SCALE (items[i].scale)
#define TABLE_SRC (rows[i] >= 0 ? table + (size_t)rows[i] * d : (const float *)0)
#define TABLE_SCALE 1.0f

static void sum_contributions_portable(float *restrict out, size_t d, const tt_contribution *restrict items, size_t n) {
    SUM_BODY(CONTRIBUTION_SRC, CONTRIBUTION_SCALE)
}
static void sum_rows_portable(float *restrict out, size_t d, const float *restrict table, const int32_t *restrict rows, size_t n) {
    SUM_BODY(TABLE_SRC, TABLE_SCALE)
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("avx2,fma")))
static void sum_contributions_avx2(float *restrict out, size_t d, const tt_contribution *restrict items, size_t n) {
    SUM_BODY(CONTRIBUTION_SRC, CONTRIBUTION_SCALE)
}
__attribute__((target("avx2,fma")))
static void sum_rows_avx2(float *restrict out, size_t d, const float *restrict table, const int32_t *restrict rows, size_t n) {
    SUM_BODY(TABLE_SRC, TABLE_SCALE)
}
__attribute__((target("avx512f,avx512vl")))
static void sum_contributions_avx512(float *restrict out, size_t d, const tt_contribution *restrict items, size_t n) {
    SUM_BODY(CONTRIBUTION_SRC, CONTRIBUTION_SCALE)
}
__attribute__((target("avx512f,avx512vl")))
static void sum_rows_avx512(float *restrict out, size_t d, const float *restrict table, const int32_t *restrict rows, size_t n) {
    SUM_BODY(TABLE_SRC, TABLE_SCALE)
}
#endif

void tt_sum_contributions(float *out, size_t d, const tt_contribution *items, size_t n) { DISPATCH(sum_contributions, out, d, items, n); }

void tt_sum_rows(float *out, size_t d, const float *table, const int32_t *rows, size_t n) { DISPATCH(sum_rows, out, d, table, rows, n); }
