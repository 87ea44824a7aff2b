// Tiled, threaded matmul over the traits table (see matmul.hpp).
#include "kernels/matmul.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>

#include "kernels/dispatch.hpp"

namespace pensieve::kernels {
namespace {

// Weight rows per task. Small enough that b = 1 splits a 4096-row matrix into
// 256 tasks (good balance on any thread count), large enough that the shared
// task counter is touched rarely.
constexpr int64_t kTileRows = 16;

// Activation rows dotted against one weight tile before moving to the next
// chunk: bounds the activations touched per tile to what L2 holds.
constexpr int64_t kActChunk = 64;

constexpr size_t kAlign = 64;

// Weight bytes (times activation rows) below which packed tiles are grouped
// into one task (see matmul_packed): some µs of work per task.
constexpr size_t kMinTaskBytes = size_t{64} << 10;
// The same for b <= kMaxStreamBatch, whose kernels stream the weights from
// memory (each read once, used for a few activation rows): each task is a
// contiguous run that the kernels' software prefetch follows from row to row
// (it restarts cold at every task), so tasks are larger. Measured on a 1 GB
// GEMV set, 2 threads, Q4_1: 64 KiB 17.1, 1 MiB 20.3 GB/s; 4 MiB was worse
// (fewer tasks balance less well).
constexpr size_t kMinStreamTaskBytes = size_t{1} << 20;
constexpr int64_t kMaxStreamBatch = 4;

size_t round_up(size_t v, size_t a) {
    return (v + a - 1) / a * a;
}

// The ISA's packed path (see PackedGemm): activation rows packed once, then
// tiles of kPackedTileRows weight rows across threads, each unpacked into
// its thread's slice of the scratch and dotted with every activation row.
void matmul_packed(ThreadPool& pool, const PackedGemm& packed, const WeightMatrix& w,
                   const float* x, int64_t b, float* y, MatmulScratch& scratch, int64_t x_stride,
                   int64_t y_stride) {
    // Activations: one packed row each, or groups of kPackedActGroup rows.
    const bool grouped = packed.pack_group != nullptr;
    const int64_t act_units = grouped ? (b + kPackedActGroup - 1) / kPackedActGroup : b;
    const size_t act_stride = round_up(packed.act_bytes(w.k), kAlign);
    const size_t work_stride = round_up(packed.work_bytes(w.k), kAlign);
    auto* buf = static_cast<char*>(scratch.reserve(act_stride * static_cast<size_t>(act_units) +
                                                   work_stride * static_cast<size_t>(pool.size())));
    char* work = buf + act_stride * static_cast<size_t>(act_units);
    pool.parallel_for(act_units, [&](int64_t unit, int) {
        char* dst = buf + static_cast<size_t>(unit) * act_stride;
        if (grouped) {
            const int64_t row = unit * kPackedActGroup;
            packed.pack_group(x + row * x_stride, x_stride, std::min(kPackedActGroup, b - row), dst,
                              w.k);
        } else {
            packed.pack_act(x + unit * x_stride, dst, w.k);
        }
    });
    const PackedGemmArgs args{w.data, w.row_stride, w.k, buf, act_stride, b, y, y_stride};
    // Consecutive tiles per task: small matmuls (decode of a small model:
    // ~200 KB of weights, a few µs) would otherwise pay a contended
    // compare-exchange per 16-row tile, a cache-line trip between cores each
    // time; keep two or more tasks per thread so uneven cores still balance.
    const int64_t n_tiles = (w.n + kPackedTileRows - 1) / kPackedTileRows;
    const size_t tile_bytes = static_cast<size_t>(kPackedTileRows) * w.row_stride;
    const int64_t by_size = std::max<int64_t>(
        1, static_cast<int64_t>((b <= kMaxStreamBatch ? kMinStreamTaskBytes : kMinTaskBytes) /
                                (tile_bytes * static_cast<size_t>(b))));
    const int64_t by_balance = std::max<int64_t>(1, n_tiles / (2 * pool.size()));
    const int64_t per_task = packed.long_runs ? by_balance : std::min(by_size, by_balance);
    pool.parallel_for((n_tiles + per_task - 1) / per_task, [&](int64_t task, int thread) {
        void* tile_work = work + static_cast<size_t>(thread) * work_stride;
        const int64_t t1 = std::min(n_tiles, (task + 1) * per_task);
        for (int64_t t = task * per_task; t < t1; ++t) {
            const int64_t r0 = t * kPackedTileRows;
            packed.tile(args, r0, std::min(w.n, r0 + kPackedTileRows), tile_work);
        }
    });
}

}  // namespace

void MatmulScratch::Free::operator()(void* p) const {
    ::operator delete (p, std::align_val_t{kAlign});
}

void* MatmulScratch::reserve(size_t bytes) {
    if (bytes > capacity_) {
        const size_t cap = round_up(std::max(bytes, capacity_ * 3 / 2), kAlign);
        buf_.reset(::operator new (cap, std::align_val_t{kAlign}));
        capacity_ = cap;
    }
    return buf_.get();
}

void quantize_row(TensorType type, const float* x, void* dst, int64_t k) {
    traits(type).quantize_row(x, dst, k);
}

void matmul(ThreadPool& pool, const WeightMatrix& w, const float* x, int64_t b, float* y,
            MatmulScratch& scratch, int64_t x_stride, int64_t y_stride) {
    const TypeTraits& t = traits(w.type);
    if (t.vec_dot == nullptr || w.k % t.block_elems != 0) {
        throw std::invalid_argument(std::string("matmul: unsupported weight type ") + t.name +
                                    " or k " + std::to_string(w.k));
    }
    if (b <= 0 || w.n <= 0) return;
    if (x_stride == 0) x_stride = w.k;
    if (y_stride == 0) y_stride = w.n;

    const KernelTable& table = active_table();
    const PackedGemm& large = table.packed_large[static_cast<uint32_t>(w.type)];
    if (large.tile != nullptr && b >= large.min_batch) {
        matmul_packed(pool, large, w, x, b, y, scratch, x_stride, y_stride);
        return;
    }
    const PackedGemm& packed = table.packed[static_cast<uint32_t>(w.type)];
    if (packed.tile != nullptr && b >= packed.min_batch) {
        matmul_packed(pool, packed, w, x, b, y, scratch, x_stride, y_stride);
        return;
    }

    // 1. Activation rows in the format vec_dot wants.
    const void* act = x;
    size_t act_stride = static_cast<size_t>(x_stride) * sizeof(float);
    if (t.vec_dot_type != TensorType::F32) {
        const TypeTraits& at = traits(t.vec_dot_type);
        act_stride = round_up(row_bytes(at, w.k), kAlign);
        char* q = static_cast<char*>(scratch.reserve(act_stride * static_cast<size_t>(b)));
        pool.parallel_for(b, [&](int64_t row, int) {
            at.quantize_row(x + row * x_stride, q + static_cast<size_t>(row) * act_stride, w.k);
        });
        act = q;
    }

    // 2. Weight tiles across threads; within a tile, activation chunks, then
    // weight rows, then groups of kMaxDotRows activation rows per vec_dot.
    const int64_t n_tiles = (w.n + kTileRows - 1) / kTileRows;
    const auto* wbase = static_cast<const char*>(w.data);
    const auto* abase = static_cast<const char*>(act);
    pool.parallel_for(n_tiles, [&](int64_t tile, int) {
        const int64_t r0 = tile * kTileRows;
        const int64_t r1 = std::min(w.n, r0 + kTileRows);
        float out[kMaxDotRows];
        for (int64_t c0 = 0; c0 < b; c0 += kActChunk) {
            const int64_t c1 = std::min(b, c0 + kActChunk);
            for (int64_t r = r0; r < r1; ++r) {
                const char* wrow = wbase + static_cast<size_t>(r) * w.row_stride;
                for (int64_t c = c0; c < c1; c += kMaxDotRows) {
                    const int count = static_cast<int>(std::min<int64_t>(kMaxDotRows, c1 - c));
                    t.vec_dot(w.k, wrow, abase + static_cast<size_t>(c) * act_stride, act_stride,
                              count, out);
                    for (int j = 0; j < count; ++j) y[(c + j) * y_stride + r] = out[j];
                }
            }
        }
    });
}

}  // namespace pensieve::kernels
