// Cancelling calls, as Ray's `ray.cancel(ref)`:
//  - an async actor's coroutine is resumed with weft::CancelledError at the co_await it waits
//    at, cleans up, and the caller's Get throws weft::TaskCancelledError;
//  - a threaded actor's running call sees weft::CancelRequested() and returns early;
//  - a task that ignores the request is stopped with force (its worker process is killed);
//  - a call that has finished is left alone.
//
// Prints:
//   coroutine: cancelled, cleaned up: yes
//   threaded: stopped early with a partial result
//   task: cancelled with force
//   finished call: nothing to cancel

#include <weft/weft.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

class Downloader {  // async actor: its coroutines run on one event loop
 public:
  weft::Async<std::string> Fetch() {
    started_.Set();
    try {
      co_await weft::Sleep(std::chrono::minutes(1));  // a long download
    } catch (const weft::CancelledError&) {
      cleaned_up_ = true;  // close files, release buffers...
      throw;               // and end as cancelled
    }
    co_return "done";
  }
  weft::Async<int> WhenStarted() {
    co_await started_.Wait();
    co_return 1;
  }
  bool CleanedUp() { return cleaned_up_; }

 private:
  weft::Event started_;
  bool cleaned_up_ = false;
};

class Crawler {  // threaded actor: a running call cannot be interrupted, only asked
 public:
  int Crawl() {
    Started();
    int pages = 0;
    while (!weft::CancelRequested() && pages < 60000) {
      ++pages;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a page's work
    }
    return pages;  // what it has so far
  }
  int WhenStarted() {
    std::unique_lock lock(mu_);
    started_changed_.wait(lock, [&] { return started_; });
    return 1;
  }

 private:
  void Started() {
    std::lock_guard lock(mu_);
    started_ = true;
    started_changed_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable started_changed_;
  bool started_ = false;
};

class Flag {  // raised once
 public:
  weft::Async<int> Raise() {
    raised_.Set();
    co_return 1;
  }
  weft::Async<int> Raised() {
    co_await raised_.Wait();
    co_return 1;
  }

 private:
  weft::Event raised_;
};

int Spin(weft::ActorHandle<Flag> started) {  // a task deaf to CancelRequested()
  started.Call(&Flag::Raise).Get();
  std::this_thread::sleep_for(std::chrono::minutes(1));
  return 0;
}

static const auto kDownloader = weft::ActorClass<Downloader>("Downloader")
                                    .Method("Fetch", &Downloader::Fetch)
                                    .Method("WhenStarted", &Downloader::WhenStarted)
                                    .Method("CleanedUp", &Downloader::CleanedUp);
static const auto kCrawler = weft::ActorClass<Crawler>("Crawler")
                                 .Method("Crawl", &Crawler::Crawl)
                                 .Method("WhenStarted", &Crawler::WhenStarted);
static const auto kFlag =
    weft::ActorClass<Flag>("Flag").Method("Raise", &Flag::Raise).Method("Raised", &Flag::Raised);
static const bool kSpin = weft::RemoteFunction("Spin", &Spin);

int main() {
  weft::Init();

  auto downloader = weft::Actor<Downloader>().Remote();
  auto download = downloader.Call(&Downloader::Fetch);
  downloader.Call(&Downloader::WhenStarted).Get();
  weft::Cancel(download);
  try {
    download.Get();
  } catch (const weft::TaskCancelledError&) {
    std::cout << "coroutine: cancelled, cleaned up: "
              << (downloader.Call(&Downloader::CleanedUp).Get() ? "yes" : "no") << std::endl;
  }

  auto crawler = weft::Actor<Crawler>({.max_concurrency = 2}).Remote();
  auto crawl = crawler.Call(&Crawler::Crawl);
  crawler.Call(&Crawler::WhenStarted).Get();
  weft::Cancel(crawl);
  const int pages = crawl.Get();
  std::cout << "threaded: " << (pages < 60000 ? "stopped early with a partial result" : "ran out")
            << std::endl;

  auto started = weft::Actor<Flag>().Remote();
  auto spin = weft::Task(&Spin).Remote(started);
  started.Call(&Flag::Raised).Get();  // it runs: only killing its worker stops it now
  weft::Cancel(spin, {.force = true});
  try {
    spin.Get();
  } catch (const weft::TaskCancelledError&) {
    std::cout << "task: cancelled with force" << std::endl;
  }

  auto finished = crawler.Call(&Crawler::WhenStarted);
  finished.Get();
  if (weft::Cancel(finished) == weft::CancelOutcome::kAlreadyFinished) {
    std::cout << "finished call: nothing to cancel" << std::endl;
  }
  weft::Shutdown();
}
