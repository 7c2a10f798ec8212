#pragma once
// What `weft crawl` and `weft get` share: their common options, the progress display, and
// running weft::crawl::crawl under weft::run with the exit statuses both promise
// (0 all saved, 1 some failed, 2 bad usage, 130 interrupted).
//
// Example (a subcommand's setup):
//   auto cli = std::make_shared<weft::cli::crawl_cli>();
//   weft::cli::add_transfer_options(app, *cli);
//   return [cli] { return weft::cli::run_crawl(*cli); };

#include <CLI/CLI.hpp>
#include <weft/crawl/crawler.hpp>

#include <memory>
#include <string>
#include <vector>

namespace weft::cli {

struct crawl_cli {
    weft::crawl::crawl_options crawl{};
    std::vector<std::string> urls{};   // as given: globs allowed
    std::string input_file{};          // -i: one URL (or glob) per line
    std::string layout = "flat";
    double delay_s = 0, connect_timeout_s = 15, idle_timeout_s = 30, timeout_s = 300;
    std::vector<std::string> headers{};  // "Name: value"
    std::string report{};
    bool sequential = false, quiet = false, verbose = false;
    // --demo: the embedded gallery, served in-process on 127.0.0.1.
    bool demo = false;
    int demo_pages = 4, demo_per_page = 20;
    std::size_t demo_image_bytes = 16 * 1024;
    int demo_latency_ms = 50;
    double demo_faults = 0.02;
    std::uint16_t demo_port = 0;  // reused from the previous demo crawl into the same directory
};

/// Output, concurrency, retry, timeout and header options common to crawl and get.
void add_transfer_options(CLI::App& app, crawl_cli& cli);

/// Expands globs and -i, checks everything, runs the crawl, prints the summary and writes the
/// report; returns the exit status.
int run_crawl(crawl_cli& cli);

}  // namespace weft::cli
