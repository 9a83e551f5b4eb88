#pragma once
// What goes into each training batch (SPEC "The method"): groups of k images of k distinct
// classes, and the description each class uses. Images and descriptions are drawn without
// replacement through lists reshuffled at every pass, so every image and every description is used
// once per pass. All draws come from one seeded Generator; state() / load_state() carry the whole
// sampler across a checkpoint. With pair keys (one per item: FF++'s source video, or a real face
// and its own self-blend), every group is drawn from one key: a real and a fake made from it.
#include <clipft/backends.hpp>
#include <clipft/io/json.hpp>
#include <clipft/random.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::train {

// The items 0..size-1 in an order reshuffled each time it runs out.
class ReshuffledList {
public:
    explicit ReshuffledList(std::int64_t size = 0) : size_(size), position_(size) {
        if (size < 0) fail("ReshuffledList: negative size ", size);
    }

    std::int64_t size() const { return size_; }

    std::int64_t next(Generator& generator) {
        if (size_ == 0) fail("ReshuffledList: cannot draw from an empty list");
        if (position_ == size_) {
            order_.resize(std::size_t(size_));
            std::iota(order_.begin(), order_.end(), std::int64_t(0));
            shuffle(order_, generator);
            position_ = 0;
        }
        return order_[std::size_t(position_++)];
    }

    io::Json state() const { return {{"order", order_}, {"position", position_}}; }
    void load_state(const io::Json& state) {
        order_.clear();
        for (const io::Json& item : state.at("order"))
            order_.push_back(io::json_integer(item, "ReshuffledList::load_state: an item"));
        position_ = io::json_integer(state.at("position"), "ReshuffledList::load_state: the position");
        for (std::int64_t item : order_)
            if (item < 0 || item >= size_)
                fail("ReshuffledList::load_state: the saved list holds item ", item, ", outside a list of ", size_,
                     " items; was the dataset changed since the checkpoint?");
        if (position_ < 0 || position_ > size_ || (position_ < size_ && std::int64_t(order_.size()) != size_))
            fail("ReshuffledList::load_state: the saved list (", order_.size(), " items, position ", position_,
                 ") does not fit a list of ", size_, " items; was the dataset changed since the checkpoint?");
    }

private:
    std::int64_t size_;
    std::int64_t position_;
    std::vector<std::int64_t> order_;
};

// Whether one description per class is drawn for the whole batch (the thesis) or one per group.
enum class DescriptionDraw { per_batch, per_group };

struct GroupSamplerOptions {
    std::int64_t k = 2;                // distinct classes per group, 2 <= k <= the number of classes (N)
    std::int64_t groups_per_batch = 8; // "batch size 16" in the thesis = 8 pairs
    DescriptionDraw description_draw = DescriptionDraw::per_batch;
    std::uint64_t seed = 0;
    bool draw_seeds = false; // also draw a seed per slot (for augmentations that resume exactly)
};

// One batch, slots in row-major [group, slot] order.
struct SampledBatch {
    std::int64_t groups = 0, k = 0;
    std::vector<std::int64_t> classes;      // class of each slot
    std::vector<std::int64_t> items;        // the dataset item (image) of each slot
    std::vector<std::int64_t> descriptions; // index of the description within its class's list
    std::vector<std::uint64_t> seeds;       // one per slot with GroupSamplerOptions::draw_seeds, else empty
};

// A seed for one use of an item: the sampler's seed, the item and how many times before its pair
// key was drawn (its epoch), mixed (SplitMix64's finaliser) so that neighbours differ in every bit.
inline std::uint64_t item_use_seed(std::uint64_t seed, std::int64_t item, std::int64_t use) {
    std::uint64_t value = seed;
    for (std::uint64_t part : {std::uint64_t(item), std::uint64_t(use)}) {
        value += 0x9E3779B97F4A7C15ull + part;
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ull;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBull;
        value ^= value >> 31;
    }
    return value;
}

