// A GGUF writer: metadata and tensors of any type, in the same layout the
// reader accepts. Tests use it to build small random-weight models of any
// architecture shape, and (through ByteSink) hand-crafted malformed files.
// A tensor's bytes may also come from a producer called while the file is
// written, one tensor at a time, so that a model of many gigabytes (a
// random-weight model of a real shape, a requantized 7B) streams to disk
// without being held in memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/tensor_type.hpp"
#include "gguf/value.hpp"

namespace pensieve::gguf {

// Little-endian byte appender with the GGUF primitive encodings.
class ByteSink {
  public:
    void u8(uint8_t v) { bytes_.push_back(v); }
    void u32(uint32_t v) { raw(&v, sizeof v); }
    void u64(uint64_t v) { raw(&v, sizeof v); }
    void string(std::string_view s);   // u64 length + bytes
    void value(const Value& v);        // payload only (no type id)
    void typed_value(const Value& v);  // type id u32 + payload
    void raw(const void* data, size_t n);
    void pad_to(uint64_t alignment);  // zero bytes up to the next multiple

    size_t size() const { return bytes_.size(); }
    std::vector<uint8_t>& bytes() { return bytes_; }

  private:
    void array(const Array& a);
    std::vector<uint8_t> bytes_;
};

class GgufWriter {
  public:
    explicit GgufWriter(uint32_t version = 3) : version_(version) {}

    // Sets a metadata key (insertion order is kept; setting a key again replaces it).
    void set(const std::string& key, Value value);

    // Adds a tensor; dims are ne[0] first. Throws std::invalid_argument when
    // data.size() does not match the type and shape.
    void add_tensor(const std::string& name, TensorType type, std::vector<uint64_t> dims,
                    std::vector<uint8_t> data);

    // Fills a tensor's bytes (exactly its size, given as n) when the file is written.
    using Producer = std::function<void(uint8_t* data, size_t n)>;

    // Adds a tensor whose bytes `fill` writes at write time. Throws
    // std::invalid_argument for a type and shape whose size is undefined.
    void add_tensor(const std::string& name, TensorType type, std::vector<uint64_t> dims,
                    Producer fill);

    std::vector<uint8_t> to_bytes() const;

    // Writes to a temporary file beside `path`, then renames it into place;
    // producers run here, in tensor order, into one reused buffer.
    void write(const std::filesystem::path& path) const;

  private:
    struct Tensor {
        std::string name;
        TensorType type;
        std::vector<uint64_t> dims;
        uint64_t size = 0;
        std::vector<uint8_t> data;  // the bytes, or empty when `fill` makes them
        Producer fill;
    };
    uint64_t checked_size(const std::string& name, TensorType type,
                          const std::vector<uint64_t>& dims) const;
    ByteSink header() const;  // everything before the first tensor's data
    // The tensor's bytes: its own, or `buffer` filled by its producer.
    const uint8_t* bytes_of(const Tensor& t, std::vector<uint8_t>& buffer) const;
    uint64_t alignment() const;

    uint32_t version_;
    std::vector<std::pair<std::string, Value>> metadata_;
    std::vector<Tensor> tensors_;
};

}  // namespace pensieve::gguf
