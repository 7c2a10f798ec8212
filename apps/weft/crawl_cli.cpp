#include "crawl_cli.hpp"

#include <weft/crawl/extract.hpp>
#include <weft/crawl/report.hpp>
#include <weft/crawl/url.hpp>
#include <weft/errors.hpp>
#include <weft/http/demo_site.hpp>
#include <weft/run.hpp>
#include <weft/to_thread.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>

namespace weft::cli {

namespace {

// The progress line on a terminal (stderr), or plain log lines when it is not one.
class display {
public:
    display(bool quiet, bool verbose) : quiet_(quiet), verbose_(verbose), tty_(!quiet && isatty(STDERR_FILENO)) {}

    void progress(const crawl::crawl_counts& c, double elapsed, bool final) {
        if (quiet_) return;
        if (!tty_) {
            if (final || elapsed - last_line_ >= 5.0) {
                last_line_ = elapsed;
                if (!final) std::fprintf(stderr, "%s\n", status_text(c, elapsed).c_str());
            }
            return;
        }
        last_ = status_text(c, elapsed);
        std::fprintf(stderr, "\r\x1b[2K%s%s", last_.c_str(), final ? "\n" : "");
        if (final) last_.clear();
        std::fflush(stderr);
    }

    void outcome(const crawl::url_record& r) {
        if (quiet_) return;
        bool bad = r.state == crawl::url_state::failed;
        if (!bad && !verbose_) return;
        std::string_view error = r.error;
        if (error.starts_with(r.url + ": ")) error.remove_prefix(r.url.size() + 2);  // http::error names the URL
        std::string line = bad ? fmt::format("failed {} {}: {}", crawl::to_string(r.kind), r.url, error)
                               : fmt::format("{} {} {}{}", crawl::to_string(r.state), crawl::to_string(r.kind), r.url,
                                             r.path.empty() ? "" : " -> " + r.path);
        if (r.state == crawl::url_state::skipped) line += " (" + r.reason + ")";
        print_line(line);
    }

    void retry(const std::string& url, int attempt, const std::string& reason, std::chrono::milliseconds wait) {
        if (!verbose_) return;
        print_line(fmt::format("retry {} after attempt {} ({}), waiting {} ms", url, attempt, reason, wait.count()));
    }

    void print_line(const std::string& line) {
        if (tty_) {
            std::fprintf(stderr, "\r\x1b[2K%s\n%s", line.c_str(), last_.c_str());
        } else {
            std::fprintf(stderr, "%s\n", line.c_str());
        }
        std::fflush(stderr);
    }

private:
    static std::string status_text(const crawl::crawl_counts& c, double elapsed) {
        std::size_t finished = c.images_done + c.images_failed + c.images_skipped;
        std::size_t fetched = c.images_done - c.images_already;
        double rate = elapsed > 0 ? static_cast<double>(c.bytes) / elapsed : 0;
        std::string eta = "-";
        if (fetched > 0 && c.images_total > finished && c.pages_done + c.pages_failed >= c.pages_total) {
            double per_image = elapsed / static_cast<double>(fetched);
            eta = fmt::format("{:.0f}s", per_image * static_cast<double>(c.images_total - finished));
        }
        std::string text = fmt::format("pages {}/{}  images {}/{}  {}  {}/s  ETA {}  active {}", c.pages_done + c.pages_failed,
                                       c.pages_total, finished, c.images_total, crawl::human_bytes(static_cast<double>(c.bytes)),
                                       crawl::human_bytes(rate), eta, c.active);
        if (c.images_failed + c.pages_failed > 0) text += fmt::format("  failed {}", c.images_failed + c.pages_failed);
        if (c.retries > 0) text += fmt::format("  retries {}", c.retries);
        return text;
    }

