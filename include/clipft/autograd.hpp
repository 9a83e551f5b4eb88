#pragma once
// Reverse-mode automatic differentiation. Every op that produces a tensor from inputs that require
// gradients records a Node: the op's name, edges to where each input's gradient must go, and the
// op's backward function (written next to its forward in include/clipft/ops/). backward() walks the
// recorded nodes in reverse topological order and then frees them, releasing what they saved.
#include <clipft/backends.hpp>
#include <clipft/error.hpp>
#include <clipft/scalar_types.hpp>
#include <clipft/shape.hpp>

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS {

template <typename T> class Tensor;
template <typename T> struct TensorImpl;

// Whether ops record the graph. Off inside a NoGradGuard (inference, optimizer updates) and while
// backward functions run, so gradients are never differentiated again.
class GradMode {
public:
    static bool is_enabled() { return flag(); }
    static void set_enabled(bool enabled) { flag() = enabled; }

private:
    static bool& flag() {
        thread_local bool enabled = true;
        return enabled;
    }
};

// Sets whether ops record the graph for a scope, and restores the previous mode when it ends.
class GradModeGuard {
public:
    explicit GradModeGuard(bool enabled) : previous_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
    ~GradModeGuard() { GradMode::set_enabled(previous_); }
    GradModeGuard(const GradModeGuard&) = delete;
    GradModeGuard& operator=(const GradModeGuard&) = delete;

private:
    bool previous_;
};

// Recording off for a scope: inference, optimizer updates, in-place changes of parameters.
struct NoGradGuard : GradModeGuard {
    NoGradGuard() : GradModeGuard(false) {}
};

template <typename T> struct Node {
    // Receives the gradient of the node's output; returns one gradient per input, in input order
    // (an undefined Tensor where an input needs none).
    using Backward = std::function<std::vector<Tensor<T>>(const Tensor<T>& grad_output)>;

    // Where the gradient of one input goes: into the node that produced it, or, for a leaf that
    // requires gradients, into that leaf's .grad. Both empty: the input needs no gradient.
    struct Edge {
        std::shared_ptr<Node> node;
        std::shared_ptr<TensorImpl<T>> leaf;
        bool wanted() const { return node || leaf; }
    };

    std::string op;
    Shape output_shape;
    std::vector<Edge> inputs;
    Backward backward;
    bool freed = false;
};

// True when an op must record its graph for this input.
template <typename T> bool needs_grad(const Tensor<T>& input) {
    return GradMode::is_enabled() && input.defined() && input.requires_grad();
}

// Attaches a node to `output` when any input needs gradients. Call it after computing the forward.
template <typename T>
void record(const char* op, Tensor<T>& output, const std::vector<Tensor<T>>& inputs,
            typename Node<T>::Backward backward) {
    bool any = false;
    for (const Tensor<T>& input : inputs) any = any || needs_grad(input);
    if (!any) return;
    auto node = std::make_shared<Node<T>>();
    node->op = op;
    node->output_shape = output.shape();
    for (const Tensor<T>& input : inputs) {
        typename Node<T>::Edge edge;
        if (needs_grad(input)) {
            if (input.grad_fn())
                edge.node = input.grad_fn();
            else
                edge.leaf = input.impl();
        }
        node->inputs.push_back(edge);
    }
    node->backward = std::move(backward);
    output.attach_grad_fn(std::move(node));
}

template <typename T>
void record(const char* op, Tensor<T>& output, std::initializer_list<Tensor<T>> inputs,
            typename Node<T>::Backward backward) {
    record(op, output, std::vector<Tensor<T>>(inputs), std::move(backward));
}

namespace ops {
template <Floating T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);
}

// For a scope, backward() calls `callback` with each leaf whose gradient it has completed (every
// node of the graph with an edge to that leaf has run), while the rest of the graph is still to
// run: what lets an optimizer update a parameter and drop its gradient early
// (optim::AdamW::backward_and_step). Only the outermost backward() reports: a checkpoint's
// recomputation runs a backward of its own for leaves that the outer graph still has edges to.
template <typename T> class GradientCompleteGuard {
public:
    using Callback = std::function<void(const std::shared_ptr<TensorImpl<T>>& leaf)>;
    explicit GradientCompleteGuard(Callback callback) : previous_(std::exchange(current(), std::move(callback))) {}
    ~GradientCompleteGuard() { current() = std::move(previous_); }
    GradientCompleteGuard(const GradientCompleteGuard&) = delete;
    GradientCompleteGuard& operator=(const GradientCompleteGuard&) = delete;

    static Callback& current() {
        thread_local Callback callback;
        return callback;
    }

private:
    Callback previous_;
};

// Marks a backward() call running on this thread for its scope; backward() calls nest inside a
// checkpoint's recomputation.
class BackwardScope {
public:
    BackwardScope() { ++depth(); }
    ~BackwardScope() { --depth(); }
    BackwardScope(const BackwardScope&) = delete;
    BackwardScope& operator=(const BackwardScope&) = delete;
    bool outermost() const { return depth() == 1; }

private:
    static int& depth() {
        thread_local int running = 0;
        return running;
    }
};

