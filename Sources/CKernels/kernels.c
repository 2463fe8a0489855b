// Hot loops of the index scan, isolated so they can be tested against a naive reference and
// benchmarked alone. An AVX2+FMA path is chosen at run time when the CPU has it; the portable
// path uses several accumulators so the compiler can vectorise it too.
#include "tt_kernels.h"
#include "cpu_level.h"

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

#endif

static void argmax_rows_portable(const float *scores, size_t rows, size_t k, const float *bias, int *best_index, float *best_value) {
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

#ifdef TT_X86
// Eight lanes each keep their best value and its column (a strict > keeps the earliest); the
// lanes are then reduced to the best value with the lowest column, as the scalar loop chooses.
__attribute__((target("avx2,fma")))
static void argmax_rows_avx2(const float *scores, size_t rows, size_t k, const float *bias, int *best_index, float *best_value) {
    size_t k8 = k & ~(size_t)7;
    const __m256i step = _mm256_set1_epi32(8);
    for (size_t r = 0; r < rows; r++) {
        const float *s = scores + r * k;
        __m256 best = _mm256_set1_ps(-__builtin_inff());
        __m256i at = _mm256_setzero_si256();
        __m256i column = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        for (size_t c = 0; c < k8; c += 8) {
            __m256 v = _mm256_loadu_ps(s + c);
            if (bias) v = _mm256_sub_ps(v, _mm256_loadu_ps(bias + c));
            __m256 better = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
            best = _mm256_blendv_ps(best, v, better);
            at = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(at), _mm256_castsi256_ps(column), better));
            column = _mm256_add_epi32(column, step);
        }
        float values[8];
        int columns[8];
        _mm256_storeu_ps(values, best);
        _mm256_storeu_si256((__m256i *)columns, at);
        float top = -__builtin_inff();
        int where = 0;
        for (int l = 0; l < 8; l++) {
            if (values[l] > top || (values[l] == top && columns[l] < where)) { top = values[l]; where = columns[l]; }
        }
        for (size_t c = k8; c < k; c++) {
            float v = bias ? s[c] - bias[c] : s[c];
            if (v > top) { top = v; where = (int)c; }
        }
        best_index[r] = where;
        best_value[r] = top;
    }
}
#endif

void tt_argmax_rows(const float *scores, size_t rows, size_t k, const float *bias, int *best_index, float *best_value) {
#ifdef TT_X86
    if ((tt_cpu_level() >= 1)) { argmax_rows_avx2(scores, rows, k, bias, best_index, best_value); return; }
#endif
    argmax_rows_portable(scores, rows, k, bias, best_index, best_value);
}

void tt_argmax_rows_portable(const float *scores, size_t rows, size_t k, const float *bias, int *best_index, float *best_value) {
    argmax_rows_portable(scores, rows, k, bias, best_index, best_value);
}

int tt_kernel_level(void) {
#ifdef TT_X86
    return (tt_cpu_level() >= 1) ? 2 : 0;
#else
    return 0;
#endif
}

void tt_inner_products(const float *query, const float *vectors, size_t n, size_t d, float *out) {
#ifdef TT_X86
    if ((tt_cpu_level() >= 1)) { ip_avx2(query, vectors, n, d, out); return; }
#endif
    for (size_t i = 0; i < n; i++) out[i] = dot_portable(query, vectors + i * d, d);
}

void tt_l2_squared(const float *query, const float *vectors, size_t n, size_t d, float *out) {
#ifdef TT_X86
    if ((tt_cpu_level() >= 1)) { l2_avx2(query, vectors, n, d, out); return; }
#endif
    for (size_t i = 0; i < n; i++) out[i] = l2_portable(query, vectors + i * d, d);
}

