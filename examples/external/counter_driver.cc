// Creates a Counter on the cluster, calls it, prints what it returns.
//
//   weft start --head && ./counter_driver && weft stop
// Without a running cluster, weft::Init() starts a local one and Shutdown() stops it.

#include <weft/weft.h>

#include <iostream>
#include <string>

#include "counter.h"

int main() {
  try {
    weft::Init();
    auto counter = weft::Actor<Counter>().Remote(10);
    // Each result is taken before its line is printed: the actor's own output reaches this
    // process's stdout as it comes, and would land inside a line printed while Get waits.
    for (int n : {1, 2, 3}) {
      const int total = counter.Call(&Counter::Add, n).Get();
      std::cout << "Add(" << n << ") = " << total << std::endl;
    }
    const int value = counter.Call(&Counter::Value).Get();
    std::cout << "Value() = " << value << std::endl;
    const std::string description = counter.Call(&Counter::Describe).Get();
    std::cout << "Describe() = " << description << std::endl;
    weft::Shutdown();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "counter_driver: " << e.what() << std::endl;
    return 1;
  }
}
