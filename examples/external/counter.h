#pragma once

// An actor class in a library of its own (libcounter_actors.so): the driver links it, and
// each worker that hosts a Counter loads it.

#include <string>

class Counter {
 public:
  explicit Counter(int start);

  // Adds `n` and returns the new total.
  int Add(int n);
  int Value() const;
  std::string Describe() const;

 private:
  int value_;
};
