// The tutorial's aiohttp + aiofiles crawler in miniature, against the embedded demo gallery:
// fetch two GBK pages, pull the image URLs out with the tutorial's regex, and download every
// image concurrently (a session limit of 8 plays the role of the tutorial's semaphore).
// `weft crawl` is the full program; this shows the library calls it is built from.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <unistd.h>
#include <string>
#include <vector>

namespace fs = std::filesystem;

weft::task<std::vector<std::string>> image_urls(weft::http::client_session& session, std::string page_url,
                                                std::string site) {
    auto page = co_await session.get(page_url);
    page.raise_for_status();
    std::string html = page.text();  // decoded from GBK (the page's <meta charset>)
    static const std::regex image_src(R"re(<img src="(/uploads/allimg/[^"]+\.jpg)")re");
    std::vector<std::string> urls;
    for (std::sregex_iterator it(html.begin(), html.end(), image_src), end; it != end; ++it) {
        urls.push_back(site + (*it)[1].str());
    }
    std::printf("%s: charset %s, %zu images\n", page_url.c_str(), page.charset().c_str(), urls.size());
    co_return urls;
}

weft::task<int> main_task() {
    auto site = co_await weft::http::demo_site::start({.pages = 2, .per_page = 10});
    weft::http::client_session session({.limit = 8, .limit_per_host = 8});
    fs::path out = fs::temp_directory_path() / ("weft-gallery-" + std::to_string(::getpid()));
    fs::create_directories(out);
    auto started = std::chrono::steady_clock::now();

    std::vector<weft::task<std::vector<std::string>>> pages;
    for (int n = 1; n <= 2; ++n) pages.push_back(image_urls(session, site.page_url(n), site.url()));
    auto per_page = co_await weft::gather(std::move(pages));

    std::vector<weft::task<weft::http::download_result>> downloads;
    for (auto& urls : per_page) {
        for (auto& url : urls) {
            auto path = out / fs::path(url).filename();
            downloads.push_back(session.download(url, path));
        }
    }
    std::size_t count = downloads.size();
    co_await weft::gather(std::move(downloads));

    std::uintmax_t bytes = 0;
    for (auto& entry : fs::directory_iterator(out)) bytes += entry.file_size();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("downloaded %zu images, %ju bytes, in %.3f s into %s\n", count, bytes, seconds, out.c_str());
    bool ok = count == site.images().size() && bytes == count * site.images().front().size;
    fs::remove_all(out);
    site.close();
    co_return ok ? 0 : 1;
}

int main() { return weft::run(main_task()); }
