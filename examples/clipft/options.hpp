#pragma once
// Command-line options of the clipft program's sub-commands: "--name value", "--name v1 v2 ..."
// for lists, "--flag" alone; other words are positional; "--" ends the options (for texts that
// begin with "-").
#include <clipft/error.hpp>

#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace clipft::cli {

struct UsageError : Error {
    using Error::Error;
};

struct OptionSpec {
    enum class Kind { value, list, flag };
    std::string name;
    Kind kind = Kind::value;
    std::optional<std::string> default_value = std::nullopt; // none: the option must be given
};

class Options {
public:
    Options(const std::vector<std::string>& arguments, const std::vector<OptionSpec>& specs) {
        for (const OptionSpec& spec : specs) specs_[spec.name] = spec;
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
            auto found = specs_.find(name);
            if (found == specs_.end()) throw UsageError("unknown option '" + argument + "'");
            std::vector<std::string>& values = given_[name];
            switch (found->second.kind) {
            case OptionSpec::Kind::flag:
                break;
            case OptionSpec::Kind::value:
                if (i + 1 >= arguments.size()) throw UsageError("option '" + argument + "' needs a value");
                values = {arguments[++i]};
                break;
            case OptionSpec::Kind::list:
                while (i + 1 < arguments.size() && arguments[i + 1].rfind("--", 0) != 0)
                    values.push_back(arguments[++i]);
                if (values.empty()) throw UsageError("option '" + argument + "' needs at least one value");
                break;
            }
        }
    }

    bool help() const { return help_; }
    std::vector<std::string> names() const {
        std::vector<std::string> result;
        for (const auto& [name, spec] : specs_) result.push_back(name);
        return result;
    }
    bool given(const std::string& name) const { return given_.contains(name); }
    // Given on the command line or in the settings of set_fallbacks.
    bool has(const std::string& name) const { return given(name) || fallbacks_.contains(name); }
    bool flag(const std::string& name) const {
        return given(name) || (fallbacks_.contains(name) && fallbacks_.at(name) == "true");
    }

    // Values for options not given on the command line (e.g. from a config file), in place of the defaults.
    void set_fallbacks(std::map<std::string, std::string> fallbacks) {
        for (const auto& [name, value] : fallbacks)
            if (!specs_.contains(name)) throw UsageError("unknown setting '" + name + "'");
        fallbacks_ = std::move(fallbacks);
    }

    std::string text(const std::string& name) const {
        if (given(name)) return given_.at(name).empty() ? "true" : given_.at(name).front(); // a flag reads "true"
        if (fallbacks_.contains(name)) return fallbacks_.at(name);
        const OptionSpec& spec = specs_.at(name);
        if (!spec.default_value) throw UsageError("option '--" + name + "' is required");
        return *spec.default_value;
    }

    const std::vector<std::string>& list(const std::string& name) const {
        static const std::vector<std::string> none;
        return given(name) ? given_.at(name) : none;
    }

    long integer(const std::string& name) const {
        return parse(name, "a whole number",
                     [](const std::string& value, std::size_t* used) { return std::stol(value, used); });
    }

    // The option's value, which must be one of `allowed`.
    std::string choice(const std::string& name, const std::vector<std::string>& allowed) const {
        std::string value = text(name), listed;
        for (const std::string& option : allowed) {
            if (value == option) return value;
            listed += (listed.empty() ? "" : ", ") + option;
        }
        throw UsageError("--" + name + " expects one of " + listed + ", got '" + value + "'");
    }

    double number(const std::string& name) const {
        return parse(name, "a number",
                     [](const std::string& value, std::size_t* used) { return std::stod(value, used); });
    }

    const std::vector<std::string>& positional() const { return positional_; }

private:
    // The option's value read by `convert` (std::stol, std::stod), which must use all of it.
    template <typename Convert, typename Value = std::invoke_result_t<Convert, const std::string&, std::size_t*>>
    Value parse(const std::string& name, const char* expected, Convert convert) const {
        std::string value = text(name);
        std::size_t used = 0;
        Value result{};
        try {
            result = convert(value, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (value.empty() || used != value.size())
            throw UsageError("--" + name + " expects " + expected + ", got '" + value + "'");
        return result;
    }

    std::map<std::string, OptionSpec> specs_;
    std::map<std::string, std::vector<std::string>> given_;
    std::map<std::string, std::string> fallbacks_;
    std::vector<std::string> positional_;
    bool help_ = false;
};

// One sub-command: its help line, its usage text, its options, and what it runs.
struct Command {
    const char* summary;
    std::string usage;
    std::vector<OptionSpec> options;
    int (*run)(const Options&);
};

// Runs the sub-command of `program` named by arguments[0] with the rest as its options: its --help,
// and the exit codes of every command (0 success, 2 usage error with the usage hint, 1 any other
// failure with one line on stderr). Without a command, or with --help, lists the commands.
inline int run_command_line(const std::string& program, const std::map<std::string, Command>& commands,
                            const std::vector<std::string>& arguments) {
    auto print_usage = [&](std::ostream& out) {
        out << "usage: " << program << " COMMAND [OPTIONS]   (" << program
            << " COMMAND --help for its options)\n\ncommands:\n";
        for (const auto& [name, command] : commands) out << "  " << name << "  " << command.summary << "\n";
    };
    if (arguments.empty() || arguments[0] == "--help" || arguments[0] == "-h") {
        print_usage(arguments.empty() ? std::cerr : std::cout);
        return arguments.empty() ? 2 : 0;
    }
    auto found = commands.find(arguments[0]);
    if (found == commands.end()) {
        std::cerr << program << ": unknown command '" << arguments[0] << "'\n";
        print_usage(std::cerr);
        return 2;
    }
    const std::string name = program + " " + arguments[0];
    try {
        const Command& command = found->second;
        Options options({arguments.begin() + 1, arguments.end()}, command.options);
        if (options.help()) {
            std::cout << "usage: " << command.usage << "\n";
            return 0;
        }
        return command.run(options);
    } catch (const UsageError& error) {
        std::cerr << name << ": " << error.what() << " (see " << name << " --help)\n";
        return 2;
    } catch (const std::exception& error) {
        std::cerr << name << ": " << error.what() << "\n";
        return 1;
    }
}

int bench(const Options& options);
int dataset(const Options& options);
int demo(const Options& options);
int encode(const Options& options);
int evaluate(const Options& options);
int faces(const Options& options);
int features(const Options& options);
int finetune(const Options& options);
int info(const Options& options);
int interpolate(const Options& options);
int loss(const Options& options);
int merge(const Options& options);
int metrics(const Options& options);
int preprocess(const Options& options);
int probe(const Options& options);
int sbi(const Options& options);
int synth(const Options& options);
int tokenize(const Options& options);

} // namespace clipft::cli
