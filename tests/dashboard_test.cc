// The head's dashboard over HTTP (issue 17), on a real two-node cluster: every endpoint wants
// the cluster token (a bearer token, or the cookie the login form sets), answers what
// `weft list ... --format json` prints, and the head keeps running when the dashboard's port
// is taken.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "common/session_dir.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"
#include "tests/prometheus_text.h"

namespace weft::testing {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using ::testing::HasSubstr;

// The dashboard's URL that a head of `session_dir` recorded ("" when it serves none).
std::string DashboardUrl(const std::string& session_dir) {
  auto url = ReadFile(SessionDir(session_dir).DashboardUrlPath());
  return url.ok() ? std::string(absl::StripAsciiWhitespace(*url)) : "";
}

// "http://127.0.0.1:1234/" -> "http://127.0.0.1:1234", as httplib::Client takes it.
std::string Origin(std::string url) {
  if (absl::EndsWith(url, "/")) url.pop_back();
  return url;
}

template <typename Message>
Message Parse(const std::string& json) {
  Message message;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &message);
  EXPECT_TRUE(status.ok()) << status << "\n" << json;
  return message;
}

std::set<std::string> Strings(const ListValue& list, const std::string& key) {
  std::set<std::string> values;
  for (const auto& item : list.values()) {
    values.insert(item.struct_value().fields().at(key).string_value());
  }
  return values;
}

class DashboardTest : public TwoNodeClusterTest {
 protected:
  void SetUp() override {
    url_ = DashboardUrl(cluster_->head_session());
    ASSERT_THAT(url_, HasSubstr("http://127.0.0.1:")) << "the head recorded no dashboard";
    client_ = std::make_unique<httplib::Client>(Origin(url_));
    client_->set_connection_timeout(std::chrono::seconds(5));
    client_->set_read_timeout(std::chrono::seconds(30));
  }

  httplib::Headers Bearer(const std::string& token) const {
    return {{"Authorization", "Bearer " + token}};
  }

  // GET with the cluster token; fails the test unless it answers 200 with JSON.
  std::string GetJson(const std::string& path) {
    auto res = client_->Get(path, Bearer(cluster_->token()));
    EXPECT_TRUE(res) << path << ": " << httplib::to_string(res.error());
    if (!res) return "";
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
    EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("application/json"));
    return res->body;
  }

  std::string Cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--format", "json", "--session-dir", cluster_->head_session()});
    const auto result = Weft(args);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.out;
  }

  // The nodes' /metrics endpoints, as the dashboard lists them for Prometheus.
  std::vector<std::string> NodeTargets() {
    std::vector<std::string> targets;
    const auto groups = Parse<ListValue>(GetJson("/api/prometheus_targets"));
    for (const auto& group : groups.values()) {
      for (const auto& target : group.struct_value().fields().at("targets").list_value().values()) {
        targets.push_back(target.string_value());
      }
    }
    return targets;
  }

  // GET /metrics of the node endpoint `target` with `headers`.
  static httplib::Result ScrapeNode(const std::string& target, const httplib::Headers& headers) {
    httplib::Client node("http://" + target);
    node.set_read_timeout(std::chrono::seconds(30));
    return node.Get("/metrics", headers);
  }

  // Every node's samples, parsed (fails the test unless each answers valid text).
  std::vector<PrometheusSample> ScrapeNodes() {
    std::vector<PrometheusSample> all;
    for (const auto& target : NodeTargets()) {
      auto res = ScrapeNode(target, Bearer(cluster_->token()));
      EXPECT_TRUE(res && res->status == 200) << target;
      if (!res) continue;
      auto samples = ParsePrometheusText(res->body);
      EXPECT_TRUE(samples.ok()) << samples.status();
      if (samples.ok()) all.insert(all.end(), samples->begin(), samples->end());
    }
    return all;
  }

  std::string url_;
  std::unique_ptr<httplib::Client> client_;
};

// The sum of `name` over every series whose labels include `labels`.
double Total(const std::vector<PrometheusSample>& samples, const std::string& name,
             const std::map<std::string, std::string>& labels) {
  double total = 0;
  for (const auto& sample : samples) {
    bool match = sample.name == name;
    for (const auto& [key, value] : labels) {
      auto it = sample.labels.find(key);
      match &= it != sample.labels.end() && it->second == value;
    }
    if (match) total += sample.value;
  }
  return total;
}

