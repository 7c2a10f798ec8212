// weft::http::demo_site: the deterministic gallery with fault injection.
#include <weft/http/demo_site.hpp>
#include <weft/sleep.hpp>

#include <fmt/format.h>
#include <iconv.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <unordered_map>

namespace weft::http {

namespace detail {
struct demo_state {
    demo_site_options options;
    std::vector<demo_image> images;
    std::unordered_map<std::string, std::string> image_bytes;  // path -> contents
    std::vector<std::string> pages;                            // GBK bytes, page 1 first
    std::string manifest;
    std::mt19937_64 faults_rng;
};
}  // namespace detail

namespace {

std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("demo_site: SHA-256 failed");
    std::string hex;
    for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
    return hex;
}

// A JPEG-looking file of exactly `size` bytes: SOI + JFIF APP0, seeded bytes, EOI.
std::string make_jpeg(std::size_t size, std::uint64_t seed) {
    static const unsigned char head[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00,
                                         0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00};
    std::string out(reinterpret_cast<const char*>(head), sizeof head);
    out.reserve(size);
    while (out.size() + 2 < size) {
        std::uint64_t r = splitmix(seed);
        for (int b = 0; b < 8 && out.size() + 2 < size; ++b) out += static_cast<char>((r >> (8 * b)) & 0xFF);
    }
    out += "\xFF\xD9";
    return out;
}

std::string utf8_to_gbk(const std::string& utf8) {
    iconv_t cd = ::iconv_open("GBK", "UTF-8");
    if (cd == reinterpret_cast<iconv_t>(-1)) throw std::runtime_error("demo_site: iconv has no GBK");
    std::string out(utf8.size() * 2 + 16, '\0');
    char* in = const_cast<char*>(utf8.data());
    std::size_t in_left = utf8.size();
    char* o = out.data();
    std::size_t o_left = out.size();
    std::size_t rc = ::iconv(cd, &in, &in_left, &o, &o_left);
    ::iconv_close(cd);
    if (rc == static_cast<std::size_t>(-1)) throw std::runtime_error("demo_site: text not encodable in GBK");
    out.resize(out.size() - o_left);
    return out;
}

std::string page_path(int n) { return n == 1 ? "/4kmeinv/index.html" : fmt::format("/4kmeinv/index_{}.html", n); }

std::string make_page(const demo_site_options& o, int n, const std::vector<demo_image>& images) {
    std::string html = fmt::format(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"gbk\">\n<title>4K美女壁纸_第{0}页_高清图片</title>\n"
        "<link rel=\"stylesheet\" href=\"/static/css/style.css\">\n"
        "<script src=\"/static/js/common.js\"></script>\n</head>\n<body>\n"
        "<div class=\"head\"><a href=\"/\"><img src=\"/static/images/logo.png\" alt=\"彼岸图网\"></a>"
        "<ul class=\"nav\"><li><a href=\"/4kfengjing/\">4K风景</a></li><li><a href=\"/4kmeinv/\">4K美女</a></li>"
        "<li><a href=\"/4kyouxi/\">4K游戏</a></li></ul></div>\n"
        "<h1>4K美女壁纸 第{0}页</h1>\n<div class=\"slist\"><ul class=\"clearfix\">\n",
        n);
    for (std::size_t i = 0; i < images.size(); ++i) {
        html += fmt::format("<li><a href=\"/tupian/{0}.html\" target=\"_blank\"><img src=\"{1}\" alt=\"高清美女图片{0}\" />"
                            "<b>清新美女壁纸{0}</b></a></li>\n",
                            (n - 1) * o.per_page + static_cast<int>(i) + 1, images[i].path);
        if (i % 5 == 4) html += "<li class=\"ad\"><img src=\"/static/images/ad.gif\" alt=\"广告\"></li>\n";
    }
    html += "</ul></div>\n<div class=\"page\">";
    if (n > 1) html += fmt::format("<a href=\"{}\">上一页</a>", page_path(n - 1));
    for (int p = 1; p <= o.pages; ++p) html += fmt::format("<a href=\"{}\">{}</a>", page_path(p), p);
    if (n < o.pages) html += fmt::format("<a href=\"{}\">下一页</a>", page_path(n + 1));
    html += "</div>\n<script>var _hmt = _hmt || []; document.write('<img src=\"/stat.gif\">');</script>\n"
            "<div class=\"foot\">版权所有 2024 演示站点 — 仅用于测试</div>\n</body>\n</html>\n";
    return utf8_to_gbk(html);
}

void validate(const demo_site_options& o) {
    if (o.pages < 1) throw std::invalid_argument("demo_site: pages must be at least 1");
    if (o.per_page < 1) throw std::invalid_argument("demo_site: per_page must be at least 1");
    if (o.image_bytes < 64) throw std::invalid_argument("demo_site: image_bytes must be at least 64");
    for (double rate : {o.faults.server_error, o.faults.throttle, o.faults.reset, o.faults.truncate, o.faults.stall,
                        o.faults.redirect})
        if (!(rate >= 0 && rate <= 1)) throw std::invalid_argument("demo_site: fault rates must be in [0, 1]");
}

std::shared_ptr<detail::demo_state> build(demo_site_options o) {
    validate(o);
    auto st = std::make_shared<detail::demo_state>();
    st->options = o;
    st->faults_rng.seed(o.seed ^ 0xFA017ull);
    std::uint64_t names = o.seed;
    for (int p = 1; p <= o.pages; ++p) {
        for (int i = 0; i < o.per_page; ++i) {
            int k = (p - 1) * o.per_page + i + 1;
            std::string path = fmt::format("/uploads/allimg/2024{:02}{:02}/{:06x}-{}.jpg", 1 + p % 12, 1 + k % 28,
                                           splitmix(names) & 0xFFFFFF, k);
            std::string bytes = make_jpeg(o.image_bytes, o.seed * 1000003ull + static_cast<std::uint64_t>(k));
            st->images.push_back({path, bytes.size(), sha256_hex(bytes)});
            st->image_bytes.emplace(path, std::move(bytes));
        }
    }
    for (int p = 1; p <= o.pages; ++p) {
        std::vector<demo_image> on_page(st->images.begin() + (p - 1) * o.per_page, st->images.begin() + p * o.per_page);
        st->pages.push_back(make_page(o, p, on_page));
    }
    std::string m = fmt::format("{{\n  \"seed\": {},\n  \"pages\": {},\n  \"per_page\": {},\n  \"images\": [\n", o.seed,
                                o.pages, o.per_page);
    for (std::size_t i = 0; i < st->images.size(); ++i) {
        auto& img = st->images[i];
        m += fmt::format("    {{\"path\": \"{}\", \"size\": {}, \"sha256\": \"{}\"}}{}\n", img.path, img.size, img.sha256,
                         i + 1 < st->images.size() ? "," : "");
    }
    m += "  ]\n}\n";
    st->manifest = std::move(m);
    return st;
}

// The page number of a page path, or 0.
int page_number(const std::string& path, int pages) {
    if (path == "/4kmeinv/" || path == "/4kmeinv/index.html") return 1;
    int n = 0;
    if (std::sscanf(path.c_str(), "/4kmeinv/index_%d.html", &n) != 1 || n < 1 || n > pages) return 0;
    return path == fmt::format("/4kmeinv/index_{}.html", n) ? n : 0;
}

enum class fault { none, server_error, throttle, reset, truncate, stall, redirect };

fault draw(detail::demo_state& st, bool& use_503) {
    const auto& f = st.options.faults;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    double x = u(st.faults_rng);
    use_503 = (st.faults_rng() & 1) != 0;
    double edge = 0;
    for (auto [rate, kind] : {std::pair{f.server_error, fault::server_error}, std::pair{f.throttle, fault::throttle},
                              std::pair{f.reset, fault::reset}, std::pair{f.truncate, fault::truncate},
                              std::pair{f.stall, fault::stall}, std::pair{f.redirect, fault::redirect}}) {
        edge += rate;
        if (x < edge) return kind;
    }
    return fault::none;
}

task<void> handle(std::shared_ptr<detail::demo_state> st, exchange& ex) {
    const request& req = ex.request();
    const auto& o = st->options;
    if (req.method != "GET" && req.method != "HEAD") {
        {
        reply answer{.status = 405, .body = "405 Method Not Allowed\n"};
        co_await ex.respond(std::move(answer));
    }
        co_return;
    }
    if (req.path == "/robots.txt") {
        {
        reply answer{.body = "User-agent: *\nDisallow: /admin/\nCrawl-delay: 0\n"};
        co_await ex.respond(std::move(answer));
    }
        co_return;
    }
    if (req.path == "/manifest.json") {
        {
        reply answer{.content_type = "application/json", .body = st->manifest};
        co_await ex.respond(std::move(answer));
    }
        co_return;
    }
    if (req.path == "/") {
        reply r{.status = 302, .body = "302 Found\n"};
        r.headers.emplace_back("Location", "/4kmeinv/");
        co_await ex.respond(std::move(r));
        co_return;
    }
    int page = page_number(req.path, o.pages);
    auto image = st->image_bytes.find(req.path);
    if (page == 0 && image == st->image_bytes.end()) {
        {
        reply answer{.status = 404, .body = "404 Not Found\n"};
        co_await ex.respond(std::move(answer));
    }
        co_return;
    }
    if (o.latency.count() > 0 || o.jitter.count() > 0) {
        auto extra = o.jitter.count() > 0
                         ? std::uniform_int_distribution<long>(0, static_cast<long>(o.jitter.count()))(st->faults_rng)
                         : 0L;
        co_await weft::sleep(o.latency + std::chrono::milliseconds(extra));
    }
    const bool is_image = image != st->image_bytes.end();
    if (is_image && o.faults.hotlink_protection && !req.headers.contains("referer")) {
        {
        reply answer{.status = 403, .body = "403 Forbidden: hotlinking not allowed\n"};
        co_await ex.respond(std::move(answer));
    }
        co_return;
    }
    reply ok{.content_type = is_image ? "image/jpeg" : "text/html; charset=gbk",
             .body = is_image ? image->second : st->pages[static_cast<std::size_t>(page - 1)]};
    bool use_503 = false;
    // A redirected request ("?from=redirect") is never faulted again.
    fault f = req.query.find("from=redirect") != std::string::npos ? fault::none : draw(*st, use_503);
    switch (f) {
    case fault::none: co_await ex.respond(std::move(ok)); break;
    case fault::server_error: {
        int status = use_503 ? 503 : 500;
        reply r{.status = status, .body = fmt::format("{} {}\n", status, reason_phrase(status))};
        r.headers.emplace_back("Retry-After", "1");
        co_await ex.respond(std::move(r));
        break;
    }
    case fault::throttle: {
        reply r{.status = 429, .body = "429 Too Many Requests\n"};
        r.headers.emplace_back("Retry-After", "1");
        co_await ex.respond(std::move(r));
        break;
    }
    case fault::reset:
    case fault::truncate: {
        const std::string& body = ok.body;
        std::string head = fmt::format("HTTP/1.1 200 OK\r\nServer: weft\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n",
                                       ok.content_type, body.size());
        ex.stream().write(head);
        ex.stream().write(std::string_view(body).substr(0, body.size() / 2));
        co_await ex.stream().drain();
        if (f == fault::reset) {
            co_await weft::sleep(std::chrono::milliseconds(10));  // let the half body arrive first
            ex.reset();
        } else {
            ex.close_connection();
        }
        ex.mark_responded();  // the raw bytes were the answer
        break;
    }
    case fault::stall:
        co_await weft::sleep(o.faults.stall_for);
        co_await ex.respond(std::move(ok));
        break;
    case fault::redirect: {
        reply r{.status = 302, .body = "302 Found\n"};
        r.headers.emplace_back("Location", req.path + "?from=redirect");
        co_await ex.respond(std::move(r));
        break;
    }
    }
}

}  // namespace

