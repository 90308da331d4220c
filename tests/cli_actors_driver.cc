// Driver for tests/cli_actors_test.cc: leaves actors in every state for the CLI to show.
//
//   cli_actors_driver          creates, then exits (its job finishes):
//     greeter  Greeter, named, detached: says "hello cli"
//     chatter  Chatter, named, detached, on the same worker: says "chatter noise"
//     trainer  Trainer, named, detached, wants 64 GPUs: stays PENDING
//     (anon)   Counter, not detached: DEAD once the job finishes
//   cli_actors_driver say TEXT has the live greeter say "hello TEXT".
//   cli_actors_driver hold-blob READY_FILE has the greeter make a 200 kB result (stored by
//     its worker, owned by this driver) and keep a reference to it (a borrower), writes
//     READY_FILE, then waits (at most two minutes) to be killed.
//
// Finds the cluster through WEFT_SESSION_DIR (or WEFT_ADDRESS/WEFT_TOKEN).

#include <weft/weft.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

class Greeter {
 public:
  std::string Hello(std::string who) {
    std::cout << "hello " << who << std::endl;
    return "hi " + who;
  }
  std::string Blob(int size) { return std::string(size, 'x'); }
  void Keep(weft::ObjectRef<std::string> blob) { kept_ = blob; }

 private:
  weft::ObjectRef<std::string> kept_;
};

class Chatter {
 public:
  int Speak() {
    std::cout << "chatter noise" << std::endl;
    return 1;
  }
};

class Trainer {
 public:
  int Train() { return 0; }
};

class Counter {
 public:
  int Add(int n) { return total_ += n; }

 private:
  int total_ = 0;
};

static const auto kGreeter = weft::ActorClass<Greeter>("Greeter")
                                 .Method("Hello", &Greeter::Hello)
                                 .Method("Blob", &Greeter::Blob)
                                 .Method("Keep", &Greeter::Keep);
static const auto kChatter = weft::ActorClass<Chatter>("Chatter").Method("Speak", &Chatter::Speak);
static const auto kTrainer = weft::ActorClass<Trainer>("Trainer").Method("Train", &Trainer::Train);
static const auto kCounter = weft::ActorClass<Counter>("Counter").Method("Add", &Counter::Add);

constexpr std::chrono::seconds kTimeout{30};

int main(int argc, char** argv) {
  weft::Init();
  if (argc == 3 && std::string(argv[1]) == "hold-blob") {  // owns a blob the greeter stores
    auto greeter = weft::GetActor<Greeter>("greeter");
    const auto blob = greeter.Call(&Greeter::Blob, 200 * 1000);
    if (weft::Wait(std::vector{blob}, 1, kTimeout, /*fetch_local=*/false).ready.size() != 1) {
      return 4;
    }
    greeter.Call(&Greeter::Keep, blob).Get(kTimeout);
    std::ofstream(argv[2]) << "ready\n";
    std::this_thread::sleep_for(std::chrono::minutes(2));  // the test kills us long before
    return 3;
  }
  if (argc == 3 && std::string(argv[1]) == "say") {
    auto greeter = weft::GetActor<Greeter>("greeter");
    std::cout << greeter.Call(&Greeter::Hello, std::string(argv[2])).Get(kTimeout) << std::endl;
    weft::Shutdown();
    return 0;
  }
  auto greeter = weft::Actor<Greeter>({.name = "greeter", .detached = true}).Remote();
  auto chatter = weft::Actor<Chatter>({.name = "chatter", .detached = true}).Remote();
  weft::Actor<Trainer>({.name = "trainer", .resources = {{"GPU", 64}}, .detached = true}).Remote();
  auto counter = weft::Actor<Counter>().Remote();

  std::cout << greeter.Call(&Greeter::Hello, std::string("cli")).Get(kTimeout) << std::endl;
  chatter.Call(&Chatter::Speak).Get(kTimeout);
  counter.Call(&Counter::Add, 2).Get(kTimeout);
  weft::Shutdown();
  return 0;
}
