// `weft get`: download a list of URLs with the crawler's engine (aria2c's / wget2's job).
#include "command.hpp"
#include "crawl_cli.hpp"

#include <memory>

static weft::cli::command_registration get_command{
    "get", "Download URLs (or a list with -i) concurrently, resumably", [](CLI::App& app) {
        auto cli = std::make_shared<weft::cli::crawl_cli>();
        cli->crawl.seeds_are_images = true;
        cli->crawl.ignore_robots = true;  // explicit URLs, like wget and aria2 without recursion
        cli->crawl.out_dir = ".";
        app.add_option("urls", cli->urls, "URLs; curl globs expand: img_[001-100].jpg, {a,b}");
        weft::cli::add_transfer_options(app, *cli);
        return [cli] { return weft::cli::run_crawl(*cli); };
    }};
