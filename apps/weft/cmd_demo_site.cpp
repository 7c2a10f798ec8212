// `weft demo-site`: serves the deterministic gallery (weft::http::demo_site) on 127.0.0.1.
#include "command.hpp"

#include <weft/errors.hpp>
#include <weft/http/demo_site.hpp>
#include <weft/run.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

struct demo_site_cli {
    weft::http::demo_site_options site;
    std::string latency = "0";
    double fault_5xx = 0, fault_429 = 0, fault_reset = 0, fault_truncate = 0, fault_stall = 0, fault_redirect = 0;
    bool hotlink = false;
    int stall_ms = 60'000;
};

// "50" (fixed, ms) or "20-80" (uniform between, ms).
void parse_latency(const std::string& text, weft::http::demo_site_options& o) {
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
        throw std::invalid_argument("bad --latency '" + text + "': use MS or MIN-MAX");
    std::size_t used = 0;
    long low = std::stol(text, &used);
    long high = low;
    if (used < text.size()) {
        if (text[used] != '-') throw std::invalid_argument("bad --latency '" + text + "': use MS or MIN-MAX");
        std::size_t more = 0;
        if (used + 1 >= text.size() || !std::isdigit(static_cast<unsigned char>(text[used + 1])))
            throw std::invalid_argument("bad --latency '" + text + "': use MS or MIN-MAX");
        high = std::stol(text.substr(used + 1), &more);
        if (used + 1 + more != text.size() || high < low)
            throw std::invalid_argument("bad --latency '" + text + "': use MS or MIN-MAX");
    }
    o.latency = std::chrono::milliseconds(low);
    o.jitter = std::chrono::milliseconds(high - low);
}

weft::task<int> serve(demo_site_cli cli) {
    auto site = co_await weft::http::demo_site::start(cli.site);
    std::printf("demo site: %s/4kmeinv/  (%d pages, %zu images; manifest %s/manifest.json)\n", site.url().c_str(),
                cli.site.pages, site.images().size(), site.url().c_str());
    if (cli.site.messy)
        std::printf("messy pages: %s/messy/index.html  (%zu cases; expectations under \"messy\" in the manifest)\n",
                    site.url().c_str(), site.messy_cases().size());
    std::fflush(stdout);
    co_await site.serve_forever();
    co_return 0;
}

int run_demo_site(demo_site_cli cli) {
    parse_latency(cli.latency, cli.site);
    cli.site.faults = {.server_error = cli.fault_5xx,
                       .throttle = cli.fault_429,
                       .reset = cli.fault_reset,
                       .truncate = cli.fault_truncate,
                       .stall = cli.fault_stall,
                       .redirect = cli.fault_redirect,
                       .hotlink_protection = cli.hotlink,
                       .stall_for = std::chrono::milliseconds(cli.stall_ms)};
    try {
        return weft::run(serve(cli));
    } catch (const weft::keyboard_interrupt&) {
        return 0;  // Ctrl-C: a clean stop
    }
}

}  // namespace

static weft::cli::command_registration demo_site_command{
    "demo-site", "Serve a deterministic GBK image gallery on 127.0.0.1 (with optional faults)", [](CLI::App& app) {
        auto cli = std::make_shared<demo_site_cli>();
        auto& o = cli->site;
        app.add_option("--port", o.port, "Port (0: a free one)")->capture_default_str();
        app.add_option("--pages", o.pages, "Gallery pages")->capture_default_str()->check(CLI::PositiveNumber);
        app.add_option("--per-page", o.per_page, "Images per page")->capture_default_str()->check(CLI::PositiveNumber);
        app.add_option("--image-bytes", o.image_bytes, "Bytes per image")->capture_default_str()->check(CLI::Range(64, 1 << 30));
        app.add_option("--latency", cli->latency, "Delay per answer in ms: MS or MIN-MAX (jittered)")->capture_default_str();
        app.add_option("--seed", o.seed, "Seed of names, contents and faults")->capture_default_str();
        auto rate = CLI::Range(0.0, 1.0);
        app.add_option("--fault-5xx", cli->fault_5xx, "Rate of 500/503 with Retry-After")->check(rate);
        app.add_option("--fault-429", cli->fault_429, "Rate of 429 with Retry-After")->check(rate);
        app.add_option("--fault-reset", cli->fault_reset, "Rate of connection resets mid-body")->check(rate);
        app.add_option("--fault-truncate", cli->fault_truncate, "Rate of truncated bodies")->check(rate);
        app.add_option("--fault-stall", cli->fault_stall, "Rate of stalled answers")->check(rate);
        app.add_option("--stall-ms", cli->stall_ms, "How long a stall lasts")->capture_default_str();
        app.add_option("--fault-redirect", cli->fault_redirect, "Rate of 302 redirects")->check(rate);
        app.add_flag("--hotlink", cli->hotlink, "Answer 403 to image requests without a Referer");
        app.add_flag("--messy", o.messy, "Also serve /messy/: pages with the cases a crawler must get right");
        return [cli] { return run_demo_site(*cli); };
    }};
