// A driver that dies in the middle of a stream (tests/stream_test.cc): it takes the first item
// of actor argv[1]'s Count stream, says so, and ends at once without weft::Shutdown, as a
// crashed driver does.

#include <weft/weft.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "tests/actors/stream_actors.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: stream_driver ACTOR_NAME" << std::endl;
    return 2;
  }
  weft::Init();
  auto actor = weft::GetActor<weft::testing::Streamer>(argv[1]);
  auto stream = actor.Call(&weft::testing::Streamer::Count, 1000000);
  auto first = stream.Next(std::chrono::seconds(20));
  std::cout << "took " << (first ? first->Get() : -1) << std::endl;
  std::_Exit(0);
}
