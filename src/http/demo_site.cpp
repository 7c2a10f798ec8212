// weft::http::demo_site: the deterministic gallery with fault injection.
#include <weft/http/demo_site.hpp>
#include <weft/sleep.hpp>

#include "common/percent_decode.hpp"
#include "common/sha256.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <iconv.h>

#include <cerrno>
#include <cstdio>
#include <initializer_list>
#include <new>
#include <random>
#include <stdexcept>
#include <string_view>
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
    std::string site;                                  // "http://127.0.0.1:PORT"
    std::unordered_map<std::string, reply> messy;      // resource key -> answer
    std::vector<messy_case> messy_cases;
    std::unordered_map<std::string, std::size_t> requests;  // resource key -> count
};
}  // namespace detail

namespace {

std::uint64_t splitmix(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
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

// A JSON string literal of `text`.
std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\')
            (out += '\\') += c;
        else if (static_cast<unsigned char>(c) < 0x20)
            out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
            out += c;
    }
    return out += '"';
}

std::string make_manifest(const detail::demo_state& st) {
    const auto& o = st.options;
    std::string m = fmt::format("{{\n  \"seed\": {},\n  \"pages\": {},\n  \"per_page\": {},\n  \"images\": [\n", o.seed,
                                o.pages, o.per_page);
    for (std::size_t i = 0; i < st.images.size(); ++i) {
        auto& img = st.images[i];
        m += fmt::format("    {{\"path\": \"{}\", \"size\": {}, \"sha256\": \"{}\"}}{}\n", img.path, img.size, img.sha256,
                         i + 1 < st.images.size() ? "," : "");
    }
    if (st.messy_cases.empty()) return m + "  ]\n}\n";
    m += "  ],\n  \"messy\": [\n";
    for (std::size_t c = 0; c < st.messy_cases.size(); ++c) {
        const auto& mc = st.messy_cases[c];
        m += fmt::format("    {{\"name\": {}, \"page_url\": {}, \"select\": {}, \"images\": [\n", json_string(mc.name),
                         json_string(mc.page_url), json_string(mc.select));
        for (std::size_t i = 0; i < mc.images.size(); ++i) {
            const auto& img = mc.images[i];
            m += fmt::format("      {{\"url\": {}, \"expect\": {}, \"why\": {}, \"sha256\": {}}}{}\n", json_string(img.url),
                             json_string(img.expect), json_string(img.why), json_string(img.sha256),
                             i + 1 < mc.images.size() ? "," : "");
        }
        m += fmt::format("    ]}}{}\n", c + 1 < st.messy_cases.size() ? "," : "");
    }
    return m + "  ]\n}\n";
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
            st->images.push_back({path, bytes.size(), weft::detail::sha256_hex(bytes)});
            st->image_bytes.emplace(path, std::move(bytes));
        }
    }
    for (int p = 1; p <= o.pages; ++p) {
        std::vector<demo_image> on_page(st->images.begin() + (p - 1) * o.per_page, st->images.begin() + p * o.per_page);
        st->pages.push_back(make_page(o, p, on_page));
    }
    st->manifest = make_manifest(*st);
    return st;
}

// ---- the /messy/ pages ----

// Percent-encodes a UTF-8 path segment (all but A-Z a-z 0-9 - . _ ~), as a browser sends it.
std::string percent_encode(std::string_view segment) {
    char* e = curl_easy_escape(nullptr, segment.data(), static_cast<int>(segment.size()));
    if (e == nullptr) throw std::bad_alloc();
    std::string out(e);
    curl_free(e);
    return out;
}

// What requests are matched and counted by: the percent-decoded path, then "?" and the query
// as sent.
std::string resource_key(std::string_view decoded_path, std::string_view query) {
    std::string key(decoded_path);
    if (!query.empty()) (key += '?') += query;
    return key;
}

// The key of a request target such as "/messy/img/%E5%9B%BE.jpg?x=1" (a fragment is dropped).
std::string target_key(std::string_view target) {
    target = target.substr(0, target.find('#'));
    auto q = target.find('?');
    return resource_key(weft::detail::percent_decode(target.substr(0, q)), q == std::string_view::npos ? "" : target.substr(q + 1));
}

