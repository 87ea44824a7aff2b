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
    pool.note_bytes(static_cast<uint64_t>(w.n) * w.row_stride);
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
    pool.note_bytes(static_cast<uint64_t>(w.n) * w.row_stride);
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

namespace pensieve::kernels {
namespace {

// How one job of matmul_many runs, laid out at the front of the scratch
// buffer (so that a call allocates nothing once the scratch has grown).
struct JobPlan {
    const TypeTraits* tr = nullptr;
    const PackedGemm* packed = nullptr;  // null: the vec_dot path
    const void* act = nullptr;           // prepared activations (or x itself for F32 dots)
    size_t act_stride = 0;               // bytes between prepared rows (or groups)
    int64_t act_units = 0;               // rows (or groups) this job prepares; 0: shared or none
    int64_t first_unit = 0;              // in the call's flat list of preparation units
    int64_t n_tiles = 0;                 // of 16 weight rows
    int64_t per_task = 1;                // tiles per task
    int64_t first_task = 0;              // in the call's flat task list
    int64_t x_stride = 0, y_stride = 0;
};

const PackedGemm* packed_path(const KernelTable& table, const WeightMatrix& w, int64_t b) {
    const PackedGemm& large = table.packed_large[static_cast<uint32_t>(w.type)];
    if (large.tile != nullptr && b >= large.min_batch) return &large;
    const PackedGemm& packed = table.packed[static_cast<uint32_t>(w.type)];
    if (packed.tile != nullptr && b >= packed.min_batch) return &packed;
    return nullptr;
}

// Whether jobs a and b prepare the very same activation bytes.
bool same_activations(const MatmulJob& a, const JobPlan& pa, const MatmulJob& b,
                      const JobPlan& pb) {
    if (a.x != b.x || a.b != b.b || a.w->k != b.w->k || pa.x_stride != pb.x_stride) return false;
    if ((pa.packed == nullptr) != (pb.packed == nullptr)) return false;
    if (pa.packed != nullptr) {
        return pa.packed->pack_act == pb.packed->pack_act &&
               pa.packed->pack_group == pb.packed->pack_group &&
               pa.packed->act_bytes == pb.packed->act_bytes;
    }
    return pa.tr->vec_dot_type == pb.tr->vec_dot_type;
}

// The plan whose range [first, first + count) holds index (plans sorted by first).
template <typename First, typename Count>
const JobPlan& plan_of(const JobPlan* plans, size_t n, int64_t index, First first, Count count) {
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        const size_t mid = (lo + hi) / 2;
        if (first(plans[mid]) <= index)
            lo = mid;
        else
            hi = mid;
    }
    while (count(plans[lo]) == 0 || first(plans[lo]) + count(plans[lo]) <= index) --lo;
    return plans[lo];
}

}  // namespace

static_assert(kTileRows == kPackedTileRows, "both paths deal out tiles of the same rows");

