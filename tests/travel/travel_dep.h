#pragma once

// A library that the code of tests/travel/code_travel_driver.cc needs, and that no node has:
// it travels with the job's code (issue 14).

#include <cstdint>
#include <string>

std::string TravelGreeting(const std::string& who);
int64_t TravelWeight(int64_t x);
