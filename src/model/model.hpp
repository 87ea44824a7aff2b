// A loaded model: the mapped GGUF file, its hyper-parameters and its bound
// weights, and the GPU that runs some of its matmuls when asked for one.
// Immutable once loaded and offloaded; the forward pass and the KV cache
// hold the per-run state.
#pragma once

#include <filesystem>
#include <memory>

#include "gguf/file.hpp"
#include "model/hparams.hpp"
#include "model/weights.hpp"

namespace pensieve::model {

class GpuOffload;

class Model {
  public:
    // path: a GGUF, or the first part of a split one (every part is mapped).
    // Throws gguf::Error (malformed file) or ModelError (unsupported model).
    static std::unique_ptr<Model> load(const std::filesystem::path& path);

    const gguf::GgufFile& file() const { return file_; }
    const HParams& hparams() const { return hp_; }
    const Weights& weights() const { return weights_; }

    // Locks every tensor's pages of the mapped file(s) in RAM (mlock), so the
    // kernel never drops them from the page cache under memory pressure: a
    // model near the machine's RAM otherwise re-reads dropped pages from disk
    // at every token. Reads the whole file first. Throws ModelError naming
    // RLIMIT_MEMLOCK when the kernel refuses. Returns the bytes locked.
    uint64_t lock_in_memory() const;

    // Reads every tensor's pages of the mapped file(s) into the page cache
    // and maps them, as a first read would (so a model not yet cached comes
    // in as 2 MiB pages, mapped_file.hpp); the kernel may drop them again
    // under memory pressure, unlike lock_in_memory. Returns the tensors' bytes.
    uint64_t page_in() const;

    // Uploads the matmul weights of the first `layers` layers (every one,
    // and the output projection, when negative) to Vulkan device `device`;
    // the forward pass then runs those products there (gpu_offload.hpp).
    // Throws gpu::GpuError when the device cannot be used.
    void offload_to_gpu(int device, int64_t layers);
    const GpuOffload* gpu() const { return gpu_.get(); }

    ~Model();

  private:
    explicit Model(gguf::GgufFile file);
    gguf::GgufFile file_;
    HParams hp_;
    Weights weights_;
    std::unique_ptr<GpuOffload> gpu_;
};

}  // namespace pensieve::model