std::string utf8_page(std::string_view title, std::string_view head, std::string_view body) {
    return fmt::format("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n{1}</head>\n<body>\n"
                       "<h1>{0}</h1>\n{2}</body>\n</html>\n",
                       title, head, body);
}

std::string img_tags(std::initializer_list<std::string_view> srcs) {
    std::string out;
    for (auto src : srcs) out += fmt::format("<p><img src=\"{}\" alt=\"\"></p>\n", src);
    return out;
}

const std::string utf8_html = "text/html; charset=utf-8";

// Adds the /messy/ resources, their cases and their images to `st` (whose `site` is set).
class messy_builder {
public:
    explicit messy_builder(detail::demo_state& st) : st_(st), seed_(st.options.seed ^ 0x6D657373ull) {}

    // Serves a page at `path` (plain ASCII) and links it from the index.
    void page(const std::string& path, std::string content_type, std::string body) {
        serve(path, {.content_type = std::move(content_type), .body = std::move(body)});
        page_paths_.push_back(path);
    }
    void serve(const std::string& target, reply r) { st_.messy.emplace(target_key(target), std::move(r)); }
    // Serves fresh JPEG-headed bytes at `target` (percent-encoded, with its query), lists the
    // image, and returns its SHA-256.
    std::string image(const std::string& target) {
        std::string bytes = make_jpeg(st_.options.image_bytes, splitmix(seed_));
        std::string sha = weft::detail::sha256_hex(bytes);
        st_.images.push_back({target, bytes.size(), sha});
        serve(target, {.content_type = "image/jpeg", .body = std::move(bytes)});
        return sha;
    }
    messy_image saved(const std::string& target, std::string why) {
        return {st_.site + target, "saved", std::move(why), image(target)};
    }
    messy_image failed(const std::string& target, std::string why) { return {st_.site + target, "failed", std::move(why), ""}; }
    void add(std::string name, const std::string& page_path, std::vector<messy_image> images,
             std::string select = "//img/@src") {
        st_.messy_cases.push_back({std::move(name), st_.site + page_path, std::move(select), std::move(images)});
    }
    // Serves "/messy/" and "/messy/index.html": a link to every page, relative to /messy/.
    void index() {
        std::string links;
        for (const auto& p : page_paths_) {
            std::string rel = p.substr(std::string_view("/messy/").size());
            links += fmt::format("<li><a href=\"{0}\">{0}</a></li>\n", rel);
        }
        std::string html = utf8_page("messy pages", "", "<ul>\n" + links + "</ul>\n");
        serve("/messy/", {.content_type = utf8_html, .body = html});
        serve("/messy/index.html", {.content_type = utf8_html, .body = std::move(html)});
    }

private:
    detail::demo_state& st_;
    std::uint64_t seed_;
    std::vector<std::string> page_paths_;
};