    bool quiet_, verbose_, tty_;
    double last_line_ = 0;
    std::string last_;
};

std::vector<std::string> read_url_list(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw std::invalid_argument("cannot read URL list '" + file + "'");
    std::vector<std::string> urls;
    std::string line;
    while (std::getline(in, line)) {
        auto first = line.find_first_not_of(" \t\r");
        if (first == std::string::npos || line[first] == '#') continue;
        auto last = line.find_last_not_of(" \t\r");
        urls.push_back(line.substr(first, last - first + 1));
    }
    return urls;
}

// Turns the command line into crawl options (throws std::invalid_argument on bad input).
void prepare(crawl_cli& cli) {
    auto& o = cli.crawl;
    std::vector<std::string> patterns = cli.urls;
    if (!cli.input_file.empty()) {
        auto listed = read_url_list(cli.input_file);
        patterns.insert(patterns.end(), listed.begin(), listed.end());
    }
    for (auto& p : patterns) {
        auto expanded = crawl::expand_url_glob(p);
        o.seeds.insert(o.seeds.end(), expanded.begin(), expanded.end());
    }
    if (cli.layout == "flat") o.file_layout = crawl::layout::flat;
    else if (cli.layout == "host-path") o.file_layout = crawl::layout::host_path;
    else throw std::invalid_argument("bad --layout '" + cli.layout + "': use flat or host-path");
    auto ms = [](double seconds) { return std::chrono::milliseconds(static_cast<long long>(seconds * 1000)); };
    o.delay = ms(cli.delay_s);
    o.connect_timeout = ms(cli.connect_timeout_s);
    o.idle_timeout = ms(cli.idle_timeout_s);
    o.attempt_timeout = ms(cli.timeout_s);
    for (auto& h : cli.headers) {
        auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0) throw std::invalid_argument("bad header '" + h + "': use 'Name: value'");
        std::string value = h.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        o.headers.emplace_back(h.substr(0, colon), value);
    }
    if (cli.sequential) o.jobs = o.per_host = 1;
}

struct demo_check {
    std::size_t verified = 0, mismatched = 0, missing = 0;
};

// --demo: every image of the site against its manifest (path → SHA-256).
demo_check check_against_manifest(const http::demo_site& site, const crawl::crawl_result& r) {
    std::map<std::string, std::string> saved;
    for (auto& rec : r.records) {
        if (rec.kind == crawl::url_kind::image && rec.state == crawl::url_state::done) saved[rec.url] = rec.sha256;
    }
    demo_check check;
    for (auto& img : site.images()) {
        auto it = saved.find(crawl::normalize_url(site.url() + img.path));
        if (it == saved.end()) ++check.missing;
        else if (it->second == img.sha256) ++check.verified;
        else ++check.mismatched;
    }
    return check;
}

// --demo serves on the port of the previous demo crawl into the same directory when it is
// free, so that a rerun sees the same URLs and resumes instead of starting over.
constexpr const char* demo_port_key = "demo_port";

std::uint16_t previous_demo_port(const crawl_cli& cli) {
    std::filesystem::path db = cli.crawl.out_dir / crawl::state_file_name;
    if (!std::filesystem::exists(db)) return 0;
    auto port = crawl::store(db).meta(demo_port_key);
    return port ? static_cast<std::uint16_t>(std::stoul(*port)) : 0;
}

void remember_demo_port(const crawl_cli& cli, std::uint16_t port) {
    crawl::store(cli.crawl.out_dir / crawl::state_file_name).set_meta(demo_port_key, std::to_string(port));
}

task<http::demo_site> start_demo_site(http::demo_site_options options) {
    if (options.port != 0) {
        std::optional<http::demo_site> site;
        try {
            auto started = http::demo_site::start(options);
            site = co_await std::move(started);
        } catch (const std::system_error&) {
            options.port = 0;  // taken by now: a fresh port (the crawl then starts over)
        }
        if (site) co_return std::move(*site);
    }
    auto started = http::demo_site::start(options);
    co_return co_await std::move(started);
}

task<int> crawl_main(crawl_cli& cli, display& out) {
    crawl::crawl_observer observer;
    observer.on_progress = [&out](const crawl::crawl_counts& c, double elapsed, bool final) { out.progress(c, elapsed, final); };
    observer.on_outcome = [&out](const crawl::url_record& r) { out.outcome(r); };
    observer.on_retry = [&out](const std::string& url, int attempt, const std::string& reason, std::chrono::milliseconds wait) {
        out.retry(url, attempt, reason, wait);
    };
    std::optional<http::demo_site> site;
    if (cli.demo) {
        http::demo_site_options so;
        so.pages = cli.demo_pages;
        so.per_page = cli.demo_per_page;
        so.image_bytes = cli.demo_image_bytes;
        so.latency = std::chrono::milliseconds(cli.demo_latency_ms);
        double f = cli.demo_faults;
        so.faults = {.server_error = f, .throttle = f, .reset = f, .truncate = f, .stall = 0, .redirect = f,
                     .hotlink_protection = true};
        so.port = cli.demo_port;
        auto started = start_demo_site(so);
        site = co_await std::move(started);
        if (cli.crawl.match.empty()) cli.crawl.match = "/uploads/allimg/";  // the gallery's photos, not its logo
        auto port = static_cast<std::uint16_t>(std::stoul(site->url().substr(site->url().rfind(':') + 1)));
        auto remembered = to_thread([&cli, port] { remember_demo_port(cli, port); });
        co_await std::move(remembered);

        for (int n = 1; n <= cli.demo_pages; ++n) cli.crawl.seeds.push_back(site->page_url(n));
        if (!cli.quiet) {
            std::fprintf(stderr, "demo site %s: %d pages x %d images of %zu bytes, %d ms latency, faults %.0f%% each kind\n",
                         site->url().c_str(), cli.demo_pages, cli.demo_per_page, cli.demo_image_bytes, cli.demo_latency_ms,
                         cli.demo_faults * 100);
        }
    }
    auto running = crawl::crawl(cli.crawl, observer);
    crawl::crawl_result result = co_await std::move(running);
    if (!cli.quiet) std::fprintf(stderr, "%s", crawl::summary_table(result).c_str());
    if (!cli.report.empty()) crawl::write_report(result, cli.report);
    int status = result.exit_status();
    if (site) {
        demo_check check = check_against_manifest(*site, result);
        if (!cli.quiet) {
            std::fprintf(stderr, "  %-12s %zu of %zu images match the site's manifest (SHA-256)", "verified", check.verified,
                         site->images().size());
            if (check.mismatched) std::fprintf(stderr, ", %zu DIFFER", check.mismatched);
            std::fprintf(stderr, "\n");
        }
        if (check.mismatched > 0 && status == 0) status = 1;
        site->close();
        auto closing = site->wait_closed();
        co_await std::move(closing);
    }
    co_return status;
}

}  // namespace

