// The whole HadamRNN training loss as one op (native/fused-step.cc).
#pragma once

#include <node_api.h>

namespace oq {
napi_value FusedStepForward(napi_env env, napi_callback_info info);
napi_value FusedStepBackward(napi_env env, napi_callback_info info);
}  // namespace oq
