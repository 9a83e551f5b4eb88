// The clipft command: one program, one sub-command per job. Exit codes: 0 success, 2 usage error,
// 1 any other failure (one line on stderr naming what is at fault).
#include <clipft/clip.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

extern "C" char* openblas_get_corename(void);

namespace {

struct UsageError : clipft::Error {
    using clipft::Error::Error;
};

// "--name value" options after the sub-command; "--" ends them.
class Options {
public:
    Options(std::vector<std::string> arguments, std::map<std::string, std::string> defaults)
        : values_(std::move(defaults)) {
        for (std::size_t i = 0; i < arguments.size(); ++i) {
            const std::string& argument = arguments[i];
            if (argument == "--") {
                positional_.insert(positional_.end(), arguments.begin() + std::ptrdiff_t(i) + 1, arguments.end());
                break;
            }
            if (argument.rfind("--", 0) != 0) {
                positional_.push_back(argument);
                continue;
            }
            std::string name = argument.substr(2);
            if (name == "help") {
                help_ = true;
                continue;
            }
            if (!values_.contains(name)) throw UsageError("unknown option '" + argument + "'");
            if (i + 1 >= arguments.size()) throw UsageError("option '" + argument + "' needs a value");
            values_[name] = arguments[++i];
        }
    }
    bool help() const { return help_; }
    std::string text(const std::string& name) const { return values_.at(name); }
    long integer(const std::string& name) const {
        const std::string& value = values_.at(name);
        std::size_t used = 0;
        long result = 0;
        try {
            result = std::stol(value, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != value.size() || value.empty())
            throw UsageError("--" + name + " expects a whole number, got '" + value + "'");
        return result;
    }
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
    bool help_ = false;
};

// Two interleaved spirals: a small classification task that a linear model cannot solve.
void make_spirals(std::int64_t count, clipft::Generator& generator, clipft::Tensor<float>& points,
                  clipft::Tensor<std::int64_t>& labels) {
    points = clipft::Tensor<float>::empty({count, 2});
    labels = clipft::Tensor<std::int64_t>::empty({count});
    for (std::int64_t i = 0; i < count; ++i) {
        std::int64_t label = i % 2;
        double t = 0.5 + 3.0 * generator.uniform();
        double angle = 2.2 * t + label * M_PI;
        points.data()[2 * i] = float(t * std::cos(angle) / 3.5 + 0.05 * generator.normal());
        points.data()[2 * i + 1] = float(t * std::sin(angle) / 3.5 + 0.05 * generator.normal());
        labels.data()[i] = label;
    }
}

int demo(const Options& options) {
    if (options.help()) {
        std::cout << "clipft demo [--epochs N] [--seed S] [--hidden H]\n"
                     "Trains a small network with clipft's autograd on a generated two-spiral task and\n"
                     "reports the held-out accuracy. Nothing is downloaded.\n";
        return 0;
    }
    using namespace clipft;
    const long epochs = options.integer("epochs"), hidden = options.integer("hidden");
    if (epochs < 1 || hidden < 1) throw UsageError("--epochs and --hidden must be at least 1");
    Generator generator(std::uint64_t(options.integer("seed")));

    Tensor<float> train_points, test_points;
    Tensor<std::int64_t> train_labels, test_labels;
    make_spirals(2000, generator, train_points, train_labels);
    make_spirals(1000, generator, test_points, test_labels);

    std::vector<Tensor<float>> parameters = {
        trunc_normal<float>({hidden, 2}, generator, 0.0, 1.0 / std::sqrt(2.0)), Tensor<float>::zeros({hidden}),
        trunc_normal<float>({hidden, hidden}, generator, 0.0, 1.0 / std::sqrt(double(hidden))), Tensor<float>::zeros({hidden}),
        trunc_normal<float>({2, hidden}, generator, 0.0, 1.0 / std::sqrt(double(hidden))), Tensor<float>::zeros({2})};
    for (auto& parameter : parameters) parameter.requires_grad_();
    auto network = [&](const Tensor<float>& x) {
        Tensor<float> h = quick_gelu(linear(x, parameters[0], parameters[1]));
        h = quick_gelu(linear(h, parameters[2], parameters[3]));
        return linear(h, parameters[4], parameters[5]);
    };
    auto accuracy = [&](const Tensor<float>& points, const Tensor<std::int64_t>& labels) {
        NoGradGuard no_grad;
        Tensor<float> logits = network(points);
        std::int64_t correct = 0;
        for (std::int64_t i = 0; i < labels.numel(); ++i)
            correct += (logits.at({i, 1}) > logits.at({i, 0})) == (labels.data()[i] == 1);
        return double(correct) / double(labels.numel());
    };

    std::cout << "clipft demo: 2-spiral classification, " << train_labels.numel() << " training points, "
              << num_threads() << " threads, BLAS core " << openblas_get_corename() << "\n";
    const std::int64_t batch = 100;
    const float learning_rate = 0.5f;
    auto start = std::chrono::steady_clock::now();
    for (long epoch = 1; epoch <= epochs; ++epoch) {
        double total = 0;
        for (std::int64_t first = 0; first < train_labels.numel(); first += batch) {
            Tensor<float> loss = cross_entropy(network(train_points.narrow(0, first, batch)),
                                               train_labels.narrow(0, first, batch).contiguous());
            loss.backward();
            total += loss.item();
            NoGradGuard no_grad;
            for (auto& parameter : parameters) {
                parameter.copy_(parameter - parameter.grad() * learning_rate);
                parameter.zero_grad();
            }
        }
        if (epoch == 1 || epoch % 10 == 0 || epoch == epochs)
            std::printf("epoch %3ld  loss %.4f  train accuracy %.3f\n", epoch,
                        total / double(train_labels.numel() / batch), accuracy(train_points, train_labels));
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("held-out accuracy %.3f after %ld epochs (%.2f s)\n", accuracy(test_points, test_labels), epochs, seconds);
    return 0;
}

int info(const Options&) {
    std::cout << "{\"version\": \"0.1.0\", \"threads\": " << clipft::num_threads() << ", \"blas_core\": \""
              << openblas_get_corename() << "\"}\n";
    return 0;
}

struct Command {
    const char* summary;
    std::map<std::string, std::string> defaults;
    std::function<int(const Options&)> run;
};

const std::map<std::string, Command>& commands() {
    static const std::map<std::string, Command> table = {
        {"demo", {"train a small network on a generated task (the built-in default job)",
                  {{"epochs", "60"}, {"seed", "1"}, {"hidden", "64"}}, demo}},
        {"info", {"print the version, thread count and BLAS kernel as JSON", {}, info}},
    };
    return table;
}

void print_usage(std::ostream& out) {
    out << "usage: clipft COMMAND [OPTIONS]   (clipft COMMAND --help for its options)\n\ncommands:\n";
    for (const auto& [name, command] : commands()) out << "  " << name << "  " << command.summary << "\n";
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> arguments(argv + 1, argv + argc);
    if (arguments.empty() || arguments[0] == "--help" || arguments[0] == "-h") {
        print_usage(arguments.empty() ? std::cerr : std::cout);
        return arguments.empty() ? 2 : 0;
    }
    auto found = commands().find(arguments[0]);
    if (found == commands().end()) {
        std::cerr << "clipft: unknown command '" << arguments[0] << "'\n";
        print_usage(std::cerr);
        return 2;
    }
    try {
        Options options({arguments.begin() + 1, arguments.end()}, found->second.defaults);
        return found->second.run(options);
    } catch (const UsageError& error) {
        std::cerr << "clipft " << arguments[0] << ": " << error.what() << " (see clipft " << arguments[0] << " --help)\n";
        return 2;
    } catch (const std::exception& error) {
        std::cerr << "clipft " << arguments[0] << ": " << error.what() << "\n";
        return 1;
    }
}
