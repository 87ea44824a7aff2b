// RoPE with per-pair frequency factors and an attention factor: dividing
// pair i's frequency by f is rotating it as if at position pos / f, and the
// attention factor scales every rotated pair's length.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/ops.hpp"

namespace pensieve::kernels {
namespace {

std::vector<float> ramp(int n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = 0.25f * static_cast<float>(i + 1);
    return v;
}

TEST(Rope, AFactorOnAPairIsThatPairAtAScaledPosition) {
    for (const RopeStyle style : {RopeStyle::Normal, RopeStyle::NeoX}) {
        const std::vector<float> factors = {1.0f, 4.0f, 1.0f, 1.0f};  // only pair 1 scaled
        RopeConfig with{8, 8, 10000.0f, 1.0f, style, factors.data(), 1.0f};
        RopeConfig plain{8, 8, 10000.0f, 1.0f, style};
        std::vector<float> a = ramp(8), b = ramp(8), c = ramp(8);
        rope(a.data(), 1, 40, with);
        rope(b.data(), 1, 40, plain);
        rope(c.data(), 1, 10, plain);  // pair 1 at 40 / 4
        const int i0 = style == RopeStyle::Normal ? 2 : 1;
        const int i1 = style == RopeStyle::Normal ? 3 : 5;
        for (int i = 0; i < 8; ++i) {
            const bool pair1 = i == i0 || i == i1;
            EXPECT_NEAR(a[static_cast<size_t>(i)], (pair1 ? c : b)[static_cast<size_t>(i)], 1e-5)
                << i;
        }
    }
}

TEST(Rope, TheAttentionFactorScalesTheRotatedDimsOnly) {
    RopeConfig scaled{8, 6, 10000.0f, 1.0f, RopeStyle::NeoX, nullptr, 1.5f};
    RopeConfig plain{8, 6, 10000.0f, 1.0f, RopeStyle::NeoX};
    std::vector<float> a = ramp(8), b = ramp(8);
    rope(a.data(), 1, 7, scaled);
    rope(b.data(), 1, 7, plain);
    for (int i = 0; i < 6; ++i)
        EXPECT_NEAR(a[static_cast<size_t>(i)], 1.5f * b[static_cast<size_t>(i)], 1e-5);
    for (int i = 6; i < 8; ++i) EXPECT_EQ(a[static_cast<size_t>(i)], b[static_cast<size_t>(i)]);
}

}  // namespace
}  // namespace pensieve::kernels
