// Names, sizes and conversions of GGUF metadata values.
#include "gguf/value.hpp"

#include <array>
#include <cstdio>
#include <limits>

namespace pensieve::gguf {

std::string_view value_type_name(ValueType type) {
    static constexpr std::array<std::string_view, kValueTypeCount> kNames = {
        "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
        "bool",  "string", "array",  "uint64", "int64",  "float64"};
    const auto id = static_cast<uint32_t>(type);
    return id < kValueTypeCount ? kNames[id] : "unknown";
}

uint32_t scalar_size(ValueType type) {
    switch (type) {
        case ValueType::UInt8:
        case ValueType::Int8:
        case ValueType::Bool:
            return 1;
        case ValueType::UInt16:
        case ValueType::Int16:
            return 2;
        case ValueType::UInt32:
        case ValueType::Int32:
        case ValueType::Float32:
            return 4;
        case ValueType::UInt64:
        case ValueType::Int64:
        case ValueType::Float64:
            return 8;
        case ValueType::String:
        case ValueType::Array:
            return 0;
    }
    return 0;
}

std::optional<int64_t> as_int(const Value& value) {
    return std::visit(
        [](const auto& v) -> std::optional<int64_t> {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, uint64_t>) {
                if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                    return std::nullopt;
                }
                return static_cast<int64_t>(v);
            } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                return static_cast<int64_t>(v);
            } else {
                return std::nullopt;
            }
        },
        value);
}

namespace {

std::string quote(const std::string& s, size_t max_chars = 60) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size() && i < max_chars; ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\n')
            out += "\\n";
        else if (c == '"')
            out += "\\\"";
        else if (c < 0x20)
            out += '?';
        else
            out += static_cast<char>(c);
    }
    if (s.size() > max_chars) out += "...";
    return out + "\"";
}

std::string array_item(const Array& a, size_t i) {
    switch (a.elem_type) {
        case ValueType::String:
            return quote(a.strings[i], 24);
        case ValueType::Array:
            return "[" + std::to_string(a.arrays[i].count) + " items]";
        default:
            break;
    }
    Value v;
    const uint8_t* p = a.scalars.data() + i * scalar_size(a.elem_type);
    auto load = [&](auto zero) {
        decltype(zero) x;
        std::memcpy(&x, p, sizeof(x));
        v = x;
    };
    switch (a.elem_type) {
        case ValueType::UInt8:
            load(uint8_t{});
            break;
        case ValueType::Int8:
            load(int8_t{});
            break;
        case ValueType::UInt16:
            load(uint16_t{});
            break;
        case ValueType::Int16:
            load(int16_t{});
            break;
        case ValueType::UInt32:
            load(uint32_t{});
            break;
        case ValueType::Int32:
            load(int32_t{});
            break;
        case ValueType::Float32:
            load(float{});
            break;
        case ValueType::Bool:
            v = p[0] != 0;
            break;
        case ValueType::UInt64:
            load(uint64_t{});
            break;
        case ValueType::Int64:
            load(int64_t{});
            break;
        case ValueType::Float64:
            load(double{});
            break;
        default:
            break;
    }
    return to_display_string(v);
}

}  // namespace

std::string to_display_string(const Value& value, size_t max_items) {
    return std::visit(
        [&](const auto& v) -> std::string {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string>) {
                return quote(v);
            } else if constexpr (std::is_same_v<T, Array>) {
                std::string out = "[";
                for (size_t i = 0; i < v.count && i < max_items; ++i) {
                    if (i) out += ", ";
                    out += array_item(v, i);
                }
                if (v.count > max_items) out += ", ... (" + std::to_string(v.count) + " items)";
                return out + "]";
            } else if constexpr (std::is_same_v<T, bool>) {
                return v ? "true" : "false";
            } else if constexpr (std::is_floating_point_v<T>) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
                return buf;
            } else {
                return std::to_string(v);
            }
        },
        value);
}

}  // namespace pensieve::gguf
