// The weft command line: one binary, one subcommand per program (see command.hpp).
#include "command.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>

namespace weft::cli {
std::vector<command_entry>& registry() {
    static std::vector<command_entry> commands;
    return commands;
}
}  // namespace weft::cli

int main(int argc, char** argv) {
    CLI::App app{"weft: Python's concurrency toolbox in native C++20, and the programs built with it"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "weft 0.1.0");

    auto& commands = weft::cli::registry();
    std::sort(commands.begin(), commands.end(), [](auto& a, auto& b) { return a.name < b.name; });
    std::function<int()> chosen;
    for (auto& command : commands) {
        CLI::App* sub = app.add_subcommand(command.name, command.description);
        auto run = std::make_shared<std::function<int()>>(command.setup(*sub));
        sub->callback([run, &chosen] { chosen = *run; });
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int status = app.exit(e);
        return status == 0 ? 0 : 2;  // usage errors exit 2
    }
    try {
        return chosen ? chosen() : 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "weft: error: %s\n", e.what());
        return 1;
    }
}
