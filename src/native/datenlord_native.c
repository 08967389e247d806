/*
 * datenlordsdk's native fast path (src/native.ts loads it; everything works
 * without it, only slower):
 *
 *  - crc32(data[, initial]): CRC-32 (IEEE, zlib's convention), folded with
 *    VPCLMULQDQ over four 512-bit lanes: about 20 us per MiB here, against
 *    about 80 for @node-rs/crc32 and 180 for zlib.
 *  - copyCrc32(src, dst): copies src into dst and returns the CRC-32 of the
 *    bytes copied, in one pass over them (a 1 MiB block from a mapped tmpfs
 *    file: about 50 us, against about 150 for a pread and then a CRC).
 *  - map(fd, length) / unmap(buffer): a read-only shared mapping of a file as
 *    an ArrayBuffer, so a client reads a node's shared memory file with no
 *    system call; unmap releases it at once and detaches the buffer (its views
 *    then have length 0), else the garbage collector releases it.
 *
 * The CRC functions need AVX-512BW and VPCLMULQDQ: `simd` says whether this CPU
 * has them; without them they still answer correctly, a byte table at a time,
 * and src/native.ts does not use them.
 *
 * The folding: each 128-bit lane of the four accumulators is carried forward
 * 2048 bits by multiplying its halves with x^(2048+32) and x^(2048-32) mod P
 * (bit-reflected, shifted left by one, as in Intel's "Fast CRC Computation
 * Using PCLMULQDQ"); the accumulators are then folded into one 512 bits apart
 * (the same constants at 512 bits), and that last 64 bytes and the tail under
 * 256 bytes go through the table, starting from a zero register.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FOLD_2048_LO 0x11542778aLL
#define FOLD_2048_HI 0x1322d1430LL
#define FOLD_512_LO 0x154442bd4LL
#define FOLD_512_HI 0x1c6e41596LL
#define LANES_BYTES 256

static uint32_t table[8][256];
static int have_simd;

static void init_table(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    table[0][i] = c;
  }
  for (int t = 1; t < 8; t++)
    for (int i = 0; i < 256; i++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

/* The CRC register after `n` bytes from register `c` (no inversions), eight bytes a step; copies them to `d` unless NULL. */
static uint32_t crc_table(uint32_t c, const uint8_t *s, uint8_t *d, size_t n) {
  if (d != NULL) memcpy(d, s, n);
  for (; n >= 8; s += 8, n -= 8) {
    uint64_t v;
    memcpy(&v, s, 8);
    v ^= c;
    c = table[7][v & 0xff] ^ table[6][(v >> 8) & 0xff] ^ table[5][(v >> 16) & 0xff] ^ table[4][(v >> 24) & 0xff] ^
        table[3][(v >> 32) & 0xff] ^ table[2][(v >> 40) & 0xff] ^ table[1][(v >> 48) & 0xff] ^ table[0][v >> 56];
  }
  while (n-- > 0) c = table[0][(c ^ *s++) & 0xff] ^ (c >> 8);
  return c;
}

#if defined(__x86_64__)
#include <immintrin.h>
#define SIMD __attribute__((target("avx512f,avx512bw,vpclmulqdq")))

SIMD static inline __m512i fold(__m512i a, __m512i k) {
  return _mm512_xor_si512(_mm512_clmulepi64_epi128(a, k, 0x00), _mm512_clmulepi64_epi128(a, k, 0x11));
}

SIMD static inline __m512i load_copy(const uint8_t *s, uint8_t *d) {
  __m512i v = _mm512_loadu_si512(s);
  if (d != NULL) _mm512_storeu_si512(d, v);
  return v;
}

/* The CRC register after `n` >= 256 bytes from register `c`; copies them to `d` unless NULL. */
SIMD static uint32_t crc_simd(uint32_t c, const uint8_t *s, uint8_t *d, size_t n) {
  const __m512i k2048 = _mm512_broadcast_i32x4(_mm_set_epi64x(FOLD_2048_HI, FOLD_2048_LO));
  const __m512i k512 = _mm512_broadcast_i32x4(_mm_set_epi64x(FOLD_512_HI, FOLD_512_LO));
  __m512i a0 = load_copy(s, d), a1 = load_copy(s + 64, d == NULL ? NULL : d + 64);
  __m512i a2 = load_copy(s + 128, d == NULL ? NULL : d + 128), a3 = load_copy(s + 192, d == NULL ? NULL : d + 192);
  a0 = _mm512_xor_si512(a0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)c)));
  size_t p = LANES_BYTES;
  for (; n - p >= LANES_BYTES; p += LANES_BYTES) {
    uint8_t *q = d == NULL ? NULL : d + p;
    a0 = _mm512_xor_si512(fold(a0, k2048), load_copy(s + p, q));
    a1 = _mm512_xor_si512(fold(a1, k2048), load_copy(s + p + 64, q == NULL ? NULL : q + 64));
    a2 = _mm512_xor_si512(fold(a2, k2048), load_copy(s + p + 128, q == NULL ? NULL : q + 128));
    a3 = _mm512_xor_si512(fold(a3, k2048), load_copy(s + p + 192, q == NULL ? NULL : q + 192));
  }
  __m512i a = _mm512_xor_si512(fold(a0, k512), a1);
  a = _mm512_xor_si512(fold(a, k512), a2);
  a = _mm512_xor_si512(fold(a, k512), a3);
  uint8_t last[64];
  _mm512_storeu_si512(last, a);
  return crc_table(crc_table(0, last, NULL, sizeof last), s + p, d == NULL ? NULL : d + p, n - p);
}
#else
/* Other architectures: the table only (`simd` is false there, so src/native.ts uses @node-rs/crc32). */
static uint32_t crc_simd(uint32_t c, const uint8_t *s, uint8_t *d, size_t n) {
  return crc_table(c, s, d, n);
}
#endif