constexpr const char* kApiPaths[] = {
    "/api/nodes",   "/api/actors", "/api/actors/0123456789ab", "/api/jobs",
    "/api/objects", "/metrics",    "/api/prometheus_targets",  "/api/actors/0123456789ab/log"};

TEST_F(DashboardTest, EveryEndpointWantsTheClusterToken) {
  for (const char* path : kApiPaths) {
    SCOPED_TRACE(path);
    auto none = client_->Get(path);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401);
    EXPECT_THAT(none->get_header_value("WWW-Authenticate"), HasSubstr("Bearer"));
    EXPECT_THAT(Parse<Struct>(none->body).fields().at("error").string_value(), HasSubstr("token"));
    auto wrong = client_->Get(path, Bearer(std::string(64, 'a')));
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
    auto right = client_->Get(path, Bearer(cluster_->token()));
    ASSERT_TRUE(right);
    EXPECT_NE(right->status, 401) << right->body;
  }
  // The page itself sends a browser to the login form; the form needs no token.
  for (const char* path : {"/", "/dashboard.js", "/index.html"}) {
    auto page = client_->Get(path);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->status, 303) << path;
    EXPECT_EQ(page->get_header_value("Location"), "/login") << path;
  }
  auto login = client_->Get("/login");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200);
  EXPECT_THAT(login->body, HasSubstr("name=\"token\""));
  EXPECT_THAT(login->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"));
}

