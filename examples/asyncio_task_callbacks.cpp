// The tutorial's ensure_future program: tasks with done(), result() and a done-callback.
//
//   async def work(x, delay): await asyncio.sleep(delay); return x * 2
//   tasks = [asyncio.ensure_future(work(1, 1)), ... work(2, 2), ... work(3, 3)]
//   for t in tasks: t.add_done_callback(callback)
//   loop.run_until_complete(asyncio.wait(tasks))
//   for t in tasks: print(t.done(), t.result())
//
// The three sleeps overlap: about 3 s in all (the longest), results 2, 4, 6.
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

weft::task<int> work(int x, std::chrono::seconds delay) {
    std::printf("work(%d): waiting %lld s\n", x, static_cast<long long>(delay.count()));
    co_await weft::sleep(delay);
    co_return x * 2;
}

int main() {
    auto started = std::chrono::steady_clock::now();
    weft::event_loop loop;

    std::vector<weft::task_handle<int>> tasks;
    for (int x = 1; x <= 3; ++x) {
        auto t = loop.create_task(work(x, std::chrono::seconds(x)));
        t.add_done_callback([](weft::task_handle<int> done) {
            std::printf("callback: %s returned %d\n", done.name().c_str(), done.result());
        });
        tasks.push_back(t);
    }
    loop.run_until_complete(weft::wait(tasks));

    int expected = 2;
    bool ok = true;
    for (auto& t : tasks) {
        std::printf("%s: done=%s result=%d\n", t.name().c_str(), t.done() ? "true" : "false", t.result());
        ok = ok && t.done() && t.result() == expected;
        expected += 2;
    }
    loop.close();

    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("total %.2f s (the longest task, 3 s; run one after another it would be 6 s)\n", seconds);
    return ok && seconds < 4.5 ? 0 : 1;
}
