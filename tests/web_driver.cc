#include "tests/web_driver.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/process.h"
#include "common/session_dir.h"

namespace weft::testing {
namespace {

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kChromeDriver[] = "/usr/bin/chromedriver";
// The key under which W3C WebDriver returns an element reference.
constexpr char kElementKey[] = "element-6066-11e4-a52e-4f735466cecf";

google::protobuf::Value Text(const std::string& s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WebDriver>> WebDriver::Start(int width, int height) {
  for (const char* binary : {kChromium, kChromeDriver}) {
    if (access(binary, X_OK) != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat(binary, " is missing (scripts/install-deps.sh installs it)"));
    }
  }
  std::unique_ptr<WebDriver> driver(new WebDriver());
  const std::string log = driver->dir_.Sub("chromedriver.log");
  auto pid = SpawnProcess({.argv = {kChromeDriver, "--port=0"},
                           .stdout_path = log,
                           .stderr_path = log,
                           .new_session = true});  // with its browser, one group to kill
  if (!pid.ok()) return absl::FailedPreconditionError(pid.status().message());
  driver->pid_ = *pid;
  int port = 0;
  const std::regex started("started successfully on port ([0-9]+)");
  WaitFor([&] {
    auto text = ReadFile(log);
    std::smatch match;
    if (text.ok() && std::regex_search(*text, match, started)) port = std::stoi(match[1]);
    return port > 0 || !ProcessAlive(driver->pid_);
  });
  if (port == 0) {
    auto text = ReadFile(log);
    return absl::FailedPreconditionError(
        absl::StrCat("ChromeDriver did not start: ", text.ok() ? *text : "no log"));
  }
  driver->client_ = std::make_unique<httplib::Client>("127.0.0.1", port);
  driver->client_->set_connection_timeout(std::chrono::seconds(5));
  driver->client_->set_read_timeout(std::chrono::seconds(60));

  google::protobuf::Struct capabilities;
  auto& always =
      *(*capabilities.mutable_fields())["capabilities"].mutable_struct_value()->mutable_fields();
  auto& chrome =
      *(*always["alwaysMatch"].mutable_struct_value()->mutable_fields())["goog:chromeOptions"]
           .mutable_struct_value()
           ->mutable_fields();
  chrome["binary"] = Text(kChromium);
  auto& args = *chrome["args"].mutable_list_value();
  for (const std::string& arg :
       {std::string("--headless=new"), std::string("--no-sandbox"), std::string("--disable-gpu"),
        std::string("--disable-dev-shm-usage"), std::string("--no-first-run"),
        absl::StrCat("--window-size=", width, ",", height),
        absl::StrCat("--user-data-dir=", driver->dir_.Sub("profile"))}) {
    *args.add_values() = Text(arg);
  }
  auto session = driver->Command("POST", "/session", capabilities);
  if (!session.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("Chromium did not start: ", session.status().message()));
  }
  driver->session_ = session->struct_value().fields().at("sessionId").string_value();
  return driver;
}

WebDriver::~WebDriver() {
  if (!session_.empty() && client_) (void)Command("DELETE", "/session/" + session_);
  if (pid_ > 0) {
    kill(-pid_, SIGKILL);  // ChromeDriver and whatever browser processes are left
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

absl::StatusOr<google::protobuf::Value> WebDriver::Command(const std::string& method,
                                                           const std::string& path,
                                                           const google::protobuf::Struct& body) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(body, &json);
  httplib::Result res = method == "GET"      ? client_->Get(path)
                        : method == "DELETE" ? client_->Delete(path)
                                             : client_->Post(path, json, "application/json");
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat(method, " ", path, ": ", httplib::to_string(res.error())));
  }
  google::protobuf::Struct reply;
  if (!google::protobuf::util::JsonStringToMessage(res->body, &reply).ok()) {
    return absl::InternalError(absl::StrCat(method, " ", path, ": not JSON: ", res->body));
  }
  const google::protobuf::Value value =
      reply.fields().count("value") ? reply.fields().at("value") : google::protobuf::Value();
  if (res->status != 200) {
    std::string message;
    if (value.has_struct_value() && value.struct_value().fields().count("message")) {
      message = value.struct_value().fields().at("message").string_value();
    }
    return absl::InternalError(
        absl::StrCat(method, " ", path, ": HTTP ", res->status, ": ", message));
  }
  return value;
}

absl::Status WebDriver::Navigate(const std::string& url) {
  google::protobuf::Struct body;
  (*body.mutable_fields())["url"] = Text(url);
  return Command("POST", absl::StrCat("/session/", session_, "/url"), body).status();
}

absl::StatusOr<std::string> WebDriver::FindElement(const std::string& css) {
  google::protobuf::Struct body;
  (*body.mutable_fields())["using"] = Text("css selector");
  (*body.mutable_fields())["value"] = Text(css);
  auto found = Command("POST", absl::StrCat("/session/", session_, "/element"), body);
  if (!found.ok()) return found.status();
  return found->struct_value().fields().at(kElementKey).string_value();
}

absl::Status WebDriver::FillAndSubmit(const std::string& css, const std::string& text,
                                      const std::string& submit) {
  auto field = FindElement(css);
  if (!field.ok()) return field.status();
  google::protobuf::Struct keys;
  (*keys.mutable_fields())["text"] = Text(text);
  auto typed =
      Command("POST", absl::StrCat("/session/", session_, "/element/", *field, "/value"), keys);
  if (!typed.ok()) return typed.status();
  auto button = FindElement(submit);
  if (!button.ok()) return button.status();
  return Command("POST", absl::StrCat("/session/", session_, "/element/", *button, "/click"))
      .status();
}

absl::StatusOr<google::protobuf::Value> WebDriver::Execute(const std::string& script) {
  google::protobuf::Struct body;
  (*body.mutable_fields())["script"] = Text(script);
  (*body.mutable_fields())["args"].mutable_list_value();
  return Command("POST", absl::StrCat("/session/", session_, "/execute/sync"), body);
}

absl::StatusOr<std::string> WebDriver::Screenshot() {
  auto shot = Command("GET", absl::StrCat("/session/", session_, "/screenshot"));
  if (!shot.ok()) return shot.status();
  std::string png;
  if (!absl::Base64Unescape(shot->string_value(), &png)) {
    return absl::InternalError("the screenshot is not base64");
  }
  return png;
}

}  // namespace weft::testing