void add_transfer_options(CLI::App& app, crawl_cli& cli) {
    auto& o = cli.crawl;
    app.add_option("-i,--input-file", cli.input_file, "Read URLs (globs allowed) from FILE, one per line");
    app.add_option("-o,--output", o.out_dir, "Directory for the files and the crawl state")->capture_default_str();
    app.add_option("--layout", cli.layout, "File names: flat (basename) or host-path")->capture_default_str();
    app.add_option("-j,--jobs", o.jobs, "Transfers at once")->capture_default_str()->check(CLI::Range(1, 10000));
    app.add_option("--per-host", o.per_host, "Transfers at once per host")->capture_default_str()->check(CLI::Range(1, 10000));
    app.add_option("--delay", cli.delay_s, "Seconds between requests to one host (jittered 0.5x-1.5x)")->capture_default_str()->check(CLI::NonNegativeNumber);
    app.add_option("--retries", o.retries, "Retries of a transient failure (timeouts, resets, 408/429/5xx)")->capture_default_str()->check(CLI::Range(0, 100));
    app.add_option("--connect-timeout", cli.connect_timeout_s, "Seconds to connect")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--idle-timeout", cli.idle_timeout_s, "Seconds without a byte before an attempt fails")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--timeout", cli.timeout_s, "Seconds per attempt")->capture_default_str()->check(CLI::PositiveNumber);
    app.add_option("--max-redirects", o.max_redirects, "Redirects in a row before giving up")->capture_default_str()->check(CLI::Range(0, 100));
    app.add_option("-H,--header", cli.headers, "Extra request header 'Name: value' (repeatable)");
    app.add_option("--user-agent", o.user_agent, "User-Agent (its product token is matched in robots.txt)")->capture_default_str();
    app.add_flag("-k,--insecure", o.insecure, "Do not verify TLS certificates (aiohttp's verify_ssl=False)");
    app.add_option("--cacert", o.ca_file, "PEM file of CA certificates to trust")->check(CLI::ExistingFile);
    app.add_option("--max-bytes", o.max_bytes, "Refuse files larger than this (e.g. 20M; 0: no limit)")->transform(CLI::AsSizeValue(false));
    app.add_option("--report", cli.report, "Write a JSON record per URL to FILE");
    app.add_flag("-q,--quiet", cli.quiet, "Print nothing but errors");
    app.add_flag("-v,--verbose", cli.verbose, "Print every URL's outcome and every retry");
}

int run_crawl(crawl_cli& cli) {
    try {
        prepare(cli);
        if (!cli.demo) crawl::validate(cli.crawl);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "weft: %s\n", e.what());
        return 2;
    }
    display out(cli.quiet, cli.verbose);
    try {
        if (cli.demo) {
            std::filesystem::create_directories(cli.crawl.out_dir);
            cli.demo_port = previous_demo_port(cli);
        }
        return weft::run(crawl_main(cli, out));
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "weft: %s\n", e.what());
        return 2;
    } catch (const weft::keyboard_interrupt&) {
        std::fprintf(stderr, "\nweft: interrupted\n");
        return 130;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "weft: error: %s\n", e.what());
        return 1;
    }
}

}  // namespace weft::cli
