// The whole LSTM training loss as one op, checkpointed BPTT (native/lstm-loss.cc).
#pragma once

#include <node_api.h>

namespace oq {
napi_value LstmLossForward(napi_env env, napi_callback_info info);
napi_value LstmLossBackward(napi_env env, napi_callback_info info);
}  // namespace oq
