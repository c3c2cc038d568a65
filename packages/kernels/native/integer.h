// Integer-only inference engines and the float HadamRNN inference (native/integer.cc).
#pragma once

#include <node_api.h>

namespace oq {
napi_value IntegerQuantizeInputsEntry(napi_env env, napi_callback_info info);
napi_value IntegerHadamRnnEntry(napi_env env, napi_callback_info info);
napi_value IntegerOrnnEntry(napi_env env, napi_callback_info info);
napi_value FloatHadamRnnEntry(napi_env env, napi_callback_info info);
}  // namespace oq
