// Integration tests of `weft crawl` and `weft get`: the real binary against a demo site on
// 127.0.0.1 (issue 8, "Tests"). The site runs in this process on a thread of its own, so a
// test can read its messy cases and count the requests each URL received. Every run of the
// binary is bounded (killed by pid when it overruns, and the test fails); every temporary
// directory is removed.
#include "cli_process.hpp"
#include "http_test_support.hpp"

#include <weft/crawl/url.hpp>
#include <weft/event_loop.hpp>
#include <weft/http/demo_site.hpp>

#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace http = weft::http;

namespace {

using weft_test::cli_process;
using weft_test::sha256_hex;

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A fresh directory under /tmp, removed with everything in it.
class temp_dir {
public:
    temp_dir() {
        char name[] = "/tmp/weft-crawl-cli-XXXXXX";
        if (::mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = name;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }
    fs::path operator/(const fs::path& rel) const { return path_ / rel; }

private:
    fs::path path_;
};

// The crawler's own files in DIR: the state database (and its WAL files).
bool is_state_file(const fs::path& p) { return p.filename().string().starts_with(".weft-crawl.db"); }
bool is_part_file(const fs::path& p) { return p.extension() == ".part"; }

// Every saved file under `dir` (state files and .part files left out): relative path → SHA-256.
std::map<std::string, std::string> saved_files(const fs::path& dir) {
    std::map<std::string, std::string> out;
    if (!fs::exists(dir)) return out;
    for (auto& e : fs::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file() || is_state_file(e.path()) || is_part_file(e.path())) continue;
        out[fs::relative(e.path(), dir).string()] = sha256_hex(read_file(e.path()));
    }
    return out;
}

std::size_t count_part_files(const fs::path& dir) {
    std::size_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() && is_part_file(e.path());
    return n;
}

std::multiset<std::string> hashes_of(const std::map<std::string, std::string>& files) {
    std::multiset<std::string> out;
    for (auto& [path, sha] : files) out.insert(sha);
    return out;
}

// One bounded run of `weft ARGS...`.
struct run_result {
    int status = -1;  // -1: ran past the limit and was killed
    std::string out, err;
};

run_result run_weft(std::vector<std::string> args, std::chrono::milliseconds limit = 60s, rlim_t file_size_limit = 0) {
    cli_process p(std::move(args), file_size_limit);
    run_result r;
    if (!p.started()) {
        r.err = "cannot spawn " WEFT_CLI_PATH;
        return r;
    }
    r.status = p.wait_exit(limit);
    r.out = p.out();
    r.err = p.err();
    return r;
}

// A demo site served by an event loop on a thread of its own. `url()`, `images()` and
// `messy_cases()` are fixed once started; whatever changes while it serves (the request
// counters) is read on the site's loop.
class site_thread {
public:
    explicit site_thread(http::demo_site_options options) {
        auto ready = std::make_shared<std::promise<void>>();  // shared: set_value may outlive get()
        auto started = ready->get_future();
        thread_ = std::thread([this, options, ready] {
            weft::event_loop loop;
            try {
                loop.run_until_complete(start(site_, options));
            } catch (...) {
                ready->set_exception(std::current_exception());
                loop.close();
                return;
            }
            loop_ = &loop;
            ready->set_value();
            loop.run_forever();
            site_->close();
            loop.run_until_complete(site_->wait_closed());
            site_.reset();
            loop.close();
        });
        try {
            started.get();
        } catch (...) {
            thread_.join();
            throw;
        }
    }
    site_thread(const site_thread&) = delete;
    site_thread& operator=(const site_thread&) = delete;
    ~site_thread() {
        loop_->stop_threadsafe();
        thread_.join();
    }

    const http::demo_site& site() const { return *site_; }
    std::string url() const { return site_->url(); }
    std::string port() const { return url().substr(url().rfind(':') + 1); }

    // `requests_for(target)`, read on the site's loop.
    std::size_t requests_for(const std::string& target) {
        auto answer = std::make_shared<std::promise<std::size_t>>();
        auto got = answer->get_future();
        loop_->call_soon_threadsafe([this, answer, target] { answer->set_value(site_->requests_for(target)); });
        return got.get();
    }

