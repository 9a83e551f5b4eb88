// Time of the gradient all-reduce of one data-parallel fine-tuning step, done as clipft's trainer does
// it (distributed::GradientAverager: 25 MiB buckets filled from the last parameter, MPI_Iallreduce
// polled against the collective timeout), on the parameter tensors of ViT-B/32 and ViT-L/14 built
// from clipft's own presets. Rank 0 prints one JSON line per model:
//   model, parameters, gradient_bytes, ranks, bucket_mib, iterations, median_s, min_s,
//   bytes_moved_per_rank (a ring all-reduce sends and receives 2 (N-1)/N of the gradient per rank),
//   algorithm_gb_per_s (gradient bytes / time) and bus_gb_per_s (bytes moved per rank / time).
//   OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -np 2 bench_allreduce [iterations]
// Over TCP on the loopback interface instead of shared memory: add --mca btl tcp,self --mca btl_tcp_if_include lo.
#include <clipft/distributed/gradient_averaging.hpp>
#include <clipft/distributed/mpi_communicator.hpp>
#include <clipft/io/json.hpp>
#include <clipft/models/clip.hpp>

#include <algorithm>
#include <cstdio>
#include <string>

using namespace clipft;

int main(int argc, char** argv) {
    const int iterations = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
    distributed::MpiCommunicator ranks;
    for (const std::string name : {"ViT-B/32", "ViT-L/14"}) {
        std::vector<double> seconds;
        std::int64_t parameters = 0;
        {
            models::CLIP<float> model(models::CLIPConfig::preset(name));
            std::vector<Tensor<float>> tensors = model.parameters();
            for (const Tensor<float>& tensor : tensors) parameters += tensor.numel();
            distributed::GradientAverager<float> averager(tensors);
            averager.average(ranks); // the first call allocates every gradient (zeros) and warms the transport up
            for (int i = 0; i < iterations; ++i) {
                ranks.barrier();
                const auto start = std::chrono::steady_clock::now();
                averager.average(ranks);
                seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            }
        }
        // Each iteration's time averaged over the ranks (they differ only by the barrier's skew).
        ranks.all_reduce_sum(std::span<double>(seconds));
        for (double& value : seconds) value /= ranks.size();
        std::sort(seconds.begin(), seconds.end());
        const double median = seconds[seconds.size() / 2];
        const double bytes = double(parameters) * sizeof(float);
        const double moved = 2.0 * (ranks.size() - 1) / ranks.size() * bytes;
        if (ranks.is_root())
            std::printf("%s\n", io::Json{{"model", name},
                                         {"parameters", parameters},
                                         {"gradient_bytes", bytes},
                                         {"ranks", ranks.size()},
                                         {"bucket_mib", distributed::default_bucket_bytes >> 20},
                                         {"iterations", iterations},
                                         {"median_s", median},
                                         {"min_s", seconds.front()},
                                         {"bytes_moved_per_rank", moved},
                                         {"algorithm_gb_per_s", bytes / median / 1e9},
                                         {"bus_gb_per_s", moved / median / 1e9}}
                                    .dump()
                                    .c_str());
    }
}
