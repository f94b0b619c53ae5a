{
  "variables": { "with_dnnl%": "0" },
  "targets": [
    {
      "target_name": "phased_dmd_native",
      "sources": ["phased_dmd_native.c", "dnnl_conv.c"],
      "cflags": ["-O3", "-std=c11", "-fno-math-errno", "-ffp-contract=fast", "-fopenmp", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lopenblas", "-fopenmp"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [
        ["with_dnnl==1", { "defines": ["PHASED_DMD_DNNL"], "libraries": ["-ldnnl"] }]
      ]
    }
  ]
}
