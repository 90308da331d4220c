// The dashboard in a real browser (issue 17): headless Chromium logs in with the cluster token,
// finds the nodes and the actors of a running two-node cluster in the page's DOM with their
// states, takes a screenshot, and sees a killed actor turn DEAD without reloading the page.
// Skips, saying why, only where Chromium cannot start.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/session_dir.h"
#include "tests/actors/test_actors.h"
#include "tests/cluster_fixture.h"
#include "tests/web_driver.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

class DashboardBrowserTest : public TwoNodeClusterTest {
 protected:
  void SetUp() override {
    auto url = ReadFile(SessionDir(cluster_->head_session()).DashboardUrlPath());
    ASSERT_TRUE(url.ok()) << "the head recorded no dashboard: " << url.status();
    url_ = std::string(absl::StripAsciiWhitespace(*url));
    auto browser = WebDriver::Start();
    if (!browser.ok()) GTEST_SKIP() << "no browser test: " << browser.status().message();
    browser_ = *std::move(browser);
  }

  // What `script` returns, as JSON text (for comparisons and failure messages).
  std::string Eval(const std::string& script) {
    auto value = browser_->Execute(script);
    if (!value.ok()) return "error: " + std::string(value.status().message());
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(*value, &json);
    return json;
  }

  // The actors the page shows: actor id -> state, from the table's rows.
  std::map<std::string, std::string> ActorsOnPage() {
    auto rows = browser_->Execute(
        "return Array.from(document.querySelectorAll('#actors tr[data-actor-id]'))"
        ".map(r => [r.dataset.actorId, r.dataset.state, r.querySelector('.state').textContent]);");
    std::map<std::string, std::string> states;
    if (!rows.ok()) return states;
    for (const auto& row : rows->list_value().values()) {
      const auto& cells = row.list_value().values();
      // The state shown is the state in the row's data.
      if (cells[1].string_value() != cells[2].string_value()) continue;
      states[cells[0].string_value()] = cells[1].string_value();
    }
    return states;
  }

  // With $WEFT_DASHBOARD_SCREENSHOTS set (a folder), keeps the page as <name>.png there: the
  // README's pictures.
  void Keep(const std::string& name) {
    const char* dir = std::getenv("WEFT_DASHBOARD_SCREENSHOTS");
    if (dir == nullptr || *dir == 0) return;
    auto png = browser_->Screenshot();
    ASSERT_TRUE(png.ok()) << png.status();
    std::ofstream(std::string(dir) + "/" + name + ".png", std::ios::binary) << *png;
  }

  std::string url_;
  std::unique_ptr<WebDriver> browser_;
};

TEST_F(DashboardBrowserTest, TheActorsPageFollowsTheClusterLiveWithoutAReload) {
  auto named = weft::Actor<Recorder>({.name = "browser-recorder"}).Remote();
  auto gate = weft::Actor<Gate>().Remote(0);
  auto doomed = weft::Actor<Recorder>().Remote();
  named.Call(&Recorder::Pid).Get(kBound);
  gate.Call(&Gate::Echo, 1).Get(kBound);
  doomed.Call(&Recorder::Pid).Get(kBound);

  // Logging in with the cluster token leads to the dashboard.
  ASSERT_TRUE(browser_->Navigate(url_).ok());
  EXPECT_EQ(Eval("return location.pathname;"), "\"/login\"") << "not sent to the login page";
  ASSERT_TRUE(browser_->FillAndSubmit("#token", cluster_->token(), "#login").ok());
  ASSERT_TRUE(WaitFor([&] { return Eval("return location.pathname;") == "\"/\""; }, kBound))
      << Eval("return document.body.innerText;");

  // The cluster page lists both nodes, alive.
  ASSERT_TRUE(WaitFor(
      [&] {
        return Eval(
                   "return document.querySelectorAll("
                   "'tr[data-node-id][data-state=\"NODE_ALIVE\"]').length;") == "2";
      },
      kBound))
      << Eval("return document.body.innerText;");
  Keep("dashboard-cluster");

  // The actors page lists the three actors, alive.
  ASSERT_TRUE(browser_->Navigate(url_ + "#/actors").ok());
  const std::map<std::string, std::string> alive = {
      {named.id(), "ALIVE"}, {gate.id(), "ALIVE"}, {doomed.id(), "ALIVE"}};
  ASSERT_TRUE(WaitFor([&] { return ActorsOnPage() == alive; }, kBound))
      << Eval("return document.body.innerText;");
  EXPECT_THAT(Eval("return document.body.innerText;"), HasSubstr("browser-recorder"));

  auto png = browser_->Screenshot();
  ASSERT_TRUE(png.ok()) << png.status();
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(png->size(), 10'000u) << "a blank page?";
  Keep("dashboard-actors");

  // Killed from code, the actor turns DEAD on the page that is already open.
  ASSERT_EQ(Eval("window.weftTestMarker = 'same page'; return window.weftTestMarker;"),
            "\"same page\"");
  weft::Kill(doomed);
  std::map<std::string, std::string> after = alive;
  after[doomed.id()] = "DEAD";
  EXPECT_TRUE(WaitFor([&] { return ActorsOnPage() == after; }, kBound))
      << Eval("return document.body.innerText;");
  EXPECT_EQ(Eval("return window.weftTestMarker;"), "\"same page\"") << "the page was reloaded";
  EXPECT_THAT(Eval("return document.body.innerText;"), HasSubstr("weft::Kill"));

  // An actor's page follows its worker's log: a line printed after it opened appears in it.
  named.Call(&Recorder::Hello, std::string("before the page")).Get(kBound);
  ASSERT_TRUE(browser_->Navigate(url_ + "#/actors/" + named.id()).ok());
  auto log_text = [&] {
    return Eval(
        "const log = document.getElementById('actor-log'); "
        "return log ? log.textContent : '';");
  };
  ASSERT_TRUE(
      WaitFor([&] { return absl::StrContains(log_text(), "hello before the page"); }, kBound))
      << Eval("return document.body.innerText;");
  named.Call(&Recorder::Hello, std::string("while it is open")).Get(kBound);
  EXPECT_TRUE(
      WaitFor([&] { return absl::StrContains(log_text(), "hello while it is open"); }, kBound))
      << log_text();
  Keep("dashboard-actor-log");
}

}  // namespace
}  // namespace weft::testing
