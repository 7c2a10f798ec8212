// `weft crawl`: the tutorial's coroutine image crawler, done right (weft::crawl::crawl).
#include "command.hpp"
#include "crawl_cli.hpp"

#include <memory>

static weft::cli::command_registration crawl_command{
    "crawl", "Crawl gallery pages and download every image concurrently (resumable)", [](CLI::App& app) {
        auto cli = std::make_shared<weft::cli::crawl_cli>();
        auto& o = cli->crawl;
        app.add_option("urls", cli->urls, "Page URLs; curl globs expand: index_[2-5].html, {a,b}");
        app.add_option("--select", o.select, "XPath selecting image URLs")->capture_default_str();
        app.add_option("--regex", o.regex, "Select image URLs with a regex over the page instead (capture group 1)");
        app.add_option("--match", o.match, "Keep only image URLs matching this regex");
        app.add_option("--follow", o.follow, "XPath selecting links to crawl as pages (e.g. '//a/@href')");
        app.add_option("--depth", o.depth, "Hops to follow from the start pages")->capture_default_str()->check(CLI::Range(0, 1000));
        app.add_flag("--any-host", o.any_host, "Follow links to other hosts too");
        app.add_flag("--ignore-robots", o.ignore_robots, "Do not obey robots.txt");
        app.add_flag("--dedup-content", o.dedup_content, "Skip images whose content (SHA-256) is already saved");
        app.add_flag("--sequential", cli->sequential, "One request at a time: the tutorial's synchronous version");
        weft::cli::add_transfer_options(app, *cli);
        app.add_flag("--demo", cli->demo, "Crawl the embedded demo gallery, served in-process on 127.0.0.1");
        app.add_option("--demo-pages", cli->demo_pages, "Demo: gallery pages")->capture_default_str()->check(CLI::Range(1, 10000));
        app.add_option("--demo-per-page", cli->demo_per_page, "Demo: images per page")->capture_default_str()->check(CLI::Range(1, 100000));
        app.add_option("--demo-image-bytes", cli->demo_image_bytes, "Demo: bytes per image")->capture_default_str()->check(CLI::Range(64, 1 << 30));
        app.add_option("--demo-latency", cli->demo_latency_ms, "Demo: ms before each answer")->capture_default_str()->check(CLI::Range(0, 60000));
        app.add_option("--demo-faults", cli->demo_faults, "Demo: rate of each fault kind (5xx, 429, reset, truncation, redirect)")->capture_default_str()->check(CLI::Range(0.0, 0.5));
        return [cli] { return weft::cli::run_crawl(*cli); };
    }};
