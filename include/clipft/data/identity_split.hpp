#pragma once
// Identity-safe splits: no person on both sides. A video shows one or more identities (FF++'s fake
// a_b shows a and b, Celeb-DF's idA_idB_0001 shows idA and idB); videos sharing an identity are
// linked, and the linked groups (the connected components of the identity graph) go to one side
// whole. When one group holds most videos (Celeb-DF's swaps link nearly every identity), identities
// are drawn instead: a video goes held out when all its identities were drawn, to training when none
// was, and is dropped (on neither side) when it mixes both.
#include <clipft/backends.hpp>
#include <clipft/data/dataset.hpp>
#include <clipft/error.hpp>
#include <clipft/random.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace clipft::inline CLIPFT_BACKENDS::data {

enum class SplitPart { train, held_out, dropped };

inline const char* split_part_name(SplitPart part) {
    return part == SplitPart::train ? "train" : part == SplitPart::held_out ? "held-out" : "dropped";
}

// The identities of a sample: its `identities` field (space-separated), else its source video, else
// its video, else its file (each its own person).
inline std::vector<std::string> identities_of(const Sample& sample) {
    std::vector<std::string> names;
    std::istringstream words(sample.identities);
    for (std::string word; words >> word;) names.push_back(word);
    if (names.empty()) {
        names.push_back(!sample.source.empty()  ? "source:" + sample.source
                        : !sample.video.empty() ? "video:" + sample.subset + "|" + sample.video
                                                : "file:" + sample.path.string());
    }
    return names;
}

// Assigns every item (a video: its identities and class) to a part. Stratified: about
// `held_out_fraction` of each class's items, at least one, are held out (as far as the identity
// groups allow), drawn at random (seeded). `context` starts error messages.
inline std::vector<SplitPart> split_by_identity(const std::vector<std::vector<std::string>>& identities,
                                                const std::vector<std::int64_t>& labels, std::int64_t classes,
                                                double held_out_fraction, std::uint64_t seed,
                                                const std::string& context) {
    if (!(held_out_fraction > 0 && held_out_fraction < 1))
        fail(context, ": the held-out fraction must be in (0, 1), got ", held_out_fraction);
    if (identities.size() != labels.size())
        fail(context, ": ", identities.size(), " identity lists for ", labels.size(), " items");
    const std::size_t count = identities.size();
    std::map<std::string, std::size_t> index_of;
    for (const auto& names : identities) {
        if (names.empty()) fail(context, ": an item without identities");
        for (const std::string& name : names) index_of.emplace(name, index_of.size());
    }
    // Union-find over identities.
    std::vector<std::size_t> parent(index_of.size());
    std::iota(parent.begin(), parent.end(), 0);
    auto root = [&](std::size_t i) {
        while (parent[i] != i) i = parent[i] = parent[parent[i]];
        return i;
    };
    for (const auto& names : identities)
        for (const std::string& name : names) parent[root(index_of.at(name))] = root(index_of.at(names.front()));
    std::map<std::size_t, std::vector<std::size_t>> items_of_group;
    for (std::size_t i = 0; i < count; ++i) items_of_group[root(index_of.at(identities[i].front()))].push_back(i);

    std::vector<std::int64_t> per_class(std::size_t(classes), 0), target(std::size_t(classes), 0);
    for (std::int64_t label : labels) ++per_class[std::size_t(label)];
    for (std::size_t c = 0; c < per_class.size(); ++c)
        if (per_class[c] > 0)
            target[c] = std::max<std::int64_t>(1, std::llround(held_out_fraction * double(per_class[c])));
    std::vector<std::int64_t> held(std::size_t(classes), 0);
    auto below_target = [&] {
        for (std::size_t c = 0; c < held.size(); ++c)
            if (held[c] < target[c]) return true;
        return false;
    };

    Generator generator(seed);
    std::vector<SplitPart> parts(count, SplitPart::train);
    std::size_t largest = 0;
    for (const auto& [group, items] : items_of_group) largest = std::max(largest, items.size());
    if (2 * largest <= count) {
        std::vector<std::vector<std::size_t>> groups;
        for (auto& [group, items] : items_of_group) groups.push_back(std::move(items));
        shuffle(groups, generator);
        // A group is held out while it brings a class still short of its share.
        for (const auto& items : groups) {
            if (!below_target()) break;
            bool helps = false;
            for (std::size_t i : items) helps |= held[std::size_t(labels[i])] < target[std::size_t(labels[i])];
            if (!helps) continue;
            for (std::size_t i : items) parts[i] = SplitPart::held_out, ++held[std::size_t(labels[i])];
        }
    } else {
        std::vector<std::string> names;
        for (const auto& [name, index] : index_of) names.push_back(name);
        shuffle(names, generator);
        std::map<std::string, bool> drawn;
        for (const std::string& name : names) {
            if (!below_target()) break;
            drawn[name] = true;
            std::fill(held.begin(), held.end(), 0);
            for (std::size_t i = 0; i < count; ++i) {
                std::size_t in = 0;
                for (const std::string& identity : identities[i]) in += drawn.contains(identity);
                parts[i] = in == 0                      ? SplitPart::train
                           : in == identities[i].size() ? SplitPart::held_out
                                                        : SplitPart::dropped;
                if (parts[i] == SplitPart::held_out) ++held[std::size_t(labels[i])];
            }
        }
    }
    std::vector<std::int64_t> trained(std::size_t(classes), 0);
    std::fill(held.begin(), held.end(), 0);
    for (std::size_t i = 0; i < count; ++i) {
        if (parts[i] == SplitPart::train) ++trained[std::size_t(labels[i])];
        if (parts[i] == SplitPart::held_out) ++held[std::size_t(labels[i])];
    }
    for (std::size_t c = 0; c < per_class.size(); ++c)
        if (per_class[c] > 0 && (trained[c] == 0 || held[c] == 0))
            fail(context, ": class ", c, " has ", per_class[c],
                 " video(s) whose identities cannot be split so that both parts hold "
                 "one (",
                 trained[c], " train, ", held[c],
                 " held out); add data, change --validation-fraction or give a validation set");
    return parts;
}

