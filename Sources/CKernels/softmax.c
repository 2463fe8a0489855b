// The row kernels of the training losses: sampled softmax cross-entropy over one row of
// candidate scores, in place (scores in, dL/dscore out). An AVX2+FMA path with a vectorised exp
// is chosen at run time; the portable path is the reference the tests compare it with.
#include "tt_kernels.h"
#include "cpu_level.h"
#include <math.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TT_X86 1
#endif

// exp on [-87.3, 88.7] by 2^k · p(r), r = x − k·ln 2 in [−ln2/2, ln2/2], degree-6 polynomial:
// relative error below 2e-7 (float rounding); −inf gives 0.
static inline float exp_portable(float x) { return expf(x); }

static void softmax_portable(float *s, size_t n, size_t positive, float inverse_t, const float *logq,
                             float scale, double *loss, double *dinverse) {
    float top = -INFINITY;
    for (size_t c = 0; c < n; c++) {
        float x = s[c] == -INFINITY ? -INFINITY : s[c] * inverse_t - (logq ? logq[c] : 0.0f);
        if (x > top) top = x;
    }
    double sum = 0;
    for (size_t c = 0; c < n; c++) {
        float x = s[c] == -INFINITY ? -INFINITY : s[c] * inverse_t - (logq ? logq[c] : 0.0f);
        sum += exp_portable(x - top);
    }
    float positive_logit = s[positive] * inverse_t - (logq ? logq[positive] : 0.0f);
    *loss = -((double)positive_logit - top - log(sum));
    double dinv = 0;
    float inv_sum = (float)(1.0 / sum);
    for (size_t c = 0; c < n; c++) {
        float score = s[c];
        float g = 0;
        if (score != -INFINITY) {
            float x = score * inverse_t - (logq ? logq[c] : 0.0f);
            g = exp_portable(x - top) * inv_sum;
        }
        if (c == positive) g -= 1;
        g *= scale;
        if (score != -INFINITY) dinv += (double)g * score;
        s[c] = g * inverse_t;
    }
    *dinverse = dinv;
}

#ifdef TT_X86
__attribute__((target("avx2,fma")))
static inline __m256 exp256(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-88.3762626647949f);
    __m256 zero_mask = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);  // underflow (and −inf): 0
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x − k·ln2 in two parts for accuracy.
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 r2 = _mm256_mul_ps(r, r);
    p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(zero_mask, result);
}

__attribute__((target("avx2,fma")))
static inline float hmax256(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma")))
static inline float hsum256f(__m256 v) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// Three passes over the row (max; exp, its sum and Σ e · score; the gradient's scaling), eight
// columns at a time. Masked columns hold −inf: the logit stays −inf, its exp 0, its gradient 0.
__attribute__((target("avx2,fma")))
static void softmax_avx2(float *s, size_t n, size_t positive, float inverse_t, const float *logq,
                         float scale, double *loss, double *dinverse) {
    const __m256 it = _mm256_set1_ps(inverse_t), ninf = _mm256_set1_ps(-INFINITY), zero = _mm256_setzero_ps();
    size_t n8 = n & ~(size_t)7;
    __m256 vmax = ninf;
    for (size_t c = 0; c < n8; c += 8) {
        __m256 v = _mm256_loadu_ps(s + c);
        __m256 q = logq ? _mm256_loadu_ps(logq + c) : zero;
        __m256 x = _mm256_fmsub_ps(v, it, q);
        x = _mm256_blendv_ps(x, ninf, _mm256_cmp_ps(v, ninf, _CMP_EQ_OQ));
        vmax = _mm256_max_ps(vmax, x);
    }
    float top = hmax256(vmax);
    for (size_t c = n8; c < n; c++) {
        float x = s[c] == -INFINITY ? -INFINITY : s[c] * inverse_t - (logq ? logq[c] : 0.0f);
        if (x > top) top = x;
    }
    const __m256 vtop = _mm256_set1_ps(top);
    const float positive_score = s[positive];
    float positive_logit = s[positive] * inverse_t - (logq ? logq[positive] : 0.0f);
    // exp(x − top) once per column, kept in the row (the score it replaces is folded into
    // Σ e · score on the way, for d/d(1/τ)); the last pass only scales.
    __m256 vsum = zero, vd = zero;
    for (size_t c = 0; c < n8; c += 8) {
        __m256 v = _mm256_loadu_ps(s + c);
        __m256 q = logq ? _mm256_loadu_ps(logq + c) : zero;
        __m256 masked = _mm256_cmp_ps(v, ninf, _CMP_EQ_OQ);
        __m256 x = _mm256_sub_ps(_mm256_fmsub_ps(v, it, q), vtop);
        __m256 e = exp256(_mm256_blendv_ps(x, ninf, masked));  // 0 where masked
        vsum = _mm256_add_ps(vsum, e);
        vd = _mm256_fmadd_ps(e, _mm256_andnot_ps(masked, v), vd);
        _mm256_storeu_ps(s + c, e);
    }
    double sum = hsum256f(vsum), dsum = hsum256f(vd);
    for (size_t c = n8; c < n; c++) {
        float score = s[c], e = 0;
        if (score != -INFINITY) {
            e = expf(score * inverse_t - (logq ? logq[c] : 0.0f) - top);
            sum += e;
            dsum += (double)e * score;
        }
        s[c] = e;
    }
    *loss = -((double)positive_logit - top - log(sum));
    const float inv_sum = (float)(1.0 / sum);
    const __m256 vscale = _mm256_set1_ps(inv_sum * scale);
    for (size_t c = 0; c < n8; c += 8) {
        __m256 g = _mm256_mul_ps(_mm256_loadu_ps(s + c), vscale);  // p · scale
        _mm256_storeu_ps(s + c, _mm256_mul_ps(g, it));
    }
    for (size_t c = n8; c < n; c++) s[c] = s[c] * (inv_sum * scale) * inverse_t;
    double dinv = dsum * inv_sum * scale;
    // The positive's one-hot term: −scale on its gradient, −scale · score on d/d(1/τ).
    s[positive] -= scale * inverse_t;
    dinv -= (double)scale * positive_score;
    *dinverse = dinv;
}

#endif

void tt_softmax_xent_row(float *scores, size_t n, size_t positive, float inverse_t, const float *logq,
                         float scale, double *loss, double *dinverse) {
#ifdef TT_X86
    if (tt_cpu_level() >= 1) { softmax_avx2(scores, n, positive, inverse_t, logq, scale, loss, dinverse); return; }
#endif
    softmax_portable(scores, n, positive, inverse_t, logq, scale, loss, dinverse);
}

void tt_softmax_xent_row_portable(float *scores, size_t n, size_t positive, float inverse_t, const float *logq,
                                  float scale, double *loss, double *dinverse) {
    softmax_portable(scores, n, positive, inverse_t, logq, scale, loss, dinverse);
}
