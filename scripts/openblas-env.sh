# Sourced by ./run and bench/run_all.sh. Debian's OpenBLAS (DYNAMIC_ARCH) falls back to its generic
# "Prescott" kernels on CPUs it does not recognise, such as many virtual machines, which makes
# sgemm several times slower. When OPENBLAS_CORETYPE is unset, pick the kernel family from the CPU
# flags instead. An explicit OPENBLAS_CORETYPE is always respected.
if [[ -z "${OPENBLAS_CORETYPE:-}" && -r /proc/cpuinfo ]]; then
  cpu_flags=$(grep -m1 '^flags' /proc/cpuinfo)
  case "$cpu_flags" in
    *avx512_bf16*) export OPENBLAS_CORETYPE=Cooperlake ;;
    *avx512f*) export OPENBLAS_CORETYPE=SkylakeX ;;
    *avx2*) export OPENBLAS_CORETYPE=Haswell ;;
  esac
  [[ -n "${OPENBLAS_CORETYPE:-}" ]] && echo "openblas-env: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (from the CPU flags)" >&2
  unset cpu_flags
fi