class GroupSampler {
public:
    // items_of_class[c]: the dataset items of class c; description_counts[c]: how many descriptions class c has.
    // pair_keys (empty: none): one per dataset item; each group then takes all its images from one
    // key holding images of every class (items with key -1 are never drawn), and the seed of a slot
    // (with draw_seeds) is item_use_seed(seed, item, the key's use count).
    GroupSampler(std::vector<std::vector<std::int64_t>> items_of_class,
                 const std::vector<std::int64_t>& description_counts, const GroupSamplerOptions& options,
                 const std::vector<std::int64_t>& pair_keys = {})
        : items_of_class_(std::move(items_of_class)), options_(options), generator_(options.seed) {
        std::int64_t classes = std::int64_t(items_of_class_.size());
        if (std::int64_t(description_counts.size()) != classes)
            fail("GroupSampler: ", classes, " classes of images but descriptions for ", description_counts.size(),
                 " classes");
        if (options.k < 2 || options.k > classes)
            fail("GroupSampler: groups of k = ", options.k, " distinct classes need 2 <= k <= the number of classes (",
                 classes, ")");
        if (options.groups_per_batch < 1)
            fail("GroupSampler: groups_per_batch must be >= 1, got ", options.groups_per_batch);
        for (std::int64_t c = 0; c < classes; ++c) {
            if (items_of_class_[std::size_t(c)].empty())
                fail("GroupSampler: class ", c, " has no images; every class needs at least one");
            if (description_counts[std::size_t(c)] < 1) fail("GroupSampler: class ", c, " has no descriptions");
            image_lists_.emplace_back(std::int64_t(items_of_class_[std::size_t(c)].size()));
            description_lists_.emplace_back(description_counts[std::size_t(c)]);
        }
        if (!pair_keys.empty()) pair_by_keys(pair_keys);
    }

    std::int64_t classes() const { return std::int64_t(items_of_class_.size()); }
    const GroupSamplerOptions& options() const { return options_; }

    // An epoch passes once through the smallest class: each group uses a class with probability k / N.
    std::int64_t batches_per_epoch() const {
        if (!pairs_.empty()) return std::max<std::int64_t>(1, std::int64_t(pairs_.size()) / options_.groups_per_batch);
        std::size_t smallest = items_of_class_.front().size();
        for (const auto& items : items_of_class_) smallest = std::min(smallest, items.size());
        std::int64_t groups = std::int64_t(smallest) * classes() / options_.k;
        return std::max<std::int64_t>(1, groups / options_.groups_per_batch);
    }

    SampledBatch next() {
        SampledBatch batch{options_.groups_per_batch, options_.k, {}, {}, {}, {}};
        std::vector<std::int64_t> batch_description(std::size_t(classes()), -1);
        for (std::int64_t g = 0; g < batch.groups; ++g) {
            if (!pairs_.empty()) {
                add_pair(batch, batch_description);
                continue;
            }
            for (std::int64_t c : group_classes()) {
                auto& description = batch_description[std::size_t(c)];
                if (options_.description_draw == DescriptionDraw::per_group || description < 0)
                    description = description_lists_[std::size_t(c)].next(generator_);
                batch.classes.push_back(c);
                batch.items.push_back(
                    items_of_class_[std::size_t(c)][std::size_t(image_lists_[std::size_t(c)].next(generator_))]);
                batch.descriptions.push_back(description);
                if (options_.draw_seeds) batch.seeds.push_back(generator_.next_bits());
            }
        }
        return batch;
    }

