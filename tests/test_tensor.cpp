// Tensor creation, metadata and strided views sharing storage.
#include <clipft/ops.hpp>
#include <clipft/print.hpp>
#include <clipft/random.hpp>

#include <doctest/doctest.h>

using namespace clipft;
using namespace clipft::ops;
using backend::num_threads;
using backend::set_num_threads;

namespace {
Tensor<float> counting(const Shape& shape) {
    auto t = Tensor<float>::empty(shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data()[i] = float(i);
    return t;
}
} // namespace

TEST_CASE("creation and metadata") {
    auto z = Tensor<float>::zeros({2, 3, 4});
    CHECK(z.dim() == 3);
    CHECK(z.numel() == 24);
    CHECK(z.size(-1) == 4);
    CHECK(z.strides() == Shape{12, 4, 1});
    CHECK(z.is_contiguous());
    CHECK(z.device() == Device::cpu());
    CHECK(reinterpret_cast<std::uintptr_t>(z.data()) % 64 == 0);
    CHECK(Tensor<double>::full({2}, 2.5).to_vector() == std::vector<double>{2.5, 2.5});
    CHECK(Tensor<float>::scalar(3.0f).item() == 3.0f);
    CHECK(Tensor<float>::scalar(3.0f).dim() == 0);
    CHECK(Tensor<std::int64_t>::arange(4).to_vector() == std::vector<std::int64_t>{0, 1, 2, 3});
    CHECK(Tensor<float>::empty({0, 3}).numel() == 0);
    CHECK_FALSE(Tensor<float>().defined());
}

TEST_CASE("bad creation and access arguments raise clipft::Error") {
    CHECK_THROWS_WITH_AS(Tensor<float>::from_vector({1, 2, 3}, {2, 2}),
                         "Tensor::from_vector: 3 values do not fill shape [2, 2]", Error);
    CHECK_THROWS_AS(Tensor<float>::empty({2, -1}), Error);
    CHECK_THROWS_WITH_AS(Tensor<float>::zeros({2}).item(), "Tensor::item: tensor of shape [2] has 2 elements, not 1",
                         Error);
    CHECK_THROWS_AS(Tensor<float>::zeros({2, 2}).at({2, 0}), Error);
    CHECK_THROWS_AS(Tensor<float>::zeros({2, 2}).at({0}), Error);
    CHECK_THROWS_AS(Tensor<float>().shape(), Error);
    CHECK_THROWS_AS(Tensor<float>::zeros({2}).size(1), Error);
    CHECK_THROWS_AS(Tensor<float>::empty({1}, Device::cuda(0)), Error);
}

TEST_CASE("reshape, flatten, squeeze and unsqueeze share storage") {
    auto x = counting({2, 3, 4});
    auto r = x.reshape({4, -1});
    CHECK(r.shape() == Shape{4, 6});
    CHECK(r.shares_storage_with(x));
    CHECK(r.at({1, 0}) == 6.0f);
    CHECK(x.flatten(1).shape() == Shape{2, 12});
    CHECK(x.flatten().shape() == Shape{24});
    CHECK(x.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
    CHECK(x.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
    CHECK(x.unsqueeze(1).squeeze(1).shape() == Shape{2, 3, 4});
    r.data()[0] = 100.0f;
    CHECK(x.at({0, 0, 0}) == 100.0f);
    CHECK_THROWS_WITH_AS(x.reshape({5, 5}),
                         "reshape: cannot view a tensor of shape [2, 3, 4] (24 elements) as shape [5, 5]", Error);
    CHECK_THROWS_AS(x.reshape({-1, -1}), Error);
    CHECK_THROWS_AS(x.squeeze(0), Error);
}

TEST_CASE("permute and transpose are strided views") {
    auto x = counting({2, 3, 4});
    auto p = x.permute({2, 0, 1});
    CHECK(p.shape() == Shape{4, 2, 3});
    CHECK(p.strides() == Shape{1, 12, 4});
    CHECK_FALSE(p.is_contiguous());
    CHECK(p.shares_storage_with(x));
    for (std::int64_t a = 0; a < 2; ++a)
        for (std::int64_t b = 0; b < 3; ++b)
            for (std::int64_t c = 0; c < 4; ++c) CHECK(p.at({c, a, b}) == x.at({a, b, c}));
    auto t = x.transpose(0, 2).contiguous();
    CHECK(t.is_contiguous());
    CHECK_FALSE(t.shares_storage_with(x));
    CHECK(t.at({3, 1, 0}) == x.at({0, 1, 3}));
    // reshape of a non-contiguous view copies into row-major order of the view
    auto flat = x.transpose(0, 1).reshape({-1});
    CHECK(flat.at({1}) == x.at({0, 0, 1}));
    CHECK(flat.at({4}) == x.at({1, 0, 0}));
    CHECK_THROWS_AS(x.permute({0, 0, 1}), Error);
    CHECK_THROWS_AS(x.permute({0, 1}), Error);
    CHECK_THROWS_AS(x.transpose(0, 3), Error);
}

TEST_CASE("narrow, slice and select") {
    auto x = counting({4, 5});
    auto n = x.narrow(1, 1, 3);
    CHECK(n.shape() == Shape{4, 3});
    CHECK(n.at({2, 0}) == 11.0f);
    CHECK(n.shares_storage_with(x));
    CHECK(x.slice(0, 2, 4).at({0, 0}) == 10.0f);
    auto row = x.select(0, 3);
    CHECK(row.shape() == Shape{5});
    CHECK(row.to_vector() == std::vector<float>{15, 16, 17, 18, 19});
    auto column = x.select(1, -1);
    CHECK(column.to_vector() == std::vector<float>{4, 9, 14, 19});
    n.fill_(-1.0f);
    CHECK(x.at({0, 1}) == -1.0f);
    CHECK(x.at({0, 0}) == 0.0f);
    CHECK(x.at({0, 4}) == 4.0f);
    CHECK_THROWS_WITH_AS(x.narrow(1, 3, 3), "narrow: range [3, 6) is outside axis 1 of shape [4, 5]", Error);
    CHECK_THROWS_AS(x.select(0, 4), Error);
}

TEST_CASE("expand broadcasts with zero strides") {
    auto x = counting({3, 1});
    auto e = x.expand({2, 3, 4});
    CHECK(e.shape() == Shape{2, 3, 4});
    CHECK(e.strides() == Shape{0, 1, 0});
    CHECK(e.at({1, 2, 3}) == 2.0f);
    CHECK(e.contiguous().to_vector().size() == 24);
    CHECK(x.expand({3, 2}).at({2, 1}) == 2.0f);
    CHECK_THROWS_AS(x.expand({2, 2}), Error);
    CHECK_THROWS_AS(x.expand({1}), Error);
}

TEST_CASE("copy_ and fill_ write through views; to_vector follows the view's order") {
    auto x = Tensor<float>::zeros({2, 3});
    x.transpose(0, 1).copy_(counting({3, 2}));
    CHECK(x.to_vector() == std::vector<float>{0, 2, 4, 1, 3, 5});
    CHECK(x.transpose(0, 1).to_vector() == std::vector<float>{0, 1, 2, 3, 4, 5});
    CHECK_THROWS_AS(x.copy_(counting({2, 2})), Error);
}

TEST_CASE("in-place writes on tensors that require gradients need a NoGradGuard") {
    auto w = Tensor<float>::ones({2});
    w.requires_grad_();
    CHECK_THROWS_AS(w.fill_(0.0f), Error);
    {
        NoGradGuard no_grad;
        w.fill_(0.5f);
    }
    CHECK(w.to_vector() == std::vector<float>{0.5f, 0.5f});
}

TEST_CASE("from_blob wraps memory without copying") {
    auto owner = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
    auto t = Tensor<float>::from_blob(owner->data(), {2, 2}, owner);
    (*owner)[3] = 9.0f;
    CHECK(t.at({1, 1}) == 9.0f);
}

TEST_CASE("thread count follows set_num_threads") {
    int before = num_threads();
    set_num_threads(1);
    CHECK(num_threads() == 1);
    auto x = Tensor<float>::ones({100000});
    CHECK(sum(x).item() == 100000.0f);
    set_num_threads(2);
    CHECK(num_threads() == 2);
    CHECK(sum(x * x).item() == 100000.0f);
    CHECK_THROWS_AS(set_num_threads(0), Error);
    set_num_threads(before);
}

TEST_CASE("to(device): the tensor itself on its own device; without the CUDA backend, a clear error") {
    auto t = counting({2, 3}).transpose(0, 1);
    auto same = t.to(Device::cpu());
    CHECK(same.shares_storage_with(t));
    CHECK(same.shape() == t.shape());
#ifndef CLIPFT_WITH_CUDA
    try {
        t.to(Device::cuda(0));
        FAIL("moving to a CUDA device must fail in a CPU-only translation unit");
    } catch (const Error& error) {
        CHECK(std::string(error.what()).find("CLIPFT_WITH_CUDA") != std::string::npos);
    }
    CHECK_THROWS_AS(Tensor<float>::zeros({2}, Device::cuda(0)), Error);
    auto leaf = counting({2});
    leaf.requires_grad_();
    auto derived = leaf * 2.0f;
    CHECK_THROWS_AS(derived.move_to_(Device::cpu()), Error); // only leaves move in place
#endif
}
