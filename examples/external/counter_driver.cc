// Creates a Counter on the cluster, calls it, prints what it returns.
//
//   weft start --head && ./counter_driver && weft stop
// Without a running cluster, weft::Init() starts a local one and Shutdown() stops it.

#include <weft/weft.h>

#include <iostream>

#include "counter.h"

int main() {
  try {
    weft::Init();
    auto counter = weft::Actor<Counter>().Remote(10);
    for (int n : {1, 2, 3}) {
      std::cout << "Add(" << n << ") = " << counter.Call(&Counter::Add, n).Get() << std::endl;
    }
    std::cout << "Value() = " << counter.Call(&Counter::Value).Get() << std::endl;
    std::cout << "Describe() = " << counter.Call(&Counter::Describe).Get() << std::endl;
    weft::Shutdown();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "counter_driver: " << e.what() << std::endl;
    return 1;
  }
}
