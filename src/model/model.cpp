// Loading a model: map, read hyper-parameters, bind weights, and warn about
// tensors the forward pass will not read (a family feature we lack would
// otherwise change the output without a word).
#include "model/model.hpp"

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "model/gpu_offload.hpp"

namespace pensieve::model {

Model::Model(gguf::GgufFile file) : file_(std::move(file)), hp_(read_hparams(file_)) {
    weights_ = bind_weights(file_, hp_);
    const std::vector<std::string>& unused = weights_.unused_tensors;
    if (unused.empty()) return;
    constexpr size_t kNamed = 8;
    std::string names;
    for (size_t i = 0; i < unused.size() && i < kNamed; ++i) {
        names += (i ? ", " : "") + unused[i];
    }
    if (unused.size() > kNamed)
        names += ", and " + std::to_string(unused.size() - kNamed) + " more";
    std::fprintf(stderr,
                 "warning: %zu tensor(s) of this %s model are not used by the forward pass: %s\n",
                 unused.size(), hp_.arch.c_str(), names.c_str());
}

namespace {

std::string size_text(uint64_t bytes) {
    char out[32];
    std::snprintf(out, sizeof out, "%.1f GiB", static_cast<double>(bytes) / (1u << 30));
    return out;
}

std::string memlock_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_MEMLOCK, &lim) != 0) return "unknown";
    if (lim.rlim_cur == RLIM_INFINITY) return "unlimited";
    return std::to_string(lim.rlim_cur / 1024) + " KiB";
}

using Range = std::pair<const uint8_t*, const uint8_t*>;

// Tensor byte ranges, merged where only alignment padding separates them: one
// range per run of tensors, never across two mappings (the parts of a split
// model are separate mappings).
std::vector<Range> tensor_ranges(const gguf::GgufFile& file) {
    std::vector<Range> ranges;
    for (const gguf::TensorInfo& t : file.tensors())
        ranges.emplace_back(t.data, t.data + t.n_bytes);
    std::sort(ranges.begin(), ranges.end());
    std::vector<Range> merged;
    for (const Range& r : ranges) {
        if (!merged.empty() && r.first <= merged.back().second + file.alignment()) {
            merged.back().second = std::max(merged.back().second, r.second);
        } else {
            merged.push_back(r);
        }
    }
    return merged;
}

}  // namespace

Model::~Model() = default;

void Model::offload_to_gpu(int device, int64_t layers) {
    gpu_ = std::make_unique<GpuOffload>(weights_, hp_, device, layers);
}

uint64_t Model::page_in() const {
    uint64_t bytes = 0;
    for (const auto& [begin, end] : tensor_ranges(file_)) {
        bytes += static_cast<uint64_t>(end - begin);
        // Faulted as a first read would (through the mapping's huge-page
        // advice); by touch only where the kernel predates
        // MADV_POPULATE_READ (Linux 5.14: EINVAL). Any other refusal (a
        // file cut short under the mapping: EFAULT) leaves the pages to be
        // read when used, since a touch there would raise SIGBUS.
        const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
        const auto from = reinterpret_cast<uintptr_t>(begin) / page * page;
        if (::madvise(reinterpret_cast<void*>(from), reinterpret_cast<uintptr_t>(end) - from,
                      MADV_POPULATE_READ) == 0 ||
            errno != EINVAL) {
            continue;
        }
        for (uintptr_t at = from; at < reinterpret_cast<uintptr_t>(end); at += page) {
            static_cast<void>(*reinterpret_cast<const volatile uint8_t*>(
                std::max(at, reinterpret_cast<uintptr_t>(begin))));
        }
    }
    return bytes;
}

uint64_t Model::lock_in_memory() const {
    const std::vector<Range> merged = tensor_ranges(file_);
    uint64_t locked = 0;
    for (const auto& [begin, end] : merged) {
        const auto bytes = static_cast<size_t>(end - begin);
        // The system call itself: sanitizer runtimes replace mlock() with a
        // no-op that always succeeds, which would hide a refusal in tests.
        if (::syscall(SYS_mlock, begin, bytes) != 0) {
            const int err = errno;
            uint64_t total = 0;
            for (const auto& [b, e] : merged) total += static_cast<uint64_t>(e - b);
            // Keep nothing half-locked.
            for (const auto& [b, e] : merged) {
                if (b == begin) break;
                ::syscall(SYS_munlock, b, static_cast<size_t>(e - b));
            }
            throw ModelError("--mlock: locking the " + size_text(total) +
                             " of weights in RAM failed (" + std::strerror(err) +
                             "); RLIMIT_MEMLOCK is " + memlock_limit() +
                             ": raise it (ulimit -l unlimited, or LimitMEMLOCK=infinity for a "
                             "systemd service) or run without --mlock");
        }
        locked += bytes;
    }
    return locked;
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& path) {
    return std::unique_ptr<Model>(new Model(gguf::GgufFile::open_model(path)));
}

}  // namespace pensieve::model
