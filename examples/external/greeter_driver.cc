// A driver and its actor class in one source, built with weft_add_program.

#include <weft/weft.h>

#include <iostream>
#include <string>

class Greeter {
 public:
  explicit Greeter(std::string greeting) : greeting_(std::move(greeting)) {}

  std::string Greet(const std::string& name) {
    ++greeted_;
    std::cout << "greeting " << name << std::endl;  // reaches the driver
    return greeting_ + ", " + name + "!";
  }
  int Greeted() const { return greeted_; }

 private:
  std::string greeting_;
  int greeted_ = 0;
};

static const auto kGreeter = weft::ActorClass<Greeter>("Greeter")
                                 .Constructor<std::string>()
                                 .Method("Greet", &Greeter::Greet)
                                 .Method("Greeted", &Greeter::Greeted);

int main() {
  try {
    weft::Init();
    auto greeter = weft::Actor<Greeter>().Remote(std::string("Hello"));
    for (const char* name : {"Ada", "Grace"}) {
      std::cout << greeter.Call(&Greeter::Greet, std::string(name)).Get() << std::endl;
    }
    const auto greeted = greeter.Call(&Greeter::Greeted).Get();  // before the line is begun
    std::cout << "Greeted() = " << greeted << std::endl;
    weft::Shutdown();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "greeter_driver: " << e.what() << std::endl;
    return 1;
  }
}