demo_site::demo_site() noexcept = default;
demo_site::demo_site(demo_site&&) noexcept = default;
demo_site& demo_site::operator=(demo_site&&) noexcept = default;
demo_site::~demo_site() = default;

task<demo_site> demo_site::start(demo_site_options options) {
    auto st = build(options);
    demo_site site;
    handler serve = [st](exchange& ex) { return handle(st, ex); };
    site.server_ = co_await server::start(std::move(serve), "127.0.0.1", options.port);
    site.state_ = std::move(st);
    co_return site;
}

std::string demo_site::url() const { return server_.url(); }
std::string demo_site::page_url(int n) const { return url() + page_path(n); }
const std::vector<demo_image>& demo_site::images() const noexcept { return state_->images; }
std::vector<demo_image> demo_site::images_on_page(int n) const {
    const auto& o = state_->options;
    if (n < 1 || n > o.pages) return {};
    return {state_->images.begin() + (n - 1) * o.per_page, state_->images.begin() + n * o.per_page};
}
const std::string& demo_site::manifest() const noexcept { return state_->manifest; }
const server& demo_site::http_server() const noexcept { return server_; }
void demo_site::close() { server_.close(); }
task<void> demo_site::serve_forever() { return server_.serve_forever(); }
task<void> demo_site::wait_closed() { return server_.wait_closed(); }

}  // namespace weft::http
