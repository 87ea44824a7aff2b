// What the CPU can do (CPUID + XGETBV) and which kernel variant runs on it.
// One binary serves every x86-64: the scalar reference always works, AVX2 and
// AVX-512 variants are picked only where both the CPU and the OS support them.
// PENSIEVE_CPU=ref|avx2|avx512|amx forces a variant (an unsupported one falls
// back to the best available, with a warning on stderr). `amx` is AVX-512 plus
// the AMX-INT8 tile GEMM for larger batches; it needs the CPU flags and, on
// Linux, the kernel's permission to use tile data (arch_prctl), so
// PENSIEVE_CPU=avx512 is how to switch the tiles off.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pensieve::kernels {

enum class Isa {
    Ref,     // portable scalar C++, the reference every variant is tested against
    Avx2,    // AVX2 + FMA + F16C (Haswell, Zen 1 and later)
    Avx512,  // AVX-512 F/BW/DQ/VL + VNNI (Ice Lake, Sapphire Rapids, Zen 4 and later)
    Amx,     // Avx512 + AMX-TILE/AMX-INT8 matmul tiles for b >= 8 (Sapphire Rapids and later)
};

struct CpuFeatures {
    std::string vendor;
    std::string brand;
    bool sse42 = false;
    bool avx = false;  // and the OS saves YMM state
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512f = false;  // and the OS saves ZMM state
    bool avx512bw = false;
    bool avx512dq = false;
    bool avx512vl = false;
    bool avx512vnni = false;
    bool avx512bf16 = false;
    // AVX512-BF16 and a vdpbf16ps that multiplies more pairs per cycle than
    // F32 FMAs do: AMD's cores (Zen 4 and later) run it at an FMA's rate, 32
    // products where the FMA makes 16. Intel's run it at about half an FMA's
    // rate, so their exact F32 products are faster: on a Sapphire Rapids
    // Xeon (2 threads) prefill of 1B-shaped F16 weights 107 tok/s with F32
    // products, 78 with BF16 ones; SmolLM2 prefill at depth 4096, 341-355
    // against 272-275. The BF16-product kernels are installed only here.
    bool bf16_products_fast = false;
    bool avx512fp16 = false;
    bool avx_vnni = false;
    bool amx_tile = false;  // CPUID and the OS saves tile state (XCR0 bits 17, 18)
    bool amx_int8 = false;
    bool amx_bf16 = false;
    bool amx_permitted = false;  // the OS let this process use tile data (Linux arch_prctl)
};

const CpuFeatures& cpu_features();

std::string_view isa_name(Isa isa);
std::optional<Isa> parse_isa(std::string_view name);
bool isa_supported(Isa isa);
Isa best_isa();

// The variant in use: best_isa() unless PENSIEVE_CPU or set_active_isa chose another.
Isa active_isa();

// Switches every kernel table to `isa`. Returns false (and changes nothing)
// when the CPU cannot run it. Not meant to race with running kernels: call it
// at start-up or between tests.
bool set_active_isa(Isa isa);

}  // namespace pensieve::kernels
