#pragma once
// Atomic file replacement: content goes to a new temporary file in the target's directory, is
// flushed to disk, and is renamed over the target. Readers see the old file or the new one, never a
// partial write; a failure leaves the old file untouched and removes the temporary file. A file
// that is memory-mapped while it is replaced keeps its old content (rename swaps the directory
// entry, not the mapped inode). A process killed while writing (kill -9, power loss) cannot remove
// its temporary file; remove_abandoned_temporary_files cleans those up on the next run.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::io {

namespace detail {
// What to do about the write errors a user can fix; the previous file is still there in every case.
inline const char* advice(int error) {
    switch (error) {
    case ENOSPC:
    case EDQUOT:
        return "; free some space and run again (the previous file is intact)";
    case EFBIG:
        return "; the file system or the process's file-size limit (ulimit -f) refuses a file this large "
               "(the previous file is intact)";
    default:
        return "";
    }
}
} // namespace detail

// Writes sequentially to an open file descriptor; small writes are buffered. Every error names the
// target file (not the temporary one: that is what the user asked for) and the OS reason.
class FileWriter {
public:
    FileWriter(int descriptor, std::string target) : descriptor_(descriptor), target_(std::move(target)) {}

    void write(const void* data, std::size_t size) {
        if (buffer_.size() + size > capacity) flush();
        if (size >= capacity) return write_all(data, size); // large blocks (tensor data) go straight out
        auto bytes = static_cast<const std::byte*>(data);
        buffer_.insert(buffer_.end(), bytes, bytes + size);
    }
    void write(std::string_view text) { write(text.data(), text.size()); }

    void flush() {
        write_all(buffer_.data(), buffer_.size());
        buffer_.clear();
    }
    std::uint64_t bytes_written() const { return written_ + buffer_.size(); }

private:
    static constexpr std::size_t capacity = std::size_t(1) << 20;

    void write_all(const void* data, std::size_t size) {
        auto bytes = static_cast<const std::byte*>(data);
        while (size > 0) {
            // Linux transfers at most ~2 GiB per call; loop over short writes.
            ssize_t done = ::write(descriptor_, bytes, size);
            if (done < 0) {
                if (errno == EINTR) continue;
                fail(target_, ": write failed after ", written_, " bytes: ", std::strerror(errno),
                     detail::advice(errno));
            }
            if (done == 0) fail(target_, ": write failed after ", written_, " bytes: the device accepts no more data");
            bytes += done;
            size -= std::size_t(done);
            written_ += std::uint64_t(done);
        }
    }

    int descriptor_;
    std::string target_;
    std::vector<std::byte> buffer_;
    std::uint64_t written_ = 0;
};

