{
  "targets": [
    {
      "target_name": "datenlord_native",
      "sources": ["datenlord_native.c"],
      "cflags": ["-O3", "-std=gnu11", "-Wall", "-Wextra"]
    }
  ]
}
