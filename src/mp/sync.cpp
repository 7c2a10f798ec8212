// The non-template parts of weft::mp's shared synchronization primitives.

#include <weft/errors.hpp>
#include <weft/mp/barrier.hpp>
#include <weft/mp/event.hpp>
#include <weft/mp/queue.hpp>
#include <weft/mp/semaphore.hpp>

#include "mp/realtime_deadline.hpp"

#include <cerrno>
#include <ctime>
#include <stdexcept>
#include <system_error>

namespace weft::mp {

namespace detail {

// ---- semaphore -----------------------------------------------------------------------------

semaphore_block::semaphore_block(unsigned value) {
    if (sem_init(&sem, 1, value) < 0) throw std::system_error(errno, std::generic_category(), "sem_init");
}

semaphore_block::~semaphore_block() { sem_destroy(&sem); }

bool semaphore_block::wait_until(const clock::time_point* deadline) {
    for (;;) {
        int rc;
        if (!deadline || *deadline == clock::time_point::max()) {
            rc = sem_wait(&sem);
        } else {
            timespec ts = realtime_deadline(*deadline);
            rc = sem_timedwait(&sem, &ts);
        }
        if (rc == 0) return true;
        if (errno == EINTR) continue;
        if (errno == ETIMEDOUT) {
            if (deadline && clock::now() < *deadline) continue;  // the realtime clock jumped
            return false;
        }
        throw std::system_error(errno, std::generic_category(), "sem_wait");
    }
}

// ---- event ---------------------------------------------------------------------------------

bool event_block::wait_until(const clock::time_point* deadline) {
    robust_guard g(mutex);
    while (!flag) {
        if (!cond.wait_until(mutex, deadline)) return flag;
    }
    return true;
}

// ---- barrier -------------------------------------------------------------------------------

unsigned barrier_block::wait_until(const clock::time_point* deadline) {
    robust_guard g(mutex);
    if (broken) throw broken_barrier_error();
    std::uint64_t gen = generation;
    unsigned index = count++;
    if (count == parties) {
        count = 0;
        ++generation;
        cond.notify_all();
        return index;
    }
    while (generation == gen && !broken) {
        if (!cond.wait_until(mutex, deadline) && generation == gen && !broken) {
            broken = true;  // as in Python: a timed-out waiter breaks the barrier
            --count;
            cond.notify_all();
            throw broken_barrier_error("barrier wait timed out; the barrier is now broken");
        }
    }
    if (generation != gen) return index;  // the round completed
    --count;
    cond.notify_all();  // reset() waits for the broken round's waiters to leave
    throw broken_barrier_error();
}

// ---- queue ---------------------------------------------------------------------------------

bool queue_block::wait_room(bool block, const clock::time_point* deadline) {
    mutex.lock_until(nullptr);
    while (count == maxsize) {
        if (!block || !not_full.wait_until(mutex, deadline)) {
            if (count < maxsize) break;
            mutex.unlock();
            return false;
        }
    }
    return true;  // the mutex stays held
}

bool queue_block::wait_item(bool block, const clock::time_point* deadline) {
    mutex.lock_until(nullptr);
    while (count == 0) {
        if (!block || !not_empty.wait_until(mutex, deadline)) {
            if (count > 0) break;
            mutex.unlock();
            return false;
        }
    }
    return true;
}

}  // namespace detail

// ---- public non-template members -----------------------------------------------------------

bool semaphore::try_acquire() {
    for (;;) {
        if (sem_trywait(&block_->sem) == 0) return true;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return false;
        throw std::system_error(errno, std::generic_category(), "sem_trywait");
    }
}

void semaphore::release(unsigned n) {
    for (unsigned i = 0; i < n; ++i)
        if (sem_post(&block_->sem) < 0) throw std::system_error(errno, std::generic_category(), "sem_post");
}

int semaphore::get_value() const {
    int v = 0;
    sem_getvalue(&block_->sem, &v);
    return v;
}

bool event::is_set() const {
    detail::robust_guard g(block_->mutex);
    return block_->flag;
}

void event::set() {
    detail::robust_guard g(block_->mutex);
    block_->flag = true;
    block_->cond.notify_all();
}

void event::clear() {
    detail::robust_guard g(block_->mutex);
    block_->flag = false;
}

barrier::barrier(unsigned parties)
    : block_(parties == 0 ? throw std::invalid_argument("weft::mp::barrier needs at least one party")
                          : detail::shared_object<detail::barrier_block>::make(parties)) {}

void barrier::abort() {
    detail::robust_guard g(block_->mutex);
    block_->broken = true;
    block_->cond.notify_all();
}

void barrier::reset() {
    detail::robust_guard g(block_->mutex);
    if (block_->count > 0) {
        // Break the current round for its waiters; each leaves the count as it goes.
        block_->broken = true;
        block_->cond.notify_all();
        while (block_->count > 0) block_->cond.wait_until(block_->mutex, nullptr);
    }
    block_->broken = false;
}

unsigned barrier::n_waiting() const {
    detail::robust_guard g(block_->mutex);
    return block_->count;
}

bool barrier::broken() const {
    detail::robust_guard g(block_->mutex);
    return block_->broken;
}

}  // namespace weft::mp
