#pragma once
// The CLI's subcommand registry. Each apps/weft/cmd_<name>.cpp defines one subcommand and
// registers it with a static `weft::cli::command_registration`, so adding a program never
// touches main.cpp.
//
// Example (apps/weft/cmd_hello.cpp):
//   static int run_hello(const hello_options& o);
//   static weft::cli::command_registration hello{"hello", "Say hello", [](CLI::App& app) {
//       auto opts = std::make_shared<hello_options>();
//       app.add_option("--name", opts->name);
//       return [opts] { return run_hello(*opts); };
//   }};

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace weft::cli {

/// Declares the subcommand's options on `app` and returns what runs it (its exit status).
using command_setup = std::function<std::function<int()>(CLI::App& app)>;

struct command_entry {
    std::string name;
    std::string description;
    command_setup setup;
};

/// Every registered subcommand (static registrations run before main).
std::vector<command_entry>& registry();

/// Registers a subcommand at static-initialization time.
struct command_registration {
    command_registration(std::string name, std::string description, command_setup setup) {
        registry().push_back({std::move(name), std::move(description), std::move(setup)});
    }
};

}  // namespace weft::cli
