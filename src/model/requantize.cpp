// Dequantize → quantize, row by row, through the kernels' traits table.
#include "model/requantize.hpp"

#include <stdexcept>
#include <vector>

#include "gguf/writer.hpp"
#include "kernels/traits.hpp"

namespace pensieve::model {

namespace {

// Matrices and a mixture's 3-D expert tensors (rows of every expert, one
// after another), but not a mixture's router, which llama.cpp's quantizer
// also leaves in its format: the choice of experts is sensitive to it.
bool convertible(const gguf::TensorInfo& t, const kernels::TypeTraits& to) {
    const kernels::TypeTraits* from = kernels::find_traits(t.type);
    return (t.dims.size() == 2 || t.dims.size() == 3) && !t.name.ends_with("ffn_gate_inp.weight") &&
           from != nullptr && from->dequantize_row != nullptr && t.type != to.type &&
           static_cast<int64_t>(t.dims[0]) % to.block_elems == 0;
}

std::vector<uint8_t> convert(const gguf::TensorInfo& t, const kernels::TypeTraits& to) {
    const kernels::TypeTraits& from = kernels::traits(t.type);
    const auto k = static_cast<int64_t>(t.dims[0]);
    const size_t in_row = kernels::row_bytes(from, k);
    const size_t out_row = kernels::row_bytes(to, k);
    std::vector<float> row(static_cast<size_t>(k));  // one row in F32
    std::vector<uint8_t> out(out_row * t.rows());
    for (uint64_t r = 0; r < t.rows(); ++r) {
        from.dequantize_row(t.data + r * in_row, row.data(), k);
        to.quantize_row(row.data(), out.data() + r * out_row, k);
    }
    return out;
}

}  // namespace

RequantizeStats requantize(const gguf::GgufFile& in, const std::filesystem::path& out,
                           gguf::TensorType type) {
    const kernels::TypeTraits* to = kernels::find_traits(type);
    if (to == nullptr || to->quantize_row == nullptr || to->vec_dot == nullptr) {
        throw std::invalid_argument("no quantizer for weight format " +
                                    std::string(gguf::type_info(type).name));
    }
    gguf::GgufWriter writer(in.version());
    for (const auto& kv : in.metadata()) {
        // A split model's parts are read as one and written as one file.
        if (kv.key != "general.file_type" && !kv.key.starts_with("split.")) {
            writer.set(kv.key, kv.value);
        }
    }
    RequantizeStats stats;
    for (const auto& t : in.tensors()) {
        stats.bytes_in += t.n_bytes;
        if (convertible(t, *to)) {
            std::vector<uint8_t> data = convert(t, *to);
            stats.bytes_out += data.size();
            writer.add_tensor(t.name, type, t.dims, std::move(data));
            ++stats.converted;
        } else {
            stats.bytes_out += t.n_bytes;
            writer.add_tensor(t.name, t.type, t.dims,
                              std::vector<uint8_t>(t.data, t.data + t.n_bytes));
            ++stats.kept;
        }
    }
    writer.write(out);
    return stats;
}

}  // namespace pensieve::model
