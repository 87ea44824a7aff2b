// GGUF parsing. Layout (all little-endian):
//   header:  magic u32 "GGUF", version u32 (2 or 3), n_tensors u64, n_kv u64
//   n_kv ×   key (u64 length + bytes), value type u32, value
//   n_tensors × name (string), n_dims u32, dims u64[n_dims], type u32, offset u64
//   padding to `general.alignment` (default 32), then the tensor data section.
// Every count is checked against what is left of the file before anything is
// allocated for it, so a hostile header cannot ask for more memory than the
// file could describe; and the memory the parsed values will hold is charged
// against Limits::max_parsed_bytes before it is allocated, since small values
// take several times their size in the file once parsed.
#include "gguf/file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

#include "gguf/checked_math.hpp"
#include "gguf/error.hpp"
#include "gguf/mapped_file.hpp"
#include "gguf/memory_cost.hpp"

namespace pensieve::gguf {

class Parser {
  public:
    Parser(GgufFile& out, const Limits& limits) : out_(out), limits_(limits) {}

    void run() {
        if (read_u32("magic") != kMagic) fail("not a GGUF file (bad magic)", 0);
        out_.version_ = read_u32("version");
        if (out_.version_ != 2 && out_.version_ != 3) {
            fail("unsupported GGUF version " + std::to_string(out_.version_) + " (supported: 2, 3)",
                 4);
        }
        const uint64_t tensors_at = pos_;
        const uint64_t n_tensors = read_u64("tensor count");
        const uint64_t kv_at = pos_;
        const uint64_t n_kv = read_u64("metadata count");
        // Smallest possible records: kv = key length 8 + 1 byte key + type 4;
        // tensor info = name length 8 + n_dims 4 + one dim 8 + type 4 + offset 8.
        if (n_kv > remaining() / 13) {
            fail("metadata count " + std::to_string(n_kv) + " exceeds what the file can hold",
                 kv_at);
        }
        what_ = "metadata count " + std::to_string(n_kv);
        charge(n_kv * (sizeof(KeyValue) + memory_cost::index_entry), kv_at);
        out_.metadata_.reserve(n_kv);
        out_.key_index_.reserve(n_kv);
        for (uint64_t i = 0; i < n_kv; ++i) read_kv();
        if (n_tensors > remaining() / 32) {
            fail("tensor count " + std::to_string(n_tensors) + " exceeds what the file can hold",
                 tensors_at);
        }
        read_alignment();
        const uint64_t before_tensors = out_.parsed_bytes_;
        what_ = "tensor count " + std::to_string(n_tensors);
        // Twice the slot: the table grows by doubling when a split model's
        // parts join it (GgufFile::absorb).
        charge(n_tensors * (2 * sizeof(TensorInfo) + memory_cost::index_entry), tensors_at);
        out_.tensors_.reserve(n_tensors);
        out_.tensor_index_.reserve(n_tensors);
        for (uint64_t i = 0; i < n_tensors; ++i) read_tensor_info();
        out_.tensor_table_bytes_ = out_.parsed_bytes_ - before_tensors;
        place_tensor_data();
    }

  private:
    [[noreturn]] void fail(const std::string& what, uint64_t at) const { throw Error(what, at); }

    // The name of what is being read, for error messages: `what_` names the
    // record ("metadata key", "'general.name'", "tensor 'x'"), `indices_` the
    // array elements it lies in, `suffix` the part of it (" length"). Joined
    // into text only when an error is raised, so naming the elements of a
    // large array under a long key costs nothing per element.
    std::string field(std::string_view suffix = {}) const {
        std::string s = what_;
        for (uint64_t i : indices_) s += "[" + std::to_string(i) + "]";
        return s.append(suffix);
    }

    // Counts `bytes` of heap that the parsed values will hold, before they
    // are allocated; past Limits::max_parsed_bytes the file is refused.
    // (Products of counts and sizes here cannot overflow: every count is
    // bounded by the file's size.)
    void charge(uint64_t bytes, uint64_t at) {
        const auto total = checked_add(out_.parsed_bytes_, bytes);
        if (!total || *total > limits_.max_parsed_bytes) {
            fail(field() +
                     ": would take the parsed metadata and tensor infos past their memory "
                     "limit of " +
                     std::to_string(limits_.max_parsed_bytes) + " bytes",
                 at);
        }
        out_.parsed_bytes_ = *total;
    }

    uint64_t remaining() const { return size() - pos_; }
    uint64_t size() const { return out_.bytes_.size(); }

    void need(uint64_t n, std::string_view suffix) const {
        if (n > remaining()) {
            fail(field(suffix) + ": needs " + std::to_string(n) + " bytes, only " +
                     std::to_string(remaining()) + " left (truncated file)",
                 pos_);
        }
    }

