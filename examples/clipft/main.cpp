// The clipft command: one program, one sub-command per job. Exit codes: 0 success, 2 usage error,
// 1 any other failure (one line on stderr naming what is at fault).
#include "options.hpp"

#include <iostream>

using namespace clipft::cli;

namespace {

const std::map<std::string, Command>& commands() {
    using Kind = OptionSpec::Kind;
    static const std::map<std::string, Command> table = {
        {"demo", {"train a small network on a generated task (the built-in default job)",
                  "clipft demo [--epochs N] [--seed S] [--hidden H]\n"
                  "Trains a small network with clipft's autograd on a generated two-spiral task and reports the\n"
                  "held-out accuracy. Nothing is downloaded.",
                  {{"epochs", Kind::value, "60"}, {"seed", Kind::value, "1"}, {"hidden", Kind::value, "64"}}, demo}},
        {"info", {"print the version, thread count and BLAS kernel as JSON", "clipft info", {}, info}},
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
        const Command& command = found->second;
        Options options({arguments.begin() + 1, arguments.end()}, command.options);
        if (options.help()) {
            std::cout << "usage: " << command.usage << "\n";
            return 0;
        }
        return command.run(options);
    } catch (const UsageError& error) {
        std::cerr << "clipft " << arguments[0] << ": " << error.what() << " (see clipft " << arguments[0] << " --help)\n";
        return 2;
    } catch (const std::exception& error) {
        std::cerr << "clipft " << arguments[0] << ": " << error.what() << "\n";
        return 1;
    }
}
