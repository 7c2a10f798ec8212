// The tutorial's first asyncio program, with the old-style loop API:
//
//   loop = asyncio.get_event_loop()
//   tasks = [hello(i) for i in range(5)]
//   loop.run_until_complete(asyncio.wait(tasks))
//   loop.close()
//
// Five coroutines each sleep one second; they sleep at the same time, so the whole run
// takes about one second, not five.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

weft::task<> hello(int i) {
    std::printf("hello %d: start\n", i);
    co_await weft::sleep(1s);
    std::printf("hello %d: done\n", i);
}

int main() {
    auto started = std::chrono::steady_clock::now();

    weft::event_loop loop;
    std::vector<weft::task<>> tasks;
    for (int i = 0; i < 5; ++i) tasks.push_back(hello(i));
    auto [done, pending] = loop.run_until_complete(weft::wait(std::move(tasks)));
    loop.close();

    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("%zu tasks done, %zu pending, in %.2f s (five 1 s sleeps, run concurrently)\n", done.size(),
                pending.size(), seconds);
    return done.size() == 5 && pending.empty() && seconds < 2.0 ? 0 : 1;
}
