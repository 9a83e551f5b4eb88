#pragma once
// Atomic file replacement: content goes to a new temporary file in the target's directory, is
// flushed to disk, and is renamed over the target. Readers see the old file or the new one, never a
// partial write; a failure leaves the old file untouched and removes the temporary file. A file
// that is memory-mapped while it is replaced keeps its old content (rename swaps the directory
// entry, not the mapped inode).
#include <clipft/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
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

namespace clipft::io {

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
                fail(target_, ": write failed after ", written_, " bytes: ", std::strerror(errno));
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
            path_ = directory / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                                 std::to_string(counter++) + "-" + std::to_string(entropy()));
            descriptor_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
            if (descriptor_ >= 0) return;
            if (errno != EEXIST) break;
        }
        fail(target.string(), ": cannot create a temporary file in '", directory.string(),
             "': ", std::strerror(errno));
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
        if (::fsync(descriptor_) != 0) fail(target.string(), ": fsync failed: ", std::strerror(errno));
        int result = ::close(descriptor_);
        descriptor_ = -1;
        if (result != 0) fail(target.string(), ": close failed: ", std::strerror(errno));
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
