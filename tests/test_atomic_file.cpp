// Atomic file replacement: content appears complete or not at all, failures leave no trace.
#include <clipft/io/atomic_file.hpp>

#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <stdexcept>
#include <string>

using namespace clipft;
using clipft::testing::read_bytes;
using clipft::testing::TemporaryDirectory;
using clipft::testing::write_bytes;

namespace {

std::size_t count_entries(const std::filesystem::path& directory) {
    return std::size_t(
        std::distance(std::filesystem::directory_iterator(directory), std::filesystem::directory_iterator()));
}

// Bytes that differ at every position, so that misplaced or lost pieces show.
std::string pattern_bytes(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) bytes[i] = char((i * 131 + i / 251) & 0xff);
    return bytes;
}

} // namespace

TEST_CASE("write_file_atomically writes small and large pieces in order") {
    TemporaryDirectory directory;
    std::filesystem::path target = directory / "out.bin";
    // Pieces below, at and above the writer's 1 MiB buffer, so that buffered and direct writes mix.
    std::string expected = pattern_bytes(4 * (1 << 20) + 12345);
    std::size_t sizes[] = {1, 7, 100000, (1 << 20) - 3, 1 << 20, 5, (1 << 20) + 1};
    io::write_file_atomically(target, [&](io::FileWriter& writer) {
        std::size_t position = 0;
        for (std::size_t size : sizes) {
            writer.write(expected.data() + position, size);
            position += size;
        }
        writer.write(std::string_view(expected).substr(position));
        CHECK(writer.bytes_written() == expected.size());
    });
    CHECK(read_bytes(target) == expected);
    CHECK(count_entries(directory.path()) == 1); // no temporary file left behind
}

TEST_CASE("write_file_atomically replaces an existing file and gives new files the usual permissions") {
    TemporaryDirectory directory;
    std::filesystem::path target = directory / "out.txt";
    write_bytes(target, "old content that is longer than the new one");
    mode_t mask = ::umask(022);
    io::write_file_atomically(target, [](io::FileWriter& writer) { writer.write("new"); });
    ::umask(mask);
    CHECK(read_bytes(target) == "new");
    struct stat status {};
    REQUIRE(::stat(target.c_str(), &status) == 0);
    CHECK((status.st_mode & 0777) == 0644);
    CHECK(count_entries(directory.path()) == 1);
}

TEST_CASE("write_file_atomically: an exception from the content writer leaves the old file untouched") {
    TemporaryDirectory directory;
    std::filesystem::path target = directory / "model.safetensors";
    write_bytes(target, "the previous checkpoint");
    struct WriterFailure : std::runtime_error {
        using std::runtime_error::runtime_error;
    };
    CHECK_THROWS_AS(io::write_file_atomically(target,
                                              [](io::FileWriter& writer) {
                                                  writer.write(pattern_bytes(3 << 20)); // already on disk
                                                  writer.write("partial");
                                                  throw WriterFailure("tensor cannot be written");
                                              }),
                    WriterFailure);
    CHECK(read_bytes(target) == "the previous checkpoint");
    CHECK(count_entries(directory.path()) == 1);

    // Without a previous file, nothing appears.
    std::filesystem::path fresh = directory / "fresh.bin";
    CHECK_THROWS_AS(io::write_file_atomically(fresh, [](io::FileWriter&) { throw WriterFailure("no"); }),
                    WriterFailure);
    CHECK(!std::filesystem::exists(fresh));
    CHECK(count_entries(directory.path()) == 1);
}

TEST_CASE("write_file_atomically into a missing directory fails naming the path and the OS reason") {
    TemporaryDirectory directory;
    std::filesystem::path target = directory / "no" / "such" / "dir" / "out.bin";
    bool called = false;
    std::string expected = target.string() + ": cannot create a temporary file in '" +
                           (directory / "no" / "such" / "dir").string() + "': No such file or directory";
    CHECK_THROWS_WITH_AS(io::write_file_atomically(target, [&](io::FileWriter&) { called = true; }), expected.c_str(),
                         Error);
    CHECK(!called);
    CHECK(count_entries(directory.path()) == 0);
}

TEST_CASE("write_file_atomically over a directory fails and removes its temporary file") {
    TemporaryDirectory directory;
    std::filesystem::path target = directory / "a-directory";
    std::filesystem::create_directory(target);
    std::string expected = target.string() + ": cannot replace it with the new content: Is a directory";
    CHECK_THROWS_WITH_AS(io::write_file_atomically(target, [](io::FileWriter& writer) { writer.write("x"); }),
                         expected.c_str(), Error);
    CHECK(std::filesystem::is_directory(target));
    CHECK(count_entries(directory.path()) == 1);
}

