// weft::crawl file naming: local_name, numbered_name, is_confined.
#include <weft/crawl/naming.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>

using weft::crawl::is_confined;
using weft::crawl::layout;
using weft::crawl::local_name;
using weft::crawl::numbered_name;
using ::testing::HasSubstr;

namespace {

std::string flat(const char* url) { return local_name(url, layout::flat).string(); }
std::string host_path(const char* url) { return local_name(url, layout::host_path).string(); }

// True when `s` is structurally UTF-8: each lead byte is followed by its continuation bytes.
bool valid_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        auto b = static_cast<unsigned char>(s[i]);
        std::size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

}  // namespace

TEST(LocalName, FlatUsesTheDecodedLastSegment) {
    EXPECT_EQ(flat("http://h/a/b.jpg"), "b.jpg");
    EXPECT_EQ(flat("http://h/a/b.jpg?w=1&h=2#frag"), "b.jpg");
    EXPECT_EQ(flat("http://h/img/%E5%9B%BE.jpg"), "图.jpg");
    EXPECT_EQ(flat("http://h/img/a%20b.jpg"), "a b.jpg");
    EXPECT_EQ(flat("http://h/a/"), "index");
    EXPECT_EQ(flat("http://h"), "index");
    EXPECT_EQ(flat("http://h/.hidden.jpg"), ".hidden.jpg");
}

TEST(LocalName, HostPathKeepsEverySegment) {
    EXPECT_EQ(host_path("http://Example.ORG:8080/a/b.jpg"), "example.org_8080/a/b.jpg");
    EXPECT_EQ(host_path("http://h:80/a/b.jpg"), "h/a/b.jpg");
    EXPECT_EQ(host_path("https://h/a/b/"), "h/a/b/index");
    EXPECT_EQ(host_path("https://h/%E5%9B%BE/%E7%89%87.png"), "h/图/片.png");
    EXPECT_EQ(host_path("http://h/a//b.jpg"), "h/a/_/b.jpg");
}

TEST(LocalName, SameBasenameInDifferentFolders) {
    EXPECT_EQ(flat("http://h/a/x.jpg"), flat("http://h/b/x.jpg"));  // the writer numbers the second
    EXPECT_NE(host_path("http://h/a/x.jpg"), host_path("http://h/b/x.jpg"));
}

TEST(LocalName, HostileNamesStayConfined) {
    EXPECT_EQ(flat("http://h/../../x"), "x");
    EXPECT_EQ(host_path("http://h/../../x"), "h/x");
    EXPECT_EQ(host_path("http://h/%2E%2E/%2e%2e/x"), "h/_/_/x");
    EXPECT_EQ(flat("http://h/%2E%2E"), "_");
    EXPECT_EQ(flat("http://h/a/%2E"), "_");
    EXPECT_EQ(flat("http://h/%2Fetc%2Fpasswd"), "_etc_passwd");
    EXPECT_EQ(host_path("http://h/%2Fetc%2Fpasswd"), "h/_etc_passwd");
    EXPECT_EQ(flat("http://h/a%2F..%2Fb"), "a_.._b");
    EXPECT_EQ(flat("http://h/a%5C..%5Cb"), "a_.._b");
    EXPECT_EQ(flat("http://h/x%00y%01z%1F%7F.jpg"), "x_y_z__.jpg");
    EXPECT_EQ(flat("http://h/%FF%FEbad%C3.jpg"), "__bad_.jpg");  // invalid UTF-8, byte by byte
    EXPECT_EQ(flat("http://h/%ED%A0%80.jpg"), "___.jpg");        // a UTF-16 surrogate is invalid

    const char* hostile[] = {
        "http://h/../../x",      "http://h/%2E%2E/%2E%2E/etc/passwd", "http://h/%2Fetc%2Fpasswd",
        "http://h/a%2F..%2Fb",   "http://h/%00",                      "http://h/%01/%2e%2e%2f",
        "http://h/",             "http://h/..%2F..%2F..%2Froot",      "http://h:1/%5C%5Cserver%5Cshare",
        "http://[::1]:8080/..",
    };
    for (const char* url : hostile) {
        for (layout how : {layout::flat, layout::host_path}) {
            std::filesystem::path p = local_name(url, how);
            EXPECT_TRUE(is_confined(p)) << url << " -> " << p;
            EXPECT_FALSE(p.empty()) << url;
            for (const auto& part : p) {
                EXPECT_NE(part, "..") << url << " -> " << p;
                EXPECT_NE(part, ".") << url << " -> " << p;
                for (char c : part.native()) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << url;
            }
        }
    }
}

TEST(LocalName, LongNamesAreCutAtUtf8BoundariesKeepingTheExtension) {
    std::string ascii = "http://h/" + std::string(300, 'x') + ".jpg";
    std::string a = local_name(ascii, layout::flat).string();
    EXPECT_EQ(a.size(), 200u);
    EXPECT_EQ(a, std::string(196, 'x') + ".jpg");

    std::string wide = "http://h/";
    for (int i = 0; i < 150; ++i) wide += "%E5%9B%BE";  // 450 bytes of 图
    wide += ".png";
    std::string w = local_name(wide, layout::flat).string();
    EXPECT_LE(w.size(), 200u);
    EXPECT_GE(w.size(), 197u);
    EXPECT_TRUE(w.ends_with(".png"));
    EXPECT_TRUE(valid_utf8(w));

    std::string long_extension = "http://h/a." + std::string(300, 'e');
    EXPECT_EQ(local_name(long_extension, layout::flat).string().size(), 200u);

    std::string deep = "http://h/" + std::string(300, 'd') + "/b.jpg";
    auto p = local_name(deep, layout::host_path);
    EXPECT_EQ(p, std::filesystem::path("h") / std::string(200, 'd') / "b.jpg");
}

TEST(LocalName, BadUrlThrowsNamingIt) {
    try {
        local_name("no scheme here", layout::flat);
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), HasSubstr("'no scheme here'"));
    }
}

TEST(NumberedName, AddsTheNumberBeforeTheExtension) {
    EXPECT_EQ(numbered_name("a/b.jpg", 0), std::filesystem::path("a/b.jpg"));
    EXPECT_EQ(numbered_name("a/b.jpg", 2), std::filesystem::path("a/b-2.jpg"));
    EXPECT_EQ(numbered_name("noext", 1), std::filesystem::path("noext-1"));
    EXPECT_EQ(numbered_name("h/a/b.tar.gz", 3), std::filesystem::path("h/a/b.tar-3.gz"));
    EXPECT_EQ(numbered_name(".hidden", 1), std::filesystem::path(".hidden-1"));
    EXPECT_THROW(numbered_name("a.jpg", -1), std::invalid_argument);
}

TEST(IsConfined, RejectsRootsParentsAndEmpty) {
    EXPECT_TRUE(is_confined("a/b.jpg"));
    EXPECT_TRUE(is_confined("a/./b.jpg"));
    EXPECT_TRUE(is_confined("..x/y.."));
    EXPECT_FALSE(is_confined(""));
    EXPECT_FALSE(is_confined("/etc/passwd"));
    EXPECT_FALSE(is_confined("../x"));
    EXPECT_FALSE(is_confined("a/../../x"));
    EXPECT_FALSE(is_confined("a/.."));
}
