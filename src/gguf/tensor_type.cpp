// Block geometry per GGML type id. Sizes follow the ggml block structs; each
// line's arithmetic is spelled out so a reader can check it against the format.
#include "gguf/tensor_type.hpp"

#include <array>

#include "gguf/checked_math.hpp"

namespace pensieve::gguf {
namespace {

struct Row {
    uint32_t id;
    TypeInfo info;
};

constexpr std::array kTypes = {
    Row{0, {"f32", 1, 4}},
    Row{1, {"f16", 1, 2}},
    Row{2, {"q4_0", 32, 2 + 16}},                   // d + 32 nibbles
    Row{3, {"q4_1", 32, 2 + 2 + 16}},               // d, m + 32 nibbles
    Row{6, {"q5_0", 32, 2 + 4 + 16}},               // d, high bits + nibbles
    Row{7, {"q5_1", 32, 2 + 2 + 4 + 16}},           // d, m, high bits + nibbles
    Row{8, {"q8_0", 32, 2 + 32}},                   // d + 32 int8
    Row{9, {"q8_1", 32, 2 + 2 + 32}},               // d, s + 32 int8
    Row{10, {"q2_K", 256, 16 + 64 + 2 + 2}},        // scales, 2-bit quants, d, dmin
    Row{11, {"q3_K", 256, 32 + 64 + 12 + 2}},       // hmask, quants, scales, d
    Row{12, {"q4_K", 256, 2 + 2 + 12 + 128}},       // d, dmin, scales, nibbles
    Row{13, {"q5_K", 256, 2 + 2 + 12 + 32 + 128}},  // d, dmin, scales, qh, nibbles
    Row{14, {"q6_K", 256, 128 + 64 + 16 + 2}},      // ql, qh, scales, d
    Row{15, {"q8_K", 256, 4 + 256 + 32}},           // float d, int8 quants, int16 bsums
    Row{16, {"iq2_xxs", 256, 2 + 64}},
    Row{17, {"iq2_xs", 256, 2 + 64 + 8}},
    Row{18, {"iq3_xxs", 256, 2 + 96}},
    Row{19, {"iq1_s", 256, 2 + 32 + 16}},
    Row{20, {"iq4_nl", 32, 2 + 16}},
    Row{21, {"iq3_s", 256, 2 + 64 + 8 + 32 + 4}},
    Row{22, {"iq2_s", 256, 2 + 64 + 8 + 8}},
    Row{23, {"iq4_xs", 256, 2 + 2 + 4 + 128}},
    Row{24, {"i8", 1, 1}},
    Row{25, {"i16", 1, 2}},
    Row{26, {"i32", 1, 4}},
    Row{27, {"i64", 1, 8}},
    Row{28, {"f64", 1, 8}},
    Row{29, {"iq1_m", 256, 32 + 16 + 8}},
    Row{30, {"bf16", 1, 2}},
    Row{34, {"tq1_0", 256, 48 + 4 + 2}},
    Row{35, {"tq2_0", 256, 64 + 2}},
    Row{39, {"mxfp4", 32, 1 + 16}},
};

}  // namespace

std::optional<TypeInfo> type_info(uint32_t id) {
    for (const Row& row : kTypes) {
        if (row.id == id) return row.info;
    }
    return std::nullopt;
}

TypeInfo type_info(TensorType type) {
    return *type_info(static_cast<uint32_t>(type));
}

std::optional<uint64_t> bytes_for(TensorType type, uint64_t n_elements) {
    const TypeInfo info = type_info(type);
    if (n_elements % info.block_elems != 0) return std::nullopt;
    return checked_mul(n_elements / info.block_elems, uint64_t{info.block_bytes});
}

}  // namespace pensieve::gguf