    // The gallery images (the manifest's entries under /uploads/allimg/).
    std::vector<http::demo_image> gallery() const {
        std::vector<http::demo_image> out;
        for (auto& img : site_->images()) {
            if (img.path.starts_with("/uploads/allimg/")) out.push_back(img);
        }
        return out;
    }
    std::multiset<std::string> gallery_hashes() const {
        std::multiset<std::string> out;
        for (auto& img : gallery()) out.insert(img.sha256);
        return out;
    }

private:
    // (demo_site is move-only, and run_until_complete returns a copy of the task's result.)
    static weft::task<void> start(std::optional<http::demo_site>& site, http::demo_site_options options) {
        site.emplace(co_await http::demo_site::start(options));
    }

    std::thread thread_;
    weft::event_loop* loop_ = nullptr;
    std::optional<http::demo_site> site_;
};

// A small gallery: 3 pages × 10 images × 4 KiB, 0–5 ms before each answer.
http::demo_site_options small_gallery() {
    return {.pages = 3, .per_page = 10, .image_bytes = 4096, .latency = 0ms, .jitter = 5ms, .seed = 11};
}

// The gallery's three pages as one curl glob.
std::string pages_glob(const site_thread& s) { return s.url() + "/4kmeinv/index{,_2,_3}.html"; }

// One URL's record of a `--report` file.
struct report_record {
    std::string outcome, reason, file;
    long attempts = 0;
};

struct report {
    std::map<std::string, report_record> urls;
    long retries = -1;
};

long number_of(const rapidjson::Value& v) {
    if (v.IsInt64()) return static_cast<long>(v.GetInt64());
    if (v.IsUint64()) return static_cast<long>(v.GetUint64());
    if (v.IsString()) return std::stol(v.GetString());
    return -1;
}

report read_report(const fs::path& file) {
    std::string text = read_file(file);
    rapidjson::Document doc;
    doc.Parse(text.c_str());
    report r;
    if (doc.HasParseError() || !doc.IsObject()) {
        ADD_FAILURE() << "the report " << file << " is not JSON: " << text.substr(0, 300);
        return r;
    }
    if (doc.HasMember("totals") && doc["totals"].HasMember("retries")) r.retries = number_of(doc["totals"]["retries"]);
    if (!doc.HasMember("urls") || !doc["urls"].IsArray()) {
        ADD_FAILURE() << "the report has no urls array";
        return r;
    }
    for (auto& u : doc["urls"].GetArray()) {
        report_record rec{.outcome = u["outcome"].GetString(), .reason = u["reason"].GetString(),
                          .file = u["file"].GetString(), .attempts = number_of(u["attempts"])};
        r.urls[u["url"].GetString()] = rec;
    }
    return r;
}

// `weft crawl URLS... -o DIR EXTRA...`.
std::vector<std::string> crawl_args(std::vector<std::string> urls, const fs::path& dir, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"crawl"};
    args.insert(args.end(), urls.begin(), urls.end());
    args.insert(args.end(), {"-o", dir.string(), "--connect-timeout", "5"});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

std::string describe(const run_result& r) {
    return "exit " + std::to_string(r.status) + "\n--- stderr ---\n" + r.err + "--- stdout ---\n" + r.out;
}

// Checks that DIR holds exactly the gallery's images, byte-exact, one file each.
void expect_gallery_saved(const site_thread& s, const fs::path& dir) {
    auto files = saved_files(dir);
    EXPECT_EQ(files.size(), s.gallery().size());
    EXPECT_EQ(hashes_of(files), s.gallery_hashes());
}

}  // namespace

// 1. The gallery: every image byte-exact against the manifest, one file each, state kept.
TEST(CrawlCli, GalleryEveryImageByteExact) {
    site_thread s(small_gallery());
    temp_dir tmp;
    fs::path dir = tmp / "imgs";
    auto r = run_weft(crawl_args({pages_glob(s)}, dir, {"--match", "/uploads/allimg/", "-j", "8"}));
    ASSERT_EQ(r.status, 0) << describe(r);
    auto files = saved_files(dir);
    ASSERT_EQ(files.size(), 30u);
    for (auto& img : s.gallery()) {
        std::string name = img.path.substr(img.path.rfind('/') + 1);
        auto it = files.find(name);
        ASSERT_NE(it, files.end()) << name;
        EXPECT_EQ(it->second, img.sha256) << name;
        EXPECT_EQ(fs::file_size(dir / name), img.size) << name;
    }
    EXPECT_TRUE(fs::exists(dir / ".weft-crawl.db"));
    EXPECT_EQ(count_part_files(dir), 0u);
    for (auto& img : s.gallery()) EXPECT_EQ(s.requests_for(img.path), 1u) << img.path;
}