TEST_F(DashboardTest, TheLoginFormSetsACookieThatOpensThePagesUntilLogout) {
  auto refused =
      client_->Post("/login", "token=" + std::string(64, 'a'), "application/x-www-form-urlencoded");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_FALSE(refused->has_header("Set-Cookie"));
  EXPECT_THAT(refused->body, HasSubstr("not this cluster's token"));

  auto login =
      client_->Post("/login", "token=" + cluster_->token(), "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 303);
  EXPECT_EQ(login->get_header_value("Location"), "/");
  const std::string set_cookie = login->get_header_value("Set-Cookie");
  EXPECT_THAT(set_cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(set_cookie, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(set_cookie, ::testing::Not(HasSubstr(cluster_->token())));
  const httplib::Headers cookie = {{"Cookie", set_cookie.substr(0, set_cookie.find(';'))}};

  auto page = client_->Get("/", cookie);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->get_header_value("Content-Type"), HasSubstr("text/html"));
  EXPECT_THAT(page->body, HasSubstr("/dashboard.js"));
  EXPECT_THAT(page->body, ::testing::Not(HasSubstr("https://")));  // nothing from the internet
  auto script = client_->Get("/dashboard.js", cookie);
  ASSERT_TRUE(script);
  EXPECT_EQ(script->status, 200);
  EXPECT_THAT(script->get_header_value("Content-Type"), HasSubstr("javascript"));
  EXPECT_THAT(script->body, HasSubstr("/api/actors"));
  auto nodes = client_->Get("/api/nodes", cookie);
  ASSERT_TRUE(nodes);
  EXPECT_EQ(nodes->status, 200);

  auto logout = client_->Post("/logout", cookie, "", "application/x-www-form-urlencoded");
  ASSERT_TRUE(logout);
  EXPECT_EQ(logout->status, 303);
  EXPECT_THAT(logout->get_header_value("Set-Cookie"), HasSubstr("Max-Age=0"));
}

TEST_F(DashboardTest, TheApiAnswersWhatTheCliPrints) {
  auto recorder = weft::Actor<Recorder>({.name = "dash-recorder"}).Remote();
  auto gate = weft::Actor<Gate>().Remote(0);
  auto doomed = weft::Actor<Recorder>({.name = "dash-doomed"}).Remote();
  recorder.Call(&Recorder::Pid).Get(kBound);
  gate.Call(&Gate::Echo, 1).Get(kBound);
  doomed.Call(&Recorder::Pid).Get(kBound);
  weft::Kill(doomed);
  auto blob = recorder.Call(&Recorder::Blob, int64_t{1} << 20);
  ASSERT_EQ(blob.Get(kBound).size(), size_t{1} << 20);

  // Actors: the same rows, field by field (no call runs meanwhile, so even the counts agree).
  const auto from_api = Parse<ListValue>(GetJson("/api/actors"));
  const auto from_cli = Parse<ListValue>(Cli({"list", "actors"}));
  ASSERT_EQ(from_api.values_size(), from_cli.values_size());
  for (int i = 0; i < from_api.values_size(); ++i) {
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(from_api.values(i), from_cli.values(i)))
        << from_api.values(i).DebugString() << "\n"
        << from_cli.values(i).DebugString();
  }
  std::map<std::string, std::string> states;
  for (const auto& actor : from_api.values()) {
    const auto& f = actor.struct_value().fields();
    states[f.at("actor_id").string_value()] = f.at("state").string_value();
  }
  EXPECT_EQ(states.size(), static_cast<size_t>(from_api.values_size())) << "an id twice";
  EXPECT_EQ(states[recorder.id()], "ALIVE");
  EXPECT_EQ(states[gate.id()], "ALIVE");
  EXPECT_EQ(states[doomed.id()], "DEAD");

  // Nodes, jobs and objects: the same entities in the same states.
  const auto api_nodes = Parse<Struct>(GetJson("/api/nodes")).fields().at("nodes").list_value();
  const auto cli_nodes = Parse<Struct>(Cli({"list", "nodes"})).fields().at("nodes").list_value();
  EXPECT_EQ(api_nodes.values_size(), 2);
  EXPECT_EQ(Strings(api_nodes, "node_id"), Strings(cli_nodes, "node_id"));
  EXPECT_EQ(Strings(api_nodes, "state"), std::set<std::string>{"NODE_ALIVE"});
  const auto api_jobs = Parse<Struct>(GetJson("/api/jobs")).fields().at("jobs").list_value();
  const auto cli_jobs = Parse<Struct>(Cli({"list", "jobs"})).fields().at("jobs").list_value();
  EXPECT_EQ(Strings(api_jobs, "job_id"), Strings(cli_jobs, "job_id"));
  EXPECT_EQ(Strings(api_jobs, "state"), std::set<std::string>{"JOB_RUNNING"});
  const auto api_objects = Parse<ListValue>(GetJson("/api/objects"));
  EXPECT_EQ(Strings(api_objects, "object_id"),
            Strings(Parse<ListValue>(Cli({"list", "objects"})), "object_id"));
  bool listed = false;
  for (const auto& value : api_objects.values()) {
    const auto& object = value.struct_value().fields();
    if (object.at("object_id").string_value() != blob.id()) continue;
    listed = true;
    EXPECT_GE(object.at("size_bytes").number_value(), 1 << 20);
  }
  EXPECT_TRUE(listed) << "the stored result is not listed";
}

TEST_F(DashboardTest, ActorsAreFilteredAndLookedUpByIdOrPrefix) {
  auto kept = weft::Actor<Recorder>().Remote();
  auto doomed = weft::Actor<Recorder>().Remote();
  const int pid = kept.Call(&Recorder::Pid).Get(kBound);
  doomed.Call(&Recorder::Pid).Get(kBound);
  weft::Kill(doomed);

  const auto dead = Parse<ListValue>(GetJson("/api/actors?filter=state%3DDEAD"));
  EXPECT_EQ(Strings(dead, "actor_id").count(doomed.id()), 1u);
  EXPECT_EQ(Strings(dead, "actor_id").count(kept.id()), 0u);
  EXPECT_EQ(Strings(dead, "state"), std::set<std::string>{"DEAD"});
  const auto both =
      Parse<ListValue>(GetJson("/api/actors?filter=state%3DALIVE&filter=class%3DRecorder"));
  EXPECT_EQ(Strings(both, "actor_id").count(kept.id()), 1u);
  EXPECT_EQ(Strings(both, "actor_id").count(doomed.id()), 0u);
  EXPECT_EQ(Strings(both, "state"), std::set<std::string>{"ALIVE"});
  EXPECT_EQ(Strings(both, "class_name"), std::set<std::string>{"Recorder"});

  const auto one = Parse<Struct>(GetJson("/api/actors/" + kept.id().substr(0, 10)));
  EXPECT_EQ(one.fields().at("actor_id").string_value(), kept.id());
  EXPECT_EQ(one.fields().at("pid").number_value(), pid);
  EXPECT_EQ(one.fields().at("finished").number_value(), 1);  // its worker was asked

  auto bad = client_->Get("/api/actors?filter=colour%3Dred", Bearer(cluster_->token()));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_THAT(Parse<Struct>(bad->body).fields().at("error").string_value(), HasSubstr("colour"));
  auto unknown = client_->Get("/api/actors/ffffffffffffffff", Bearer(cluster_->token()));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_THAT(Parse<Struct>(unknown->body).fields().at("error").string_value(),
              HasSubstr("ffffffffffffffff"));
  auto nothing = client_->Get("/api/nothing", Bearer(cluster_->token()));
  ASSERT_TRUE(nothing);
  EXPECT_EQ(nothing->status, 404);
}

// Every head RPC answered so far, from weft_head_rpc_seconds_count.
double HeadRpcs(const std::vector<PrometheusSample>& samples) {
  double calls = 0;
  for (const auto& sample : samples) {
    if (sample.name == "weft_head_rpc_seconds_count") calls += sample.value;
  }
  return calls;
}

TEST_F(DashboardTest, MetricsAreValidPrometheusTextAndFollowTheCluster) {
  auto scrape = [&] {
    auto res = client_->Get("/metrics", Bearer(cluster_->token()));
    EXPECT_TRUE(res && res->status == 200);
    EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
    auto samples = ParsePrometheusText(res ? res->body : "");
    EXPECT_TRUE(samples.ok()) << samples.status();
    return samples.ok() ? *samples : std::vector<PrometheusSample>();
  };
  const auto before = scrape();
  EXPECT_EQ(SampleValue(before, "weft_nodes", {{"state", "alive"}}), 2);
  EXPECT_EQ(SampleValue(before, "weft_jobs", {{"state", "RUNNING"}}), 1);
  // Counts as of now (a run of every case in one process shares the cluster).
  auto count = [](const std::vector<PrometheusSample>& samples, const std::string& state) {
    return std::max(
        0.0, SampleValue(samples, "weft_actors", {{"state", state}, {"class_name", "Recorder"}}));
  };
  const proto::ListNodesReply table = cluster_->ListNodes();
  for (const auto& node : table.nodes()) {
    EXPECT_EQ(SampleValue(before, "weft_node_resource_total",
                          {{"node_id", node.node_id()}, {"resource", "CPU"}}),
              2);
    const double age =
        SampleValue(before, "weft_node_heartbeat_age_seconds", {{"node_id", node.node_id()}});
    EXPECT_GE(age, 0);
    EXPECT_LT(age, 5) << "a node alive but not heard from";
  }

  std::vector<weft::ActorHandle<Recorder>> recorders;
  for (int i = 0; i < 3; ++i) recorders.push_back(weft::Actor<Recorder>().Remote());
  auto holder = weft::Actor<Spinner>({.num_cpus = 1}).Remote();  // holds a CPU while it lives
  holder.Call(&Spinner::Spin, 1).Get(kBound);
  for (auto& recorder : recorders) recorder.Call(&Recorder::Pid).Get(kBound);
  weft::Kill(recorders[0]);

  const auto after = scrape();
  EXPECT_EQ(count(after, "ALIVE"), count(before, "ALIVE") + 2);
  EXPECT_EQ(count(after, "DEAD"), count(before, "DEAD") + 1);
  EXPECT_GT(HeadRpcs(after), HeadRpcs(before)) << "the head's RPC counts did not move";
  double cpus_used = 0;
  for (const auto& sample : after) {
    if (sample.name == "weft_node_resource_used" && sample.labels.at("resource") == "CPU") {
      cpus_used += sample.value;
    }
  }
  EXPECT_GE(cpus_used, 1) << "the actor holding a CPU is not counted";
}

// The actor page's log: the worker's output read by its node, then followed from an offset.
TEST_F(DashboardTest, AnActorsLogIsReadFromItsNodeAndFollowedFromAnOffset) {
  auto recorder = weft::Actor<Recorder>().Remote();
  recorder.Call(&Recorder::Hello, std::string("first")).Get(kBound);
  const std::string path = "/api/actors/" + recorder.id() + "/log";
  // GETs `path` until its text holds `line` (the node's pipe reader may be a moment behind).
  auto read_until = [&](const std::string& from, const std::string& line) {
    std::optional<httplib::Response> answer;
    const bool seen = WaitFor([&] {
      auto res = client_->Get(from, Bearer(cluster_->token()));
      if (res) answer = *res;
      return res && res->status == 200 && absl::StrContains(res->body, line);
    });
    EXPECT_TRUE(seen) << from << ": " << (answer ? answer->body : "no answer");
    return answer.value_or(httplib::Response());
  };
  const httplib::Response log = read_until(path, "hello first");
  EXPECT_THAT(log.get_header_value("Content-Type"), HasSubstr("text/plain"));
  auto number = [](const std::string& text) {
    int64_t value = -1;
    return absl::SimpleAtoi(text, &value) ? value : int64_t{-1};
  };
  const int64_t offset = number(log.get_header_value("X-Log-Offset"));
  const int64_t size = number(log.get_header_value("X-Log-Size"));
  EXPECT_EQ(offset + static_cast<int64_t>(log.body.size()), size) << "the whole tail was read";

  recorder.Call(&Recorder::Hello, std::string("second")).Get(kBound);
  const httplib::Response more =
      read_until(path + "?offset=" + std::to_string(size), "hello second");
  EXPECT_THAT(more.body, ::testing::Not(HasSubstr("hello first"))) << "only what came after";
  EXPECT_EQ(more.get_header_value("X-Log-Offset"), std::to_string(size));

  auto errors = client_->Get(path + "?stream=stderr", Bearer(cluster_->token()));
  ASSERT_TRUE(errors);
  EXPECT_EQ(errors->status, 200);
  EXPECT_THAT(errors->body, ::testing::Not(HasSubstr("hello")));
  auto bad = client_->Get(path + "?stream=both", Bearer(cluster_->token()));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto unknown = client_->Get("/api/actors/ffffffffffffffff/log", Bearer(cluster_->token()));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

// Each node serves its workers' calls per class and method at /metrics (the cluster token as a
// bearer token), and the head lists every node's endpoint for Prometheus's service discovery.
TEST_F(DashboardTest, EachNodeServesItsWorkersCallsPerMethodForPrometheus) {
  const auto targets = NodeTargets();
  ASSERT_EQ(targets.size(), 2u) << "an endpoint per alive node";
  for (const auto& target : targets) {
    auto none = ScrapeNode(target, {});
    ASSERT_TRUE(none) << target;
    EXPECT_EQ(none->status, 401);
    auto wrong = ScrapeNode(target, Bearer(std::string(64, 'a')));
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401);
  }
  const std::map<std::string, std::string> echo = {{"class", "Recorder"}, {"method", "Echo"}};
  const std::map<std::string, std::string> fail = {{"class", "Recorder"}, {"method", "Fail"}};
  const std::map<std::string, std::string> add = {{"class", ""}, {"method", "Add"}};
  const auto before = ScrapeNodes();

  auto recorder = weft::Actor<Recorder>().Remote();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(recorder.Call(&Recorder::Echo, i).Get(kBound), i);
  EXPECT_THROW(recorder.Call(&Recorder::Fail, std::string("on purpose")).Get(kBound),
               weft::RemoteError);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(weft::Task(&Add).Remote(i, i).Get(kBound), 2 * i);

  const auto after = ScrapeNodes();
  auto moved = [&](const std::string& name, const std::map<std::string, std::string>& labels) {
    return Total(after, name, labels) - Total(before, name, labels);
  };
  EXPECT_EQ(moved("weft_calls_received_total", echo), 5);
  EXPECT_EQ(moved("weft_calls_finished_total", echo), 5);
  EXPECT_EQ(moved("weft_calls_failed_total", echo), 0);
  EXPECT_EQ(moved("weft_call_run_seconds_count", echo), 5);
  EXPECT_EQ(moved("weft_calls_failed_total", fail), 1);
  EXPECT_EQ(moved("weft_calls_finished_total", add), 3);
  EXPECT_EQ(Total(after, "weft_calls_in_flight", echo), 0);
  EXPECT_GE(Total(after, "weft_node_live_workers", {}), 2) << "the actor's and the task's";
}

// The Grafana dashboard in deploy/ asks only for metrics the head and the nodes serve.
TEST_F(DashboardTest, TheGrafanaDashboardAsksForMetricsTheHeadServes) {
  auto json = ReadFile(std::string(WEFT_SOURCE_DIR) + "/deploy/grafana/weft-cluster.json");
  ASSERT_TRUE(json.ok()) << json.status();
  const auto dashboard = Parse<Struct>(*json);
  // A family is served once it has a series: an actor, and a head RPC that failed.
  auto recorder = weft::Actor<Recorder>().Remote();
  recorder.Call(&Recorder::Pid).Get(kBound);
  EXPECT_FALSE(cluster_->HasActor("ffffffffffffffff"));
  auto res = client_->Get("/metrics", Bearer(cluster_->token()));
  ASSERT_TRUE(res && res->status == 200);
  std::string texts = res->body;
  for (const auto& target : NodeTargets()) {
    auto node = ScrapeNode(target, Bearer(cluster_->token()));
    ASSERT_TRUE(node && node->status == 200) << target;
    texts += node->body;
  }
  std::set<std::string> served;  // families, from their TYPE lines
  const std::regex type_line("# TYPE ([a-z_]+) ");
  for (std::sregex_iterator it(texts.begin(), texts.end(), type_line), end; it != end; ++it) {
    served.insert((*it)[1]);
  }
  const std::regex metric("weft_[a-z_]+");
  int asked = 0;
  for (const auto& panel : dashboard.fields().at("panels").list_value().values()) {
    for (const auto& target : panel.struct_value().fields().at("targets").list_value().values()) {
      const std::string expr = target.struct_value().fields().at("expr").string_value();
      for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end; it != end; ++it) {
        std::string name = it->str();
        for (const char* suffix : {"_bucket", "_count", "_sum"}) {
          if (!served.count(name) && absl::EndsWith(name, suffix)) {
            name.resize(name.size() - std::strlen(suffix));
          }
        }
        EXPECT_EQ(served.count(name), 1u) << name << " in " << expr;
        ++asked;
      }
    }
  }
  EXPECT_GE(asked, 10);
}

