// The tutorial's modern asyncio program: create_task + gather + asyncio.run.
//
//   async def main():
//       a = asyncio.create_task(work(1, 1)); b = asyncio.create_task(work(2, 2))
//       print(await asyncio.gather(a, b))
//   asyncio.run(main())
//
// Both tasks run at once: about 2 s in all. Also shows a timeout and a task group.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <stdexcept>

using namespace std::chrono_literals;

weft::task<int> work(int x, std::chrono::milliseconds delay) {
    co_await weft::sleep(delay);
    co_return x * 2;
}

weft::task<int> main_task() {
    auto started = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };

    auto a = weft::create_task(work(1, 1000ms));
    auto b = weft::create_task(work(2, 2000ms));
    auto [x, y] = co_await weft::gather(a, b);
    std::printf("gather -> (%d, %d) after %.2f s (1 s and 2 s, concurrently)\n", x, y, elapsed());
    bool ok = x == 2 && y == 4 && elapsed() < 3.0;

    try {
        co_await weft::wait_for(work(3, 5000ms), 200ms);
        ok = false;
    } catch (const weft::timeout_error&) {
        std::printf("wait_for(work(3, 5 s), 200 ms) -> timeout_error after %.2f s\n", elapsed());
    }

    weft::task_group group;
    for (int i = 1; i <= 3; ++i) group.create_task(work(i, 100ms));
    co_await group.join();
    std::printf("task_group of three 100 ms tasks joined at %.2f s\n", elapsed());
    co_return ok ? 0 : 1;
}

int main() { return weft::run(main_task()); }
