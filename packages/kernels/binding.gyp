# Two copies of the same addon, from the same sources (kernel_sources):
#   orthoquant_kernels        the baseline build: no -march flag, so the compiler's default target
#                             (x86-64 baseline = SSE2 on x64, the ABI baseline on aarch64 etc.);
#                             runs on every CPU of the architecture it was built for.
#   orthoquant_kernels_avx2   x64 only: the same sources with -mavx2 -mfma.
# src/native.ts loads the baseline addon, asks it whether the CPU has AVX2 and FMA
# (__builtin_cpu_supports, in its info()), and only then loads the AVX2 one (ORTHOQUANT_ISA=baseline
# forces the baseline). Why two shared objects rather than two namespaces in one: inline and
# template functions of the C++ library (std::vector, std::thread, ...) instantiated in an -mavx2
# translation unit are COMDAT symbols that the linker may merge with the baseline unit's copies,
# so one library gets AVX2 instructions that the baseline path then runs — an illegal instruction
# on a CPU without AVX2. Separate shared objects cannot share code, and the kernel sources need no
# per-ISA changes at all. A new kernel file goes into kernel_sources only.
{
  "variables": {
    "kernel_sources": ["native/binding.cc", "native/scan.cc", "native/reversible.cc", "native/lstm.cc", "native/affine.cc", "native/fused-step.cc", "native/lstm-loss.cc", "native/kron.cc", "native/integer.cc"],
  },
  "target_defaults": {
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-O2"],
    "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-pthread"],
    "ldflags": ["-pthread"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"],
    },
  },
  "targets": [
    {
      "target_name": "orthoquant_kernels",
      "sources": ["<@(kernel_sources)"],
    },
  ],
  "conditions": [
    ["target_arch=='x64'", {
      "targets": [
        {
          "target_name": "orthoquant_kernels_avx2",
          "sources": ["<@(kernel_sources)"],
          "cflags_cc": ["-mavx2", "-mfma"],
          "xcode_settings": {"OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"]},
        },
      ],
    }],
  ],
}
