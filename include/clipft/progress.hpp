#pragma once
// A progress bar for long work: "label  42% |#####     | 420/1000  loss 0.41  lr 3e-07  12.3 it/s  ETA 0:47".
// On a terminal it redraws one line at most ten times a second; into a file or pipe it writes a
// plain line every `log_interval_seconds`, so logs stay readable.
#include <clipft/backends.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace clipft::inline CLIPFT_BACKENDS {

class ProgressBar {
public:
    // `unit` names what the speed counts (e.g. "img"); update() says how many of them one step is.
    // `start`: steps already done before this bar (a resumed run); they do not count for the speed.
    ProgressBar(std::string label, std::int64_t total, std::string unit = "it", bool enabled = true,
                std::int64_t start = 0, std::FILE* out = stderr, double log_interval_seconds = 30)
        : label_(std::move(label)), unit_(std::move(unit)), total_(total), start_done_(start), done_(start),
          enabled_(enabled), out_(out), terminal_(isatty(fileno(out)) == 1), log_interval_(log_interval_seconds),
          start_(Clock::now()), last_draw_(start_) {}
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;
    ~ProgressBar() { finish(); }

    // Sets the count done (of `total`) and the text shown after the counts (e.g. "loss 0.41  lr 3e-07").
    void update(std::int64_t done, const std::string& status = "", double units_per_step = 1) {
        done_ = done;
        status_ = status;
        units_per_step_ = units_per_step;
        if (!enabled_) return;
        if (done >= total_) return finish();
        auto now = Clock::now();
        if (std::chrono::duration<double>(now - last_draw_).count() < (terminal_ ? 0.1 : log_interval_)) return;
        last_draw_ = now;
        draw(false);
    }

    // Draws the final state once (on a terminal, ends the line).
    void finish() {
        if (!enabled_ || finished_) return;
        finished_ = true;
        draw(true);
    }

    double elapsed_seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

    static std::string format_duration(double seconds) {
        long total = long(seconds + 0.5);
        char text[32];
        if (total >= 3600)
            std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
        else
            std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
        return text;
    }

private:
    using Clock = std::chrono::steady_clock;

    void draw(bool final_line) {
        double elapsed = elapsed_seconds(), rate = elapsed > 0 ? double(done_ - start_done_) / elapsed : 0;
        int percent = total_ > 0 ? int(100 * done_ / total_) : 100;
        constexpr int width = 20;
        int filled = total_ > 0 ? int(width * done_ / total_) : width;
        std::string bar(std::size_t(filled), '#');
        bar.resize(width, ' ');
        std::string eta = rate > 0 && done_ < total_ ? "ETA " + format_duration(double(total_ - done_) / rate)
                                                     : "in " + format_duration(elapsed);
        char counts[160];
        std::snprintf(counts, sizeof counts, "%3d%% |%s| %lld/%lld", percent, bar.c_str(), (long long)done_,
                      (long long)total_);
        char speed[64];
        std::snprintf(speed, sizeof speed, "%.1f %s/s", rate * units_per_step_, unit_.c_str());
        std::fprintf(out_, "%s%s %s  %s  %s  %s%s", terminal_ ? "\r\033[K" : "", label_.c_str(), counts,
                     status_.c_str(), speed, eta.c_str(), terminal_ && !final_line ? "" : "\n");
        std::fflush(out_);
    }

    std::string label_, unit_;
    std::int64_t total_, start_done_, done_;
    bool enabled_, finished_ = false;
    std::FILE* out_;
    bool terminal_;
    double log_interval_;
    Clock::time_point start_, last_draw_;
    std::string status_;
    double units_per_step_ = 1;
};

} // namespace clipft
