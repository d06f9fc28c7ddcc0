{
  "targets": [
    {
      "target_name": "geodesic_native",
      "sources": [
        "src/addon.cc",
        "src/eigen.cc",
        "src/kernels_avx512.cc",
        "src/kernels_avx2.cc",
        "src/kernels_generic.cc"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-fno-trapping-math"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"],
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES"
      }
    }
  ]
}