namespace detail {

// Temporary files are named ".<target name>.tmp-<process id>-<counter>-<random>".
inline constexpr std::string_view temporary_marker = ".tmp-";

// The process id in a temporary file's name, or 0 for a name of another kind.
inline pid_t writer_of_temporary_file(const std::string& name) {
    std::size_t marker = name.rfind(temporary_marker);
    if (name.empty() || name[0] != '.' || marker == std::string::npos || marker == 0) return 0;
    std::string_view rest = std::string_view(name).substr(marker + temporary_marker.size());
    // Exactly three dash-separated decimal numbers.
    int numbers = 0;
    for (std::size_t begin = 0; begin <= rest.size(); ++numbers) {
        std::size_t end = std::min(rest.find('-', begin), rest.size());
        if (end == begin) return 0;
        for (std::size_t i = begin; i < end; ++i)
            if (!std::isdigit(static_cast<unsigned char>(rest[i]))) return 0;
        begin = end + 1;
    }
    if (numbers != 3) return 0;
    std::string_view pid = rest.substr(0, rest.find('-'));
    if (pid.size() > 9) return 0;
    return pid_t(std::stol(std::string(pid)));
}

// Owns the temporary file until it is renamed over the target; removes it otherwise.
class TemporaryFile {
public:
    explicit TemporaryFile(const std::filesystem::path& target) {
        std::filesystem::path directory = target.parent_path().empty() ? "." : target.parent_path();
        // O_EXCL + a random suffix instead of mkstemp: mkstemp creates mode 0600, while the result
        // should get the usual permissions (0666 minus the umask), like any other new file.
        static std::atomic<unsigned> counter{0};
        std::random_device entropy;
        for (int attempt = 0; attempt < 100; ++attempt) {
            // Appended piece by piece: GCC 12 reports a false -Wrestrict for "." + std::string&&.
            std::string name = ".";
            name += target.filename().string();
            name += temporary_marker;
            name += std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(entropy());
            path_ = directory / name;
            descriptor_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (descriptor_ >= 0) return;
            if (errno != EEXIST) break;
        }
        fail(target.string(), ": cannot create a temporary file in '", directory.string(), "': ", std::strerror(errno));
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    ~TemporaryFile() {
        if (descriptor_ >= 0) ::close(descriptor_);
        if (!committed_) ::unlink(path_.c_str());
    }

    int descriptor() const { return descriptor_; }

    // Flushes the data to disk, closes the file and renames it over `target`.
    void commit(const std::filesystem::path& target) {
        // Some file systems (NFS, delayed allocation) report a full disk only here.
        if (::fsync(descriptor_) != 0) fail(target.string(), ": fsync failed: ", std::strerror(errno), advice(errno));
        int result = ::close(descriptor_);
        descriptor_ = -1;
        if (result != 0) fail(target.string(), ": close failed: ", std::strerror(errno), advice(errno));
        if (::rename(path_.c_str(), target.c_str()) != 0)
            fail(target.string(), ": cannot replace it with the new content: ", std::strerror(errno));
        committed_ = true;
        sync_directory(target);
    }

private:
    // Makes the rename itself durable. Best effort: some file systems refuse fsync on directories.
    static void sync_directory(const std::filesystem::path& target) {
        std::filesystem::path directory = target.parent_path().empty() ? "." : target.parent_path();
        int descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (descriptor < 0) return;
        ::fsync(descriptor);
        ::close(descriptor);
    }

    std::filesystem::path path_;
    int descriptor_ = -1;
    bool committed_ = false;
};

} // namespace detail

// Removes from `directory` the temporary files of write_file_atomically whose writer is no longer
// running, so that a run killed mid-write (kill -9, out of memory, power loss) does not leave
// checkpoint-sized files behind. Files of live processes are kept: they may still be renamed. Process
// ids are those of this machine, so a directory shared over the network should not be cleaned while
// another machine writes into it. Returns how many files were removed.
inline std::size_t remove_abandoned_temporary_files(const std::filesystem::path& directory) {
    std::size_t removed = 0;
    std::error_code error;
    for (std::filesystem::directory_iterator entry(directory, error), end; !error && entry != end;
         entry.increment(error)) {
        pid_t writer = detail::writer_of_temporary_file(entry->path().filename().string());
        if (writer <= 0 || writer == ::getpid()) continue;
        if (::kill(writer, 0) == 0 || errno != ESRCH) continue; // running (or not ours to signal: EPERM)
        std::error_code ignored;
        if (std::filesystem::remove(entry->path(), ignored)) ++removed;
    }
    return removed;
}

// Replaces `target` with what `write_content` writes. If write_content throws (or any write, fsync
// or rename fails), the exception propagates, the temporary file is removed and an existing target
// is left as it was.
inline void write_file_atomically(const std::filesystem::path& target,
                                  const std::function<void(FileWriter&)>& write_content) {
    detail::TemporaryFile temporary(target);
    FileWriter writer(temporary.descriptor(), target.string());
    write_content(writer);
    writer.flush();
    temporary.commit(target);
}

} // namespace clipft::io
