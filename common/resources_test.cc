#include "common/resources.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace weft {
namespace {

using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(ParseResourcesJsonTest, ParsesObjectOfNumbers) {
  auto parsed = ParseResourcesJson(R"({"GPU": 2, "accelerator_type:A100": 0.5})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_THAT(*parsed, UnorderedElementsAre(Pair("GPU", 2), Pair("accelerator_type:A100", 0.5)));
}

TEST(ParseResourcesJsonTest, EmptyObjectIsNoResources) {
  auto parsed = ParseResourcesJson("{}");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(parsed->empty());
}

TEST(ParseResourcesJsonTest, NotAnObjectIsInvalidArgument) {
  for (const char* json : {"[1, 2]", "3", R"("GPU")", "{GPU: 1", "not json"}) {
    EXPECT_EQ(ParseResourcesJson(json).status().code(), absl::StatusCode::kInvalidArgument) << json;
  }
}

TEST(ParseResourcesJsonTest, NonNumberValueIsInvalidArgument) {
  for (const char* json :
       {R"({"GPU": "2"})", R"({"GPU": true})", R"({"GPU": null})", R"({"GPU": {"n": 1}})"}) {
    EXPECT_EQ(ParseResourcesJson(json).status().code(), absl::StatusCode::kInvalidArgument) << json;
  }
}

TEST(ParseResourcesJsonTest, NegativeAmountIsInvalidArgument) {
  EXPECT_EQ(ParseResourcesJson(R"({"GPU": -1})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseResourcesJsonTest, CpuAndMemoryAreRefused) {
  auto cpu = ParseResourcesJson(R"({"CPU": 4})");
  auto memory = ParseResourcesJson(R"({"memory": 1024})");
  EXPECT_EQ(cpu.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cpu.status().message(), ::testing::HasSubstr("--num-cpus"));
  EXPECT_EQ(memory.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FormatResourcesTest, RendersNamesInOrderAndMemoryInGiB) {
  EXPECT_EQ(FormatResources({{"memory", 8.0 * (1 << 30)}, {"CPU", 2}, {"GPU", 0.5}}),
            "CPU=2 GPU=0.5 memory=8.0GiB");
  EXPECT_EQ(FormatResources({}), "");
}

}  // namespace
}  // namespace weft