void matmul_many(ThreadPool& pool, std::span<const MatmulJob> jobs, MatmulScratch& scratch) {
    if (jobs.empty()) return;
    const KernelTable& table = active_table();
    const size_t n_jobs = jobs.size();
    const size_t plans_bytes = round_up(sizeof(JobPlan) * n_jobs, kAlign);

    // Pass 1: paths and sizes, checked before anything is written.
    size_t act_bytes = 0, work_stride = 0;
    uint64_t weight_bytes = 0;
    for (const MatmulJob& j : jobs) {
        const TypeTraits& t = traits(j.w->type);
        if (t.vec_dot == nullptr || j.w->k % t.block_elems != 0) {
            throw std::invalid_argument(std::string("matmul: unsupported weight type ") + t.name +
                                        " or k " + std::to_string(j.w->k));
        }
        if (j.b <= 0 || j.w->n <= 0) continue;
        weight_bytes += static_cast<uint64_t>(j.w->n) * j.w->row_stride;
        if (const PackedGemm* p = packed_path(table, *j.w, j.b)) {
            const int64_t units =
                p->pack_group != nullptr ? (j.b + kPackedActGroup - 1) / kPackedActGroup : j.b;
            act_bytes += round_up(p->act_bytes(j.w->k), kAlign) * static_cast<size_t>(units);
            work_stride = std::max(work_stride, round_up(p->work_bytes(j.w->k), kAlign));
        } else if (t.vec_dot_type != TensorType::F32) {
            act_bytes += round_up(row_bytes(traits(t.vec_dot_type), j.w->k), kAlign) *
                         static_cast<size_t>(j.b);
        }
    }
    auto* buf = static_cast<char*>(
        scratch.reserve(plans_bytes + act_bytes + work_stride * static_cast<size_t>(pool.size())));
    auto* plans = reinterpret_cast<JobPlan*>(buf);
    char* act_next = buf + plans_bytes;
    char* work = buf + plans_bytes + act_bytes;

    // Pass 2: the plans, with shared activations pointing at their first owner.
    int64_t units = 0, tasks = 0;
    for (size_t i = 0; i < n_jobs; ++i) {
        const MatmulJob& j = jobs[i];
        JobPlan& p = *new (&plans[i]) JobPlan{};
        p.tr = &traits(j.w->type);
        p.x_stride = j.x_stride != 0 ? j.x_stride : j.w->k;
        p.y_stride = j.y_stride != 0 ? j.y_stride : j.w->n;
        p.first_unit = units;
        p.first_task = tasks;
        if (j.b <= 0 || j.w->n <= 0) continue;
        p.packed = packed_path(table, *j.w, j.b);
        p.n_tiles = (j.w->n + kTileRows - 1) / kTileRows;
        if (p.packed != nullptr) {
            // Each job's tiles dealt out as matmul() deals them: two or more
            // tasks per thread where it has the tiles. (Runs of a quarter of
            // the whole set's tiles dealt SmolLM2's decoding q, k and v to
            // two threads as 33 and 27 tiles.)
            const int64_t by_balance = std::max<int64_t>(1, p.n_tiles / (2 * pool.size()));
            const size_t tile_bytes = static_cast<size_t>(kPackedTileRows) * j.w->row_stride;
            const int64_t by_size = std::max<int64_t>(
                1, static_cast<int64_t>(
                       (j.b <= kMaxStreamBatch ? kMinStreamTaskBytes : kMinTaskBytes) /
                       (tile_bytes * static_cast<size_t>(j.b))));
            p.per_task = std::min(p.n_tiles,
                                  p.packed->long_runs ? by_balance : std::min(by_size, by_balance));
        }
        tasks += (p.n_tiles + p.per_task - 1) / p.per_task;
        for (size_t o = 0; o < i && p.act == nullptr; ++o) {
            if (plans[o].n_tiles > 0 && same_activations(jobs[o], plans[o], j, p)) {
                p.act = plans[o].act;
                p.act_stride = plans[o].act_stride;
            }
        }
        if (p.act != nullptr) continue;
        if (p.packed != nullptr) {
            const bool grouped = p.packed->pack_group != nullptr;
            p.act_units = grouped ? (j.b + kPackedActGroup - 1) / kPackedActGroup : j.b;
            p.act_stride = round_up(p.packed->act_bytes(j.w->k), kAlign);
        } else if (p.tr->vec_dot_type != TensorType::F32) {
            p.act_units = j.b;
            p.act_stride = round_up(row_bytes(traits(p.tr->vec_dot_type), j.w->k), kAlign);
        } else {  // float weights dot the F32 rows themselves
            p.act = j.x;
            p.act_stride = static_cast<size_t>(p.x_stride) * sizeof(float);
            continue;
        }
        p.act = act_next;
        act_next += p.act_stride * static_cast<size_t>(p.act_units);
        units += p.act_units;
    }

    // Phase 1: every job's activations in one pass.
    pool.parallel_for(units, [&](int64_t u, int) {
        const JobPlan& p = plan_of(
            plans, n_jobs, u, [](const JobPlan& q) { return q.first_unit; },
            [](const JobPlan& q) { return q.act_units; });
        const MatmulJob& j = jobs[static_cast<size_t>(&p - plans)];
        const int64_t unit = u - p.first_unit;
        char* dst =
            static_cast<char*>(const_cast<void*>(p.act)) + static_cast<size_t>(unit) * p.act_stride;
        if (p.packed == nullptr) {
            traits(p.tr->vec_dot_type).quantize_row(j.x + unit * p.x_stride, dst, j.w->k);
        } else if (p.packed->pack_group != nullptr) {
            const int64_t row = unit * kPackedActGroup;
            p.packed->pack_group(j.x + row * p.x_stride, p.x_stride,
                                 std::min(kPackedActGroup, j.b - row), dst, j.w->k);
        } else {
            p.packed->pack_act(j.x + unit * p.x_stride, dst, j.w->k);
        }
    });

    // Phase 2: every job's weight tiles from one task list.
    pool.note_bytes(weight_bytes);
    pool.parallel_for(tasks, [&](int64_t task, int thread) {
        const JobPlan& p = plan_of(
            plans, n_jobs, task, [](const JobPlan& q) { return q.first_task; },
            [](const JobPlan& q) { return (q.n_tiles + q.per_task - 1) / q.per_task; });
        const MatmulJob& j = jobs[static_cast<size_t>(&p - plans)];
        const WeightMatrix& w = *j.w;
        const int64_t t0 = (task - p.first_task) * p.per_task;
        const int64_t t1 = std::min(p.n_tiles, t0 + p.per_task);
        if (p.packed != nullptr) {
            const PackedGemmArgs args{w.data,       w.row_stride, w.k, p.act,
                                      p.act_stride, j.b,          j.y, p.y_stride};
            void* tile_work = work + static_cast<size_t>(thread) * work_stride;
            for (int64_t t = t0; t < t1; ++t) {
                const int64_t r0 = t * kPackedTileRows;
                p.packed->tile(args, r0, std::min(w.n, r0 + kPackedTileRows), tile_work);
            }
            return;
        }
        const auto* wbase = static_cast<const char*>(w.data);
        const auto* abase = static_cast<const char*>(p.act);
        float out[kMaxDotRows];
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t r0 = t * kTileRows, r1 = std::min(w.n, r0 + kTileRows);
            for (int64_t c0 = 0; c0 < j.b; c0 += kActChunk) {
                const int64_t c1 = std::min(j.b, c0 + kActChunk);
                for (int64_t r = r0; r < r1; ++r) {
                    const char* wrow = wbase + static_cast<size_t>(r) * w.row_stride;
                    for (int64_t c = c0; c < c1; c += kMaxDotRows) {
                        const int count = static_cast<int>(std::min<int64_t>(kMaxDotRows, c1 - c));
                        p.tr->vec_dot(w.k, wrow, abase + static_cast<size_t>(c) * p.act_stride,
                                      p.act_stride, count, out);
                        for (int k = 0; k < count; ++k) j.y[(c + k) * p.y_stride + r] = out[k];
                    }
                }
            }
        }
    });
}

}  // namespace pensieve::kernels
