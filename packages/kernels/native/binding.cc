// The addon's module: every exported function in one table (EXPORTS), each an op's binding
// `napi_value Name(const Args&)` (binding.h) from its own source, called through one entry point
// that checks the argument count and turns errors into "orthoquant_kernels.<name>: <message>".
// Adding an op: its source defines the binding, one declaration and one EXPORTS line here, the
// source in binding.gyp's kernel_sources, the JS side in src/native.ts (see README "Adding a kernel").
#include <algorithm>
#include <thread>

#include "binding.h"
#include "gemm-avx512.h"

namespace oq {

// scan.cc: the σ-recurrence scans, dense and Hadamard
napi_value ScanForward(const Args& a);
napi_value ScanBackward(const Args& a);
// reversible.cc: reversible BPTT of exactly orthogonal linear scans
napi_value ReversibleBackward(const Args& a);
// lstm.cc
napi_value LstmForward(const Args& a);
napi_value LstmBackward(const Args& a);
// affine.cc: affine rows and the readout's cross-entropy
napi_value AffineForward(const Args& a);
napi_value AffineBackward(const Args& a);
napi_value ReadoutCrossEntropy(const Args& a);
// fused-step.cc: the whole HadamRNN / dense RNN training loss as one op
napi_value FusedStepForward(const Args& a);
napi_value FusedStepBackward(const Args& a);
// lstm-loss.cc: the whole LSTM training loss as one op
napi_value LstmLossForward(const Args& a);
napi_value LstmLossBackward(const Args& a);
// integer.cc: integer-only inference engines, and the float HadamRNN inference
napi_value IntegerQuantizeInputs(const Args& a);
napi_value IntegerHadamRnn(const Args& a);
napi_value IntegerOrnn(const Args& a);
napi_value FloatHadamRnn(const Args& a);

namespace {

const char* simdName() {
#if defined(__AVX512F__)
  return "avx512f";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2+fma";
#elif defined(__AVX__)
  return "avx";
#elif defined(__SSE2__)
  return "sse2";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "generic";
#endif
}

// info() → { simd, hardwareThreads, compiler, cpuAvx2Fma, denseAvx512 }
napi_value Info(const Args& a) {
  const napi_env env = a.env;
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, simdName(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "simd", v);
  napi_create_int32(env, int32_t(std::max(1u, std::thread::hardware_concurrency())), &v);
  napi_set_named_property(env, out, "hardwareThreads", v);
  napi_create_string_utf8(env, __VERSION__, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "compiler", v);
  // Whether this CPU (and OS) runs AVX2 and FMA code: src/native.ts asks the baseline addon
  // before it loads the -mavx2 -mfma build (binding.gyp).
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  const bool avx2Fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  const bool avx2Fma = false;
#endif
  napi_get_boolean(env, avx2Fma, &v);
  napi_set_named_property(env, out, "cpuAvx2Fma", v);
  // Whether this build's dense fused step can run its AVX-512 products here (gemm-avx512.h).
  napi_get_boolean(env, gemmAvx512(), &v);
  napi_set_named_property(env, out, "denseAvx512", v);
  return out;
}

// name, argument count (−1: any), binding — the JS signatures are in src/native.ts.
const Export EXPORTS[] = {
    {"info", -1, Info},
    {"forward", 14, ScanForward},
    {"backward", 18, ScanBackward},
    {"reversibleBackward", 19, ReversibleBackward},
    {"lstmForward", 11, LstmForward},
    {"lstmBackward", 15, LstmBackward},
    {"affineForward", 9, AffineForward},
    {"affineBackward", 11, AffineBackward},
    {"readoutCrossEntropy", 13, ReadoutCrossEntropy},
    {"fusedStepForward", 21, FusedStepForward},
    {"fusedStepBackward", 28, FusedStepBackward},
    {"lstmLossForward", 18, LstmLossForward},
    {"lstmLossBackward", 26, LstmLossBackward},
    {"integerQuantizeInputs", 6, IntegerQuantizeInputs},
    {"integerHadamRnn", 22, IntegerHadamRnn},
    {"integerOrnn", 20, IntegerOrnn},
    {"floatHadamRnn", 17, FloatHadamRnn},
};

constexpr size_t MAX_ARGS = 32;  // at least every argc in EXPORTS

// The one N-API callback: `data` is the Export being called.
napi_value call(napi_env env, napi_callback_info info) {
  size_t argc = MAX_ARGS;
  napi_value argv[MAX_ARGS];
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  const Export& e = *static_cast<const Export*>(data);
  try {
    if (e.argc >= 0 && argc != size_t(e.argc)) throw ArgError{std::string(e.name) + " expects " + std::to_string(e.argc) + " arguments"};
    return e.body(Args(env, argv));
  } catch (const ArgError& err) {
    napi_throw_error(env, nullptr, ("orthoquant_kernels." + std::string(e.name) + ": " + err.msg).c_str());
  } catch (const std::exception& err) {
    napi_throw_error(env, nullptr, ("orthoquant_kernels." + std::string(e.name) + ": " + err.what()).c_str());
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  constexpr size_t count = sizeof(EXPORTS) / sizeof(EXPORTS[0]);
  napi_property_descriptor props[count];
  for (size_t i = 0; i < count; i++)
    props[i] = {EXPORTS[i].name, nullptr, call, nullptr, nullptr, nullptr, napi_default, const_cast<Export*>(&EXPORTS[i])};
  napi_define_properties(env, exports, count, props);
  return exports;
}

}  // namespace
}  // namespace oq

NAPI_MODULE(NODE_GYP_MODULE_NAME, oq::Init)
