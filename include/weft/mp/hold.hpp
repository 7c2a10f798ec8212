#pragma once
/// \file
/// `weft::mp::hold`: holds a weft::mp lock for a scope (Python's `with lock:`).
///
/// Works with anything that has `acquire()` and `release()`: `mp::lock`, `mp::rlock`,
/// `mp::semaphore`, `mp::condition`.
///
/// Example:
/// \code
///   weft::mp::value<long> counter{0};
///   {
///       weft::mp::hold held(counter.get_lock());
///       counter.store(counter.load() + 1);
///   }
/// \endcode
///
/// *Throws:* what `acquire()` throws. *Thread-safety:* a hold belongs to the thread that made it.

namespace weft::mp {

/// Acquires on construction, releases on destruction.
template <class Lockable>
class hold {
public:
    explicit hold(Lockable& lock) : lock_(lock) { lock_.acquire(); }
    ~hold() { lock_.release(); }
    hold(const hold&) = delete;
    hold& operator=(const hold&) = delete;

private:
    Lockable& lock_;
};

}  // namespace weft::mp
