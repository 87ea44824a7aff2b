// CPUID feature detection and the start-up choice of kernel variant.
#include "kernels/cpu.hpp"

#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kernels/dispatch.hpp"

namespace pensieve::kernels {
namespace {

struct Regs {
    unsigned a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(unsigned leaf, unsigned sub) {
    Regs r;
    __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
    return r;
}

bool bit(unsigned reg, int n) {
    return ((reg >> n) & 1u) != 0;
}

// XCR0: which register states the OS saves on context switch. A CPU with
// AVX-512 under an OS that does not save ZMM registers must not use them.
unsigned long long xcr0() {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<unsigned long long>(hi) << 32) | lo;
}

// Linux (5.16+) hands out the 8 KB of AMX tile data state per process on
// request; without it the first tile instruction faults. Asked once, at
// detection, before any thread runs a tile kernel.
bool request_amx_permission() {
#if defined(__linux__) && defined(SYS_arch_prctl)
    constexpr long kArchReqXcompPerm = 0x1023;
    constexpr long kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
    return false;
#endif
}

CpuFeatures detect() {
    CpuFeatures f;
    const unsigned max_leaf = __get_cpuid_max(0, nullptr);
    if (max_leaf == 0) return f;
    Regs v = cpuid(0, 0);
    char vendor[13] = {};
    std::memcpy(vendor + 0, &v.b, 4);
    std::memcpy(vendor + 4, &v.d, 4);
    std::memcpy(vendor + 8, &v.c, 4);
    f.vendor = vendor;

    const Regs l1 = cpuid(1, 0);
    f.sse42 = bit(l1.c, 20);
    const bool osxsave = bit(l1.c, 27);
    const unsigned long long xcr = osxsave ? xcr0() : 0;
    const bool os_ymm = (xcr & 0x6) == 0x6;            // SSE + AVX state
    const bool os_zmm = (xcr & 0xe6) == 0xe6;          // + opmask, ZMM_Hi256, Hi16_ZMM
    const bool os_tiles = (xcr & 0x60000) == 0x60000;  // XTILECFG, XTILEDATA
    f.avx = bit(l1.c, 28) && os_ymm;
    f.fma = bit(l1.c, 12) && f.avx;
    f.f16c = bit(l1.c, 29) && f.avx;
    if (max_leaf >= 7) {
        const Regs l7 = cpuid(7, 0);
        f.avx2 = bit(l7.b, 5) && f.avx;
        f.avx512f = bit(l7.b, 16) && os_zmm;
        f.avx512dq = bit(l7.b, 17) && f.avx512f;
        f.avx512bw = bit(l7.b, 30) && f.avx512f;
        f.avx512vl = bit(l7.b, 31) && f.avx512f;
        f.avx512vnni = bit(l7.c, 11) && f.avx512f;
        f.avx512fp16 = bit(l7.d, 23) && f.avx512f;
        f.amx_tile = bit(l7.d, 24) && os_tiles;
        f.amx_int8 = bit(l7.d, 25) && f.amx_tile;
        f.amx_bf16 = bit(l7.d, 22) && f.amx_tile;
        f.amx_permitted = f.amx_tile && request_amx_permission();
        if (l7.a >= 1) {
            const Regs l71 = cpuid(7, 1);
            f.avx_vnni = bit(l71.a, 4) && f.avx;
            f.avx512bf16 = bit(l71.a, 5) && f.avx512f;
        }
    }
    f.bf16_products_fast = f.avx512bf16 && f.vendor == "AuthenticAMD";
    if (static_cast<unsigned>(__get_cpuid_max(0x80000000u, nullptr)) >= 0x80000004u) {
        char brand[49] = {};
        for (unsigned i = 0; i < 3; ++i) {
            const Regs r = cpuid(0x80000002u + i, 0);
            std::memcpy(brand + 16 * i + 0, &r.a, 4);
            std::memcpy(brand + 16 * i + 4, &r.b, 4);
            std::memcpy(brand + 16 * i + 8, &r.c, 4);
            std::memcpy(brand + 16 * i + 12, &r.d, 4);
        }
        f.brand = brand;
        const auto first = f.brand.find_first_not_of(' ');
        f.brand = first == std::string::npos ? std::string() : f.brand.substr(first);
    }
    return f;
}

Isa initial_isa() {
    const char* env = std::getenv("PENSIEVE_CPU");
    if (env == nullptr || *env == '\0') return best_isa();
    const std::optional<Isa> wanted = parse_isa(env);
    if (!wanted) {
        std::fprintf(stderr,
                     "pensieve: PENSIEVE_CPU=%s is not one of ref, avx2, avx512, amx; using %s\n",
                     env, isa_name(best_isa()).data());
        return best_isa();
    }
    if (!isa_supported(*wanted)) {
        std::fprintf(stderr, "pensieve: PENSIEVE_CPU=%s is not supported by this CPU; using %s\n",
                     env, isa_name(best_isa()).data());
        return best_isa();
    }
    return *wanted;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures features = detect();
    return features;
}

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::Ref:
            return "ref";
        case Isa::Avx2:
            return "avx2";
        case Isa::Avx512:
            return "avx512";
        case Isa::Amx:
            return "amx";
    }
    return "?";
}

std::optional<Isa> parse_isa(std::string_view name) {
    if (name == "ref") return Isa::Ref;
    if (name == "avx2") return Isa::Avx2;
    if (name == "avx512") return Isa::Avx512;
    if (name == "amx") return Isa::Amx;
    return std::nullopt;
}

bool isa_supported(Isa isa) {
    const CpuFeatures& f = cpu_features();
    switch (isa) {
        case Isa::Ref:
            return true;
        case Isa::Avx2:
            return f.avx2 && f.fma && f.f16c;
        case Isa::Avx512:
            return isa_supported(Isa::Avx2) && f.avx512f && f.avx512bw && f.avx512dq &&
                   f.avx512vl && f.avx512vnni;
        case Isa::Amx:
            return isa_supported(Isa::Avx512) && f.amx_tile && f.amx_int8 && f.amx_permitted;
    }
    return false;
}

Isa best_isa() {
    if (isa_supported(Isa::Amx)) return Isa::Amx;
    if (isa_supported(Isa::Avx512)) return Isa::Avx512;
    if (isa_supported(Isa::Avx2)) return Isa::Avx2;
    return Isa::Ref;
}

Isa active_isa() {
    return active_table().isa;
}

bool set_active_isa(Isa isa) {
    if (!isa_supported(isa)) return false;
    detail::activate(isa);
    return true;
}

namespace detail {
Isa startup_isa() {
    return initial_isa();
}
}  // namespace detail

}  // namespace pensieve::kernels