// A dataset split by identity: whole videos, and every person, on one side; `videos` records where
// each video (subset|video, or the file of a sample without one) went.
struct IdentitySplit {
    Dataset train, held_out;
    std::vector<std::pair<std::string, SplitPart>> videos;
};

inline std::string video_key(const Sample& sample) {
    return sample.video.empty() ? sample.path.string()
                                : (sample.subset.empty() ? "" : sample.subset + "|") + sample.video;
}

inline IdentitySplit split_dataset_by_identity(const Dataset& dataset, double held_out_fraction, std::uint64_t seed) {
    std::map<std::string, std::size_t> item_of;
    std::vector<std::string> keys;
    std::vector<std::vector<std::string>> identities;
    std::vector<std::int64_t> labels;
    for (const Sample& sample : dataset.samples) {
        std::string key = video_key(sample);
        if (item_of.emplace(key, keys.size()).second) {
            keys.push_back(key);
            identities.push_back(identities_of(sample));
            labels.push_back(sample.label);
        }
    }
    std::vector<SplitPart> parts = split_by_identity(identities, labels, std::int64_t(dataset.classes.size()),
                                                     held_out_fraction, seed, "the split by identity");
    IdentitySplit result{Dataset{dataset.classes, {}}, Dataset{dataset.classes, {}}, {}};
    for (const Sample& sample : dataset.samples) {
        SplitPart part = parts[item_of.at(video_key(sample))];
        if (part != SplitPart::dropped)
            (part == SplitPart::train ? result.train : result.held_out).samples.push_back(sample);
    }
    for (std::size_t i = 0; i < keys.size(); ++i) result.videos.emplace_back(keys[i], parts[i]);
    return result;
}

} // namespace clipft::data
