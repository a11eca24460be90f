// Philox4x32-10: known-answer vectors (Random123, spec/physics.md), counter layout, SIMD == scalar.
#include <gtest/gtest.h>

#include <set>

#include "symbreak/rng/philox.hpp"
#include "symbreak/rng/philox_simd.hpp"

using namespace symbreak;

struct KnownAnswer {
    Philox4x32 counter;
    PhiloxKey key;
    Philox4x32 expected;
};

TEST(Philox, KnownAnswerVectors)
{
    const KnownAnswer cases[] = {
        {{{0, 0, 0, 0}}, {0, 0}, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
        {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
         {0xffffffff, 0xffffffff},
         {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
        {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
         {0xa4093822, 0x299f31d0},
         {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
    };
    for (const auto& c : cases) {
        const Philox4x32 out = philox4x32_10(c.counter, c.key);
        for (int i = 0; i < 4; ++i) EXPECT_EQ(out.v[i], c.expected.v[i]) << "word " << i;
    }
}

TEST(Philox, CounterLayoutPacksEveryField)
{
    const Philox4x32 c = philox_counter(0x0000ABCD12345678ull, 0x5A, RngId::ising_wolff, 0x0123456789ABCDEFull);
    EXPECT_EQ(c.v[0], 0x12345678u);
    EXPECT_EQ(c.v[1], 0xABCDu | (0x5Au << 16) | (static_cast<std::uint32_t>(RngId::ising_wolff) << 24));
    EXPECT_EQ(c.v[2], 0x89ABCDEFu);
    EXPECT_EQ(c.v[3], 0x01234567u);
    const PhiloxKey k = philox_key(0xDEADBEEF00C0FFEEull);
    EXPECT_EQ(k.k0, 0x00C0FFEEu);
    EXPECT_EQ(k.k1, 0xDEADBEEFu);
}

TEST(Philox, DistinctFieldsGiveDistinctStreams)
{
    const PhiloxKey key = philox_key(1);
    std::set<std::uint32_t> first_words;
    for (std::uint32_t sub = 0; sub < 4; ++sub)
        for (std::uint64_t step = 0; step < 4; ++step)
            for (std::uint64_t idx = 0; idx < 4; ++idx)
                first_words.insert(philox4x32_10(philox_counter(idx, sub, RngId::ising_metropolis, step), key).v[0]);
    EXPECT_EQ(first_words.size(), 64u);
}

TEST(Philox, GroupedHalfWordLayout)
{
    PhiloxHalf h = philox_group_half(0);
    EXPECT_EQ(h.call, 0u);
    EXPECT_EQ(h.word, 0);
    EXPECT_EQ(h.half, 0);
    h = philox_group_half(17);  // high half of word 0, lane 1
    EXPECT_EQ(h.call, 1u);
    EXPECT_EQ(h.word, 0);
    EXPECT_EQ(h.half, 1);
    h = philox_group_half(128 * 5 + 32 * 3 + 16 + 7);
    EXPECT_EQ(h.call, 16u * 5 + 7);
    EXPECT_EQ(h.word, 3);
    EXPECT_EQ(h.half, 1);
    const Philox4x32 x{{0x11112222u, 0, 0, 0xAAAABBBBu}};
    EXPECT_EQ(philox_half(x, 0, 0), 0x2222u);
    EXPECT_EQ(philox_half(x, 3, 1), 0xAAAAu);
}

// This test file is compiled for the baseline ISA, so this checks the SSE2 path; the AVX2 and AVX-512 paths
// are checked through the lattice kernels (every ISA variant == per-site reference).
TEST(Philox, SimdGroupsEqualScalar)
{
    constexpr int kLanes = 4;
    std::uint16_t out[128 * 3];
    const PhiloxKey key = philox_key(0x1234567890ull);
    const std::uint64_t first_group = (std::uint64_t{1} << 28) - 1;  // calls cross the 2^32 boundary of c0
    simd::philox_groups_u16<kLanes>(out, first_group, 3, 1, RngId::ising_heat_bath, 99, key);
    for (std::uint64_t k = 0; k < 128 * 3; ++k) {
        const PhiloxHalf h = philox_group_half(128 * first_group + k);
        const Philox4x32 x = philox4x32_10(philox_counter(h.call, 1, RngId::ising_heat_bath, 99), key);
        ASSERT_EQ(out[k], philox_half(x, h.word, h.half)) << "element " << k;
    }
}

TEST(Philox, ProbabilityThresholdIsExactAtTheEnds)
{
    EXPECT_EQ(probability_threshold(0.0), 0u);
    EXPECT_EQ(probability_threshold(-1.0), 0u);
    EXPECT_EQ(probability_threshold(1.0), 0x80000000u);
    EXPECT_EQ(probability_threshold(0.5), 0x40000000u);
    EXPECT_FALSE(bernoulli(0u, 0u));           // p = 0 never fires
    EXPECT_TRUE(bernoulli(0xFFFFFFFFu, 0x80000000u));  // p = 1 always fires
}