// 2. Every messy case of the demo site, each expectation checked; hostile names stay in DIR.
TEST(CrawlCli, MessyPagesEveryCase) {
    auto options = small_gallery();
    options.messy = true;
    site_thread s(options);
    temp_dir tmp;
    auto passwd_time = fs::exists("/etc/passwd") ? fs::last_write_time("/etc/passwd") : fs::file_time_type{};

    // One crawl per select, each with all the pages of its cases, into DIR-k three levels
    // down (so that an escaping "../../x" would still land inside the temporary directory).
    std::map<std::string, std::vector<weft::http::messy_case>> by_select;
    for (auto& c : s.site().messy_cases()) by_select[c.select].push_back(c);
    ASSERT_GE(by_select.size(), 3u);
    int k = 0;
    std::size_t checked = 0, failures_checked = 0;
    std::vector<fs::path> dirs;
    for (auto& [select, cases] : by_select) {
        fs::path dir = tmp / "a" / "b" / "c" / ("out-" + std::to_string(k));
        fs::path report_file = tmp / ("report-" + std::to_string(k) + ".json");
        ++k;
        dirs.push_back(dir);
        std::vector<std::string> pages;
        bool all_saved = true;
        for (auto& c : cases) {
            if (std::find(pages.begin(), pages.end(), c.page_url) == pages.end()) pages.push_back(c.page_url);
            for (auto& img : c.images) all_saved = all_saved && img.expect != "failed";
        }
        auto r = run_weft(crawl_args(pages, dir, {"--select", select, "--report", report_file.string(), "-j", "8"}));
        ASSERT_NE(r.status, -1) << describe(r);
        EXPECT_EQ(r.status, all_saved ? 0 : 1) << "select " << select << "\n" << describe(r);
        auto rep = read_report(report_file);
        auto files = saved_files(dir);
        std::set<std::string> hashes;
        for (auto& [path, sha] : files) hashes.insert(sha);
        for (auto& c : cases) {
            for (auto& img : c.images) {
                SCOPED_TRACE("case " + c.name + ": " + img.why + " (" + img.url + ")");
                ++checked;
                failures_checked += img.expect != "saved";
                auto rec = rep.urls.find(weft::crawl::normalize_url(img.url));
                if (img.expect == "saved") {
                    EXPECT_TRUE(hashes.contains(img.sha256)) << "no file in " << dir << " has this image's bytes";
                    if (rec != rep.urls.end()) {
                        EXPECT_EQ(rec->second.outcome, "done");
                    }
                } else {
                    ASSERT_NE(rec, rep.urls.end()) << "no report record";
                    EXPECT_EQ(rec->second.outcome, img.expect);
                }
            }
        }
    }
    std::printf("[          ] %zu expectations checked (%zu not saved), %d crawls\n", checked, failures_checked, k);
    EXPECT_GE(failures_checked, 3u);  // the redirect loop, the 404, robots.txt
    // The image on two pages was fetched once; robots.txt kept the private one from being asked for.
    EXPECT_EQ(s.requests_for(s.url() + "/messy/img/shared.jpg"), 1u);
    EXPECT_EQ(s.requests_for(s.url() + "/messy/private/secret.jpg"), 0u);

    // Nothing was written outside the output directories, and everything in them is inside.
    std::set<fs::path> allowed_outside;
    for (int i = 0; i < k; ++i) allowed_outside.insert(tmp / ("report-" + std::to_string(i) + ".json"));
    for (auto& e : fs::recursive_directory_iterator(tmp.path())) {
        if (e.is_directory()) continue;
        bool inside = false;
        for (auto& d : dirs) inside = inside || e.path().string().starts_with(d.string() + "/");
        EXPECT_TRUE(inside || allowed_outside.contains(e.path())) << "written outside DIR: " << e.path();
    }
    for (auto& d : dirs) {
        std::string root = fs::weakly_canonical(d).string() + "/";
        for (auto& e : fs::recursive_directory_iterator(d)) {
            EXPECT_TRUE(fs::weakly_canonical(e.path()).string().starts_with(root)) << e.path();
            EXPECT_FALSE(e.is_symlink()) << e.path();
        }
    }
    if (fs::exists("/etc/passwd")) {
        EXPECT_EQ(fs::last_write_time("/etc/passwd"), passwd_time);
    }
}