    io::Json state() const {
        io::Json images = io::Json::array(), descriptions = io::Json::array();
        for (const auto& list : image_lists_) images.push_back(list.state());
        for (const auto& list : description_lists_) descriptions.push_back(list.state());
        io::Json state = {{"generator", generator_.state()}, {"images", images}, {"descriptions", descriptions}};
        if (!pairs_.empty()) {
            io::Json keys = io::Json::array();
            for (const Pair& pair : pairs_) {
                io::Json lists = io::Json::array();
                for (const auto& list : pair.lists) lists.push_back(list.state());
                keys.push_back({{"uses", pair.uses}, {"lists", lists}});
            }
            state["pairs"] = {{"order", pair_list_.state()}, {"keys", keys}};
        }
        return state;
    }
    void load_state(const io::Json& state) {
        if (state.at("images").size() != image_lists_.size() ||
            state.at("descriptions").size() != description_lists_.size())
            fail("GroupSampler::load_state: the saved sampler has ", state.at("images").size(), " classes, this one ",
                 classes());
        generator_.set_state(state.at("generator").get<std::string>());
        for (std::size_t c = 0; c < image_lists_.size(); ++c) {
            image_lists_[c].load_state(state.at("images")[c]);
            description_lists_[c].load_state(state.at("descriptions")[c]);
        }
        if (pairs_.empty() != !state.contains("pairs") ||
            (!pairs_.empty() && state.at("pairs").at("keys").size() != pairs_.size()))
            fail("GroupSampler::load_state: the saved sampler ", state.contains("pairs") ? "pairs" : "does not pair",
                 " images by key, this one ",
                 pairs_.empty() ? "does not" : "does (or with other keys); was the dataset changed?");
        if (pairs_.empty()) return;
        pair_list_.load_state(state.at("pairs").at("order"));
        for (std::size_t p = 0; p < pairs_.size(); ++p) {
            const io::Json& saved = state.at("pairs").at("keys")[p];
            pairs_[p].uses = io::json_integer(saved.at("uses"), "GroupSampler::load_state: a key's use count");
            for (std::size_t c = 0; c < pairs_[p].lists.size(); ++c)
                pairs_[p].lists[c].load_state(saved.at("lists")[c]);
        }
    }

private:
    // All classes in order when k = N (real then fake for the pair), else k distinct classes drawn uniformly.
    std::vector<std::int64_t> group_classes() {
        std::vector<std::int64_t> all(static_cast<std::size_t>(classes()));
        std::iota(all.begin(), all.end(), std::int64_t(0));
        if (options_.k == classes()) return all;
        for (std::int64_t i = 0; i < options_.k; ++i) // the first k steps of a Fisher-Yates shuffle
            std::swap(all[std::size_t(i)],
                      all[std::size_t(i + std::int64_t(generator_.uniform_integer(std::uint64_t(classes() - i))))]);
        all.resize(std::size_t(options_.k));
        return all;
    }

    // The keys holding images of every class, each with its items per class.
    struct Pair {
        std::vector<std::vector<std::int64_t>> items; // per class
        std::vector<ReshuffledList> lists;
        std::int64_t uses = 0;
    };

    void pair_by_keys(const std::vector<std::int64_t>& pair_keys) {
        if (options_.k != classes())
            fail("GroupSampler: pairing by key draws every class into each group; k = ", options_.k, " of ", classes(),
                 " classes");
        std::map<std::int64_t, std::vector<std::vector<std::int64_t>>> by_key;
        for (std::int64_t c = 0; c < classes(); ++c)
            for (std::int64_t item : items_of_class_[std::size_t(c)]) {
                if (item < 0 || item >= std::int64_t(pair_keys.size()))
                    fail("GroupSampler: item ", item, " has no pair key (", pair_keys.size(), " keys given)");
                std::int64_t key = pair_keys[std::size_t(item)];
                if (key < 0) continue;
                auto& per_class = by_key[key];
                per_class.resize(std::size_t(classes()));
                per_class[std::size_t(c)].push_back(item);
            }
        for (auto& [key, per_class] : by_key) {
            if (std::any_of(per_class.begin(), per_class.end(), [](const auto& items) { return items.empty(); }))
                continue;
            Pair pair{std::move(per_class), {}, 0};
            for (const auto& items : pair.items) pair.lists.emplace_back(std::int64_t(items.size()));
            pairs_.push_back(std::move(pair));
        }
        if (pairs_.empty())
            fail("GroupSampler: no pair key holds images of every class (e.g. no source video has both a real and a "
                 "fake face); "
                 "pair by nothing, or check the manifest's source column");
        pair_list_ = ReshuffledList(std::int64_t(pairs_.size()));
    }

    void add_pair(SampledBatch& batch, std::vector<std::int64_t>& batch_description) {
        Pair& pair = pairs_[std::size_t(pair_list_.next(generator_))];
        for (std::int64_t c = 0; c < classes(); ++c) {
            auto& description = batch_description[std::size_t(c)];
            if (options_.description_draw == DescriptionDraw::per_group || description < 0)
                description = description_lists_[std::size_t(c)].next(generator_);
            const std::int64_t item =
                pair.items[std::size_t(c)][std::size_t(pair.lists[std::size_t(c)].next(generator_))];
            batch.classes.push_back(c);
            batch.items.push_back(item);
            batch.descriptions.push_back(description);
            if (options_.draw_seeds) batch.seeds.push_back(item_use_seed(options_.seed, item, pair.uses));
        }
        ++pair.uses;
    }

    std::vector<std::vector<std::int64_t>> items_of_class_;
    std::vector<Pair> pairs_;
    ReshuffledList pair_list_;
    GroupSamplerOptions options_;
    Generator generator_;
    std::vector<ReshuffledList> image_lists_, description_lists_;
};

} // namespace clipft::train
