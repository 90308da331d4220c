// Driver for tests/cli_actors_test.cc: leaves actors in every state for the CLI to show.
//
//   cli_actors_driver          creates, then exits (its job finishes):
//     greeter  Greeter, named, detached: says "hello cli" and stores a 200 kB result
//     chatter  Chatter, named, detached, on the same worker: says "chatter noise"
//     trainer  Trainer, named, detached, wants 64 GPUs: stays PENDING
//     (anon)   Counter, not detached: DEAD once the job finishes
//   cli_actors_driver say TEXT has the live greeter say "hello TEXT".
//
// Finds the cluster through WEFT_SESSION_DIR (or WEFT_ADDRESS/WEFT_TOKEN).

#include <weft/weft.h>

#include <iostream>
#include <string>

class Greeter {
 public:
  std::string Hello(std::string who) {
    std::cout << "hello " << who << std::endl;
    return "hi " + who;
  }
  std::string Blob(int size) { return std::string(size, 'x'); }
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
                                 .Method("Blob", &Greeter::Blob);
static const auto kChatter = weft::ActorClass<Chatter>("Chatter").Method("Speak", &Chatter::Speak);
static const auto kTrainer = weft::ActorClass<Trainer>("Trainer").Method("Train", &Trainer::Train);
static const auto kCounter = weft::ActorClass<Counter>("Counter").Method("Add", &Counter::Add);

constexpr std::chrono::seconds kTimeout{30};

int main(int argc, char** argv) {
  weft::Init();
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
  // Too large to return inline: the worker stores it and registers it with the head. Not
  // fetched (a Get of a stored result times out for now); the greeter runs one call at a
  // time, so the Hello after it returns once the blob is stored.
  const auto blob = greeter.Call(&Greeter::Blob, 200 * 1000);
  greeter.Call(&Greeter::Hello, std::string("after the blob")).Get(kTimeout);
  weft::Shutdown();
  return 0;
}
