// The weft command line: one binary, one subcommand per program.
#include <weft/weft.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    CLI::App app{"weft: Python's concurrency toolbox, native C++20, and the programs built with it"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "weft 0.1.0");
    auto* version = app.add_subcommand("version", "Print the version");
    version->callback([] { std::puts("weft 0.1.0"); });
    CLI11_PARSE(app, argc, argv);
    return 0;
}
