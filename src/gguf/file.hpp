// A parsed GGUF file (v2/v3): metadata, tensor table, and tensor data views.
//
// Everything read from the file is validated here, once: counts and lengths
// against the remaining bytes and hard caps, sizes with overflow checks,
// tensor data inside the file and aligned. Code past this boundary may trust
// what a GgufFile reports.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf/tensor_type.hpp"
#include "gguf/value.hpp"

namespace pensieve::gguf {

class MappedFile;

inline constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
inline constexpr uint64_t kDefaultAlignment = 32;
inline constexpr uint32_t kMaxDims = 4;

// Hard caps on untrusted lengths (beyond "fits in the remaining bytes").
struct Limits {
    uint64_t max_string_bytes = uint64_t{1} << 30;  // 1 GiB
    uint64_t max_key_bytes = 65535;                 // the GGUF spec's limit
    uint64_t max_array_count = uint64_t{1} << 30;
    uint32_t max_array_depth = 64;
    uint64_t max_tensor_name_bytes = 64;  // the GGUF spec's limit
    // Heap memory the parsed metadata and tensor infos may hold (see
    // GgufFile::parsed_bytes). Small values take several times their size in
    // the file once parsed (an empty nested array: 12 bytes in the file, 88
    // in memory), so a header of many of them could otherwise take ~13x its
    // size; Gemma 3's 262k-token vocabulary takes about 11 MiB.
    uint64_t max_parsed_bytes = uint64_t{256} << 20;
};

struct KeyValue {
    std::string key;
    Value value;
    uint64_t offset;  // file offset of the key's length prefix
};

struct TensorInfo {
    std::string name;
    std::vector<uint64_t> dims;  // ne[0] first: dims[0] is the contiguous (row) length
    TensorType type;
    uint64_t offset;       // relative to the data section, as stored
    uint64_t n_elements;   // product of dims
    uint64_t n_bytes;      // storage size of the data
    const uint8_t* data;   // view into the file bytes; valid while the GgufFile lives
    uint64_t info_offset;  // file offset of this tensor's info record (for errors)
    uint32_t part = 0;     // the split part holding it (0: the first part, or the only file)

    uint64_t rows() const { return dims.empty() ? 0 : n_elements / dims[0]; }
};

class GgufFile {
  public:
    // Maps and parses a file. Throws gguf::Error on any malformation, its
    // message led by the file's path.
    static GgufFile open(const std::filesystem::path& path, const Limits& limits = {});

    // Opens a model: the file alone, or, when it is the first part of a split
    // GGUF (split.count > 1; parts named <prefix>-00001-of-0000N.gguf side by
    // side), every part, with their tensors in one table. Metadata is the
    // first part's. Throws gguf::Error for a missing part, a part whose
    // split.no / split.count disagree, a tensor in two parts, a tensor count
    // other than split.tensors.count, or a later part opened on its own.
    static GgufFile open_model(const std::filesystem::path& path, const Limits& limits = {});

    // Parses bytes the caller keeps alive (tests, fuzzing). Throws gguf::Error.
    static GgufFile parse(std::span<const uint8_t> bytes, const Limits& limits = {});

    uint32_t version() const { return version_; }
    uint64_t alignment() const { return alignment_; }
    uint64_t data_offset() const { return data_offset_; }  // start of the tensor data section
    uint64_t file_size() const { return bytes_.size(); }
    // Files whose tensors are in the table (more than 1 when open_model read
    // a split model), and where part `part`'s data section starts in its file.
    uint32_t part_count() const { return static_cast<uint32_t>(1 + part_data_offsets_.size()); }
    uint64_t data_offset(uint32_t part) const {
        return part == 0 ? data_offset_ : part_data_offsets_.at(part - 1);
    }

    const std::vector<KeyValue>& metadata() const { return metadata_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }

    const Value* find(std::string_view key) const;
    const TensorInfo* find_tensor(std::string_view name) const;

    // Typed lookups: nullopt/nullptr when the key is absent; gguf::Error naming
    // the key when it is present with the wrong type.
    std::optional<std::string> get_string(std::string_view key) const;
    std::optional<int64_t> get_int(std::string_view key) const;   // any integer type
    std::optional<double> get_float(std::string_view key) const;  // f32, f64 or integer
    std::optional<bool> get_bool(std::string_view key) const;
    const Array* get_array(std::string_view key) const;

    // The heap memory the parsed metadata and tensor infos hold, as estimated
    // against Limits::max_parsed_bytes (an upper bound of what they hold).
    // For a split model opened whole, the metadata is the first part's and
    // the tensor infos all the parts'; each part is parsed within what the
    // parts before it left of the limit.
    uint64_t parsed_bytes() const { return parsed_bytes_; }

  private:
    GgufFile() = default;
    // As the public ones, with `charged_before` of the memory limit already
    // taken (by the earlier parts of a split model).
    static GgufFile parse(std::span<const uint8_t> bytes, const Limits& limits,
                          uint64_t charged_before);
    static GgufFile open(const std::filesystem::path& path, const Limits& limits,
                         uint64_t charged_before);
    const KeyValue* find_kv(std::string_view key) const;
    // Takes a later part's tensors (and keeps its mapping alive).
    void absorb(GgufFile&& part, const std::string& part_name);

    friend class Parser;
    std::shared_ptr<const MappedFile> mapping_;  // null when parsing caller-owned bytes
    std::vector<std::shared_ptr<const MappedFile>> part_mappings_;  // later parts of a split
    std::vector<uint64_t> part_data_offsets_;                       // and their data sections
    std::span<const uint8_t> bytes_;
    uint32_t version_ = 0;
    uint64_t alignment_ = kDefaultAlignment;
    uint64_t data_offset_ = 0;
    std::vector<KeyValue> metadata_;
    std::vector<TensorInfo> tensors_;
    std::unordered_map<std::string, size_t> key_index_;
    std::unordered_map<std::string, size_t> tensor_index_;
    uint64_t parsed_bytes_ = 0;        // see parsed_bytes()
    uint64_t tensor_table_bytes_ = 0;  // the part of it this file's tensor infos take
};

}  // namespace pensieve::gguf