void add_messy(detail::demo_state& st) {
    messy_builder b(st);
    const std::string host = st.site.substr(std::string_view("http://").size());  // "127.0.0.1:PORT"

    b.page("/messy/base.html", utf8_html,
           utf8_page("base href", "<base href=\"/messy/assets/\">\n", img_tags({"b.jpg"})));
    b.add("base-href", "/messy/base.html", {b.saved("/messy/assets/b.jpg", "base href: b.jpg resolves under /messy/assets/")});

    b.page("/messy/rel/page.html", utf8_html,
           utf8_page("relative URLs", "",
                     img_tags({"../x.jpg", "sub/y.jpg", "/messy/img/root.jpg", "//" + host + "/messy/img/proto.jpg",
                               st.site + "/messy/img/absolute.jpg"})));
    b.add("relative", "/messy/rel/page.html",
          {b.saved("/messy/x.jpg", "relative ../x.jpg"), b.saved("/messy/rel/sub/y.jpg", "relative sub/y.jpg"),
           b.saved("/messy/img/root.jpg", "root-relative"), b.saved("/messy/img/proto.jpg", "protocol-relative //host:port/"),
           b.saved("/messy/img/absolute.jpg", "absolute")});

    b.page("/messy/entities.html", utf8_html,
           utf8_page("entities in attributes", "",
                     img_tags({"/messy/img/q.jpg?a=1&amp;b=2", "/messy/img/q2.jpg?x=1&#38;y=2"})));
    b.add("entities", "/messy/entities.html",
          {b.saved("/messy/img/q.jpg?a=1&b=2", "&amp; in the attribute"),
           b.saved("/messy/img/q2.jpg?x=1&y=2", "&#38; in the attribute")});

    b.page("/messy/upper.html", utf8_html,
           utf8_page("upper-case and unquoted attributes", "",
                     "<P><IMG SRC=/messy/img/upper.jpg ALT=upper></P>\n"
                     "<p><img src='/messy/img/single.jpg' alt='single'></p>\n"
                     "<p><Img Src = \"/messy/img/spaced.jpg\" Alt = \"spaced\" ></p>\n"));
    b.add("unquoted-uppercase", "/messy/upper.html",
          {b.saved("/messy/img/upper.jpg", "upper-case tag and attribute, unquoted value"),
           b.saved("/messy/img/single.jpg", "single-quoted value"),
           b.saved("/messy/img/spaced.jpg", "spaces around =, mixed case")});

    b.page("/messy/lazy.html", utf8_html,
           utf8_page("lazy loading", "",
                     "<p><img src=\"/messy/img/placeholder.gif\" data-src=\"/messy/img/lazy.jpg\" alt=\"lazy\"></p>\n"));
    b.add("lazy-placeholder", "/messy/lazy.html",
          {b.saved("/messy/img/placeholder.gif", "the placeholder in src (the default select)")});
    b.add("lazy-data-src", "/messy/lazy.html", {b.saved("/messy/img/lazy.jpg", "data-src")}, "//img/@data-src");

    b.page("/messy/srcset.html", utf8_html,
           utf8_page("srcset", "",
                     "<p><img srcset=\"/messy/img/s1.jpg 1x, /messy/img/s2.jpg 2x\" alt=\"density\"></p>\n"
                     "<p><img srcset=\"img/s3.jpg 480w,img/s4.jpg 960w\" sizes=\"50vw\" alt=\"width\"></p>\n"));
    b.add("srcset", "/messy/srcset.html",
          {b.saved("/messy/img/s1.jpg", "srcset candidate 1x"), b.saved("/messy/img/s2.jpg", "srcset candidate 2x"),
           b.saved("/messy/img/s3.jpg", "srcset candidate 480w, relative, no space after the comma"),
           b.saved("/messy/img/s4.jpg", "srcset candidate 960w, relative")},
          "//img/@srcset");

    b.page("/messy/names.html", utf8_html,
           utf8_page("file names", "",
                     img_tags({"/messy/img/%E5%9B%BE%E7%89%87.jpg", "/messy/img/图片2.jpg", "/messy/img/my photo.jpg"})));
    b.add("file-names", "/messy/names.html",
          {b.saved("/messy/img/%E5%9B%BE%E7%89%87.jpg", "percent-encoded UTF-8 name"),
           b.saved("/messy/img/" + percent_encode("图片2.jpg"), "raw UTF-8 name in a UTF-8 page, sent percent-encoded"),
           b.saved("/messy/img/my%20photo.jpg", "a space in the name, sent as %20")});

    b.page("/messy/query.html", utf8_html,
           utf8_page("query strings", "", img_tags({"/messy/img/pic.jpg?id=1", "/messy/img/pic.jpg?id=2"})));
    b.add("query-strings", "/messy/query.html",
          {b.saved("/messy/img/pic.jpg?id=1", "query string: a different image than ?id=2"),
           b.saved("/messy/img/pic.jpg?id=2", "query string: a different image than ?id=1")});

    b.page("/messy/folders.html", utf8_html,
           utf8_page("one basename, two folders", "", img_tags({"/messy/a/same.jpg", "/messy/b/same.jpg"})));
    b.add("same-basename", "/messy/folders.html",
          {b.saved("/messy/a/same.jpg", "same basename as /messy/b/same.jpg, other bytes"),
           b.saved("/messy/b/same.jpg", "same basename as /messy/a/same.jpg, other bytes")});

    messy_image shared = b.saved("/messy/img/shared.jpg", "the same image on two pages: fetched once");
    b.page("/messy/shared1.html", utf8_html, utf8_page("shared image, page 1", "", img_tags({"/messy/img/shared.jpg"})));
    b.page("/messy/shared2.html", utf8_html, utf8_page("shared image, page 2", "", img_tags({"/messy/img/shared.jpg"})));
    b.add("shared-image-1", "/messy/shared1.html", {shared});
    b.add("shared-image-2", "/messy/shared2.html", {shared});

    b.page("/messy/gbk-header.html", "text/html; charset=gbk",
           utf8_to_gbk("<!DOCTYPE html>\n<html>\n<head>\n<title>字符集只在响应头里</title>\n</head>\n<body>\n"
                       "<h1>风景壁纸</h1>\n<p>这个页面没有 meta 声明，字符集只在 Content-Type 头里。</p>\n"
                       "<p><img src=\"/messy/gbk/风景.jpg\" alt=\"风景\"></p>\n</body>\n</html>\n"));
    b.add("charset-header", "/messy/gbk-header.html",
          {b.saved("/messy/gbk/" + percent_encode("风景.jpg"),
                   "GBK name, charset only in the Content-Type header: decoded, sent as UTF-8")});

    b.page("/messy/gb2312-meta.html", "text/html",
           utf8_to_gbk("<!DOCTYPE html>\n<html>\n<head>\n"
                       "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">\n"
                       "<title>字符集只在 meta 里</title>\n</head>\n<body>\n"
                       "<h1>美女壁纸</h1>\n<p>响应头没有字符集，只有 meta http-equiv 声明 gb2312（按 GBK 解码）。</p>\n"
                       "<p><img src=\"/messy/gbk/美女.jpg\" alt=\"美女\"></p>\n</body>\n</html>\n"));
    b.add("charset-meta", "/messy/gb2312-meta.html",
          {b.saved("/messy/gbk/" + percent_encode("美女.jpg"),
                   "GBK name, charset only in <meta http-equiv> (gb2312 decodes as GBK), sent as UTF-8")});

    b.page("/messy/broken.html", utf8_html,
           "<html><head><meta charset=\"utf-8\"><title>broken markup</title>\n<body>\n"
           "<table><tr><td><p>unclosed <b>bold <i>italic\n"
           "<img src=\"/messy/img/broken1.jpg\" alt=\"in a table\"></td></td></tr>\n"
           "<div><p>para <img src=/messy/img/broken2.jpg alt=x></span></div></div>\n"
           "<p><img src=\"/messy/img/broken3.jpg\"\n   alt=\"in an unclosed p, the tag across lines\">\n"
           "<ul><li>one<li>two <img src='/messy/img/broken4.jpg'>\n");
    b.add("broken-markup", "/messy/broken.html",
          {b.saved("/messy/img/broken1.jpg", "broken markup: unclosed tags, stray </td>"),
           b.saved("/messy/img/broken2.jpg", "broken markup: stray </span> and </div>"),
           b.saved("/messy/img/broken3.jpg", "broken markup: <img> inside an unclosed <p>"),
           b.saved("/messy/img/broken4.jpg", "broken markup: no </li>, </ul>, </body>, </html>")});

    b.page("/messy/loop.html", utf8_html, utf8_page("redirect loop", "", img_tags({"/messy/loop.jpg"})));
    reply loop{.status = 302, .body = "302 Found\n"};
    loop.headers.emplace_back("Location", "/messy/loop.jpg");
    b.serve("/messy/loop.jpg", std::move(loop));
    b.add("redirect-loop", "/messy/loop.html", {b.failed("/messy/loop.jpg", "too many redirects")});

    b.page("/messy/missing.html", utf8_html, utf8_page("missing image", "", img_tags({"/messy/img/missing.jpg"})));
    b.add("not-found", "/messy/missing.html", {b.failed("/messy/img/missing.jpg", "404")});

    b.page("/messy/redirect.html", utf8_html, utf8_page("redirected image", "", img_tags({"/messy/img/moved.jpg"})));
    reply moved{.status = 301, .body = "301 Moved Permanently\n"};
    moved.headers.emplace_back("Location", "/messy/img/target.jpg");
    b.serve("/messy/img/moved.jpg", std::move(moved));
    b.add("redirect", "/messy/redirect.html",
          {{st.site + "/messy/img/moved.jpg", "saved", "301 redirect to /messy/img/target.jpg",
            b.image("/messy/img/target.jpg")}});

    const std::string long_name = "/messy/evil/" + std::string(296, 'n') + ".jpg";
    b.page("/messy/evil.html", utf8_html,
           utf8_page("hostile names", "",
                     img_tags({"/messy/evil/..%2F..%2Fx.jpg", "/messy/evil/%2Fetc%2Fpasswd", "/messy/evil/a%2F..%2Fb.jpg",
                               "/messy/evil/..%5C..%5Cwin.jpg", long_name, "/messy/evil/ctl%01name.jpg"})));
    b.add("hostile-names", "/messy/evil.html",
          {b.saved("/messy/evil/..%2F..%2Fx.jpg", "hostile name ../../x.jpg: saved inside DIR"),
           b.saved("/messy/evil/%2Fetc%2Fpasswd", "hostile name /etc/passwd: saved inside DIR"),
           b.saved("/messy/evil/a%2F..%2Fb.jpg", "hostile name a/../b.jpg: saved inside DIR"),
           b.saved("/messy/evil/..%5C..%5Cwin.jpg", "hostile name ..\\..\\win.jpg: saved inside DIR"),
           b.saved(long_name, "a 300-character name: shortened, saved inside DIR"),
           b.saved("/messy/evil/ctl%01name.jpg", "a control character (%01) in the name: saved without it")});

    b.page("/messy/hotlink.html", utf8_html,
           utf8_page("hotlink protection", "", img_tags({"/messy/hot/h1.jpg", "/messy/hot/h2.jpg"})));
    b.add("hotlink", "/messy/hotlink.html",
          {b.saved("/messy/hot/h1.jpg", "hotlink protected: 403 without a Referer from this site"),
           b.saved("/messy/hot/h2.jpg", "hotlink protected: 403 without a Referer from this site")});

    b.page("/messy/private.html", utf8_html, utf8_page("robots.txt", "", img_tags({"/messy/private/secret.jpg"})));
    b.add("robots", "/messy/private.html",
          {{st.site + "/messy/private/secret.jpg", "skipped", "robots", b.image("/messy/private/secret.jpg")}});

    b.index();
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
    ++st->requests[resource_key(req.path, req.query)];
    if (req.method != "GET" && req.method != "HEAD") {
        {
        reply answer{.status = 405, .body = "405 Method Not Allowed\n"};
        co_await ex.respond(std::move(answer));
    }
        co_return;
    }
    if (req.path == "/robots.txt") {
        {
        reply answer{.body = o.messy ? "User-agent: *\nDisallow: /admin/\nDisallow: /messy/private/\nCrawl-delay: 0\n"
                                     : "User-agent: *\nDisallow: /admin/\nCrawl-delay: 0\n"};
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
    if (o.messy && req.path.starts_with("/messy/")) {  // no latency, no faults
        auto found = st->messy.find(resource_key(req.path, req.query));
        if (found == st->messy.end()) {
            reply answer{.status = 404, .body = "404 Not Found\n"};
            co_await ex.respond(std::move(answer));
        } else if (req.path.starts_with("/messy/hot/") &&
                   !req.headers.get("referer").value_or("").starts_with(st->site + "/")) {
            reply answer{.status = 403, .body = "403 Forbidden: hotlinking not allowed\n"};
            co_await ex.respond(std::move(answer));
        } else {
            co_await ex.respond(found->second);
        }
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
        // The ETag lets a client resume what it got with If-Range (as after a real cut).
        std::string head = fmt::format(
            "HTTP/1.1 200 OK\r\nServer: weft\r\nContent-Type: {}\r\nContent-Length: {}\r\nETag: {}\r\n\r\n",
            ok.content_type, body.size(), strong_etag(body));
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
    st->site = site.server_.url();
    if (options.messy) {  // (the pages name the port; nothing is served before this returns)
        add_messy(*st);
        st->manifest = make_manifest(*st);
    }
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
std::vector<messy_case> demo_site::messy_cases() const { return state_->messy_cases; }
std::size_t demo_site::requests_for(std::string_view target) const {
    if (target.starts_with(state_->site)) target.remove_prefix(state_->site.size());
    auto found = state_->requests.find(target_key(target));
    return found == state_->requests.end() ? 0 : found->second;
}
void demo_site::close() { server_.close(); }
task<void> demo_site::serve_forever() { return server_.serve_forever(); }
task<void> demo_site::wait_closed() { return server_.wait_closed(); }

}  // namespace weft::http
