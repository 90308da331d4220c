// Calls to a worker that is gone fail with UNAVAILABLE, and never hang: a driver's Get on a task
// sent to a worker in the moment it died must end (it is retried elsewhere on that failure).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include "client/src/runtime.h"

namespace weft::testing {
namespace {

// An address on 127.0.0.1 where nothing listens: a port the kernel handed out, closed again.
std::string RefusingAddress() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
}

// Each call opens a new stream (the last one ended), whose connection is refused at once: the
// stream may end before the call is handed to it, and the call must fail all the same.
TEST(CallStreamTest, EveryCallToAnAddressThatRefusesFailsAsUnreachable) {
  internal::WorkerChannels channels("token");
  const std::string address = RefusingAddress();
  for (int i = 0; i < 300; ++i) {
    auto result = std::make_shared<std::promise<proto::CallResult>>();
    auto answered = result->get_future();
    proto::Call call;
    call.set_method("Anything");
    ASSERT_TRUE(
        channels.Submit(address, call, [result](proto::CallResult& r) { result->set_value(r); }));
    ASSERT_EQ(answered.wait_for(std::chrono::seconds(10)), std::future_status::ready)
        << "call " << i << " to " << address << " was never answered";
    const proto::CallResult r = answered.get();
    ASSERT_TRUE(r.has_error());
    EXPECT_EQ(r.error().kind(), proto::FAILURE_UNREACHABLE) << r.error().message();
  }
}

}  // namespace
}  // namespace weft::testing
