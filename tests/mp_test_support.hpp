#pragma once
// Helpers shared by the weft::mp tests: resource counts for leak checks, and a gtest
// environment that starts the forkserver before any test (and so before any thread).

#include <weft/mp/start_method.hpp>

#include <dirent.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace weft_test {

inline std::size_t count_entries(const char* dir) {
    std::size_t n = 0;
    if (DIR* d = opendir(dir)) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') ++n;
        closedir(d);
    }
    return n;
}

/// Open file descriptors of this process (minus the one used to count them).
inline std::size_t fd_count() { return count_entries("/proc/self/fd") - 1; }

/// Names under /dev/shm.
inline std::set<std::string> shm_entries() {
    std::set<std::string> names;
    if (DIR* d = opendir("/dev/shm")) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.') names.insert(e->d_name);
        closedir(d);
    }
    return names;
}

/// Children of this process that are zombies (ended, not reaped).
inline int zombie_count() {
    int zombies = 0;
    pid_t self = getpid();
    if (DIR* d = opendir("/proc")) {
        while (dirent* e = readdir(d)) {
            if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
            std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
            std::string line;
            if (!std::getline(stat, line)) continue;
            auto close_paren = line.rfind(')');
            if (close_paren == std::string::npos) continue;
            std::istringstream rest(line.substr(close_paren + 2));
            char state = 0;
            long ppid = 0;
            rest >> state >> ppid;
            if (ppid == self && state == 'Z') ++zombies;
        }
        closedir(d);
    }
    return zombies;
}

/// Starts the forkserver before the tests run (the test program is single-threaded then).
class forkserver_environment : public ::testing::Environment {
public:
    void SetUp() override { weft::mp::set_start_method(weft::mp::start_method::forkserver); }
};

inline const bool forkserver_registered =
    (::testing::AddGlobalTestEnvironment(new forkserver_environment), true);

}  // namespace weft_test
