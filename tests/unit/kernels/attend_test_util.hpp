// Helpers shared by the attention kernel tests (attend_test.cpp,
// attend_q8_test.cpp): the running state of a block's rows, the F32 forms'
// agreement bound, and the spans the 16-bit-product forms are tried on.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace pensieve::kernels::test {

// Rows' running maxima, sums and outputs.
struct AttendState {
    std::vector<float> m, l, o;
};

// The running maxima of row r agree within rel · (1 + |m|).
inline void expect_max_near(const AttendState& a, const AttendState& b, size_t r, float rel,
                            const std::string& where) {
    if (b.m[r] == -INFINITY)  // nothing attended yet
        EXPECT_EQ(a.m[r], b.m[r]) << where;
    else
        EXPECT_NEAR(a.m[r], b.m[r], rel * (1.0f + std::abs(b.m[r]))) << where;
}
// The F32 forms' bound: their exp is within a few ulp of expf and sums run
// in another order, so 1e-5 relative to the row's magnitude.
inline void expect_attend_near(const AttendState& a, const AttendState& b, size_t r, int64_t hd,
                               const std::string& where) {
    expect_max_near(a, b, r, 1e-5f, where);
    EXPECT_NEAR(a.l[r], b.l[r], 1e-5f * (1.0f + b.l[r])) << where;
    for (int64_t d = 0; d < hd; ++d) {
        const size_t i = r * static_cast<size_t>(hd) + static_cast<size_t>(d);
        EXPECT_NEAR(a.o[i], b.o[i], 1e-5f * (1.0f + 4.0f * b.l[r])) << where << " d " << d;
    }
}
// Head sizes the form takes, row counts around its groups of 8, spans
// shorter and longer than a step and than a chunk of the kernel's buffer
// (30 tiles at head size 64, 3 at 512).
template <typename Fn>
inline void for_each_span(Fn fn) {
    for (int64_t hd : {32, 64, 96, 128, 256, 512}) {
        for (int64_t rows : {1, 3, 8, 9, 16, 25, 96}) {
            for (int64_t n_tiles : {1, 2, 3, 4, 5, 7, 17, 40}) {
                if (hd * rows * n_tiles > 128 * 96 * 17) continue;  // bounded time
                fn(hd, rows, n_tiles);
            }
        }
    }
}

}  // namespace pensieve::kernels::test
