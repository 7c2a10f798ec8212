// The tutorial's producer-consumer: one producer puts 1..10, two consumers take them.
// The tutorial's version leaves a consumer blocked in get() forever; here the producer shuts
// the queue down when it is done (Python 3.13's Queue.shutdown): the consumers drain what is
// left, then get() throws weft::queue_shut_down and they return. The program ends cleanly.

#include <weft/queue.hpp>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    weft::queue<int> q{4};
    std::mutex print;
    std::vector<int> got[2];

    auto consumer = [&](int id) {
        try {
            for (;;) {
                int item = q.get();
                std::this_thread::sleep_for(15ms);  // "process" the item
                {
                    std::lock_guard lock(print);
                    std::printf("consumer %d got %d\n", id, item);
                }
                got[id - 1].push_back(item);
            }
        } catch (const weft::queue_shut_down&) {
            std::lock_guard lock(print);
            std::printf("consumer %d: queue shut down and drained, exiting\n", id);
        }
    };

    {
        std::jthread c1(consumer, 1);
        std::jthread c2(consumer, 2);
        std::jthread producer([&] {
            for (int i = 1; i <= 10; ++i) {
                q.put(i);
                {
                    std::lock_guard lock(print);
                    std::printf("producer put %d\n", i);
                }
                std::this_thread::sleep_for(5ms);
            }
            q.shutdown();  // no more items: wake the consumers once the queue is drained
        });
    }
    std::size_t total = got[0].size() + got[1].size();
    std::printf("consumer 1 handled %zu items, consumer 2 handled %zu; total %zu of 10\n", got[0].size(),
                got[1].size(), total);
    return total == 10 ? 0 : 1;
}
