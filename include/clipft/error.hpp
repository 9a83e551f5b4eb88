#pragma once
// The one exception type of clipft: every failure a user can cause is reported as a clipft::Error
// whose message names the operation, file or tensor at fault and says what to do.
#include <cstdint>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace clipft {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Shapes print as [2, 3] in messages.
inline std::ostream& operator<<(std::ostream& out, const std::vector<std::int64_t>& shape) {
    out << '[';
    for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    return out << ']';
}

// Builds a message from streamable parts: fail("matmul: shapes ", a, " and ", b, " do not match").
template <typename... Parts> [[noreturn]] void fail(Parts&&... parts) {
    std::ostringstream message;
    (message << ... << std::forward<Parts>(parts));
    throw Error(message.str());
}

} // namespace clipft