// A socket that holds a port on 127.0.0.1 (`port`, or any free one) until destroyed; port() is
// 0 when it could not bind (someone else listens there).
class HeldPort {
 public:
  explicit HeldPort(int port = 0) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    int yes = 1;  // a connection in TIME_WAIT does not keep it from listening
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
        listen(fd_, 1) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~HeldPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

TEST(DashboardPortTest, APortInUseLeavesTheHeadRunningWithoutADashboard) {
  HeldPort held;
  ASSERT_GT(held.port(), 0);
  TestCluster cluster(1, {"--dashboard-port", std::to_string(held.port())});
  EXPECT_EQ(cluster.AliveNodeCount(), 1) << "the head stopped over its dashboard";
  EXPECT_EQ(DashboardUrl(cluster.head_session()), "");
  // Its log says why.
  bool logged = false;
  for (const auto& entry :
       std::filesystem::directory_iterator(SessionDir(cluster.head_session()).LogsDir())) {
    auto text = ReadFile(entry.path().string());
    logged |= text.ok() && absl::StrContains(*text, "cannot serve the dashboard");
  }
  EXPECT_TRUE(logged);
}

// By default a head takes 8265, or a free port when another process holds that one (a second
// head on this machine, a program's own cluster), and says where.
TEST(DashboardPortTest, ATakenDefaultPortGivesTheDashboardAFreeOne) {
  HeldPort held(8265);  // held here, or by someone else already: taken either way
  TempDir dir;
  const std::string session = dir.Sub("head");
  const auto started = Weft({"start", "--head", "--port", "0", "--num-cpus", "1", "--session-dir",
                             session, "--exit-with-pid", std::to_string(getpid())});
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
  const std::string url = DashboardUrl(session);
  EXPECT_THAT(url, HasSubstr("http://127.0.0.1:"));
  EXPECT_THAT(url, ::testing::Not(HasSubstr(":8265/")));
  EXPECT_THAT(started.out, HasSubstr("dashboard:   " + url));
  httplib::Client client(Origin(url));
  auto login = client.Get("/login");
  ASSERT_TRUE(login) << httplib::to_string(login.error());
  EXPECT_EQ(login->status, 200);
  EXPECT_EQ(Weft({"stop", "--session-dir", session}).exit_code, 0);
}

TEST(DashboardPortTest, UnderTlsTheDashboardIsServedOverHttpsWithTheClusterCertificate) {
  TestCluster cluster(1, {"--tls"});
  const std::string url = DashboardUrl(cluster.head_session());
  ASSERT_THAT(url, HasSubstr("https://127.0.0.1:"));
  httplib::Client client(Origin(url));
  client.set_ca_cert_path((SessionDir(cluster.head_session()).TlsDir() + "/ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  auto nodes = client.Get("/api/nodes", {{"Authorization", "Bearer " + cluster.token()}});
  ASSERT_TRUE(nodes) << httplib::to_string(nodes.error());
  EXPECT_EQ(nodes->status, 200);
  EXPECT_EQ(Parse<Struct>(nodes->body).fields().at("nodes").list_value().values_size(), 1);
  auto login =
      client.Post("/login", "token=" + cluster.token(), "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  EXPECT_THAT(login->get_header_value("Set-Cookie"), HasSubstr("; Secure"));
  // Plaintext to the same port gets no page.
  httplib::Client plain(Origin("http://" + url.substr(std::string("https://").size())));
  plain.set_read_timeout(std::chrono::seconds(5));
  auto in_clear = plain.Get("/api/nodes", {{"Authorization", "Bearer " + cluster.token()}});
  EXPECT_TRUE(!in_clear || in_clear->status != 200);
}

}  // namespace
}  // namespace weft::testing
