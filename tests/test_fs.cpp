// weft::fs: files through the thread pool.
#include <weft/fs.hpp>
#include <weft/run.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace fs = weft::fs;

namespace {
std::filesystem::path temp_file(const std::string& name) {
    return std::filesystem::temp_directory_path() / ("weft_fs_" + std::to_string(::getpid()) + "_" + name);
}
}  // namespace

TEST(Fs, WriteThenReadBack) {
    auto path = temp_file("rw");
    weft::run([&path]() -> weft::task<> {
        auto f = co_await fs::open(path, "w");
        EXPECT_TRUE(f.is_open());
        std::string big(200 * 1024, 'z');  // larger than the write buffer
        co_await f.write("hello\n");
        co_await f.write(big);
        co_await f.close();
        EXPECT_FALSE(f.is_open());
        co_await f.close();  // idempotent

        auto g = co_await fs::open(path, "rb");
        EXPECT_EQ(co_await g.read(6), "hello\n");
        std::string rest = co_await g.read_to_end();
        EXPECT_EQ(rest, big);
        EXPECT_EQ(co_await g.read(), "");
        co_await g.close();

        auto a = co_await fs::open(path, "a");
        co_await a.write("tail");
        co_await a.flush();
        co_await a.close();
        std::string all = co_await fs::read_all(path);
        EXPECT_EQ(all.size(), 6 + big.size() + 4);
        EXPECT_TRUE(all.ends_with("zztail"));
    }());
    std::filesystem::remove(path);
}

TEST(Fs, WriteAllAndReadAll) {
    auto path = temp_file("all");
    weft::run([&path]() -> weft::task<> {
        co_await fs::write_all(path, "one");
        co_await fs::write_all(path, "two");
        EXPECT_EQ(co_await fs::read_all(path), "two");
    }());
    std::filesystem::remove(path);
}

TEST(Fs, ErrorsNameThePathAndTheErrno) {
    auto missing = temp_file("missing/none.txt");
    weft::run([&missing]() -> weft::task<> {
        try {
            co_await fs::open(missing, "r");
            ADD_FAILURE() << "no error";
        } catch (const std::filesystem::filesystem_error& e) {
            EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
            EXPECT_EQ(e.path1(), missing);
            EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
        }
        EXPECT_THROW(co_await fs::read_all(missing), std::filesystem::filesystem_error);
        EXPECT_THROW(co_await fs::open(missing, "q"), std::invalid_argument);
        auto existing = temp_file("x");
        co_await fs::write_all(existing, "");
        EXPECT_THROW(co_await fs::open(existing, "x"), std::filesystem::filesystem_error);
        std::filesystem::remove(existing);
        fs::file closed;
        EXPECT_THROW(co_await closed.read(), std::filesystem::filesystem_error);
    }());
}
