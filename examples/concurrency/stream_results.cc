// Streaming results, as Ray's `num_returns="streaming"`: a method returning
// weft::Generator<T> yields its values one by one; the caller takes each as soon as it is
// produced, while the producer runs at most a window of items ahead (backpressure). An error
// ends the stream at its position.
//
// Prints (the first line from the worker):
//   (generate pid=4121) generating: the quick brown fox
//   tokens: the quick brown fox
//   squares: 0 1 4 9 16 (sum of 10000: 333283335000)
//   stream failed after 3 items: std::runtime_error: disk full

#include <weft/weft.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

class Model {  // produces tokens one at a time (a threaded actor: it has no Async method)
 public:
  weft::Generator<std::string> Generate(std::string prompt) {
    std::cout << "generating: " << prompt << std::endl;
    std::istringstream words(prompt);
    for (std::string word; words >> word;) {
      co_await weft::Sleep(std::chrono::milliseconds(5));  // the work of one token
      co_yield word;
    }
  }
};

class Writer {  // threaded actor
 public:
  weft::Generator<int> WriteChunks(int n) {
    for (int i = 0; i < n; ++i) {
      if (i == 3) throw std::runtime_error("disk full");
      co_yield i;
    }
  }
};

weft::Generator<int64_t> Squares(int n) {  // a task
  for (int64_t i = 0; i < n; ++i) co_yield i* i;
}

static const auto kModel = weft::ActorClass<Model>("Model").Method("Generate", &Model::Generate);
static const auto kWriter =
    weft::ActorClass<Writer>("Writer").Method("WriteChunks", &Writer::WriteChunks);
static const bool kSquares = weft::RemoteFunction("Squares", &Squares);

int main() {
  weft::Init();

  auto model = weft::Actor<Model>().Remote();
  // Named, as Ray's .options(name=...): the worker's output line reads "(generate pid=N) ...".
  auto named = model.Options({.name = "generate"});
  auto tokens = named.Call(&Model::Generate, std::string("the quick brown fox"));
  std::string text;
  for (weft::ObjectRef<std::string> token : tokens) {
    text += " " + token.Get();  // each one as soon as it is made
  }
  std::cout << "tokens:" << text << std::endl;

  // 10,000 items, at most 64 (the default window) ahead of this loop.
  // (Lines are printed whole: the worker's lines may arrive in between.)
  int64_t sum = 0;
  int shown = 0;
  std::ostringstream squares;
  for (auto square : weft::Task(&Squares).Remote(10000)) {
    const int64_t value = square.Get();
    if (shown++ < 5) squares << " " << value;
    sum += value;
  }
  std::cout << "squares:" << squares.str() << " (sum of 10000: " << sum << ")" << std::endl;

  auto writer = weft::Actor<Writer>().Remote();
  int written = 0;
  for (auto chunk : writer.Call(&Writer::WriteChunks, 10)) {
    try {
      chunk.Get();
      ++written;
    } catch (const weft::RemoteError& e) {
      std::cout << "stream failed after " << written << " items: " << e.type() << ": "
                << e.message() << std::endl;
    }
  }
  weft::Shutdown();
}
