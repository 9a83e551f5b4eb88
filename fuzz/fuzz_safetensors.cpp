// safetensors files, header and body: every tensor read in its stored type and converted to float
// and double, the metadata, and the file read as a training batch (train/batch_file.hpp).
#include "fuzz_input.hpp"

#include <clipft/io/safetensors.hpp>
#include <clipft/train/batch_file.hpp>

using namespace clipft;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::filesystem::path path = fuzz::write_scratch("input.safetensors", {data, size});
    fuzz::refused_or_accepted([&] {
        io::SafetensorsFile file(path);
        for (const auto& [key, value] : file.metadata()) (void)(key.size() + value.size());
        for (const std::string& name : file.names()) {
            (void)file.bytes(name);
            (void)file.get_any(name);
            fuzz::refused_or_accepted([&] { (void)file.get<float>(name); });
            fuzz::refused_or_accepted([&] { (void)file.get<double>(name); });
            fuzz::refused_or_accepted([&] { (void)file.get<std::int64_t>(name); });
        }
        (void)train::read_group_batch<float>(file);
    });
    return 0;
}
