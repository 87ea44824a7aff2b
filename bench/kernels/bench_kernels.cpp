// Kernel benchmarks: memory read bandwidth (the ceiling for decode), GEMV
// (b = 1) in GB/s of weight bytes, on one matrix (in cache when the LLC is
// large) and cycling through matrices that together exceed the LLC
// (BM_GemvCold), batched GEMM in GFLOP/s, and SmolLM2's decode-step matmuls
// at 1..32 sequences (BM_DecodeSmolLM). Each matmul
// benchmark first checks its result against the scalar reference on a few
// rows and reports an error instead of a number if they disagree.
//
// The kernel variant follows PENSIEVE_CPU; thread counts are benchmark args.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels/cpu.hpp"
#include "kernels/dispatch.hpp"
#include "kernels/fp16.hpp"
#include "kernels/kv_tile.hpp"
#include "kernels/matmul.hpp"
#include "kernels/ref/ref.hpp"

namespace {

using namespace pensieve::kernels;

ThreadPool& pool(int threads) {
    static std::map<int, std::unique_ptr<ThreadPool>> pools;
    auto& p = pools[threads];
    if (!p) p = std::make_unique<ThreadPool>(threads);
    return *p;
}

// ---- (a) read bandwidth ----------------------------------------------------

constexpr size_t kStreamBytes = size_t{1} << 30;

const std::vector<uint64_t>& stream_buffer() {
    static const std::vector<uint64_t> buf = [] {
        std::vector<uint64_t> b(kStreamBytes / sizeof(uint64_t));
        for (size_t i = 0; i < b.size(); ++i) b[i] = i;  // touch every page
        return b;
    }();
    return buf;
}

// Sums [p, p + bytes) as `streams` equal parts read side by side, in vectors
// of W bytes with four accumulators. The loads must be as wide as the CPU
// allows: a core keeps a fixed number of misses in flight per instruction
// window, and the 8-byte scalar loop that stood here first measured 10.8 /
// 21.1 GB/s on the 2-core Xeon where 64-byte loads read 14.1 / 28.3.
// streams = 8 with prefetch 1536 bytes ahead is the access pattern of the
// b = 1 kernels (eight interleaved weight rows): a ceiling for them.
template <int W>
struct VectorOf;
template <>
struct VectorOf<16> {
    typedef long long type __attribute__((vector_size(16)));
};
template <>
struct VectorOf<32> {
    typedef long long type __attribute__((vector_size(32)));
};
template <>
struct VectorOf<64> {
    typedef long long type __attribute__((vector_size(64)));
};

template <int W, int kStreams>
__attribute__((always_inline)) inline uint64_t sum_parts(const uint8_t* p, size_t bytes) {
    using V = typename VectorOf<W>::type;
    V a0{}, a1{}, a2{}, a3{}, v0, v1, v2, v3;
    const size_t part = bytes / kStreams;
    for (size_t i = 0; i < part; i += 4 * W) {
        for (int s = 0; s < kStreams; ++s) {
            const uint8_t* q = p + static_cast<size_t>(s) * part + i;
            if constexpr (kStreams > 1) {
                for (int l = 0; l < 4 * W; l += 64) __builtin_prefetch(q + 1536 + l);
            }
            __builtin_memcpy(&v0, q, W);  // unaligned vector loads
            __builtin_memcpy(&v1, q + W, W);
            __builtin_memcpy(&v2, q + 2 * W, W);
            __builtin_memcpy(&v3, q + 3 * W, W);
            a0 += v0;
            a1 += v1;
            a2 += v2;
            a3 += v3;
        }
    }
    const V a = a0 + a1 + a2 + a3;
    uint64_t sum = 0;
    for (int l = 0; l < W / 8; ++l) sum += static_cast<uint64_t>(a[l]);
    return sum;
}

__attribute__((target("avx512f"))) uint64_t sum_avx512(const uint8_t* p, size_t bytes,
                                                       int streams) {
    return streams == 1 ? sum_parts<64, 1>(p, bytes) : sum_parts<64, 8>(p, bytes);
}
__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* p, size_t bytes, int streams) {
    return streams == 1 ? sum_parts<32, 1>(p, bytes) : sum_parts<32, 8>(p, bytes);
}
uint64_t sum_sse2(const uint8_t* p, size_t bytes, int streams) {
    return streams == 1 ? sum_parts<16, 1>(p, bytes) : sum_parts<16, 8>(p, bytes);
}

