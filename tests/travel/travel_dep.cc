#include "tests/travel/travel_dep.h"

std::string TravelGreeting(const std::string& who) {
  return "greetings from the dependency, " + who;
}

int64_t TravelWeight(int64_t x) { return 2 * x; }
