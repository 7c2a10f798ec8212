// HTTP load generator and server for bench/http_bench.py (not a Google Benchmark suite: the
// comparison with nginx, aiohttp and curl needs whole processes, timed from outside).
//
//   bench_http_load client URL REQUESTS CONCURRENCY   GETs URL REQUESTS times, CONCURRENCY at once
//   bench_http_load server DIR                        serves DIR on 127.0.0.1, prints the port
#include <weft/http/client_session.hpp>
#include <weft/http/server.hpp>
#include <weft/run.hpp>
#include <weft/task_handle.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

weft::task<int> client(std::string url, long requests, long concurrency) {
    weft::http::client_session session({.limit = static_cast<std::size_t>(concurrency)});
    long next = 0, failures = 0;
    std::size_t bytes = 0;
    auto worker = [&]() -> weft::task<void> {
        while (next < requests) {
            ++next;
            auto r = co_await session.get(url);
            if (r.status() != 200) ++failures;
            bytes += r.body().size();
        }
    };
    auto start = std::chrono::steady_clock::now();
    std::vector<weft::task_handle<void>> workers;
    for (long i = 0; i < concurrency; ++i) workers.push_back(weft::create_task(worker()));
    for (auto& w : workers) co_await w;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("requests=%ld failures=%ld bytes=%zu seconds=%.3f rps=%.0f\n", requests, failures, bytes, seconds,
                static_cast<double>(requests) / seconds);
    co_return failures == 0 ? 0 : 1;
}

weft::task<int> server(std::string dir) {
    auto srv = co_await weft::http::server::start(weft::http::static_files(dir), "127.0.0.1", 0);
    std::printf("%u\n", srv.port());
    std::fflush(stdout);
    co_await srv.serve_forever();
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    try {
        if (mode == "client" && argc == 5) return weft::run(client(argv[2], std::atol(argv[3]), std::atol(argv[4])));
        if (mode == "server" && argc == 3) return weft::run(server(argv[2]));
    } catch (const weft::keyboard_interrupt&) {
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_http_load: %s\n", e.what());
        return 1;
    }
    std::fprintf(stderr, "usage: bench_http_load client URL REQUESTS CONCURRENCY | server DIR\n");
    return 2;
}
