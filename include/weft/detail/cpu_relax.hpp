#pragma once
/// \file
/// `weft::detail::cpu_relax()`: the CPU's spin-wait hint (x86 `pause`, ARM `yield`), for the
/// short spins of the thread pool and the thread-safe queues before they yield or sleep.
/// Example: `while (!ready.load()) weft::detail::cpu_relax();`

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace weft::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

}  // namespace weft::detail
