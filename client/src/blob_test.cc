// weft::Blob: the same bytes on the wire as a std::string, and no copy when unpacked from the
// bytes of an object.

#include "weft/blob.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "weft/object_ref.h"
#include "weft/serialization.h"

namespace weft {
namespace {

TEST(Blob, IsAStringOnTheWire) {
  const std::string text("some bytes\0with a zero", 22);
  EXPECT_EQ(Pack(Blob(text)), Pack(text));
  EXPECT_EQ(Unpack<std::string>(Pack(Blob(text))), text);
  EXPECT_EQ(Unpack<Blob>(Pack(text)).view(), text);
  EXPECT_EQ(Unpack<Blob>(Pack(std::vector<char>(text.begin(), text.end()))).view(), text);
  EXPECT_TRUE(Unpack<Blob>(Pack(std::string())).empty());
  EXPECT_THROW(Unpack<Blob>(Pack(42)), Error);
}

TEST(Blob, UnpackedFromPassingBytesItIsACopyThatOutlivesThem) {
  auto bytes = std::make_unique<std::string>(Pack(std::string(8192, 'x')));
  const Blob blob = Unpack<Blob>(*bytes);
  EXPECT_FALSE(blob.data() >= bytes->data() && blob.data() < bytes->data() + bytes->size());
  bytes.reset();
  EXPECT_EQ(blob.view(), std::string(8192, 'x'));
}

TEST(Blob, UnpackedFromAnObjectsBytesItPointsIntoThemAndKeepsThem) {
  const std::string large(8192, 'x');
  internal::Bytes bytes =
      internal::MakeBytes(Pack(std::make_pair(Blob(large), Blob("a small one"))));
  const char* begin = bytes->data();
  const char* end = begin + bytes->size();
  const auto [first, second] = internal::UnpackObject<std::pair<Blob, Blob>>("id", bytes);
  EXPECT_TRUE(first.data() > begin && first.data() + first.size() <= end);
  // A small one is copied rather than keeping the whole value.
  EXPECT_FALSE(second.data() >= begin && second.data() < end);
  bytes.reset();  // the large one keeps them
  EXPECT_EQ(first.view(), large);
  EXPECT_EQ(second.view(), "a small one");
}

TEST(Blob, AMovedFromBlobIsEmpty) {
  Blob from("some bytes");
  const Blob to = std::move(from);
  EXPECT_EQ(to.view(), "some bytes");
  EXPECT_TRUE(from.empty());  // NOLINT(bugprone-use-after-move): what a move leaves is defined
  EXPECT_EQ(from.view(), "");
  Blob assigned;
  assigned = Blob("other");
  Blob source("again");
  assigned = std::move(source);
  EXPECT_EQ(assigned.view(), "again");
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace weft
