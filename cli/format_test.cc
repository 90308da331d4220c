#include "cli/format.h"

#include <gtest/gtest.h>

namespace weft::cli {
namespace {

TEST(HumanBytesTest, PicksTheLargestUnitBelow1024) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(3 << 20), "3.0 MiB");
  EXPECT_EQ(HumanBytes(int64_t{2} << 30), "2.0 GiB");
}

}  // namespace
}  // namespace weft::cli