    template <class T>
    T read_scalar(std::string_view suffix = {}) {
        need(sizeof(T), suffix);
        T v;
        std::memcpy(&v, out_.bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }
    uint32_t read_u32(std::string_view suffix) { return read_scalar<uint32_t>(suffix); }
    uint64_t read_u64(std::string_view suffix) { return read_scalar<uint64_t>(suffix); }

    std::string read_string(uint64_t max_bytes) {
        const uint64_t at = pos_;
        const uint64_t len = read_u64(" length");
        if (len > max_bytes) {
            fail(field() + ": string length " + std::to_string(len) + " exceeds the limit of " +
                     std::to_string(max_bytes),
                 at);
        }
        need(len, {});
        charge(memory_cost::string_heap(len), at);
        std::string s(reinterpret_cast<const char*>(out_.bytes_.data() + pos_), len);
        pos_ += len;
        return s;
    }

    // `suffix` is " element" for an array's element type.
    ValueType read_type(std::string_view suffix) {
        const uint64_t at = pos_;
        const uint32_t id = read_u32(std::string(suffix) + " type");
        if (id >= kValueTypeCount) {
            fail(field(suffix) + ": unknown value type id " + std::to_string(id), at);
        }
        return static_cast<ValueType>(id);
    }

    Value read_value(ValueType type, uint32_t depth) {
        switch (type) {
            case ValueType::UInt8:
                return read_scalar<uint8_t>();
            case ValueType::Int8:
                return read_scalar<int8_t>();
            case ValueType::UInt16:
                return read_scalar<uint16_t>();
            case ValueType::Int16:
                return read_scalar<int16_t>();
            case ValueType::UInt32:
                return read_scalar<uint32_t>();
            case ValueType::Int32:
                return read_scalar<int32_t>();
            case ValueType::Float32:
                return read_scalar<float>();
            case ValueType::UInt64:
                return read_scalar<uint64_t>();
            case ValueType::Int64:
                return read_scalar<int64_t>();
            case ValueType::Float64:
                return read_scalar<double>();
            case ValueType::Bool:
                return read_bool();
            case ValueType::String:
                return read_string(limits_.max_string_bytes);
            case ValueType::Array:
                return read_array(depth + 1);
        }
        fail(field() + ": unknown value type", pos_);
    }

    bool read_bool() {
        const uint64_t at = pos_;
        const auto b = read_scalar<uint8_t>();
        if (b > 1) fail(field() + ": bool value " + std::to_string(b) + " is not 0 or 1", at);
        return b == 1;
    }

    Array read_array(uint32_t depth) {
        const uint64_t at = pos_;
        if (depth > limits_.max_array_depth) {
            fail(field() + ": arrays nested deeper than " + std::to_string(limits_.max_array_depth),
                 at);
        }
        Array a;
        a.elem_type = read_type(" element");
        const uint64_t count_at = pos_;
        a.count = read_u64(" array count");
        // Every element takes at least one byte (strings 8, nested arrays 12).
        const uint64_t min_elem = a.elem_type == ValueType::String  ? 8
                                  : a.elem_type == ValueType::Array ? 12
                                                                    : scalar_size(a.elem_type);
        if (a.count > limits_.max_array_count || a.count > remaining() / min_elem) {
            fail(field() + ": array count " + std::to_string(a.count) +
                     " exceeds the limit or the remaining file",
                 count_at);
        }
        const uint64_t elem_bytes = a.elem_type == ValueType::String  ? sizeof(std::string)
                                    : a.elem_type == ValueType::Array ? sizeof(Array)
                                                                      : min_elem;
        charge(memory_cost::heap_block(a.count * elem_bytes), count_at);
        if (a.elem_type == ValueType::String) {
            a.strings.reserve(a.count);
            indices_.push_back(0);
            for (uint64_t i = 0; i < a.count; ++i) {
                indices_.back() = i;
                a.strings.push_back(read_string(limits_.max_string_bytes));
            }
            indices_.pop_back();
        } else if (a.elem_type == ValueType::Array) {
            // Elements of an array of arrays carry no type tag of their own:
            // each is directly an array (element type, count, items).
            a.arrays.reserve(a.count);
            indices_.push_back(0);
            for (uint64_t i = 0; i < a.count; ++i) {
                indices_.back() = i;
                a.arrays.push_back(read_array(depth + 1));
            }
            indices_.pop_back();
        } else {
            const uint64_t n = a.count * min_elem;  // fits: count <= remaining / size
            a.scalars.assign(out_.bytes_.data() + pos_, out_.bytes_.data() + pos_ + n);
            if (a.elem_type == ValueType::Bool) {
                for (uint64_t i = 0; i < a.count; ++i) {
                    if (a.scalars[i] > 1) {
                        indices_.push_back(i);
                        fail(field() + ": bool value is not 0 or 1", pos_ + i);
                    }
                }
            }
            pos_ += n;
        }
        return a;
    }

    void read_kv() {
        const uint64_t at = pos_;
        what_ = "metadata key";
        std::string key = read_string(limits_.max_key_bytes);
        if (key.empty()) fail("empty metadata key", at);
        charge(memory_cost::string_heap(key.size()), at);  // the index's copy
        what_ = "'" + key + "'";
        const ValueType type = read_type({});
        Value value = read_value(type, 0);
        if (out_.key_index_.count(key) != 0) fail("duplicate metadata key '" + key + "'", at);
        out_.key_index_.emplace(key, out_.metadata_.size());
        out_.metadata_.push_back({std::move(key), std::move(value), at});
    }

    void read_alignment() {
        const KeyValue* kv = out_.find_kv("general.alignment");
        if (kv == nullptr) return;
        const auto* a = std::get_if<uint32_t>(&kv->value);
        if (a == nullptr) {
            fail("'general.alignment' must be uint32, found " +
                     std::string(value_type_name(type_of(kv->value))),
                 kv->offset);
        }
        if (*a == 0 || !std::has_single_bit(*a)) {
            fail("'general.alignment' = " + std::to_string(*a) + " is not a power of two",
                 kv->offset);
        }
        out_.alignment_ = *a;
    }

    void read_tensor_info() {
        const uint64_t at = pos_;
        TensorInfo t{};
        t.info_offset = at;
        what_ = "tensor name";
        t.name = read_string(limits_.max_tensor_name_bytes);
        if (t.name.empty()) fail("empty tensor name", at);
        charge(memory_cost::string_heap(t.name.size()), at);  // the index's copy
        what_ = "tensor '" + t.name + "'";
        const uint64_t dims_at = pos_;
        const uint32_t n_dims = read_u32(" n_dims");
        if (n_dims == 0 || n_dims > kMaxDims) {
            fail(field() + ": n_dims " + std::to_string(n_dims) + " is not in 1.." +
                     std::to_string(kMaxDims),
                 dims_at);
        }
        charge(memory_cost::heap_block(n_dims * sizeof(uint64_t)), dims_at);
        t.dims.reserve(n_dims);
        t.n_elements = 1;
        for (uint32_t d = 0; d < n_dims; ++d) {
            const uint64_t dim_at = pos_;
            const uint64_t dim = read_u64(" dimension");
            // Stored as int64 by ggml: values above INT64_MAX are negative.
            if (dim == 0 || dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                fail(field() + ": dimension " + std::to_string(d) + " is " +
                         std::to_string(static_cast<int64_t>(dim)) + " (must be positive)",
                     dim_at);
            }
            const auto n = checked_mul(t.n_elements, dim);
            if (!n || *n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                fail(field() + ": element count overflows", dim_at);
            }
            t.n_elements = *n;
            t.dims.push_back(dim);
        }
        const uint64_t type_at = pos_;
        const uint32_t type_id = read_u32(" type");
        const auto info = type_info(type_id);
        if (!info) fail(field() + ": unknown tensor type id " + std::to_string(type_id), type_at);
        t.type = static_cast<TensorType>(type_id);
        if (t.dims[0] % info->block_elems != 0) {
            fail(field() + ": row length " + std::to_string(t.dims[0]) +
                     " is not a multiple of the " + std::string(info->name) + " block size " +
                     std::to_string(info->block_elems),
                 dims_at);
        }
        const auto n_bytes = bytes_for(t.type, t.n_elements);
        if (!n_bytes) fail(field() + ": byte size overflows", dims_at);
        t.n_bytes = *n_bytes;
        const uint64_t offset_at = pos_;
        t.offset = read_u64(" offset");
        if (t.offset % out_.alignment_ != 0) {
            fail(field() + ": data offset " + std::to_string(t.offset) +
                     " is not a multiple of the alignment " + std::to_string(out_.alignment_),
                 offset_at);
        }
        if (out_.tensor_index_.count(t.name) != 0) {
            fail("duplicate tensor name '" + t.name + "'", at);
        }
        out_.tensor_index_.emplace(t.name, out_.tensors_.size());
        out_.tensors_.push_back(std::move(t));
    }

    void place_tensor_data() {
        const auto data_offset = checked_align_up(pos_, out_.alignment_);
        if (!data_offset) fail("data section offset overflows", pos_);
        out_.data_offset_ = *data_offset;
        if (out_.tensors_.empty()) return;  // vocab-only files may end before the padding
        if (out_.data_offset_ > size()) {
            fail("data section starts at " + std::to_string(out_.data_offset_) +
                     ", past the end of the file (" + std::to_string(size()) + " bytes)",
                 pos_);
        }
        const uint64_t data_size = size() - out_.data_offset_;
        for (TensorInfo& t : out_.tensors_) {
            const auto end = checked_add(t.offset, t.n_bytes);
            if (!end || *end > data_size) {
                fail("tensor '" + t.name + "': data [" + std::to_string(t.offset) + ", +" +
                         std::to_string(t.n_bytes) + ") lies outside the data section of " +
                         std::to_string(data_size) + " bytes",
                     t.info_offset);
            }
            t.data = out_.bytes_.data() + out_.data_offset_ + t.offset;
        }
        check_no_overlap();
    }

    void check_no_overlap() const {
        std::vector<const TensorInfo*> by_offset;
        for (const TensorInfo& t : out_.tensors_) by_offset.push_back(&t);
        std::sort(by_offset.begin(), by_offset.end(),
                  [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
        for (size_t i = 1; i < by_offset.size(); ++i) {
            const TensorInfo& prev = *by_offset[i - 1];
            if (prev.offset + prev.n_bytes > by_offset[i]->offset) {
                fail(
                    "tensor '" + by_offset[i]->name + "': data overlaps tensor '" + prev.name + "'",
                    by_offset[i]->info_offset);
            }
        }
    }

    GgufFile& out_;
    const Limits& limits_;
    uint64_t pos_ = 0;
    std::string what_;               // see field()
    std::vector<uint64_t> indices_;  // see field()
};

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, const Limits& limits,
                         uint64_t charged_before) {
    GgufFile file;
    file.bytes_ = bytes;
    file.parsed_bytes_ = charged_before;
    Parser(file, limits).run();
    return file;
}

GgufFile GgufFile::parse(std::span<const uint8_t> bytes, const Limits& limits) {
    return parse(bytes, limits, 0);
}

GgufFile GgufFile::open(const std::filesystem::path& path, const Limits& limits,
                        uint64_t charged_before) {
    auto mapping = std::make_shared<const MappedFile>(path);  // its errors name the path
    try {
        GgufFile file = parse(mapping->bytes(), limits, charged_before);
        file.mapping_ = std::move(mapping);
        return file;
    } catch (const Error& e) {
        throw e.in_file(path.string());
    }
}

GgufFile GgufFile::open(const std::filesystem::path& path, const Limits& limits) {
    return open(path, limits, 0);
}

const KeyValue* GgufFile::find_kv(std::string_view key) const {
    const auto it = key_index_.find(std::string(key));
    return it == key_index_.end() ? nullptr : &metadata_[it->second];
}

const Value* GgufFile::find(std::string_view key) const {
    const KeyValue* kv = find_kv(key);
    return kv ? &kv->value : nullptr;
}

const TensorInfo* GgufFile::find_tensor(std::string_view name) const {
    const auto it = tensor_index_.find(std::string(name));
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {
[[noreturn]] void wrong_type(const KeyValue& kv, std::string_view expected) {
    throw Error("'" + kv.key + "' should be " + std::string(expected) + ", found " +
                    std::string(value_type_name(type_of(kv.value))),
                kv.offset);
}
}  // namespace

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
    const KeyValue* kv = find_kv(key);
    if (kv == nullptr) return std::nullopt;
    if (const auto* s = std::get_if<std::string>(&kv->value)) return *s;
    wrong_type(*kv, "a string");
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
    const KeyValue* kv = find_kv(key);
    if (kv == nullptr) return std::nullopt;
    if (auto v = as_int(kv->value)) return v;
    wrong_type(*kv, "an integer");
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
    const KeyValue* kv = find_kv(key);
    if (kv == nullptr) return std::nullopt;
    if (const auto* f = std::get_if<float>(&kv->value)) return *f;
    if (const auto* d = std::get_if<double>(&kv->value)) return *d;
    if (auto v = as_int(kv->value)) return static_cast<double>(*v);
    wrong_type(*kv, "a number");
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
    const KeyValue* kv = find_kv(key);
    if (kv == nullptr) return std::nullopt;
    if (const auto* b = std::get_if<bool>(&kv->value)) return *b;
    wrong_type(*kv, "a bool");
}

const Array* GgufFile::get_array(std::string_view key) const {
    const KeyValue* kv = find_kv(key);
    if (kv == nullptr) return nullptr;
    if (const auto* a = std::get_if<Array>(&kv->value)) return a;
    wrong_type(*kv, "an array");
}

}  // namespace pensieve::gguf
