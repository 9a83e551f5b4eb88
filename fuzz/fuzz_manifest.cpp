// Manifest CSVs (io/csv.hpp, data::Dataset::from_manifest): the table read with and without a
// header, then as a dataset, balanced and split by video.
#include "fuzz_input.hpp"

#include <clipft/data/dataset.hpp>

using namespace clipft;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    fuzz::refused_or_accepted([&] { (void)io::parse_csv(text, "fuzz.csv", {.header = false, .delimiter = ';'}); });
    std::filesystem::path manifest = fuzz::write_scratch("manifest.csv", text);
    fuzz::refused_or_accepted([&] {
        data::Dataset dataset = data::Dataset::from_manifest(manifest);
        (void)dataset.count_per_class();
        fuzz::refused_or_accepted([&] { (void)dataset.balanced(3, 1); });
        fuzz::refused_or_accepted([&] { (void)dataset.split_by_video(0.5, 1); });
    });
    return 0;
}
