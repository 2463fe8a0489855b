// Hot loops of the index scan, isolated so they can be tested against a naive reference and
// benchmarked alone. An AVX2+FMA path is chosen at run time when the CPU has it; the portable
// path uses several accumulators so the compiler can vectorise it too.
#include "tt_kernels.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TT_X86 1
#endif

static float dot_portable(const float *a, const float *b, size_t d) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        s0 += a[j] * b[j]; s1 += a[j + 1] * b[j + 1];
        s2 += a[j + 2] * b[j + 2]; s3 += a[j + 3] * b[j + 3];
    }
    for (; j < d; j++) s0 += a[j] * b[j];
    return (s0 + s1) + (s2 + s3);
}

static float l2_portable(const float *a, const float *b, size_t d) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
        float e0 = a[j] - b[j], e1 = a[j + 1] - b[j + 1], e2 = a[j + 2] - b[j + 2], e3 = a[j + 3] - b[j + 3];
        s0 += e0 * e0; s1 += e1 * e1; s2 += e2 * e2; s3 += e3 * e3;
    }
    for (; j < d; j++) { float e = a[j] - b[j]; s0 += e * e; }
    return (s0 + s1) + (s2 + s3);
}

#ifdef TT_X86
__attribute__((target("avx2,fma")))
static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    __m128 sh = _mm_movehdup_ps(lo);
    __m128 sums = _mm_add_ps(lo, sh);
    sh = _mm_movehl_ps(sh, sums);
    sums = _mm_add_ss(sums, sh);
    return _mm_cvtss_f32(sums);
}

// The sums of eight accumulators, one per lane: two rounds of pairwise adds within 128-bit
// halves, then the halves added across.
__attribute__((target("avx2,fma")))
static inline __m256 hsum8x8(__m256 s0, __m256 s1, __m256 s2, __m256 s3,
                             __m256 s4, __m256 s5, __m256 s6, __m256 s7) {
    __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3));
    __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(s4, s5), _mm256_hadd_ps(s6, s7));
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// Eight vectors at a time: eight independent FMA chains keep both FMA ports busy (one chain per
// vector is bound by FMA latency), each query load is shared, and one shuffle tree reduces all
// eight sums. STEP(s, r) adds vector r's share of query block j into accumulator s.
#define TT_BLOCK8(STEP)                                                              \
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0; \
    for (size_t j = 0; j < d8; j += 8) {                                                    \
        __m256 qv = _mm256_loadu_ps(q + j);                                                 \
        STEP(s0, 0); STEP(s1, 1); STEP(s2, 2); STEP(s3, 3);                                 \
        STEP(s4, 4); STEP(s5, 5); STEP(s6, 6); STEP(s7, 7);                                 \
    }

__attribute__((target("avx2,fma")))
static void ip_avx2(const float *q, const float *x, size_t n, size_t d, float *out) {
    size_t d8 = d & ~(size_t)7;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float *a = x + i * d;
#define IP_STEP(s, r) s = _mm256_fmadd_ps(qv, _mm256_loadu_ps(a + (r) * d + j), s)
        TT_BLOCK8(IP_STEP)
#undef IP_STEP
        _mm256_storeu_ps(out + i, hsum8x8(s0, s1, s2, s3, s4, s5, s6, s7));
        for (size_t j = d8; j < d; j++)
            for (size_t r = 0; r < 8; r++) out[i + r] += q[j] * a[r * d + j];
    }
    for (; i < n; i++) {
        const float *a = x + i * d;
        __m256 s = _mm256_setzero_ps();
        for (size_t j = 0; j < d8; j += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(a + j), s);
        float r = hsum256(s);
        for (size_t j = d8; j < d; j++) r += q[j] * a[j];
        out[i] = r;
    }
}

