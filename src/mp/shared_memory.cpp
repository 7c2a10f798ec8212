// The shared arena and the process-shared pthread primitives (see mp/detail/shared_memory.hpp).

#include <weft/errors.hpp>
#include <weft/mp/detail/shared_memory.hpp>

#include "common/log.hpp"
#include "mp/realtime_deadline.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <mutex>
#include <system_error>

namespace weft::mp::detail {

namespace {

// 256 MiB of address space; pages cost memory only once touched.
constexpr std::size_t arena_size = std::size_t{256} << 20;
constexpr std::size_t min_block = 64;
constexpr int class_count = 22;  // 64 B .. 128 MiB, powers of two
constexpr std::uint64_t arena_magic = 0x7765667461726e61;  // "weftarna"

struct block_header {
    std::atomic<std::uint32_t> refs;
    std::uint32_t size_class;
    void (*destroy)(void*) noexcept;
};
static_assert(sizeof(block_header) == 16);

struct arena_header {
    std::uint64_t magic = arena_magic;
    robust_mutex mutex;
    std::uint64_t bump = 0;
    std::uint64_t free_heads[class_count] = {};
};

char* arena = nullptr;
std::once_flag arena_once;

arena_header& header() { return *reinterpret_cast<arena_header*>(arena); }

std::uint64_t header_end() { return (sizeof(arena_header) + min_block - 1) / min_block * min_block; }

int size_class_for(std::size_t bytes) {
    std::size_t need = bytes + sizeof(block_header);
    int k = 0;
    while ((min_block << k) < need) {
        if (++k == class_count) throw std::bad_alloc();
    }
    return k;
}

block_header* block_of(void* payload) { return reinterpret_cast<block_header*>(static_cast<char*>(payload) - sizeof(block_header)); }

void free_block(block_header* b) noexcept {
    auto& h = header();
    auto offset = static_cast<std::uint64_t>(reinterpret_cast<char*>(b) - arena);
    h.mutex.lock_until(nullptr);
    *reinterpret_cast<std::uint64_t*>(b + 1) = h.free_heads[b->size_class];
    h.free_heads[b->size_class] = offset;
    h.mutex.unlock();
}


void check(int rc, const char* what) {
    if (rc != 0) throw std::system_error(rc, std::generic_category(), what);
}

}  // namespace

void ensure_arena() {
    std::call_once(arena_once, [] {
        void* p = mmap(nullptr, arena_size, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) throw std::system_error(errno, std::generic_category(), "mmap of the weft::mp arena");
        auto* h = new (p) arena_header();
        h->bump = header_end();
        arena = static_cast<char*>(p);
    });
}

void* shared_allocate(std::size_t bytes, void (*destroy)(void*) noexcept) {
    ensure_arena();
    int k = size_class_for(bytes);
    std::size_t size = min_block << k;
    auto& h = header();
    std::uint64_t offset = 0;
    h.mutex.lock_until(nullptr);
    if (h.free_heads[k] != 0) {
        offset = h.free_heads[k];
        h.free_heads[k] = *reinterpret_cast<std::uint64_t*>(arena + offset + sizeof(block_header));
    } else if (h.bump + size <= arena_size) {
        offset = h.bump;
        h.bump += size;
    }
    h.mutex.unlock();
    if (offset == 0) throw std::bad_alloc();
    auto* b = new (arena + offset) block_header{};
    b->refs.store(1, std::memory_order_relaxed);
    b->size_class = static_cast<std::uint32_t>(k);
    b->destroy = destroy;
    return b + 1;
}

void shared_retain(void* object) noexcept { block_of(object)->refs.fetch_add(1, std::memory_order_relaxed); }

void shared_release(void* object) noexcept {
    block_header* b = block_of(object);
    if (b->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    b->destroy(object);
    free_block(b);
}

void shared_free_unconstructed(void* object) noexcept { free_block(block_of(object)); }

std::uint64_t shared_offset(const void* object) {
    auto* p = static_cast<const char*>(object);
    if (!arena || p < arena + header_end() || p >= arena + arena_size)
        throw invalid_state_error("weft::mp object is not in the shared arena");
    return static_cast<std::uint64_t>(p - arena);
}

void* shared_at(std::uint64_t offset) {
    if (!arena || offset < header_end() + sizeof(block_header) || offset >= arena_size ||
        offset % min_block != sizeof(block_header))
        throw invalid_state_error("offset " + std::to_string(offset) +
                                  " does not name a weft::mp object of this process family");
    return arena + offset;
}

robust_mutex::robust_mutex(bool recursive) {
    pthread_mutexattr_t attr;
    check(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_settype(&attr, recursive ? PTHREAD_MUTEX_RECURSIVE : PTHREAD_MUTEX_ERRORCHECK);
    int rc = pthread_mutex_init(&native, &attr);
    pthread_mutexattr_destroy(&attr);
    check(rc, "pthread_mutex_init");
}

robust_mutex::~robust_mutex() { pthread_mutex_destroy(&native); }

bool robust_mutex::lock_until(const clock::time_point* deadline) {
    int rc;
    if (!deadline || *deadline == clock::time_point::max()) {
        rc = pthread_mutex_lock(&native);
    } else {
        // Try first: the fast path, and the usual place where a dead owner is found
        // (ThreadSanitizer's timedlock interceptor does not understand EOWNERDEAD).
        rc = pthread_mutex_trylock(&native);
        if (rc == EBUSY) {
            timespec ts = realtime_deadline(*deadline);
            rc = pthread_mutex_timedlock(&native, &ts);
        }
    }
    if (rc == EOWNERDEAD) {
        recover();
        return true;
    }
    if (rc == ETIMEDOUT) return false;
    if (rc == EDEADLK) throw invalid_state_error("weft::mp::lock acquired twice by the same thread (not an rlock)");
    check(rc, "pthread_mutex_lock");
    return true;
}

bool robust_mutex::try_lock() {
    int rc = pthread_mutex_trylock(&native);
    if (rc == EOWNERDEAD) {
        recover();
        return true;
    }
    if (rc == EBUSY) return false;
    check(rc, "pthread_mutex_trylock");
    return true;
}

void robust_mutex::unlock() {
    int rc = pthread_mutex_unlock(&native);
    if (rc == EPERM) throw release_error("release of a weft::mp lock that this thread does not hold");
    check(rc, "pthread_mutex_unlock");
}

void robust_mutex::recover() {
    pthread_mutex_consistent(&native);
    owner_deaths.fetch_add(1, std::memory_order_relaxed);
    weft::detail::log().warn(
        "weft::mp: the previous holder of a shared lock died while holding it; the lock was "
        "recovered (pid {} now holds it), but the data it protected may be inconsistent",
        static_cast<long>(getpid()));
}

shared_cond::shared_cond() {
    pthread_condattr_t attr;
    check(pthread_condattr_init(&attr), "pthread_condattr_init");
    pthread_condattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&native, &attr);
    pthread_condattr_destroy(&attr);
    check(rc, "pthread_cond_init");
}

shared_cond::~shared_cond() { pthread_cond_destroy(&native); }

bool shared_cond::wait_until(robust_mutex& m, const clock::time_point* deadline) {
    int rc;
    if (!deadline || *deadline == clock::time_point::max()) {
        rc = pthread_cond_wait(&native, &m.native);
    } else {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline->time_since_epoch()).count();
        if (ns < 0) ns = 0;
        timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
        rc = pthread_cond_timedwait(&native, &m.native, &ts);
    }
    if (rc == EOWNERDEAD) {
        m.recover();
        return true;
    }
    if (rc == ETIMEDOUT) return false;
    check(rc, "pthread_cond_wait");
    return true;
}

void shared_cond::notify_one() noexcept { pthread_cond_signal(&native); }
void shared_cond::notify_all() noexcept { pthread_cond_broadcast(&native); }

timespec realtime_deadline(clock::time_point deadline) {
    auto left = deadline - clock::now();
    if (left < clock::duration::zero()) left = clock::duration::zero();
    timespec now{};
    clock_gettime(CLOCK_REALTIME, &now);
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count() + now.tv_nsec;
    timespec ts{};
    ts.tv_sec = now.tv_sec + static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    return ts;
}

}  // namespace weft::mp::detail