/* zlib's crc32(crc, s, n), copying the bytes to `d` unless NULL. */
static uint32_t crc32_copy(uint32_t crc, const uint8_t *s, uint8_t *d, size_t n) {
  uint32_t c = ~crc;
  c = have_simd && n >= LANES_BYTES ? crc_simd(c, s, d, n) : crc_table(c, s, d, n);
  return ~c;
}

/* ---- N-API ---- */

static napi_value fail(napi_env env, const char *code, const char *message) {
  napi_throw_type_error(env, code, message);
  return NULL;
}

static int bytes_of(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  void *p;
  if (napi_get_typedarray_info(env, value, &type, length, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = p;
  return 1;
}

static napi_value uint32_value(napi_env env, uint32_t v) {
  napi_value out;
  napi_create_uint32(env, v, &out);
  return out;
}

static napi_value js_crc32(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *data;
  size_t length;
  uint32_t initial = 0;
  if (argc < 1 || !bytes_of(env, argv[0], &data, &length)) return fail(env, "ERR_INVALID_ARG_TYPE", "crc32(data: Uint8Array, initial?: number)");
  if (argc > 1 && napi_get_value_uint32(env, argv[1], &initial) != napi_ok) return fail(env, "ERR_INVALID_ARG_TYPE", "crc32: initial must be a number");
  return uint32_value(env, crc32_copy(initial, data, NULL, length));
}

static napi_value js_copy_crc32(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint8_t *src, *dst;
  size_t n_src, n_dst;
  if (argc < 2 || !bytes_of(env, argv[0], &src, &n_src) || !bytes_of(env, argv[1], &dst, &n_dst)) return fail(env, "ERR_INVALID_ARG_TYPE", "copyCrc32(src: Uint8Array, dst: Uint8Array)");
  if (n_src != n_dst) return fail(env, "ERR_INVALID_ARG_VALUE", "copyCrc32: src and dst differ in length");
  /* Overlapping views would copy bytes already overwritten: refused (memmove semantics are not needed here). */
  if (n_src > 0 && src < dst + n_dst && dst < src + n_src) return fail(env, "ERR_INVALID_ARG_VALUE", "copyCrc32: src and dst overlap");
  return uint32_value(env, crc32_copy(0, src, dst, n_src));
}

struct mapping {
  void *address;
  size_t length;
};

static void release(struct mapping *m) {
  if (m->address != NULL) munmap(m->address, m->length);
  m->address = NULL;
}

static void finalize_mapping(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  release(hint);
  free(hint);
}

static napi_value js_map(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  int64_t length;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[1], &length) != napi_ok || fd < 0 || length <= 0)
    return fail(env, "ERR_INVALID_ARG_VALUE", "map(fd: number >= 0, length: number > 0)");
  struct mapping *m = malloc(sizeof *m);
  if (m == NULL) return fail(env, "ERR_NATIVE_MAP", "map: out of memory");
  m->length = (size_t)length;
  m->address = mmap(NULL, m->length, PROT_READ, MAP_SHARED, fd, 0);
  if (m->address == MAP_FAILED) {
    int err = errno;
    free(m);
    napi_throw_error(env, "ERR_NATIVE_MAP", strerror(err));
    return NULL;
  }
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, m->address, m->length, finalize_mapping, m, &buffer) != napi_ok) {
    release(m);
    free(m);
    return fail(env, "ERR_NATIVE_MAP", "map: the runtime refused an external ArrayBuffer");
  }
  if (napi_wrap(env, buffer, m, NULL, NULL, NULL) != napi_ok) return fail(env, "ERR_NATIVE_MAP", "map: could not tag the buffer");
  return buffer;
}

static napi_value js_unmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool detached;
  struct mapping *m;
  if (argc < 1 || napi_is_detached_arraybuffer(env, argv[0], &detached) != napi_ok) return fail(env, "ERR_INVALID_ARG_TYPE", "unmap(buffer: a mapped ArrayBuffer)");
  if (detached) return NULL;
  if (napi_unwrap(env, argv[0], (void **)&m) != napi_ok) return fail(env, "ERR_INVALID_ARG_VALUE", "unmap: not a buffer from map()");
  /* Detach first: no view can reach the pages once they are gone. */
  napi_detach_arraybuffer(env, argv[0]);
  release(m);
  return NULL;
}

NAPI_MODULE_INIT() {
  init_table();
#if defined(__x86_64__)
  /* GCC's and Clang's checks include the OS saving the AVX-512 registers (XCR0). */
  __builtin_cpu_init();
  have_simd = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("vpclmulqdq");
#endif
  napi_property_descriptor methods[] = {
      {"crc32", NULL, js_crc32, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyCrc32", NULL, js_copy_crc32, NULL, NULL, NULL, napi_enumerable, NULL},
      {"map", NULL, js_map, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmap", NULL, js_unmap, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods);
  napi_value simd;
  napi_get_boolean(env, have_simd, &simd);
  napi_set_named_property(env, exports, "simd", simd);
  return exports;
}
