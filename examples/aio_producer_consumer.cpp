// Producer–consumer with an asyncio-style queue: two producers put jobs into a bounded
// weft::aio::queue, three consumers take them, and the program ends cleanly: once the
// producers are done, join() waits until every job was processed, then shutdown() makes the
// consumers' get() throw weft::queue_shut_down so they return.

#include <weft/aio.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/task_handle.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

using namespace std::chrono_literals;

namespace {

weft::task<> producer(weft::aio::queue<std::string>& jobs, int id, int count) {
    for (int i = 0; i < count; ++i) {
        std::string job = "job " + std::to_string(id) + "." + std::to_string(i);
        co_await jobs.put(job);  // waits while the queue is full
        std::printf("producer %d put %s (queued: %zu)\n", id, job.c_str(), jobs.qsize());
        co_await weft::sleep(std::chrono::milliseconds(2 + id));
    }
    std::printf("producer %d done\n", id);
}

weft::task<int> consumer(weft::aio::queue<std::string>& jobs, int id) {
    int handled = 0;
    for (;;) {
        std::string job;
        try {
            job = co_await jobs.get();
        } catch (const weft::queue_shut_down&) {
            std::printf("consumer %d: queue shut down, handled %d jobs\n", id, handled);
            co_return handled;
        }
        co_await weft::sleep(std::chrono::milliseconds(5 + 2 * id));  // the "work"
        std::printf("consumer %d finished %s\n", id, job.c_str());
        ++handled;
        jobs.task_done();
    }
}

weft::task<int> main_task() {
    weft::aio::queue<std::string> jobs{3};
    std::vector<weft::task_handle<void>> producers;
    std::vector<weft::task_handle<int>> consumers;
    for (int p = 0; p < 2; ++p) producers.push_back(weft::create_task(producer(jobs, p, 5)));
    for (int c = 0; c < 3; ++c) consumers.push_back(weft::create_task(consumer(jobs, c)));

    for (auto& p : producers) co_await p;
    co_await jobs.join();  // every job put has been marked task_done()
    std::printf("all jobs processed; shutting the queue down\n");
    jobs.shutdown();

    int total = 0;
    for (auto& c : consumers) total += co_await c;
    std::printf("total handled: %d\n", total);
    co_return total == 10 ? 0 : 1;
}

}  // namespace

int main() { return weft::run(main_task()); }
