#ifndef TT_KERNELS_H
#define TT_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/// Scores of one query against n vectors stored contiguously (row-major, dimension d):
/// out[i] = <query, vectors[i]>. Vectors need no alignment.
void tt_inner_products(const float *query, const float *vectors, size_t n, size_t d, float *out);

/// out[i] = ||query - vectors[i]||².
void tt_l2_squared(const float *query, const float *vectors, size_t n, size_t d, float *out);

/// Inner products of a query against n SQ8 codes (one byte per dimension) decoded as
/// min[j] + code[j] * step[j]:  out[i] = Σ_j q[j] * (min[j] + c[i][j] * step[j]).
/// Pass qstep[j] = q[j] * step[j] and base = Σ_j q[j] * min[j] precomputed.
void tt_inner_products_sq8(const float *qstep, float base, const unsigned char *codes, size_t n, size_t d, float *out);

/// For each of `rows` rows of `scores` (row-major, `k` columns): the column with the largest
/// scores[r][c] - bias[c] (bias may be NULL for none), written to best_index[r] and best_value[r].
/// Ties keep the lowest column.
void tt_argmax_rows(const float *scores, size_t rows, size_t k, const float *bias, int *best_index, float *best_value);

/// The same in plain C: the reference the vectorised path is tested against.
void tt_argmax_rows_portable(const float *scores, size_t rows, size_t k, const float *bias, int *best_index, float *best_value);

/// One row of sampled-softmax cross-entropy, in place. On entry `scores[c]` is the row's score
/// (a cosine) for candidate c, or −inf for a masked candidate; logit_c = scores[c]·inverse_t −
/// logq[c] (logq may be NULL). On return `scores[c]` is dL/dscore_c for L = scale · (−log
/// softmax(logit)[positive]) (0 for masked candidates), `*loss` is −log softmax(logit)[positive]
/// (unscaled) and `*dinverse` is dL/d(inverse_t).
void tt_softmax_xent_row(float *scores, size_t n, size_t positive, float inverse_t, const float *logq,
                         float scale, double *loss, double *dinverse);

/// The same in plain C: the reference the vectorised path is tested against.
void tt_softmax_xent_row_portable(float *scores, size_t n, size_t positive, float inverse_t, const float *logq,
                                  float scale, double *loss, double *dinverse);

/// One Adam (AdamW) step on n parameters: with gj = g[j]·scale, m ← β1 m + (1−β1) gj,
/// v ← β2 v + (1−β2) gj², w ← w − decay·w − rate · m / (√v + ε). `rate` is the bias-corrected
/// step size, `decay` the learning rate times the decoupled weight decay. w, m, v, g must not overlap.
void tt_adam_row(float *w, float *m, float *v, const float *g, size_t n, float scale, float beta1, float beta2,
                 float epsilon, float rate, float decay);

/// y ← y + a·x over n floats (x and y must not overlap).
void tt_axpy(size_t n, float a, const float *x, float *y);

/// One gradient contribution to a table row: `scale` times the d floats at `source`.
typedef struct {
    const float *source;
    float scale;
} tt_contribution;

/// out[0..<d] = Σ_i items[i].scale · items[i].source[0..<d] (a NULL source adds nothing).
void tt_sum_contributions(float *out, size_t d, const tt_contribution *items, size_t n);

/// out[0..<d] = Σ_i table[rows[i]·d ..< rows[i]·d + d] over the rows ≥ 0 (a gather and sum).
void tt_sum_rows(float *out, size_t d, const float *table, const int32_t *rows, size_t n);

/// Approximate scores of `count` vectors coded by 4-bit product quantisation with `m`
/// sub-quantizers, packed in blocks of 32 vectors ((m+1)/2 × 32 bytes a block; for each pair of
/// sub-quantizers p, byte i holds vector i's code for 2p in its low nibble and for 2p+1 in its
/// high one). `lut` holds 16 bytes per sub-quantizer; out[v] = base + inverse_scale · Σ_s lut[s][code].
void tt_pq4_scan(const uint8_t *packed, size_t count, size_t m, const uint8_t *lut, float base, float inverse_scale, float *out);

/// The lookup table of one query for `tt_pq4_scan` (m ≤ 64 sub-quantizers of ds dimensions,
/// codebooks m × 16 × ds): entry [s][j] = (q_s · c_sj − min_j q_s · c_sj) · scale rounded, with
/// one scale for all sub-quantizers so the widest range spans 0…255. Writes the sum of the
/// minimums to *offset and 1/scale to *inverse_scale, so a score is offset + Σ lut / scale.
void tt_pq4_table(const float *query, const float *codebooks, size_t m, size_t ds, uint8_t *lut, float *offset,
                  float *inverse_scale);

/// The same in plain C: the reference the vectorised path is tested against.
void tt_pq4_scan_portable(const uint8_t *packed, size_t count, size_t m, const uint8_t *lut, float base, float inverse_scale, float *out);

/// out[i] = <query, vectors[i]> for n vectors anywhere in memory (re-ranking candidates);
/// their cache lines are prefetched together first.
void tt_inner_products_gather(const float *query, const float *const *vectors, size_t n, size_t d, float *out);

/// The positions of the min(k, n) largest scores, best first (ties: the smaller position),
/// written to out (and their scores to out_scores, both of k entries); returns how many.
size_t tt_top_indices(const float *scores, size_t n, size_t k, int32_t *out, float *out_scores);

/// Asks for the cache lines of [address, address + bytes) ahead of use.
void tt_prefetch(const void *address, size_t bytes);

/// The positions i < n with scores[i] ≥ threshold, in order, written to out; returns how many.
/// The scan's first filter: most scores of a list fall below the current k-th best.
size_t tt_select_at_least(const float *scores, size_t n, float threshold, int32_t *out);

/// Which implementation runs: 2 = AVX2+FMA, 0 = portable C.
int tt_kernel_level(void);

#endif
