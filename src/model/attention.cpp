// Blockwise attention of a run of tokens over cached positions, and the merge of ranges.
#include "model/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "kernels/kv_tile.hpp"
#include "kernels/ops.hpp"
#include "kernels/traits.hpp"

namespace pensieve::model {

void attend(KvCache& kv, const std::vector<int32_t>& table, const AttentionHead& a,
            const AttentionQueries& qs, AttentionScratch& s, float* out, int64_t out_stride,
            float* lse) {
    const int64_t hd = a.head_dim;
    const int64_t bt = KvCache::kBlockTokens;
    const int64_t rows = qs.n_tokens * a.group;
    const auto n = static_cast<size_t>(rows);
    s.q.resize(n * static_cast<size_t>(hd));
    s.o.assign(n * static_cast<size_t>(hd), 0.0f);
    s.m.assign(n, -INFINITY);
    s.l.assign(n, 0.0f);
    s.first.resize(n);
    s.last.resize(n);
    s.kt.resize(static_cast<size_t>(bt * hd));
    s.v.resize(static_cast<size_t>(bt * hd));

    // Rows are token-major, so first and last never decrease from one row to
    // the next: the rows that reach into a block are one contiguous run.
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = -1;
    for (int64_t i = 0; i < qs.n_tokens; ++i) {
        const int64_t pos = qs.pos0 + i;
        const int64_t first = std::max(qs.lo, first_attended(pos, qs.window));
        const int64_t last = std::min(qs.hi, pos);
        if (first <= last) {
            lo = std::min(lo, first);
            hi = std::max(hi, last);
        }
        for (int64_t g = 0; g < a.group; ++g) {
            const auto row = static_cast<size_t>(i * a.group + g);
            std::copy_n(qs.q + i * qs.q_stride + g * hd, hd, &s.q[row * static_cast<size_t>(hd)]);
            s.first[row] = static_cast<int32_t>(first);
            s.last[row] = static_cast<int32_t>(last);
        }
    }
    const gguf::TensorType type = kv.config().type;
    // Over an F16 cache, 16-bit float products where the CPU has them
    // (kernels::attend_steps_for), for every row that attends a whole step:
    // such a step goes to the kernel whole, and the positions of a row's
    // partial steps in F32, so a row's sums never depend on how its sequence
    // was cut into runs (prefill chunks change with server load) nor on the
    // rows beside it. BF16 products only for runs of more than
    // kF16TileMaxRows rows: they rearrange the tiles for the run, which a
    // decoding token's few rows do not repay (SmolLM2 decode at depth 8192,
    // Zen 4: 87 tok/s with F32 spans, 62 with BF16 steps), so those stay F32,
    // as the matmuls of so few rows take another path too.
    // Over a Q8_0 or BF16 cache the same BF16 steps, the tiles loaded as F32
    // first.
    kernels::AttendSteps steps_form{};
    if (a.low_precision && type == gguf::TensorType::F16) {
        steps_form = kernels::attend_steps_for(hd);
    } else if (a.low_precision && kernels::bf16_steps_available(type, hd)) {
        steps_form = {kernels::kBf16StepTiles, true};
    }
    if (steps_form.bf16 && rows <= kernels::kF16TileMaxRows) steps_form = {};
    const bool stepped = steps_form.tiles > 0;
    // BF16 queries for BF16 steps, and otherwise for runs of many rows on
    // CPUs whose attend_block multiplies in BF16 (the other caches).
    const bool bf16 = stepped ? steps_form.bf16
                              : a.low_precision && rows > kernels::kF16TileMaxRows &&
                                    kernels::attend_multiplies_bf16();
    if (bf16) {
        s.qb.resize(s.q.size());
        kernels::traits(gguf::TensorType::BF16)
            .quantize_row(s.q.data(), s.qb.data(), static_cast<int64_t>(s.q.size()));
    }
    const int64_t first_block = hi < 0 ? 0 : lo / bt;
    const int64_t end_block = hi < 0 ? 0 : hi / bt + 1;  // nothing to attend: no block
    // Positions up to hi are all written (the run's own keys included).
    const auto whole = [&](int64_t b) { return hi - b * bt + 1 >= bt; };
    constexpr int64_t kSpanTiles = 60;  // per span call, whole steps
    static_assert(kSpanTiles % kernels::kFp16StepTiles == 0 &&
                  kSpanTiles % kernels::kBf16StepTiles == 0);
    const uint16_t* k_span[kSpanTiles];
    const uint16_t* v_span[kSpanTiles];
    const void* kq_span[kSpanTiles];  // the same tiles, for the Q8_0 and BF16 spans
    const void* vq_span[kSpanTiles];
    const auto tile16 = [](uint8_t* p) { return reinterpret_cast<const uint16_t*>(p); };
    const auto add_tile = [&](int64_t count, int64_t b) {
        const int32_t at = table[static_cast<size_t>(b)];
        uint8_t* key = kv.key_tile(a.layer, at, a.kv_head);
        uint8_t* value = kv.value_tile(a.layer, at, a.kv_head);
        kq_span[count] = key;
        vq_span[count] = value;
        k_span[count] = tile16(key);
        v_span[count] = tile16(value);
    };
    // Spans of whole tiles: F16 ones always, BF16 ones where the CPU has
    // their span form, Q8_0 ones where it has theirs (integer q · k over
    // queries quantized as Q8_0).
    const bool spans_16 = type == gguf::TensorType::F16 ||
                          (type == gguf::TensorType::BF16 && kernels::span_16_available(type, hd));
    const bool q8_spans =
        type == gguf::TensorType::Q8_0 && a.low_precision && kernels::q8_span_available(hd);
    // Rows [r_lo, r_hi) from position p0, with BF16 queries where given.
    const auto block_of = [&](int64_t r_lo, int64_t r_hi, int64_t p0, bool with_qb) {
        const auto r = static_cast<size_t>(r_lo);
        return kernels::AttendBlock{&s.q[r * static_cast<size_t>(hd)],
                                    r_hi - r_lo,
                                    hd,
                                    nullptr,
                                    nullptr,
                                    p0,
                                    &s.first[r],
                                    &s.last[r],
                                    a.scale,
                                    &s.m[r],
                                    &s.l[r],
                                    &s.o[r * static_cast<size_t>(hd)],
                                    with_qb ? &s.qb[r * static_cast<size_t>(hd)] : nullptr};
    };

    // With steps, the rows that attend every position of step g: first and
    // last never decrease from one row to the next, so they are one run.
    const int64_t st = steps_form.positions();
    const auto full_rows = [&](int64_t g) -> std::pair<int64_t, int64_t> {
        const int64_t f_lo =
            std::lower_bound(s.last.begin(), s.last.end(), g * st + st - 1) - s.last.begin();
        const int64_t f_hi =
            std::upper_bound(s.first.begin(), s.first.end(), g * st) - s.first.begin();
        if (f_lo >= f_hi) return {0, 0};
        return {f_lo, f_hi};
    };
    if (stepped && hi >= 0) {
        for (int64_t g = lo / st; g * st + st - 1 <= hi;) {
            const auto run = full_rows(g);
            int64_t steps = 1;
            if (run.first < run.second) {
                while (steps < kSpanTiles / steps_form.tiles && (g + steps) * st + st - 1 <= hi &&
                       full_rows(g + steps) == run)
                    ++steps;
                const int64_t tiles = steps * steps_form.tiles;
                for (int64_t t = 0; t < tiles; ++t) add_tile(t, g * st / bt + t);
                const kernels::AttendBlock rows_of_run =
                    block_of(run.first, run.second, g * st, bf16);
                if (type != gguf::TensorType::F16) {
                    kernels::attend_steps_typed(type, rows_of_run, kq_span, vq_span, tiles);
                } else {
                    kernels::attend_steps(rows_of_run, k_span, v_span, tiles);
                }
            }
            g += steps;
        }
    }

    // Block by block, the rows and blocks the steps did not take, in F32
    // where steps run (a row's partial steps). Block b for rows [r_lo,
    // r_hi); returns the last block it attended.
    const bool bf16_blocks = bf16 && !stepped;
    const auto attend_rows = [&](int64_t b, int64_t r_lo, int64_t r_hi) {
        const kernels::AttendBlock step = block_of(r_lo, r_hi, b * bt, bf16_blocks);
        // Without steps, runs of many rows take BF16 products block by block
        // where the CPU has fast ones (attend_tiles), and spans of F16 tiles
        // otherwise.
        const bool many_bf16 = bf16_blocks && r_hi - r_lo > kernels::kF16TileMaxRows;
        if ((spans_16 || q8_spans) && whole(b) && !many_bf16) {
            // A span of whole F16, BF16 or Q8_0 tiles on which the same rows
            // stay (a decoding token's whole range but its last block; the blocks
            // before a prefill run). With steps, only the blocks of partial
            // steps come here, one at a time.
            int64_t count = 0;
            for (;;) {
                add_tile(count++, b);
                const int64_t next = (b + 1) * bt;
                if (stepped || count == kSpanTiles || b + 1 >= end_block || !whole(b + 1) ||
                    s.last[static_cast<size_t>(r_lo)] < next ||
                    (r_hi < rows && s.first[static_cast<size_t>(r_hi)] <= next + bt - 1))
                    break;
                ++b;
            }
            if (q8_spans) {
                kernels::attend_q8_span(step, kq_span, vq_span, count);
            } else {
                kernels::attend_span_16(type, step, k_span, v_span, count);
            }
            return b;
        }
        const int32_t block = table[static_cast<size_t>(b)];
        kernels::attend_tiles(type, kv.key_tile(a.layer, block, a.kv_head),
                              kv.value_tile(a.layer, block, a.kv_head),
                              std::min(bt, hi - b * bt + 1), step, s.kt.data(), s.v.data());
        return b;
    };
    int64_t r_lo = 0, r_hi = 0;  // rows reaching into the current block
    for (int64_t b = first_block; b < end_block; ++b) {
        const int64_t p0 = b * bt;
        while (r_lo < rows && s.last[static_cast<size_t>(r_lo)] < p0) ++r_lo;
        while (r_hi < rows && s.first[static_cast<size_t>(r_hi)] <= p0 + bt - 1) ++r_hi;
        if (r_lo >= r_hi) continue;
        const auto [f_lo, f_hi] = stepped ? full_rows(p0 / st) : std::pair<int64_t, int64_t>{};
        if (f_lo >= f_hi) {
            b = attend_rows(b, r_lo, r_hi);
            continue;
        }
        if (r_lo < f_lo) attend_rows(b, r_lo, f_lo);
        if (f_hi < r_hi) attend_rows(b, f_hi, r_hi);
    }

    for (int64_t i = 0; i < qs.n_tokens; ++i) {
        for (int64_t g = 0; g < a.group; ++g) {
            const auto row = static_cast<size_t>(i * a.group + g);
            const float l = s.l[row];
            const float inv = l > 0.0f ? 1.0f / l : 0.0f;
            float* dst = out + i * out_stride + g * hd;
            const float* o = &s.o[row * static_cast<size_t>(hd)];
            for (int64_t d = 0; d < hd; ++d) dst[d] = o[d] * inv;
            if (lse != nullptr)
                lse[i * a.group + g] = l > 0.0f ? s.m[row] + std::log(l) : -INFINITY;
        }
    }
}

void merge_attention(const float* parts, const float* lse, int64_t n_parts, int64_t group,
                     int64_t head_dim, float* out) {
    for (int64_t h = 0; h < group; ++h) {
        // Part c's share of the whole normaliser is exp(lse_c - L), L = log of
        // the total; subtracting the largest lse first keeps exp in range.
        float top = lse[h];
        for (int64_t c = 1; c < n_parts; ++c) top = std::max(top, lse[c * group + h]);
        float* o = out + h * head_dim;
        std::fill(o, o + head_dim, 0.0f);
        if (top == -INFINITY) continue;  // no part attended anything
        float total = 0.0f;
        for (int64_t c = 0; c < n_parts; ++c) total += std::exp(lse[c * group + h] - top);
        for (int64_t c = 0; c < n_parts; ++c) {
            const float w = std::exp(lse[c * group + h] - top) / total;
            kernels::axpy_f32(w, parts + (c * group + h) * head_dim, o, head_dim);
        }
    }
}

}  // namespace pensieve::model
