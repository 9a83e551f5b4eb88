#pragma once
// Ctrl-C (SIGINT) and SIGTERM during training: the first one asks the trainer to finish its current
// update, write its checkpoint and return, so that nothing is lost and the run resumes exactly; a
// second one ends the program at once (the last checkpoint written is still intact, since every file
// is replaced atomically).
#include <clipft/backends.hpp>

#include <csignal>

namespace clipft::inline CLIPFT_BACKENDS::train {

namespace detail {
inline volatile std::sig_atomic_t& pending_signal() {
    static volatile std::sig_atomic_t signal_number = 0;
    return signal_number;
}

extern "C" inline void request_stop(int signal_number) {
    if (pending_signal() != 0) { // asked twice: stop now
        std::signal(signal_number, SIG_DFL);
        std::raise(signal_number);
        return;
    }
    pending_signal() = signal_number;
}
} // namespace detail

// Installs the handlers (the clipft finetune command does; a library user decides for their program).
inline void stop_training_on_signals() {
    std::signal(SIGINT, detail::request_stop);
    std::signal(SIGTERM, detail::request_stop);
}

// The signal that asked training to stop, or 0.
inline int stop_requested() { return detail::pending_signal(); }

} // namespace clipft::train
