// `weft version`: prints the version.
#include "command.hpp"

#include <cstdio>

static weft::cli::command_registration version_command{"version", "Print the version", [](CLI::App&) {
    return std::function<int()>([] {
        std::puts("weft 0.1.0");
        return 0;
    });
}};
