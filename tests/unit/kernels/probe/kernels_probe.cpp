// pensieve-kernels-probe: a tiny command-line door into the kernels for the
// pytest reference tests (tests/reference/kernels/), which compare our
// (de)quantization with the PyPI gguf package byte for byte.
//
//   pensieve-kernels-probe dequantize TYPE IN OUT   raw blocks -> float32
//   pensieve-kernels-probe quantize   TYPE IN OUT   float32 -> raw blocks
//   pensieve-kernels-probe isa                      prints the active variant
//
// TYPE is the gguf type name (q4_0, q4_K, bf16, ...). The variant follows
// PENSIEVE_CPU like every other binary.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cpu.hpp"
#include "kernels/traits.hpp"

namespace {

using namespace pensieve::kernels;

const TypeTraits* by_name(std::string_view name) {
    for (uint32_t id = 0; id < 64; ++id) {
        const TypeTraits* t = find_traits(static_cast<TensorType>(id));
        if (t != nullptr && name == t->name) return t;
    }
    return nullptr;
}

std::vector<char> read_all(const char* path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool write_all(const char* path, const void* data, size_t size) {
    std::ofstream out(path, std::ios::binary);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    return static_cast<bool>(out);
}

int usage() {
    std::fprintf(stderr, "usage: pensieve-kernels-probe dequantize|quantize TYPE IN OUT | isa\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::string_view(argv[1]) == "isa") {
        std::printf("%s\n", isa_name(active_isa()).data());
        return 0;
    }
    if (argc != 5) return usage();
    const std::string_view op = argv[1];
    const TypeTraits* t = by_name(argv[2]);
    if (t == nullptr) {
        std::fprintf(stderr, "unknown or unsupported type %s\n", argv[2]);
        return 2;
    }
    const std::vector<char> in = read_all(argv[3]);
    if (op == "dequantize") {
        if (in.size() % static_cast<size_t>(t->block_bytes) != 0) return usage();
        const int64_t n = static_cast<int64_t>(in.size()) / t->block_bytes * t->block_elems;
        std::vector<float> out(static_cast<size_t>(n));
        t->dequantize_row(in.data(), out.data(), n);
        return write_all(argv[4], out.data(), out.size() * sizeof(float)) ? 0 : 1;
    }
    if (op == "quantize") {
        if (t->quantize_row == nullptr) return usage();
        const int64_t n = static_cast<int64_t>(in.size() / sizeof(float));
        if (n % t->block_elems != 0) return usage();
        std::vector<float> x(static_cast<size_t>(n));
        std::copy_n(reinterpret_cast<const float*>(in.data()), x.size(), x.begin());
        std::vector<char> out(row_bytes(*t, n));
        t->quantize_row(x.data(), out.data(), n);
        return write_all(argv[4], out.data(), out.size()) ? 0 : 1;
    }
    return usage();
}
