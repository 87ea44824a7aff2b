// Serialises metadata and tensors in GGUF layout (see file.cpp for the layout).
#include "gguf/writer.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "gguf/file.hpp"
#include "gguf/mapped_file.hpp"

namespace pensieve::gguf {

void ByteSink::raw(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    bytes_.insert(bytes_.end(), p, p + n);
}

void ByteSink::string(std::string_view s) {
    u64(s.size());
    raw(s.data(), s.size());
}

void ByteSink::pad_to(uint64_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back(0);
}

void ByteSink::array(const Array& a) {
    u32(static_cast<uint32_t>(a.elem_type));
    u64(a.count);
    switch (a.elem_type) {
        case ValueType::String:
            for (const std::string& s : a.strings) string(s);
            break;
        case ValueType::Array:
            for (const Array& inner : a.arrays) array(inner);
            break;
        default:
            raw(a.scalars.data(), a.scalars.size());
            break;
    }
}

void ByteSink::value(const Value& v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::string>)
                string(x);
            else if constexpr (std::is_same_v<T, Array>)
                array(x);
            else if constexpr (std::is_same_v<T, bool>)
                u8(x ? 1 : 0);
            else
                raw(&x, sizeof x);
        },
        v);
}

void ByteSink::typed_value(const Value& v) {
    u32(static_cast<uint32_t>(type_of(v)));
    value(v);
}

void GgufWriter::set(const std::string& key, Value value) {
    for (auto& [k, v] : metadata_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    metadata_.emplace_back(key, std::move(value));
}

uint64_t GgufWriter::checked_size(const std::string& name, TensorType type,
                                  const std::vector<uint64_t>& dims) const {
    uint64_t n = 1;
    for (uint64_t d : dims) n *= d;
    const auto bytes = bytes_for(type, n);
    if (dims.empty() || !bytes) {
        throw std::invalid_argument("tensor '" + name + "': no size for its type and shape");
    }
    return *bytes;
}

void GgufWriter::add_tensor(const std::string& name, TensorType type, std::vector<uint64_t> dims,
                            std::vector<uint8_t> data) {
    const uint64_t size = checked_size(name, type, dims);
    if (size != data.size()) {
        throw std::invalid_argument("tensor '" + name + "': data size does not match its shape");
    }
    tensors_.push_back({name, type, std::move(dims), size, std::move(data), nullptr});
}

void GgufWriter::add_tensor(const std::string& name, TensorType type, std::vector<uint64_t> dims,
                            Producer fill) {
    const uint64_t size = checked_size(name, type, dims);
    tensors_.push_back({name, type, std::move(dims), size, {}, std::move(fill)});
}

uint64_t GgufWriter::alignment() const {
    for (const auto& [k, v] : metadata_) {
        if (k == "general.alignment") {
            if (const auto* a = std::get_if<uint32_t>(&v)) return *a;
        }
    }
    return kDefaultAlignment;
}

ByteSink GgufWriter::header() const {
    const uint64_t align = alignment();
    ByteSink out;
    out.u32(kMagic);
    out.u32(version_);
    out.u64(tensors_.size());
    out.u64(metadata_.size());
    for (const auto& [key, value] : metadata_) {
        out.string(key);
        out.typed_value(value);
    }
    uint64_t offset = 0;
    for (const Tensor& t : tensors_) {
        out.string(t.name);
        out.u32(static_cast<uint32_t>(t.dims.size()));
        for (uint64_t d : t.dims) out.u64(d);
        out.u32(static_cast<uint32_t>(t.type));
        out.u64(offset);
        offset += (t.size + align - 1) / align * align;
    }
    out.pad_to(align);
    return out;
}

const uint8_t* GgufWriter::bytes_of(const Tensor& t, std::vector<uint8_t>& buffer) const {
    if (!t.fill) return t.data.data();
    buffer.resize(t.size);
    t.fill(buffer.data(), buffer.size());
    return buffer.data();
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
    const uint64_t align = alignment();
    ByteSink out = header();
    std::vector<uint8_t> buffer;
    for (const Tensor& t : tensors_) {
        out.raw(bytes_of(t, buffer), t.size);
        out.pad_to(align);
    }
    return std::move(out.bytes());
}

void GgufWriter::write(const std::filesystem::path& path) const {
    const uint64_t align = alignment();
    const std::filesystem::path tmp = path.string() + ".tmp";
    try {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        const auto put = [&](const uint8_t* data, uint64_t n) {
            f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(n));
        };
        ByteSink head = header();
        put(head.bytes().data(), head.size());
        uint64_t written = head.size();
        std::vector<uint8_t> buffer;
        const std::vector<uint8_t> zeros(align, 0);
        for (const Tensor& t : tensors_) {
            put(bytes_of(t, buffer), t.size);
            written += t.size;
            put(zeros.data(), (align - written % align) % align);
            written += (align - written % align) % align;
        }
        f.close();
        if (!f) throw std::runtime_error("cannot write " + tmp.string());
        flush_and_uncache(tmp);
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
        throw;
    }
    std::filesystem::rename(tmp, path);
}

}  // namespace pensieve::gguf
