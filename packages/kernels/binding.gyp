{
  "targets": [
    {
      "target_name": "orthoquant_kernels",
      "sources": ["native/scan.cc", "native/reversible.cc", "native/fused-step.cc", "native/kron.cc"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-pthread", "<!(node -p \"process.env.ORTHOQUANT_MARCH || '-march=native'\")"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"]
      }
    }
  ]
}
