// Requantization of a GGUF model to another weight format: every weight
// matrix is dequantized to F32 and quantized again with the kernels'
// quantize_row, metadata and the other tensors are copied as they are. The
// benchmark suite uses it to compare formats of one model when the model is
// published in only one (a requantized file cannot be better than its source).
#pragma once

#include <cstdint>
#include <filesystem>

#include "gguf/file.hpp"
#include "gguf/tensor_type.hpp"

namespace pensieve::model {

struct RequantizeStats {
    int64_t converted = 0;  // matrices now in the target format
    int64_t kept = 0;       // tensors copied unchanged (1-D, or rows not a whole number of blocks)
    uint64_t bytes_in = 0;  // tensor data of the source
    uint64_t bytes_out = 0;
};

// Writes `in` to `out` with each 2-D tensor (and 3-D expert tensor) whose rows
// are a whole number of `type` blocks converted to `type`; 1-D tensors (norms,
// biases), a mixture's router (ffn_gate_inp) and tensors whose row length
// does not fit the target's blocks keep their format. Drops
// general.file_type, which would no longer describe the file. Throws
// std::invalid_argument for a target format without a quantizer.
RequantizeStats requantize(const gguf::GgufFile& in, const std::filesystem::path& out,
                           gguf::TensorType type);

}  // namespace pensieve::model
