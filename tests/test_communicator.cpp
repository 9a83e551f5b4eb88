// The single-process communicator (every collective already complete) and the helpers every
// communicator shares: the average divides the sum by the rank count, texts travel with their length.
#include <doctest/doctest.h>

#include <clipft/distributed/communicator.hpp>

#include <cstring>
#include <vector>

using namespace clipft;

namespace {

// Two ranks seen from rank 1: the other rank holds `other` for every value, and root 0's text is "root".
class TwoRanks final : public distributed::Communicator {
public:
    double other = 0;
    int rank() const override { return 1; }
    int size() const override { return 2; }
    int local_rank() const override { return 1; }
    int local_size() const override { return 2; }
    std::string backend() const override { return "test"; }
    void broadcast(std::span<std::byte> bytes, int) override {
        if (bytes.size() == sizeof(std::uint64_t)) {
            std::uint64_t length = 4;
            std::memcpy(bytes.data(), &length, sizeof length);
        } else {
            std::memcpy(bytes.data(), "root", 4);
        }
    }
    void all_reduce_sum(std::span<float> values) override {
        for (float& value : values) value += float(other);
    }
    void all_reduce_sum(std::span<double> values) override {
        for (double& value : values) value += other;
    }
    void barrier() override {}
    void end_all_ranks(int) override { fail("abort"); }
};

} // namespace

TEST_CASE("a single process is rank 0 of 1 and its collectives leave values as they are") {
    distributed::SingleProcess single;
    CHECK(single.rank() == 0);
    CHECK(single.size() == 1);
    CHECK(single.local_size() == 1);
    CHECK(single.is_root());
    std::vector<float> values = {1.5f, -2.0f};
    single.all_reduce_average(std::span<float>(values));
    CHECK(values == std::vector<float>{1.5f, -2.0f});
    CHECK(single.broadcast_text("settings", 0) == "settings");
    CHECK_THROWS_WITH_AS(single.broadcast_text("x", 1), doctest::Contains("root rank 1 does not exist"), Error);
}

TEST_CASE("the average over ranks is the sum divided by the rank count") {
    TwoRanks two;
    two.other = 3;
    std::vector<double> values = {1, 5};
    two.all_reduce_average(std::span<double>(values));
    CHECK(values == std::vector<double>{2, 4});
}

TEST_CASE("a broadcast text takes root's length and bytes") {
    TwoRanks two;
    CHECK(two.broadcast_text("a much longer text of rank 1", 0) == "root");
}
