// GGUF metadata values: the 13 on-disk value types, held in a variant whose
// alternative index equals the on-disk type id.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pensieve::gguf {

enum class ValueType : uint32_t {
    UInt8 = 0,
    Int8 = 1,
    UInt16 = 2,
    Int16 = 3,
    UInt32 = 4,
    Int32 = 5,
    Float32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    UInt64 = 10,
    Int64 = 11,
    Float64 = 12,
};
inline constexpr uint32_t kValueTypeCount = 13;

std::string_view value_type_name(ValueType type);

// Bytes of one element of a fixed-size scalar type; 0 for String and Array.
uint32_t scalar_size(ValueType type);

// An array keeps its elements in the storage that suits their type, so a
// 262k-entry vocabulary is one vector of strings, not 262k variants.
struct Array {
    ValueType elem_type = ValueType::UInt8;
    uint64_t count = 0;
    std::vector<uint8_t> scalars;      // fixed-size elements, little-endian, count * size bytes
    std::vector<std::string> strings;  // elem_type == String
    std::vector<Array> arrays;         // elem_type == Array (nested)

    // Copies numeric elements out as T; nullopt when the element type is not
    // exactly T's GGUF type.
    template <class T>
    std::optional<std::vector<T>> as() const;
};

using Value = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                           std::string, Array, uint64_t, int64_t, double>;

inline ValueType type_of(const Value& value) {
    return static_cast<ValueType>(value.index());
}

// The GGUF value type that stores a C++ scalar type.
template <class T>
constexpr ValueType value_type_of() {
    if constexpr (std::is_same_v<T, uint8_t>)
        return ValueType::UInt8;
    else if constexpr (std::is_same_v<T, int8_t>)
        return ValueType::Int8;
    else if constexpr (std::is_same_v<T, uint16_t>)
        return ValueType::UInt16;
    else if constexpr (std::is_same_v<T, int16_t>)
        return ValueType::Int16;
    else if constexpr (std::is_same_v<T, uint32_t>)
        return ValueType::UInt32;
    else if constexpr (std::is_same_v<T, int32_t>)
        return ValueType::Int32;
    else if constexpr (std::is_same_v<T, float>)
        return ValueType::Float32;
    else if constexpr (std::is_same_v<T, bool>)
        return ValueType::Bool;
    else if constexpr (std::is_same_v<T, uint64_t>)
        return ValueType::UInt64;
    else if constexpr (std::is_same_v<T, int64_t>)
        return ValueType::Int64;
    else if constexpr (std::is_same_v<T, double>)
        return ValueType::Float64;
    else
        static_assert(sizeof(T) == 0, "not a GGUF scalar type");
}

template <class T>
std::optional<std::vector<T>> Array::as() const {
    if (elem_type != value_type_of<T>()) return std::nullopt;
    std::vector<T> out(count);
    if (count > 0) std::memcpy(out.data(), scalars.data(), count * sizeof(T));
    return out;
}

// Builds an array value from scalars or strings (used by the writer and tests).
template <class T>
Array make_array(const std::vector<T>& items) {
    Array a;
    a.count = items.size();
    if constexpr (std::is_same_v<T, std::string>) {
        a.elem_type = ValueType::String;
        a.strings = items;
    } else if constexpr (std::is_same_v<T, Array>) {
        a.elem_type = ValueType::Array;
        a.arrays = items;
    } else if constexpr (std::is_same_v<T, bool>) {  // vector<bool> is bit-packed
        a.elem_type = ValueType::Bool;
        for (bool b : items) a.scalars.push_back(b ? 1 : 0);
    } else {
        a.elem_type = value_type_of<T>();
        a.scalars.resize(items.size() * sizeof(T));
        if (!items.empty()) std::memcpy(a.scalars.data(), items.data(), a.scalars.size());
    }
    return a;
}

// Any integer value as int64 (nullopt for non-integers and uint64 > INT64_MAX).
std::optional<int64_t> as_int(const Value& value);

// Short human-readable rendering for `pensieve info` (arrays abbreviated).
std::string to_display_string(const Value& value, size_t max_items = 8);

}  // namespace pensieve::gguf