// Args: threads, streams per thread (1: a STREAM-like sum, the figure the
// GEMV targets are measured against; 8: the GEMV access pattern, prefetched).
void BM_ReadBandwidth(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    const int streams = state.range(1) == 1 ? 1 : 8;
    const auto* base = reinterpret_cast<const uint8_t*>(stream_buffer().data());
    struct Sum {
        uint64_t (*fn)(const uint8_t*, size_t, int);
        int bits;
    };
    const Sum sum = __builtin_cpu_supports("avx512f") ? Sum{sum_avx512, 512}
                    : __builtin_cpu_supports("avx2")  ? Sum{sum_avx2, 256}
                                                      : Sum{sum_sse2, 128};
    constexpr int64_t kChunks = 256;
    const size_t per_chunk = kStreamBytes / kChunks;
    std::vector<uint64_t> partial(kChunks);
    for (auto _ : state) {
        pool(threads).parallel_for(kChunks, [&](int64_t c, int) {
            partial[static_cast<size_t>(c)] =
                sum.fn(base + static_cast<size_t>(c) * per_chunk, per_chunk, streams);
        });
        benchmark::DoNotOptimize(partial.data());
    }
    state.counters["GB/s"] = benchmark::Counter(static_cast<double>(kStreamBytes) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::to_string(sum.bits) + "-bit loads");
}
BENCHMARK(BM_ReadBandwidth)
    ->ArgsProduct({{1, 2}, {1, 8}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// ---- matmul fixtures -------------------------------------------------------

constexpr int64_t kN = 11008;  // rows (output features), Llama-7B FFN
constexpr int64_t kK = 4096;   // columns (input features)

struct Weights {
    std::vector<uint8_t> data;
    WeightMatrix matrix;
};

// An n x k matrix of `type`: 64 distinct quantized rows repeated (quantizing
// 45M floats with the reference quantizers would dominate the run time; the
// memory traffic is the same).
const Weights& weights(TensorType type, int64_t n = kN, int64_t k = kK) {
    static std::map<std::tuple<TensorType, int64_t, int64_t>, Weights> cache;
    auto it = cache.find({type, n, k});
    if (it != cache.end()) return it->second;
    const TypeTraits& rt = table_for(Isa::Ref)->types[static_cast<uint32_t>(type)];
    const size_t rb = row_bytes(rt, k);
    std::mt19937 rng(42);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> rows(static_cast<size_t>(64 * k));
    for (float& v : rows) v = normal(rng);
    std::vector<uint8_t> q(64 * rb);
    rt.quantize_row(rows.data(), q.data(), 64 * k);
    Weights w;
    w.data.resize(static_cast<size_t>(n) * rb);
    for (int64_t r = 0; r < n; ++r)
        std::memcpy(w.data.data() + static_cast<size_t>(r) * rb,
                    q.data() + static_cast<size_t>(r % 64) * rb, rb);
    w.matrix = WeightMatrix{type, w.data.data(), n, k, rb};
    return cache.emplace(std::tuple{type, n, k}, std::move(w)).first->second;
}

std::vector<float> activations(int64_t b, int64_t k = kK) {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(b * k));
    for (float& v : x) v = normal(rng);
    return x;
}

// Whether matmul takes the BF16-product packed path (F16 / BF16 weights).
bool bf16_products(TensorType type, int64_t b) {
    const PackedGemm& p = active_table().packed_large[static_cast<uint32_t>(type)];
    return (type == TensorType::F16 || type == TensorType::BF16) && p.tile != nullptr &&
           b >= p.min_batch && cpu_features().bf16_products_fast;
}

// That path against its own scalar reference (same BF16 roundings).
bool verify_bf16(const WeightMatrix& w, const std::vector<float>& x, int64_t b,
                 const std::vector<float>& y) {
    for (int64_t i : {int64_t{0}, b - 1}) {
        for (int64_t r : {int64_t{0}, int64_t{1}, w.n / 2, w.n - 1}) {
            const auto* wrow = reinterpret_cast<const uint16_t*>(
                static_cast<const char*>(w.data) + static_cast<size_t>(r) * w.row_stride);
            const float want = ref::dot_bf16(w.type, wrow, x.data() + i * w.k, w.k);
            double mag = 0.0;
            for (int64_t e = 0; e < w.k; ++e) {
                const float wv =
                    w.type == TensorType::BF16 ? bf16_to_fp32(wrow[e]) : fp16_to_fp32(wrow[e]);
                mag += std::fabs(static_cast<double>(wv) *
                                 static_cast<double>(x[static_cast<size_t>(i * w.k + e)]));
            }
            if (std::fabs(static_cast<double>(y[static_cast<size_t>(i * w.n + r)] - want)) >
                1e-5 * mag + 1e-6)
                return false;
        }
    }
    return true;
}

// Checks a few output rows against the scalar reference dot products.
bool verify(const WeightMatrix& w, const std::vector<float>& x, int64_t b,
            const std::vector<float>& y) {
    if (bf16_products(w.type, b)) return verify_bf16(w, x, b, y);
    const TypeTraits& rt = table_for(Isa::Ref)->types[static_cast<uint32_t>(w.type)];
    const TypeTraits& at = table_for(Isa::Ref)->types[static_cast<uint32_t>(rt.vec_dot_type)];
    std::vector<uint8_t> act(row_bytes(at, w.k));
    std::vector<float> wd(static_cast<size_t>(w.k));
    for (int64_t i : {int64_t{0}, b - 1}) {
        at.quantize_row(x.data() + i * w.k, act.data(), w.k);
        for (int64_t r : {int64_t{0}, int64_t{1}, w.n / 2, w.n - 1}) {
            const void* wrow =
                static_cast<const char*>(w.data) + static_cast<size_t>(r) * w.row_stride;
            float want = 0.0f;
            rt.vec_dot(w.k, wrow, act.data(), 0, 1, &want);
            rt.dequantize_row(wrow, wd.data(), w.k);
            double mag = 0.0;
            for (int64_t e = 0; e < w.k; ++e)
                mag += std::fabs(static_cast<double>(wd[static_cast<size_t>(e)] *
                                                     x[static_cast<size_t>(i * w.k + e)]));
            if (std::fabs(static_cast<double>(y[static_cast<size_t>(i * w.n + r)] - want)) >
                1e-4 * mag + 1e-6)
                return false;
        }
    }
    return true;
}

void run_matmul(benchmark::State& state, TensorType type, int64_t b, int threads, int64_t n = kN,
                int64_t k = kK) {
    const Weights& w = weights(type, n, k);
    const std::vector<float> x = activations(b, k);
    std::vector<float> y(static_cast<size_t>(b * n));
    MatmulScratch scratch;
    matmul(pool(threads), w.matrix, x.data(), b, y.data(), scratch);
    if (!verify(w.matrix, x, b, y)) {
        state.SkipWithError("result differs from the scalar reference");
        return;
    }
    for (auto _ : state) {
        matmul(pool(threads), w.matrix, x.data(), b, y.data(), scratch);
        benchmark::ClobberMemory();
    }
    const double bytes = static_cast<double>(w.data.size());
    const double flops =
        2.0 * static_cast<double>(n) * static_cast<double>(k) * static_cast<double>(b);
    state.counters["GB/s"] =
        benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["GFLOP/s"] =
        benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["tok/s"] =
        benchmark::Counter(static_cast<double>(b), benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::string(table_for(active_isa())->types[static_cast<uint32_t>(type)].name) +
                   " " + std::string(isa_name(active_isa())));
}

// ---- (b) GEMV, (c) GEMM ----------------------------------------------------

void BM_Gemv(benchmark::State& state) {
    run_matmul(state, static_cast<TensorType>(state.range(0)), 1, static_cast<int>(state.range(1)));
}

void BM_Gemm(benchmark::State& state) {
    run_matmul(state, static_cast<TensorType>(state.range(0)), state.range(2),
               static_cast<int>(state.range(1)));
}

// GEMV on weights that cannot be in the last-level cache: several distinct
// kN x kK matrices laid end to end in one buffer of at least twice the LLC
// (detected at run time; at most kColdCapBytes), one matrix per iteration in
// turn, so every iteration streams its weights from memory. The in-cache
// BM_Gemv above repeats one matrix and, with a large LLC, measures the cache.
constexpr size_t kColdCapBytes = size_t{2} << 30;

size_t llc_bytes() {
    const long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
    return v > 0 ? static_cast<size_t>(v) : size_t{64} << 20;
}

struct ColdWeights {
    TensorType type = TensorType::F32;
    std::vector<uint8_t> data;  // `count` matrices of kN rows
    size_t matrix_bytes = 0;
    int64_t count = 0;
};

// One shape at a time (the buffer is ~1 GB): rebuilt when the type or the
// shape changes.
const ColdWeights& cold_weights(TensorType type, int64_t n, int64_t k) {
    static ColdWeights cold;
    static std::pair<int64_t, int64_t> shape;
    if (cold.count > 0 && cold.type == type && shape == std::pair{n, k}) return cold;
    const Weights& one = weights(type, n, k);
    cold.type = type;
    shape = {n, k};
    cold.matrix_bytes = one.data.size();
    const size_t want = std::min(2 * llc_bytes() + cold.matrix_bytes, kColdCapBytes);
    cold.count = std::max<int64_t>(2, static_cast<int64_t>(want / cold.matrix_bytes));
    cold.data.assign(cold.matrix_bytes * static_cast<size_t>(cold.count), 0);
    for (int64_t m = 0; m < cold.count; ++m)
        std::memcpy(cold.data.data() + static_cast<size_t>(m) * cold.matrix_bytes, one.data.data(),
                    cold.matrix_bytes);
    return cold;
}

void run_gemv_cold(benchmark::State& state, TensorType type, int threads, int64_t n, int64_t k) {
    const ColdWeights& cold = cold_weights(type, n, k);
    WeightMatrix w = weights(type, n, k).matrix;
    const std::vector<float> x = activations(1, k);
    std::vector<float> y(static_cast<size_t>(n));
    MatmulScratch scratch;
    matmul(pool(threads), w, x.data(), 1, y.data(), scratch);
    if (!verify(w, x, 1, y)) {
        state.SkipWithError("result differs from the scalar reference");
        return;
    }
    int64_t m = 0;
    for (auto _ : state) {
        w.data = cold.data.data() + static_cast<size_t>(m) * cold.matrix_bytes;
        m = m + 1 == cold.count ? 0 : m + 1;
        matmul(pool(threads), w, x.data(), 1, y.data(), scratch);
        benchmark::ClobberMemory();
    }
    state.counters["GB/s"] = benchmark::Counter(static_cast<double>(cold.matrix_bytes) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
    state.counters["MiB_set"] =
        static_cast<double>(cold.matrix_bytes * static_cast<size_t>(cold.count)) / (1 << 20);
    state.SetLabel(std::string(table_for(active_isa())->types[static_cast<uint32_t>(type)].name) +
                   " " + std::string(isa_name(active_isa())));
}

void BM_GemvCold(benchmark::State& state) {
    run_gemv_cold(state, static_cast<TensorType>(state.range(0)), static_cast<int>(state.range(1)),
                  kN, kK);
}

// The same on the short rows of Gemma 3 1B (k = 1152: its FFN gate / up and
// the 262k-row output) and on the long rows of an 8B's FFN down (k = 14336),
// 2 threads. Args: type, threads, n, k.
void BM_GemvColdShape(benchmark::State& state) {
    run_gemv_cold(state, static_cast<TensorType>(state.range(0)), static_cast<int>(state.range(1)),
                  state.range(2), state.range(3));
}

void gemv_cold_shape_args(benchmark::internal::Benchmark* bm) {
    for (TensorType t : {TensorType::Q8_0, TensorType::Q5_0, TensorType::Q4_K, TensorType::Q6_K}) {
        for (auto [n, k] : {std::pair<int64_t, int64_t>{6912, 1152}, {8192, 2048}, {4096, 14336}}) {
            if (k % 256 != 0 && (t == TensorType::Q4_K || t == TensorType::Q6_K)) continue;
            bm->Args({static_cast<int64_t>(t), 2, n, k});
        }
    }
}

// The matrices of SmolLM2-135M's decode step (n x k): q/o, k/v, gate/up,
// down, and the tied output embedding. Per-call overheads show up here. In
// Q8_0 also two matrices of the output's 30 MB with longer rows (Gemma 3
// 1B's k = 1152, and k = 4096): how the GEMV streams short rows against
// long ones from the same amount of memory.
void BM_GemvSmall(benchmark::State& state) {
    run_matmul(state, static_cast<TensorType>(state.range(0)), 1, static_cast<int>(state.range(1)),
               state.range(2), state.range(3));
}

void gemv_small_args(benchmark::internal::Benchmark* bm) {
    for (TensorType t : {TensorType::Q4_1, TensorType::Q8_0}) {
        for (int threads : {1, 2}) {
            for (auto [n, k] : {std::pair<int64_t, int64_t>{576, 576},
                                {192, 576},
                                {1536, 576},
                                {576, 1536},
                                {49152, 576},
                                {24576, 1152},
                                {6912, 4096}}) {
                // Q4_1: SmolLM2's five; Q8_0: the three of the output's size.
                const bool output_sized = n * k == 49152 * 576;
                if (t == TensorType::Q8_0 ? !output_sized : output_sized && k != 576) continue;
                bm->Args({static_cast<int64_t>(t), threads, n, k});
            }
        }
    }
}

// b = 1 on a 1024 x 1024 and a 256 x 4096 matrix (at most 1.1 MB in any
// format), one thread: their weights stay in L2, so this is the GEMV's own compute ceiling per core
// in GB/s of weights, the rate past which more memory bandwidth no longer
// speeds decode up.
void BM_GemvInCache(benchmark::State& state) {
    run_matmul(state, static_cast<TensorType>(state.range(0)), 1, 1, state.range(1),
               state.range(2));
}

void gemv_in_cache_args(benchmark::internal::Benchmark* bm) {
    for (TensorType t : {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q8_0,
                         TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::F16}) {
        for (auto [n, k] : {std::pair<int64_t, int64_t>{1024, 1024}, {256, 4096}})
            bm->Args({static_cast<int64_t>(t), n, k});
    }
}

// One decode step of SmolLM2-135M's matmuls (30 layers of Q4_1 q/k/v/o and
// gate/up/down, then the 49152-row Q8_0 output): ~96 MB of distinct weights
// per token, so they stream from the last-level cache or memory as in the
// engine, unlike the single-matrix benchmarks. The second argument is the
// number of sequences decoded together (the batch of every matmul); reports
// aggregate tok/s of the matmuls alone (no attention, norms or sampling).
void BM_DecodeSmolLM(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    const int64_t b = state.range(1);
    struct Shape {
        int64_t n, k;
    };
    static const std::vector<Weights> mats = [] {
        const Shape layer[] = {{576, 576},  {192, 576},  {192, 576}, {576, 576},
                               {1536, 576}, {1536, 576}, {576, 1536}};
        std::vector<Weights> m;
        for (int l = 0; l < 30; ++l) {
            for (const Shape& sh : layer) {
                const Weights& src = weights(TensorType::Q4_1, sh.n, sh.k);
                Weights w;
                w.data = src.data;  // a copy: every layer has its own bytes
                w.matrix = src.matrix;
                w.matrix.data = w.data.data();
                m.push_back(std::move(w));
            }
        }
        const Weights& out = weights(TensorType::Q8_0, 49152, 576);
        Weights w;
        w.data = out.data;
        w.matrix = out.matrix;
        w.matrix.data = w.data.data();
        m.push_back(std::move(w));
        return m;
    }();
    const std::vector<float> x = activations(b, 1536);
    std::vector<float> y(static_cast<size_t>(b * 49152));
    MatmulScratch scratch;
    for (auto _ : state) {
        for (const Weights& w : mats)
            matmul(pool(threads), w.matrix, x.data(), b, y.data(), scratch, 1536, w.matrix.n);
        benchmark::ClobberMemory();
    }
    state.counters["tok/s"] =
        benchmark::Counter(static_cast<double>(b), benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(std::string(isa_name(active_isa())));
}
BENCHMARK(BM_DecodeSmolLM)
    ->ArgsProduct({{1, 2}, {1, 4, 8, 16, 32}})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void gemv_args(benchmark::internal::Benchmark* bm) {
    for (TensorType t : {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q8_0, TensorType::Q4_K,
                         TensorType::Q6_K, TensorType::Q5_0, TensorType::F16}) {
        for (int threads : {1, 2}) bm->Args({static_cast<int64_t>(t), threads});
    }
}

void gemm_args(benchmark::internal::Benchmark* bm) {
    for (TensorType t : {TensorType::Q4_K, TensorType::Q6_K, TensorType::Q4_0, TensorType::Q8_0}) {
        for (int threads : {1, 2}) {
            for (int64_t b : {1, 4, 16, 64, 256}) bm->Args({static_cast<int64_t>(t), threads, b});
        }
    }
}

// Prefill shapes of a Llama-3.2-1B-sized model (b = 256 tokens, one thread,
// CPU time: the machine these run on is shared): FFN gate/up (8192 x 2048)
// and down (2048 x 8192), in the formats the K-quant mixes put there.
void BM_GemmShape(benchmark::State& state) {
    run_matmul(state, static_cast<TensorType>(state.range(0)), state.range(3), 1, state.range(1),
               state.range(2));
}

void gemm_shape_args(benchmark::internal::Benchmark* bm) {
    for (TensorType t : {TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K, TensorType::Q8_0,
                         TensorType::Q5_0}) {
        for (auto [n, k] : {std::pair<int64_t, int64_t>{8192, 2048}, {2048, 8192}})
            bm->Args({static_cast<int64_t>(t), n, k, 256});
    }
}

BENCHMARK(BM_Gemv)->Apply(gemv_args)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemvCold)->Apply(gemv_args)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemvColdShape)
    ->Apply(gemv_cold_shape_args)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemvSmall)->Apply(gemv_small_args)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GemvInCache)->Apply(gemv_in_cache_args)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gemm)->Apply(gemm_args)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GemmShape)->Apply(gemm_shape_args)->Unit(benchmark::kMillisecond);