// The engine behind Tensor::backward.
template <typename T> void run_backward(const Tensor<T>& root, const Tensor<T>& root_grad, bool retain_graph) {
    if (!root.requires_grad())
        fail("backward: the tensor of shape ", root.shape(),
             " does not require gradients (no input of it has requires_grad set)");
    if (root_grad.shape() != root.shape())
        fail("backward: gradient of shape ", root_grad.shape(), " given for a tensor of shape ", root.shape());
    BackwardScope scope;
    using Callback = typename GradientCompleteGuard<T>::Callback;
    const Callback report = scope.outermost() ? GradientCompleteGuard<T>::current() : Callback();
    if (!root.grad_fn()) {
        root.accumulate_grad(root_grad.clone()); // the caller keeps root_grad: never alias it
        if (report) report(root.impl());
        return;
    }

    // Reverse post-order of a depth-first walk = every node before the nodes it feeds from.
    std::vector<Node<T>*> order;
    std::unordered_map<Node<T>*, bool> visited;
    std::vector<std::pair<Node<T>*, std::size_t>> stack{{root.grad_fn().get(), 0}};
    visited[root.grad_fn().get()] = true;
    while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next < node->inputs.size()) {
            Node<T>* child = node->inputs[next++].node.get();
            if (child && !visited[child]) {
                visited[child] = true;
                stack.push_back({child, 0});
            }
        } else {
            order.push_back(node);
            stack.pop_back();
        }
    }

    // Edges into each leaf from nodes still to run, counted when someone listens for complete gradients.
    std::unordered_map<TensorImpl<T>*, int> leaf_edges;
    if (report)
        for (Node<T>* node : order)
            for (const auto& edge : node->inputs)
                if (edge.leaf) ++leaf_edges[edge.leaf.get()];
    auto ran = [&](Node<T>* node) {
        if (!report) return;
        for (const auto& edge : node->inputs)
            if (edge.leaf && --leaf_edges[edge.leaf.get()] == 0) report(edge.leaf);
    };

    std::unordered_map<Node<T>*, Tensor<T>> pending{{root.grad_fn().get(), root_grad}};
    NoGradGuard no_grad;
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node<T>* node = *it;
        auto found = pending.find(node);
        if (found == pending.end()) { // no gradient reached it: its leaves get nothing from it
            ran(node);
            continue;
        }
        Tensor<T> grad_output = std::move(found->second);
        pending.erase(found);
        if (node->freed)
            fail("backward: the graph through '", node->op,
                 "' was already freed by an earlier backward(); "
                 "call backward(grad, /*retain_graph=*/true) the first time to run backward twice");
        std::vector<Tensor<T>> grads = node->backward(grad_output);
        for (std::size_t i = 0; i < node->inputs.size(); ++i) {
            const auto& edge = node->inputs[i];
            if (!edge.wanted() || i >= grads.size() || !grads[i].defined()) continue;
            const Shape& expected = edge.leaf ? edge.leaf->shape : edge.node->output_shape;
            if (grads[i].shape() != expected)
                fail("backward of '", node->op, "': gradient of shape ", grads[i].shape(), " for input ", i,
                     " of shape ", expected, " (a bug in that op's backward)");
            if (edge.leaf) {
                Tensor<T>(edge.leaf).accumulate_grad(grads[i]);
            } else {
                Tensor<T>& slot = pending[edge.node.get()];
                slot = slot.defined() ? ops::add(slot, grads[i]) : grads[i];
            }
        }
        if (!retain_graph) {
            node->backward = nullptr; // releases every tensor the backward function saved
            node->freed = true;
        }
        ran(node);
    }
}

// Activation checkpointing: output = function(input), computed without recording its graph, so that
// none of its intermediate tensors is kept; the backward pass runs `function` again on the saved
// input, with recording on, and back-propagates through that fresh graph: the gradient of `input`
// is returned to the outer graph, the gradients of `parameters` (the leaves `function` reads) are
// accumulated into them directly. `function` must compute the same thing twice (no random draws).
template <typename T, typename Function>
Tensor<T> checkpointed(const char* op, Function function, const Tensor<T>& input,
                       const std::vector<Tensor<T>>& parameters) {
    std::vector<Tensor<T>> recorded{input};
    bool any = needs_grad(input);
    for (const Tensor<T>& parameter : parameters)
        if (needs_grad(parameter)) recorded.push_back(parameter), any = true;
    if (!any) return function(input);
    Tensor<T> output = [&] {
        NoGradGuard no_grad;
        return function(input);
    }();
    Tensor<T> saved = input.detach();
    const bool input_needs_grad = needs_grad(input);
    record(op, output, recorded,
           [function, saved, input_needs_grad, count = recorded.size()](const Tensor<T>& grad_output) {
               Tensor<T> replayed = saved.detach();
               if (input_needs_grad) replayed.requires_grad_(true);
               {
                   GradModeGuard recording(
                       true); // backward runs with recording off: the recomputation records its graph
                   Tensor<T> recomputed = function(replayed);
                   if (recomputed.requires_grad()) recomputed.backward(grad_output);
               }
               std::vector<Tensor<T>> grads(count);
               if (input_needs_grad) grads[0] = replayed.grad();
               return grads;
           });
    return output;
}

} // namespace clipft