// 3. The GBK gallery pages, with the tutorial's regex and with XPath.
TEST(CrawlCli, GbkPagesWithRegexAndWithXPath) {
    site_thread s(small_gallery());
    temp_dir tmp;
    auto by_regex = run_weft(crawl_args({pages_glob(s)}, tmp / "regex", {"--regex", R"re(<img src="(/uploads/allimg/[^"]+)")re"}));
    ASSERT_EQ(by_regex.status, 0) << describe(by_regex);
    expect_gallery_saved(s, tmp / "regex");
    auto by_xpath = run_weft(crawl_args({pages_glob(s)}, tmp / "xpath", {"--select", "//img/@src", "--match", "/uploads/allimg/"}));
    ASSERT_EQ(by_xpath.status, 0) << describe(by_xpath);
    expect_gallery_saved(s, tmp / "xpath");
}

// 4 and 7. About 22 % of page and image requests fail in every way the site can fail, and
// images need a Referer: every image is still saved byte-exact, and the report shows retries.
TEST(CrawlCli, FaultsOfEveryKindAreRetriedToCompletion) {
    auto options = small_gallery();
    options.faults = {.server_error = 0.04, .throttle = 0.04, .reset = 0.04, .truncate = 0.04, .stall = 0.02,
                      .redirect = 0.04, .hotlink_protection = true, .stall_for = 3000ms};
    options.seed = 4;
    site_thread s(options);
    temp_dir tmp;
    fs::path dir = tmp / "imgs", report_file = tmp / "report.json";
    auto r = run_weft(crawl_args({pages_glob(s)}, dir,
                                 {"--match", "/uploads/allimg/", "--retries", "10", "--idle-timeout", "1", "--timeout", "2",
                                  "-j", "8", "--report", report_file.string(), "-v"}),
                      90s);
    ASSERT_EQ(r.status, 0) << describe(r);
    expect_gallery_saved(s, dir);
    EXPECT_EQ(count_part_files(dir), 0u);

    // -v prints "retry URL after attempt N (reason), waiting T ms": the report counts every
    // attempt of each URL (the failed ones and the last one).
    std::map<std::string, long> retried;  // URL -> the last attempt that failed
    std::istringstream lines(r.err);
    for (std::string line; std::getline(lines, line);) {
        if (!line.starts_with("retry ")) continue;
        auto after = line.find(" after attempt ");
        ASSERT_NE(after, std::string::npos) << line;
        long n = std::stol(line.substr(after + 15));
        std::string url = line.substr(6, after - 6);
        retried[url] = std::max(retried[url], n);
    }
    EXPECT_FALSE(retried.empty()) << "no retry at 22 % faults?\n" << r.err;
    auto rep = read_report(report_file);
    EXPECT_GE(rep.retries, static_cast<long>(retried.size()));
    std::string wrong;
    for (auto& [url, rec] : rep.urls) {
        auto it = retried.find(url);
        long expected = rec.outcome == "skipped" ? 0 : it == retried.end() ? 1 : it->second + 1;
        if (rec.attempts != expected) {
            wrong += "\n  " + url + ": attempts " + std::to_string(rec.attempts) + ", made " + std::to_string(expected);
        }
    }
    EXPECT_TRUE(wrong.empty()) << "the report's attempts differ from the attempts made:" << wrong;
}

// 5. kill -9 at five random moments, then a rerun: complete, byte-exact, and no file that was
// complete at a kill was downloaded again.
TEST(CrawlCli, KilledFiveTimesThenRerunCompletesWithoutRefetching) {
    http::demo_site_options options{.pages = 3, .per_page = 40, .image_bytes = 4096, .latency = 20ms, .jitter = 5ms, .seed = 5};
    site_thread s(options);
    temp_dir tmp;
    fs::path dir = tmp / "imgs";
    auto args = crawl_args({pages_glob(s)}, dir, {"--match", "/uploads/allimg/", "-j", "4"});
    std::map<std::string, std::string> path_of;  // file name -> image path
    for (auto& img : s.gallery()) path_of[img.path.substr(img.path.rfind('/') + 1)] = img.path;

    std::mt19937 rng(20240501);
    std::uniform_int_distribution<int> delay_ms(0, 120);
    std::map<std::string, std::size_t> done_requests;  // image path -> requests when its file was first seen complete
    int killed_mid_crawl = 0;
    for (int kill = 0; kill < 5; ++kill) {
        // A random moment once this run is saving files (the binary takes a while to start).
        std::size_t before = saved_files(dir).size();
        cli_process p(args);
        ASSERT_TRUE(p.started());
        for (int i = 0; i < 1000 && !p.poll() && saved_files(dir).size() == before; ++i) std::this_thread::sleep_for(5ms);
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
        if (!p.poll()) {
            p.signal(SIGKILL);
            ++killed_mid_crawl;
        }
        ASSERT_NE(p.wait_exit(60s), -1);
        for (auto& [name, sha] : saved_files(dir)) {
            auto it = path_of.find(name);
            ASSERT_NE(it, path_of.end()) << "unexpected file " << name;
            if (!done_requests.contains(it->second)) done_requests[it->second] = s.requests_for(it->second);
        }
    }
    auto r = run_weft(args);
    ASSERT_EQ(r.status, 0) << describe(r);
    expect_gallery_saved(s, dir);
    EXPECT_EQ(count_part_files(dir), 0u);
    for (auto& [path, n] : done_requests) EXPECT_EQ(s.requests_for(path), n) << path << " was downloaded again";
    EXPECT_GT(killed_mid_crawl, 0);
    std::printf("[          ] %d of 5 kills landed mid-crawl; %zu files were complete at some kill\n", killed_mid_crawl,
                done_requests.size());
}

// 6. Ctrl-C once: exit 130 soon, the state and the partial files kept; a rerun finishes
// byte-exact. (Resets leave half-received images in .part files while they wait to be
// retried: the interrupt comes once there is one.)
TEST(CrawlCli, InterruptOnceExits130AndResumes) {
    http::demo_site_options options{.pages = 3, .per_page = 20, .image_bytes = 64 * 1024, .latency = 50ms, .seed = 6,
                                    .faults = {.reset = 0.3}};
    site_thread s(options);
    temp_dir tmp;
    fs::path dir = tmp / "imgs";
    auto args = crawl_args({pages_glob(s)}, dir, {"--match", "/uploads/allimg/", "-j", "2"});
    {
        cli_process p(args);
        ASSERT_TRUE(p.started());
        // Interrupt once an image is saved and another one is partial (or after 10 s at most).
        for (int i = 0; i < 1000 && !p.poll(); ++i) {
            if (fs::exists(dir) && !saved_files(dir).empty() && count_part_files(dir) > 0) break;
            std::this_thread::sleep_for(10ms);
        }
        ASSERT_FALSE(p.poll()) << "the crawl ended before it could be interrupted\n" << p.err();
        p.signal(SIGINT);
        int status = p.wait_exit(15s);
        EXPECT_EQ(status, 130) << p.err();
        EXPECT_TRUE(fs::exists(dir / ".weft-crawl.db"));
        EXPECT_LT(saved_files(dir).size(), s.gallery().size());
        EXPECT_GT(count_part_files(dir), 0u);
    }
    auto r = run_weft(args);
    ASSERT_EQ(r.status, 0) << describe(r);
    expect_gallery_saved(s, dir);
    EXPECT_EQ(count_part_files(dir), 0u);
}

// 8. robots.txt: the private image is skipped by default, saved with --ignore-robots.
TEST(CrawlCli, RobotsTxtHonouredUnlessIgnored) {
    auto options = small_gallery();
    options.messy = true;
    site_thread s(options);
    temp_dir tmp;
    const weft::http::messy_case* robots = nullptr;
    auto cases = s.site().messy_cases();
    for (auto& c : cases) {
        if (c.name == "robots") robots = &c;
    }
    ASSERT_NE(robots, nullptr);
    ASSERT_EQ(robots->images.size(), 1u);
    const auto& secret = robots->images[0];

    auto obeyed = run_weft(crawl_args({robots->page_url}, tmp / "obeyed", {"--report", (tmp / "obeyed.json").string()}));
    EXPECT_EQ(obeyed.status, 0) << describe(obeyed);
    EXPECT_TRUE(saved_files(tmp / "obeyed").empty());
    auto rep = read_report(tmp / "obeyed.json");
    auto rec = rep.urls.find(weft::crawl::normalize_url(secret.url));
    ASSERT_NE(rec, rep.urls.end());
    EXPECT_EQ(rec->second.outcome, "skipped");
    EXPECT_EQ(rec->second.reason, "robots");
    EXPECT_EQ(s.requests_for(secret.url), 0u);

    auto ignored = run_weft(crawl_args({robots->page_url}, tmp / "ignored", {"--ignore-robots"}));
    EXPECT_EQ(ignored.status, 0) << describe(ignored);
    EXPECT_EQ(hashes_of(saved_files(tmp / "ignored")), std::multiset<std::string>{secret.sha256});
}

// 9. Bad input: exit 2 (or non-zero for an unusable directory) with a message naming it.
TEST(CrawlCli, BadInputIsNamed) {
    temp_dir tmp;
    fs::path dir = tmp / "out";
    auto bad_xpath = run_weft({"crawl", "http://127.0.0.1:1/x.html", "-o", dir.string(), "--select", "//img[@src"}, 30s);
    EXPECT_EQ(bad_xpath.status, 2) << describe(bad_xpath);
    EXPECT_NE(bad_xpath.err.find("//img[@src"), std::string::npos) << bad_xpath.err;

    auto bad_url = run_weft({"crawl", "not a url", "-o", dir.string()}, 30s);
    EXPECT_EQ(bad_url.status, 2) << describe(bad_url);
    EXPECT_NE(bad_url.err.find("not a url"), std::string::npos) << bad_url.err;

    auto bad_glob = run_weft({"crawl", "http://127.0.0.1:1/x[1-", "-o", dir.string()}, 30s);
    EXPECT_EQ(bad_glob.status, 2) << describe(bad_glob);
    EXPECT_NE(bad_glob.err.find("http://127.0.0.1:1/x[1-"), std::string::npos) << bad_glob.err;

    auto bad_regex = run_weft({"crawl", "http://127.0.0.1:1/x.html", "-o", dir.string(), "--regex", "src=\"([^\"]+"}, 30s);
    EXPECT_EQ(bad_regex.status, 2) << describe(bad_regex);
    EXPECT_NE(bad_regex.err.find("src=\"([^\"]+"), std::string::npos) << bad_regex.err;

    EXPECT_FALSE(fs::exists(dir)) << "bad input must be refused before anything is written";

    {
        std::ofstream(tmp / "afile") << "a regular file";
    }
    fs::path unusable = tmp / "afile" / "sub";
    auto unwritable = run_weft({"crawl", "http://127.0.0.1:1/x.html", "-o", unusable.string()}, 30s);
    EXPECT_NE(unwritable.status, 0) << describe(unwritable);
    EXPECT_NE(unwritable.status, -1);
    EXPECT_NE(unwritable.err.find(unusable.string()), std::string::npos) << unwritable.err;
}

// 10. `weft crawl --demo` end to end.
TEST(CrawlCli, DemoRunsEndToEnd) {
    temp_dir tmp;
    auto r = run_weft({"crawl", "--demo", "-o", (tmp / "imgs").string(), "--demo-latency", "5"}, 90s);
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_NE(r.err.find("80 of 80 images match"), std::string::npos) << r.err;
    EXPECT_EQ(saved_files(tmp / "imgs").size(), 80u);
}

// 11. `weft get -i LIST`: the manifest's gallery URLs, every file byte-exact.
TEST(CrawlCli, GetDownloadsTheManifestList) {
    site_thread s(small_gallery());
    temp_dir tmp;
    rapidjson::Document manifest;
    manifest.Parse(s.site().manifest().c_str());
    ASSERT_FALSE(manifest.HasParseError());
    std::multiset<std::string> expected;
    {
        std::ofstream list(tmp / "urls.txt");
        list << "# the gallery's images\n";
        for (auto& img : manifest["images"].GetArray()) {
            list << s.url() << img["path"].GetString() << "\n";
            expected.insert(img["sha256"].GetString());
        }
    }
    ASSERT_EQ(expected.size(), 30u);
    auto r = run_weft({"get", "-i", (tmp / "urls.txt").string(), "-o", (tmp / "out").string(), "-j", "4"});
    ASSERT_EQ(r.status, 0) << describe(r);
    EXPECT_EQ(hashes_of(saved_files(tmp / "out")), expected);
}

// 12. `--layout host-path` names files DIR/127.0.0.1_PORT/path; `--dedup-content` keeps one
// copy of each content: two sites from one seed serve the same bytes under two hosts.
TEST(CrawlCli, HostPathLayoutAndContentDedup) {
    site_thread a(small_gallery()), b(small_gallery());
    temp_dir tmp;
    fs::path dir = tmp / "imgs";
    fs::path report_file = tmp / "report.json";

    auto plain = run_weft(crawl_args({pages_glob(a)}, tmp / "one", {"--match", "/uploads/allimg/", "--layout", "host-path"}));
    ASSERT_EQ(plain.status, 0) << describe(plain);
    auto files = saved_files(tmp / "one");
    EXPECT_EQ(files.size(), a.gallery().size());
    for (auto& img : a.gallery()) {
        std::string rel = "127.0.0.1_" + a.port() + img.path;
        auto it = files.find(rel);
        ASSERT_NE(it, files.end()) << rel;
        EXPECT_EQ(it->second, img.sha256);
    }

    auto r = run_weft(crawl_args({pages_glob(a), pages_glob(b)}, dir,
                                 {"--match", "/uploads/allimg/", "--layout", "host-path", "--dedup-content", "--report",
                                  report_file.string()}));
    ASSERT_EQ(r.status, 0) << describe(r);
    auto deduped = saved_files(dir);
    EXPECT_EQ(hashes_of(deduped), a.gallery_hashes()) << "each content saved exactly once";
    for (auto& [rel, sha] : deduped) {
        EXPECT_TRUE(rel.starts_with("127.0.0.1_" + a.port() + "/uploads/allimg/") ||
                    rel.starts_with("127.0.0.1_" + b.port() + "/uploads/allimg/"))
            << rel;
    }
    auto rep = read_report(report_file);
    std::size_t duplicates = 0;
    for (auto& [url, rec] : rep.urls) duplicates += rec.outcome == "skipped" && rec.reason == "duplicate";
    EXPECT_EQ(duplicates, a.gallery().size());
}

// A full disk (stood in for by a file size limit below one image): the crawl stops with a
// clear error and exit 1, keeps its state, and a rerun with room finishes byte-exact.
TEST(CrawlCli, FullDiskStopsCleanlyAndTheRerunFinishes) {
    auto options = small_gallery();
    options.image_bytes = 256 * 1024;
    site_thread s(options);
    temp_dir tmp;
    fs::path dir = tmp / "imgs";
    auto args = crawl_args({pages_glob(s)}, dir, {"--match", "/uploads/allimg/", "-j", "4"});
    auto full = run_weft(args, 60s, 128 * 1024);
    EXPECT_EQ(full.status, 1) << describe(full);
    EXPECT_NE(full.err.find("File too large"), std::string::npos) << describe(full);
    EXPECT_LT(saved_files(dir).size(), 30u);
    auto again = run_weft(args);
    ASSERT_EQ(again.status, 0) << describe(again);
    expect_gallery_saved(s, dir);
    EXPECT_EQ(count_part_files(dir), 0u);
}

// A host that is down is an error, not a skip: robots.txt cannot be read, so nothing is
// fetched (RFC 9309), and the crawl says why and exits 1.
TEST(CrawlCli, UnreachableHostIsAFailureNamingRobotsTxt) {
    temp_dir tmp;
    auto r = run_weft(crawl_args({"http://127.0.0.1:1/gallery.html"}, tmp / "imgs", {"--retries", "0"}), 30s);
    EXPECT_EQ(r.status, 1) << describe(r);
    EXPECT_NE(r.err.find("http://127.0.0.1:1/robots.txt unreachable"), std::string::npos) << describe(r);
}