// F16 / BF16 weights (the BF16-product packed path where the CPU has it) on
// SmolLM2-135M's FFN up shape and a Llama-3.2-1B one. Args: type, threads,
// b, n, k.
void BM_GemmFloat(benchmark::State& state) {
    run_matmul(state, static_cast<TensorType>(state.range(0)), state.range(2),
               static_cast<int>(state.range(1)), state.range(3), state.range(4));
}

void gemm_float_args(benchmark::internal::Benchmark* bm) {
    for (TensorType t : {TensorType::F16, TensorType::BF16}) {
        for (auto [n, k] : {std::pair<int64_t, int64_t>{1536, 576}, {8192, 2048}}) {
            for (int threads : {1, 2}) {
                for (int64_t b : {2, 4, 8, 16, 64, 256})
                    bm->Args({static_cast<int64_t>(t), threads, b, n, k});
            }
        }
    }
}

BENCHMARK(BM_GemmFloat)->Apply(gemm_float_args)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

// One 16-position block of attention (kernels::attend_block) for `rows`
// query rows, the tiles in L1: the compute bound of prefill attention, per
// instruction set. FLOPs: q·k and p·v, 2 · 2 · rows · 16 · head_dim.
// The last argument is an Isa, or kBf16 for the BF16-product form of the
// best table.
constexpr int64_t kBf16 = 100;
void BM_AttendBlock(benchmark::State& state) {
    const int64_t rows = state.range(0), hd = state.range(1);
    const bool bf16 = state.range(2) == kBf16;
    const auto isa = bf16 ? best_isa() : static_cast<Isa>(state.range(2));
    const KernelTable* table = table_for(isa);
    const auto attend = bf16 ? table->ops.attend_block_bf16 : table->ops.attend_block;
    if (table == nullptr || attend == nullptr) {
        state.SkipWithError("this CPU cannot run the variant");
        return;
    }
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    auto fill = [&](size_t n) {
        std::vector<float> v(n);
        for (float& x : v) x = normal(rng);
        return v;
    };
    const std::vector<float> q = fill(static_cast<size_t>(rows * hd));
    const std::vector<float> kt = fill(static_cast<size_t>(16 * hd));
    const std::vector<float> v = fill(static_cast<size_t>(16 * hd));
    std::vector<int32_t> first(static_cast<size_t>(rows), 0),
        last(static_cast<size_t>(rows), 1 << 30);
    std::vector<float> m(static_cast<size_t>(rows), 0.0f), l(m.size(), 1.0f);
    std::vector<float> o(static_cast<size_t>(rows * hd), 0.0f);
    std::vector<uint16_t> qb(q.size());
    for (size_t i = 0; i < q.size(); ++i) qb[i] = fp32_to_bf16(q[i]);
    for (auto _ : state) {
        attend({q.data(), rows, hd, kt.data(), v.data(), 0, first.data(), last.data(), 0.125f,
                m.data(), l.data(), o.data(), qb.data()});
        benchmark::DoNotOptimize(o.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(
        static_cast<double>(4 * rows * 16 * hd) * static_cast<double>(state.iterations()) / 1e9,
        benchmark::Counter::kIsRate);
    state.SetLabel(std::string(isa_name(isa)) + (bf16 ? " bf16" : ""));
}
BENCHMARK(BM_AttendBlock)
    ->ArgsProduct({{3, 96},
                   {64, 256},
                   {static_cast<int64_t>(Isa::Ref), static_cast<int64_t>(Isa::Avx2),
                    static_cast<int64_t>(Isa::Avx512), kBf16}})
    ->Unit(benchmark::kMicrosecond);

// A span of n whole F16 tiles (as the KV cache stores them) attended by
// `rows` query rows, the way prefill at depth and decode attend their
// earlier positions: kernels::attend_span_16 of F16 tiles with F32 products (mode 0),
// kernels::attend_steps (mode 1: FP16 or BF16 products, where the CPU has
// them), and kernels::attend_q8_span over Q8_0 tiles (mode 2: integer q · k,
// where the CPU has it). 6 tiles stay in L1, 60 in L2.
// FLOPs: q·k and p·v, 2 · 2 · rows · 16 · n · head_dim.
void BM_AttendSpan(benchmark::State& state) {
    const int64_t hd = state.range(0), n = state.range(1), rows = state.range(3);
    const int64_t mode = state.range(2);
    const AttendSteps steps = attend_steps_for(hd);
    if (mode == 1 && steps.tiles == 0) {
        state.SkipWithError("this CPU has no 16-bit attention products for this head size");
        return;
    }
    if (mode == 2 && !q8_span_available(hd)) {
        state.SkipWithError("this CPU has no span form over Q8_0 tiles");
        return;
    }
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    std::vector<float> q(static_cast<size_t>(rows * hd));
    for (float& x : q) x = normal(rng);
    std::vector<uint16_t> qb(q.size());
    for (size_t i = 0; i < q.size(); ++i) qb[i] = fp32_to_bf16(q[i]);
    const size_t tile = static_cast<size_t>(16 * hd);
    std::vector<uint16_t> keys(tile * static_cast<size_t>(n)), values(keys.size());
    for (uint16_t& x : keys) x = fp32_to_fp16(normal(rng));
    for (uint16_t& x : values) x = fp32_to_fp16(normal(rng));
    std::vector<const uint16_t*> kts, vs;
    for (int64_t t = 0; t < n; ++t) {
        kts.push_back(&keys[tile * static_cast<size_t>(t)]);
        vs.push_back(&values[tile * static_cast<size_t>(t)]);
    }
    // The same keys and values as Q8_0 tiles, for mode 2.
    const size_t q8_tile = kv_tile_bytes(TensorType::Q8_0, hd);
    std::vector<uint8_t> keys8(mode == 2 ? q8_tile * static_cast<size_t>(n) : 0),
        values8(keys8.size());
    std::vector<const void*> kts8, vs8;
    if (mode == 2) {
        std::vector<float> row(static_cast<size_t>(hd));
        for (int64_t t = 0; t < n; ++t) {
            uint8_t* k8 = &keys8[q8_tile * static_cast<size_t>(t)];
            uint8_t* v8 = &values8[q8_tile * static_cast<size_t>(t)];
            for (int64_t j = 0; j < 16; ++j) {
                for (float& x : row) x = normal(rng);
                store_key(TensorType::Q8_0, row.data(), hd, k8, j);
                for (float& x : row) x = normal(rng);
                store_value(TensorType::Q8_0, row.data(), hd, v8, j);
            }
            kts8.push_back(k8);
            vs8.push_back(v8);
        }
    }
    std::vector<int32_t> first(static_cast<size_t>(rows), 0),
        last(static_cast<size_t>(rows), 1 << 30);
    std::vector<float> m(static_cast<size_t>(rows), 0.0f), l(m.size(), 1.0f);
    std::vector<float> o(static_cast<size_t>(rows * hd), 0.0f);
    for (auto _ : state) {
        std::fill(m.begin(), m.end(), 0.0f);
        const AttendBlock a{q.data(),
                            rows,
                            hd,
                            nullptr,
                            nullptr,
                            0,
                            first.data(),
                            last.data(),
                            0.125f,
                            m.data(),
                            l.data(),
                            o.data(),
                            mode == 1 && steps.bf16 ? qb.data() : nullptr};
        if (mode == 1)
            attend_steps(a, kts.data(), vs.data(), n);
        else if (mode == 2)
            attend_q8_span(a, kts8.data(), vs8.data(), n);
        else
            attend_span_16(TensorType::F16, a, kts.data(), vs.data(), n);
        benchmark::DoNotOptimize(o.data());
    }
    state.counters["GFLOP/s"] = benchmark::Counter(
        static_cast<double>(4 * rows * 16 * n * hd) * static_cast<double>(state.iterations()) / 1e9,
        benchmark::Counter::kIsRate);
    state.SetLabel(mode == 0 ? "f32" : mode == 2 ? "q8_0" : steps.bf16 ? "bf16" : "fp16");
}
BENCHMARK(BM_AttendSpan)
    ->ArgsProduct({{64, 128}, {6, 60}, {0, 1, 2}, {3, 8, 96}})
    ->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