void tt_inner_products_sq8(const float *qstep, float base, const unsigned char *codes, size_t n, size_t d, float *out) {
#ifdef TT_X86
    if ((tt_cpu_level() >= 1)) { sq8_avx2(qstep, base, codes, n, d, out); return; }
#endif
    for (size_t i = 0; i < n; i++) {
        const unsigned char *c = codes + i * d;
        float r = 0;
        for (size_t j = 0; j < d; j++) r += qstep[j] * (float)c[j];
        out[i] = base + r;
    }
}

static size_t select_portable(const float *scores, size_t n, float threshold, int32_t *out) {
    size_t found = 0;
    for (size_t i = 0; i < n; i++) if (scores[i] >= threshold) out[found++] = (int32_t)i;
    return found;
}

#ifdef TT_X86
__attribute__((target("avx2,fma")))
static size_t select_avx2(const float *scores, size_t n, float threshold, int32_t *out) {
    __m256 t = _mm256_set1_ps(threshold);
    size_t found = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(scores + i), t, _CMP_GE_OQ));
        while (mask) {
            out[found++] = (int32_t)(i + (size_t)__builtin_ctz(mask));
            mask &= mask - 1;
        }
    }
    for (; i < n; i++) if (scores[i] >= threshold) out[found++] = (int32_t)i;
    return found;
}
#endif

size_t tt_select_at_least(const float *scores, size_t n, float threshold, int32_t *out) {
#ifdef TT_X86
    if ((tt_cpu_level() >= 1)) return select_avx2(scores, n, threshold, out);
#endif
    return select_portable(scores, n, threshold, out);
}

void tt_inner_products_gather(const float *query, const float *const *vectors, size_t n, size_t d, float *out) {
    // The vectors are scattered (re-ranking candidates): ask for all their lines first, so the
    // misses overlap instead of queueing one vector at a time.
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < 4 * d; b += 64) __builtin_prefetch((const char *)vectors[i] + b, 0, 0);
    for (size_t i = 0; i < n; i++) tt_inner_products(query, vectors[i], 1, d, out + i);
}

void tt_prefetch(const void *address, size_t bytes) {
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch((const char *)address + b, 0, 3);
}

// (a, ia) ranks below (b, ib): a lower score, or an equal score and a larger index.
static inline int ranks_below(float a, int32_t ia, float b, int32_t ib) { return a < b || (a == b && ia > ib); }

size_t tt_top_indices(const float *scores, size_t n, size_t k, int32_t *out, float *out_scores) {
    if (k == 0) return 0;
    size_t size = 0;
    // A min-heap of the best k so far, worst at the root (out / out_scores as its storage).
    for (size_t i = 0; i < n; i++) {
        float s = scores[i];
        int32_t id = (int32_t)i;
        if (size < k) {
            size_t hole = size++;
            while (hole > 0) {
                size_t parent = (hole - 1) / 2;
                if (!ranks_below(s, id, out_scores[parent], out[parent])) break;
                out_scores[hole] = out_scores[parent]; out[hole] = out[parent];
                hole = parent;
            }
            out_scores[hole] = s; out[hole] = id;
        } else if (ranks_below(out_scores[0], out[0], s, id)) {
            size_t hole = 0;
            while (1) {
                size_t l = 2 * hole + 1;
                if (l >= size) break;
                size_t m = l;
                if (l + 1 < size && ranks_below(out_scores[l + 1], out[l + 1], out_scores[l], out[l])) m = l + 1;
                if (!ranks_below(out_scores[m], out[m], s, id)) break;
                out_scores[hole] = out_scores[m]; out[hole] = out[m];
                hole = m;
            }
            out_scores[hole] = s; out[hole] = id;
        }
    }
    // Best first (insertion sort: k is small).
    for (size_t i = 1; i < size; i++) {
        float s = out_scores[i];
        int32_t id = out[i];
        size_t j = i;
        while (j > 0 && ranks_below(out_scores[j - 1], out[j - 1], s, id)) { out_scores[j] = out_scores[j - 1]; out[j] = out[j - 1]; j--; }
        out_scores[j] = s; out[j] = id;
    }
    return size;
}
