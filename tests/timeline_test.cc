// `weft timeline` on a real two-node cluster: the seed page's concurrent async calls, plain
// actor calls, tasks and a failing call, each one event in a Chrome trace that parses, on the
// worker that ran it; --job narrows it to one job's workers.

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"

namespace weft::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;
using ::testing::HasSubstr;

class TimelineTest : public TwoNodeClusterTest {};

const google::protobuf::Map<std::string, Value>& Fields(const Value& v) {
  return v.struct_value().fields();
}

Struct ParseTrace(const std::string& json) {
  Struct trace;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &trace);
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_TRUE(trace.fields().contains("traceEvents")) << json.substr(0, 500);
  return trace;
}

// The trace's complete events ("ph": "X"), by name.
std::map<std::string, std::vector<Value>> CallsByName(const Struct& trace) {
  std::map<std::string, std::vector<Value>> calls;
  for (const auto& event : trace.fields().at("traceEvents").list_value().values()) {
    if (Fields(event).at("ph").string_value() == "X") {
      calls[Fields(event).at("name").string_value()].push_back(event);
    }
  }
  return calls;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_F(TimelineTest, EveryCallOfTheJobIsOneEventOnTheWorkerThatRanIt) {
  // The seed page's AsyncActor: four run_concurrent calls at once, each sleeping.
  auto gate = weft::Actor<Gate>().Remote(0);
  std::vector<weft::ObjectRef<std::pair<int64_t, int64_t>>> sleeps;
  for (int i = 0; i < 4; ++i) sleeps.push_back(gate.Call(&Gate::Timed, 200));
  for (auto& sleep : sleeps) sleep.Get(kBound);
  auto recorder = weft::Actor<Recorder>().Remote();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(recorder.Call(&Recorder::Echo, i).Get(kBound), i);
  EXPECT_THROW(recorder.Call(&Recorder::Fail, std::string("on purpose")).Get(kBound),
               weft::RemoteError);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(weft::Task(&Add).Remote(i, 1).Get(kBound), i + 1);
  const int recorder_pid = recorder.Call(&Recorder::Pid).Get(kBound);

  TempDir dir;
  const std::string path = dir.Sub("trace.json");
  const auto written = Weft({"timeline", "-o", path, "--session-dir", cluster_->head_session()});
  ASSERT_EQ(written.exit_code, 0) << written.out << written.err;
  EXPECT_THAT(written.out, HasSubstr("to " + path));
  const auto calls = CallsByName(ParseTrace(ReadFile(path)));

  ASSERT_EQ(calls.count("Gate.Timed"), 1u);
  const auto& timed = calls.at("Gate.Timed");
  EXPECT_EQ(timed.size(), 4u);
  std::set<double> rows;
  for (const auto& call : timed) {
    EXPECT_EQ(Fields(call).at("cat").string_value(), "actor_call");
    EXPECT_GE(Fields(call).at("dur").number_value(), 200'000) << "slept 200 ms";
    EXPECT_EQ(Fields(Fields(call).at("args")).at("actor_id").string_value(), gate.id());
    rows.insert(Fields(call).at("tid").number_value());
  }
  EXPECT_EQ(rows.size(), 4u) << "four calls at once: a row each";

  ASSERT_EQ(calls.count("Recorder.Echo"), 1u);
  EXPECT_EQ(calls.at("Recorder.Echo").size(), 10u);
  for (const auto& call : calls.at("Recorder.Echo")) {
    EXPECT_EQ(Fields(Fields(call).at("args")).at("worker_pid").number_value(), recorder_pid);
    EXPECT_FALSE(Fields(Fields(call).at("args")).at("failed").bool_value());
  }
  ASSERT_EQ(calls.count("Recorder.Fail"), 1u);
  EXPECT_TRUE(Fields(Fields(calls.at("Recorder.Fail")[0]).at("args")).at("failed").bool_value());
  ASSERT_EQ(calls.count("Add"), 1u);
  EXPECT_EQ(calls.at("Add").size(), 3u);
  EXPECT_EQ(Fields(calls.at("Add")[0]).at("cat").string_value(), "task");
}

TEST_F(TimelineTest, JobNarrowsTheTraceToItsWorkersAndAnUnknownJobIsAnError) {
  auto recorder = weft::Actor<Recorder>().Remote();
  for (int i = 0; i < 5; ++i) recorder.Call(&Recorder::Echo, i).Get(kBound);
  const std::string job = weft::GetActorInfo(recorder).job_id;
  ASSERT_FALSE(job.empty());

  const auto ours = Weft({"timeline", "--job", job.substr(0, 6), "-o", "-", "--session-dir",
                          cluster_->head_session()});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  const auto calls = CallsByName(ParseTrace(ours.out));
  ASSERT_EQ(calls.count("Recorder.Echo"), 1u);
  EXPECT_EQ(calls.at("Recorder.Echo").size(), 5u);

  const auto unknown = Weft(
      {"timeline", "--job", "ffffffffffff", "-o", "-", "--session-dir", cluster_->head_session()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("job ffffffffffff not found"));
}

}  // namespace
}  // namespace weft::testing