TEST_CASE("FileWriter reports a full device with the target's name and the OS reason") {
    // /dev/full fails every write with ENOSPC: the disk-full case without filling a disk.
    int descriptor = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (descriptor < 0) {
        MESSAGE("skipped: /dev/full is not available");
        return;
    }
    io::FileWriter writer(descriptor, "/models/out.safetensors");
    writer.write("buffered, not yet written");
    CHECK_THROWS_WITH_AS(writer.flush(),
                         "/models/out.safetensors: write failed after 0 bytes: No space left on device; free some "
                         "space and run again (the previous file is intact)",
                         Error);
    CHECK_THROWS_WITH_AS(writer.write(pattern_bytes(2 << 20)), doctest::Contains("No space left on device"), Error);
    ::close(descriptor);
}

TEST_CASE("write_file_atomically past the file-size limit keeps the old file and leaves no partial one") {
    // RLIMIT_FSIZE makes writes fail midway with EFBIG (once SIGXFSZ, which would kill the process,
    // is ignored): a full disk without filling one, and without the privileges to mount a small one.
    TemporaryDirectory directory;
    std::filesystem::path target = directory / "checkpoint.safetensors";
    write_bytes(target, "the previous checkpoint");
    rlimit previous_limit{};
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &previous_limit) == 0);
    rlimit small_limit = previous_limit;
    small_limit.rlim_cur = 1 << 20;
    if (previous_limit.rlim_max != RLIM_INFINITY && previous_limit.rlim_max < small_limit.rlim_cur)
        small_limit.rlim_cur = previous_limit.rlim_max;
    auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &small_limit) == 0);
    std::string message;
    std::uint64_t written = 0;
    try {
        io::write_file_atomically(target, [&](io::FileWriter& writer) {
            writer.write(pattern_bytes(3 << 20));
            written = writer.bytes_written();
        });
    } catch (const Error& error) {
        message = error.what();
    }
    ::setrlimit(RLIMIT_FSIZE, &previous_limit);
    std::signal(SIGXFSZ, previous_handler);
    CHECK(written == 0); // the write of 3 MiB itself failed
    CHECK(message == target.string() + ": write failed after " + std::to_string(small_limit.rlim_cur) +
                         " bytes: File too large; the file system or the process's file-size limit (ulimit -f) refuses "
                         "a file this large (the previous file is intact)");
    CHECK(read_bytes(target) == "the previous checkpoint");
    CHECK(count_entries(directory.path()) == 1);
}

TEST_CASE("remove_abandoned_temporary_files removes what dead writers left, nothing else") {
    TemporaryDirectory directory;
    // A process id that no process has now: a child that has exited and been waited for.
    pid_t dead = ::fork();
    REQUIRE(dead >= 0);
    if (dead == 0) ::_exit(0);
    REQUIRE(::waitpid(dead, nullptr, 0) == dead);
    std::string dead_pid = std::to_string(dead), own_pid = std::to_string(::getpid());
    const char* abandoned[] = {".checkpoint.safetensors.tmp-", ".metrics.csv.tmp-"};
    for (const char* prefix : abandoned) write_bytes(directory / (prefix + dead_pid + "-0-123456"), "partial");
    // Kept: the temporary file of this (running) process, and names that only look similar.
    const std::string kept[] = {".best.safetensors.tmp-" + own_pid + "-3-42",
                                ".settings.json.tmp-" + dead_pid + "-0",
                                ".settings.json.tmp-" + dead_pid + "-0-x1",
                                "checkpoint.safetensors.tmp-" + dead_pid + "-0-1",
                                ".tmp-" + dead_pid + "-0-1",
                                "checkpoint.safetensors",
                                ".hidden"};
    for (const std::string& name : kept) write_bytes(directory / name, "keep");
    CHECK(io::remove_abandoned_temporary_files(directory.path()) == 2);
    for (const char* prefix : abandoned) CHECK(!std::filesystem::exists(directory / (prefix + dead_pid + "-0-123456")));
    for (const std::string& name : kept) CHECK_MESSAGE(std::filesystem::exists(directory / name), name);
    CHECK(io::remove_abandoned_temporary_files(directory / "missing") == 0); // no directory: nothing to do
}

TEST_CASE("the temporary files of write_file_atomically carry the process id of their writer") {
    // The name comes from write_file_atomically itself: catch it while the content is written.
    TemporaryDirectory directory;
    std::filesystem::path target = directory / "checkpoint.safetensors";
    std::string temporary_name;
    io::write_file_atomically(target, [&](io::FileWriter& writer) {
        writer.write("x");
        for (const auto& entry : std::filesystem::directory_iterator(directory.path()))
            temporary_name = entry.path().filename().string();
    });
    REQUIRE(!temporary_name.empty());
    CHECK(io::detail::writer_of_temporary_file(temporary_name) == ::getpid());
    CHECK(io::remove_abandoned_temporary_files(directory.path()) == 0); // the target itself is never removed
    CHECK(std::filesystem::exists(target));
}
