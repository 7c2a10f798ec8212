// The tutorial's queue demo: weft::queue (queue.Queue), put/get, qsize/full/empty, the
// nonblocking put_nowait/get_nowait with queue_full/queue_empty, timeouts, LIFO and priority
// queues, and task_done/join.

#include <weft/queue.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>

using namespace std::chrono_literals;

int main() {
    weft::queue<int> q{3};
    for (int i : {1, 2, 3}) q.put(i);
    std::printf("put 1, 2, 3 into queue(maxsize=3): qsize=%zu full=%s empty=%s\n", q.qsize(),
                q.full() ? "true" : "false", q.empty() ? "true" : "false");

    try {
        q.put_nowait(4);
    } catch (const weft::queue_full& e) {
        std::printf("put_nowait(4) on a full queue -> weft::queue_full (%s)\n", e.what());
    }
    try {
        q.put(4, 20ms);
    } catch (const weft::queue_full&) {
        std::puts("put(4, 20ms) on a full queue -> weft::queue_full after the timeout");
    }

    int a = q.get();
    int b = q.get();
    int c = q.get_nowait();
    std::printf("get, get, get_nowait -> %d %d %d (first in, first out)\n", a, b, c);

    try {
        q.get_nowait();
    } catch (const weft::queue_empty& e) {
        std::printf("get_nowait() on an empty queue -> weft::queue_empty (%s)\n", e.what());
    }
    try {
        q.get(20ms);
    } catch (const weft::queue_empty&) {
        std::puts("get(20ms) on an empty queue -> weft::queue_empty after the timeout");
    }

    weft::lifo_queue<int> stack;
    for (int i : {1, 2, 3}) stack.put(i);
    int s1 = stack.get(), s2 = stack.get(), s3 = stack.get();
    std::printf("lifo_queue: put 1 2 3, get -> %d %d %d\n", s1, s2, s3);

    weft::priority_queue<std::pair<int, std::string>> jobs;
    jobs.put({3, "low"});
    jobs.put({1, "urgent"});
    jobs.put({2, "normal"});
    std::printf("priority_queue (smallest first):");
    for (int i = 0; i < 3; ++i) std::printf(" %s", jobs.get().second.c_str());
    std::printf("\n");

    weft::queue<int> work;
    for (int i = 0; i < 5; ++i) work.put(i);
    std::jthread worker([&] {
        for (int i = 0; i < 5; ++i) {
            work.get();
            work.task_done();
        }
    });
    work.join();
    std::puts("join() returned: every item was marked task_done()");
    return 0;
}