__attribute__((target("avx2,fma")))
static void l2_avx2(const float *q, const float *x, size_t n, size_t d, float *out) {
    size_t d8 = d & ~(size_t)7;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float *a = x + i * d;
#define L2_STEP(s, r) do { __m256 e = _mm256_sub_ps(qv, _mm256_loadu_ps(a + (r) * d + j)); s = _mm256_fmadd_ps(e, e, s); } while (0)
        TT_BLOCK8(L2_STEP)
#undef L2_STEP
        _mm256_storeu_ps(out + i, hsum8x8(s0, s1, s2, s3, s4, s5, s6, s7));
        for (size_t j = d8; j < d; j++)
            for (size_t r = 0; r < 8; r++) { float e = q[j] - a[r * d + j]; out[i + r] += e * e; }
    }
    for (; i < n; i++) {
        const float *a = x + i * d;
        __m256 s = _mm256_setzero_ps();
        for (size_t j = 0; j < d8; j += 8) {
            __m256 e = _mm256_sub_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(a + j));
            s = _mm256_fmadd_ps(e, e, s);
        }
        float r = hsum256(s);
        for (size_t j = d8; j < d; j++) { float e = q[j] - a[j]; r += e * e; }
        out[i] = r;
    }
}

__attribute__((target("avx2,fma")))
static inline __m256 sq8_load(const unsigned char *c) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)c)));
}

__attribute__((target("avx2,fma")))
static void sq8_avx2(const float *qs, float base, const unsigned char *codes, size_t n, size_t d, float *out) {
    const float *q = qs;
    size_t d8 = d & ~(size_t)7;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const unsigned char *c = codes + i * d;
#define SQ8_STEP(s, r) s = _mm256_fmadd_ps(qv, sq8_load(c + (r) * d + j), s)
        TT_BLOCK8(SQ8_STEP)
#undef SQ8_STEP
        __m256 sums = _mm256_add_ps(hsum8x8(s0, s1, s2, s3, s4, s5, s6, s7), _mm256_set1_ps(base));
        _mm256_storeu_ps(out + i, sums);
        for (size_t j = d8; j < d; j++)
            for (size_t r = 0; r < 8; r++) out[i + r] += qs[j] * (float)c[r * d + j];
    }
    for (; i < n; i++) {
        const unsigned char *c = codes + i * d;
        __m256 s = _mm256_setzero_ps();
        for (size_t j = 0; j < d8; j += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(qs + j), sq8_load(c + j), s);
        float r = hsum256(s);
        for (size_t j = d8; j < d; j++) r += qs[j] * (float)c[j];
        out[i] = base + r;
    }
}
#undef TT_BLOCK8

static int has_avx2_fma(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
    return cached;
}
#endif

void tt_argmax_rows(const float *scores, size_t rows, size_t k, const float *bias, int *best_index, float *best_value) {
    for (size_t r = 0; r < rows; r++) {
        const float *s = scores + r * k;
        float best = -__builtin_inff();
        size_t at = 0;
        if (bias) {
            for (size_t c = 0; c < k; c++) { float v = s[c] - bias[c]; if (v > best) { best = v; at = c; } }
        } else {
            for (size_t c = 0; c < k; c++) { if (s[c] > best) { best = s[c]; at = c; } }
        }
        best_index[r] = (int)at;
        best_value[r] = best;
    }
}

int tt_kernel_level(void) {
#ifdef TT_X86
    return has_avx2_fma() ? 2 : 0;
#else
    return 0;
#endif
}

void tt_inner_products(const float *query, const float *vectors, size_t n, size_t d, float *out) {
#ifdef TT_X86
    if (has_avx2_fma()) { ip_avx2(query, vectors, n, d, out); return; }
#endif
    for (size_t i = 0; i < n; i++) out[i] = dot_portable(query, vectors + i * d, d);
}

void tt_l2_squared(const float *query, const float *vectors, size_t n, size_t d, float *out) {
#ifdef TT_X86
    if (has_avx2_fma()) { l2_avx2(query, vectors, n, d, out); return; }
#endif
    for (size_t i = 0; i < n; i++) out[i] = l2_portable(query, vectors + i * d, d);
}

void tt_inner_products_sq8(const float *qstep, float base, const unsigned char *codes, size_t n, size_t d, float *out) {
#ifdef TT_X86
    if (has_avx2_fma()) { sq8_avx2(qstep, base, codes, n, d, out); return; }
#endif
    for (size_t i = 0; i < n; i++) {
        const unsigned char *c = codes + i * d;
        float r = 0;
        for (size_t j = 0; j < d; j++) r += qstep[j] * (float)c[j];
        out[i] = base + r;
    }
}
