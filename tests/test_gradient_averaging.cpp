// Gradient averaging in buckets: every gradient becomes the mean over the ranks whatever the bucket
// size (tensors larger than a bucket, several tensors per bucket), a missing gradient counts as
// zeros, and buckets are filled in backward's order without exceeding their size (a larger tensor
// goes alone).
#include <doctest/doctest.h>

#include <clipft/distributed/gradient_averaging.hpp>
#include <clipft/ops.hpp>

using namespace clipft;

namespace {

// Rank 0 of two, the other rank's gradients all 1: the mean of g is (g + 1) / 2.
class OtherRankHoldsOnes final : public distributed::Communicator {
public:
    std::vector<std::size_t> reduced_sizes;
    int rank() const override { return 0; }
    int size() const override { return 2; }
    int local_rank() const override { return 0; }
    int local_size() const override { return 2; }
    std::string backend() const override { return "test"; }
    void broadcast(std::span<std::byte>, int) override {}
    void all_reduce_sum(std::span<float> values) override {
        reduced_sizes.push_back(values.size());
        for (float& value : values) value += 1.0f;
    }
    void all_reduce_sum(std::span<double>) override { fail("unexpected double all-reduce"); }
    void barrier() override {}
    void end_all_ranks(int) override { fail("abort"); }
};

std::vector<Tensor<float>> parameters_with_gradients() {
    std::vector<Tensor<float>> parameters;
    for (std::int64_t size : {3, 10, 2}) {
        Tensor<float> parameter = Tensor<float>::zeros({size});
        parameter.requires_grad_();
        std::vector<float> gradient;
        for (std::int64_t i = 0; i < size; ++i) gradient.push_back(float(size * 10 + i));
        parameter.accumulate_grad(Tensor<float>::from_vector(gradient));
        parameters.push_back(parameter);
    }
    return parameters;
}

} // namespace

TEST_CASE("every gradient becomes the mean over the ranks, whatever the bucket size") {
    for (std::size_t bucket_floats : {1, 4, 12, 13, 100}) {
        CAPTURE(bucket_floats);
        std::vector<Tensor<float>> parameters = parameters_with_gradients();
        OtherRankHoldsOnes ranks;
        distributed::GradientAverager<float>(parameters, bucket_floats * sizeof(float)).average(ranks);
        for (const Tensor<float>& parameter : parameters) {
            std::int64_t size = parameter.numel();
            std::vector<float> gradient = parameter.grad().to_vector();
            for (std::int64_t i = 0; i < size; ++i) CHECK(gradient[std::size_t(i)] == float(size * 10 + i + 1) / 2.0f);
        }
        // Filled from the last parameter (2 floats) to the first (3); a tensor larger than a bucket goes alone.
        std::vector<std::size_t> expected = bucket_floats >= 15   ? std::vector<std::size_t>{15}
                                            : bucket_floats >= 12 ? std::vector<std::size_t>{12, 3}
                                                                  : std::vector<std::size_t>{2, 10, 3};
        CHECK(ranks.reduced_sizes == expected);
    }
}

TEST_CASE("a parameter without a gradient takes part with zeros") {
    Tensor<float> parameter = Tensor<float>::zeros({2});
    parameter.requires_grad_();
    OtherRankHoldsOnes ranks;
    distributed::GradientAverager<float>({parameter}).average(ranks);
    CHECK(parameter.grad().to_vector() == std::vector<float>{0.5f, 0.5f});
}

TEST_CASE("a single process keeps its gradients") {
    std::vector<Tensor<float>> parameters = parameters_with_gradients();
    distributed::SingleProcess single;
    distributed::GradientAverager<float>(parameters).average(single);
    CHECK(parameters[1].grad().to_vector()[4] == 104.0f);
}
