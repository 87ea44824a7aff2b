// Y[b×n] = X[b×k] · W[n×k]ᵀ for any weight format and any batch size b.
//
// The activation rows are quantized once to the weight format's activation
// type (Q8_0 / Q8_1 / Q8_K, or used as F32 for float weights), then the
// weight rows are split in tiles across the thread pool. Each tile of weight
// rows is dotted with every activation row while it is hot in cache, and each
// vec_dot call serves up to kMaxDotRows activation rows, so for b > 1 the
// weights come from memory once per call, not once per row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "kernels/thread_pool.hpp"
#include "kernels/traits.hpp"

namespace pensieve::kernels {

// A weight matrix of n rows of k elements, as stored in a GGUF file (row i at
// data + i * row_stride bytes; row_stride is usually row_bytes(traits, k)).
struct WeightMatrix {
    TensorType type = TensorType::F32;
    const void* data = nullptr;
    int64_t n = 0;  // output features (rows)
    int64_t k = 0;  // input features (elements per row; a multiple of the block size)
    size_t row_stride = 0;
};

// Scratch memory for the quantized activations. Owned by the caller (one per
// engine thread), it grows to the largest batch seen and is then reused, so
// steady-state matmuls allocate nothing.
class MatmulScratch {
  public:
    void* reserve(size_t bytes);

  private:
    struct Free {
        void operator()(void* p) const;
    };
    std::unique_ptr<void, Free> buf_;
    size_t capacity_ = 0;
};

// x: [b][k] F32, row stride x_stride elements (k if 0); y: [b][n] F32, row
// stride y_stride elements (n if 0). Throws std::invalid_argument for an
// unsupported type or a k that is not a whole number of blocks.
void matmul(ThreadPool& pool, const WeightMatrix& w, const float* x, int64_t b, float* y,
            MatmulScratch& scratch, int64_t x_stride = 0, int64_t y_stride = 0);

// One matmul of a matmul_many call: y = x · wᵀ over b activation rows, with
// the strides of matmul() (0: dense rows).
struct MatmulJob {
    const WeightMatrix* w = nullptr;
    const float* x = nullptr;
    int64_t b = 0;
    float* y = nullptr;
    int64_t x_stride = 0;
    int64_t y_stride = 0;
};

// Several independent matmuls as one parallel job: every job's activations
// are prepared in one pass over the pool, then every job's weight tiles are
// handed out from one task list, so the pool synchronises twice for the
// whole set instead of twice per matrix (a mixture-of-experts layer runs
// 8-16 small expert matrices per token). Jobs whose x, b and x_stride are
// the same and whose weights take the same activation format share one
// prepared copy. Results equal those of matmul() per job. Throws as
// matmul() does. Measured on the decode experts of a Qwen3-30B-A3B-shaped
// Q4_K_M file (8 of 128 per layer, 1 GB per token, 2 threads, a shared
// host): 11-13% faster than one matmul() per matrix (80 against 91 ms per
// token), 12.5 GB/s against a read bandwidth of 24-27 GB/s measured beside
// it; under heavy load from other processes, 0-4%.
void matmul_many(ThreadPool& pool, std::span<const MatmulJob> jobs, MatmulScratch& scratch);

// Quantizes one F32 activation row of k elements to `type` (the format a
// weight type's vec_dot_type names). For callers that reuse one quantized row
// across several matmuls; matmul() does this itself.
void quantize_row(TensorType type, const float* x, void* dst, int64_t k);

}  // namespace pensieve::kernels
