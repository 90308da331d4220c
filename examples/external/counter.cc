#include "counter.h"

#include <weft/weft.h>

#include <iostream>

Counter::Counter(int start) : value_(start) {}

int Counter::Add(int n) {
  value_ += n;
  std::cout << "added " << n << ", total " << value_ << std::endl;  // reaches the driver
  return value_;
}

int Counter::Value() const { return value_; }

std::string Counter::Describe() const { return "counter at " + std::to_string(value_); }

// Registered when the library is loaded, in the driver and in the worker alike.
static const auto kCounter = weft::ActorClass<Counter>("Counter")
                                 .Constructor<int>()
                                 .Method("Add", &Counter::Add)
                                 .Method("Value", &Counter::Value)
                                 .Method("Describe", &Counter::Describe);
