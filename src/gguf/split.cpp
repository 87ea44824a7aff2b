// Split GGUFs (llama.cpp's gguf-split layout): a model whose tensors are
// spread over <prefix>-00001-of-0000N.gguf … -0000N-of-0000N.gguf. Every part
// is a whole GGUF of its own with split.no (0-based) and split.count; the
// first also holds the model's metadata and split.tensors.count. Each part is
// parsed and validated like any file, then its tensors join the first's table.
// The parts share one memory limit (Limits::max_parsed_bytes): each is parsed
// within what the first's metadata and the tensor infos joined so far left.
#include <cstdio>
#include <string>

#include "gguf/error.hpp"
#include "gguf/file.hpp"
#include "gguf/mapped_file.hpp"

namespace pensieve::gguf {

namespace {

constexpr int64_t kMaxParts = 99999;  // five digits in the part names

// "<prefix>-<i>-of-<n>.gguf" for part i (1-based) of n, from the first
// part's name; the digits keep the first name's width (at least five).
std::string part_name(const std::string& first, int64_t i, int64_t n) {
    const std::string tail = "-of-";
    const size_t of = first.rfind(tail);
    const size_t dash = of == std::string::npos ? std::string::npos : first.rfind('-', of - 1);
    if (dash == std::string::npos || of == std::string::npos) {
        throw Error("'" + first + "' has split.count " + std::to_string(n) +
                    " but is not named <name>-00001-of-" + std::to_string(n) + ".gguf");
    }
    const size_t width = of - dash - 1;
    char digits[2][32];
    std::snprintf(digits[0], sizeof digits[0], "%0*lld", static_cast<int>(width),
                  static_cast<long long>(i));
    std::snprintf(digits[1], sizeof digits[1], "%0*lld", static_cast<int>(width),
                  static_cast<long long>(n));
    return first.substr(0, dash + 1) + digits[0] + tail + digits[1] + ".gguf";
}

int64_t split_key(const GgufFile& f, const std::string& name, const char* key) {
    const auto v = f.get_int(key);
    if (!v) throw Error("'" + name + "' is a split part without '" + key + "'");
    return *v;
}

}  // namespace

void GgufFile::absorb(GgufFile&& part, const std::string& part_name) {
    const auto index = static_cast<uint32_t>(part_data_offsets_.size() + 1);
    part_data_offsets_.push_back(part.data_offset_);
    for (TensorInfo& t : part.tensors_) {
        t.part = index;
        if (tensor_index_.contains(t.name)) {
            throw Error(
                "tensor '" + t.name + "' is in more than one part (again in '" + part_name + "')",
                t.info_offset);
        }
        tensor_index_.emplace(t.name, tensors_.size());
        tensors_.push_back(std::move(t));
    }
    // The part's own parse charged these infos within what this file left.
    parsed_bytes_ += part.tensor_table_bytes_;
    part_mappings_.push_back(std::move(part.mapping_));
    for (auto& m : part.part_mappings_) part_mappings_.push_back(std::move(m));
}

GgufFile GgufFile::open_model(const std::filesystem::path& path, const Limits& limits) {
    GgufFile first = open(path, limits);
    const auto count = first.get_int("split.count");
    if (!count || *count <= 1) return first;
    const std::string name = path.filename().string();
    if (*count > kMaxParts) {
        throw Error("'" + name + "': split.count " + std::to_string(*count) + " is too large");
    }
    const int64_t no = split_key(first, name, "split.no");
    if (no != 0) {
        throw Error("'" + name + "' is part " + std::to_string(no + 1) + " of a " +
                    std::to_string(*count) + "-part split model; open its first part");
    }
    for (int64_t i = 1; i < *count; ++i) {
        const std::string pname = part_name(name, i + 1, *count);
        GgufFile part = open(path.parent_path() / pname, limits, first.parsed_bytes_);
        if (split_key(part, pname, "split.no") != i ||
            split_key(part, pname, "split.count") != *count) {
            throw Error("'" + pname + "' does not say it is part " + std::to_string(i + 1) +
                        " of " + std::to_string(*count));
        }
        first.absorb(std::move(part), pname);
    }
    if (const auto total = first.get_int("split.tensors.count");
        total && *total != static_cast<int64_t>(first.tensors_.size())) {
        throw Error("the parts hold " + std::to_string(first.tensors_.size()) +
                    " tensors, but split.tensors.count is " + std::to_string(*total));
    }
    return first;
}

}  // namespace pensieve::gguf
