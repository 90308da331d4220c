// Driver for tests/code_distribution_test.cc: its actor class and task live in this program's
// library (libcode_travel_driver.so), which needs libtravel_dep.so. The test copies both to a
// folder of their own and runs this driver from there; once Init has sent them to the cluster,
// it removes that folder (TRAVEL_REMOVE_DIR), so that no worker can load them by their path.
//
//   TRAVEL_REMOVE_DIR=DIR [TRAVEL_RESOURCE=R] code_travel_driver
//
// Creates an actor and runs a task (on a node offering resource R when given), each calling
// the dependency; prints their results and "ok", or "error: ..." and exits 1.

#include <weft/weft.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>

#include "tests/travel/travel_dep.h"

class Traveler {
 public:
  std::string Greet(std::string who) { return TravelGreeting(who); }
};

static const auto kTraveler =
    weft::ActorClass<Traveler>("Traveler").Method("Greet", &Traveler::Greet);

int64_t Weigh(int64_t x) { return TravelWeight(x); }
static const bool kWeigh = weft::RemoteFunction("Weigh", &Weigh);

int main() {
  constexpr std::chrono::seconds kTimeout{60};
  weft::Init();
  if (const char* dir = std::getenv("TRAVEL_REMOVE_DIR")) std::filesystem::remove_all(dir);
  try {
    const char* resource = std::getenv("TRAVEL_RESOURCE");
    std::map<std::string, double> where;
    if (resource) where = {{resource, 1}};
    auto traveler = weft::Actor<Traveler>({.resources = where}).Remote();
    std::cout << traveler.Call(&Traveler::Greet, std::string("weft")).Get(kTimeout) << std::endl;
    std::cout << "weight "
              << weft::Task(&Weigh, {.num_cpus = resource ? 0.0 : 1.0, .resources = where})
                     .Remote(int64_t{21})
                     .Get(kTimeout)
              << std::endl;
  } catch (const weft::Error& error) {
    std::cout << "error: " << error.what() << std::endl;
    weft::Shutdown();
    return 1;
  }
  weft::Shutdown();
  std::cout << "ok" << std::endl;
  return 0;
}
